"""Running notebooks: papermill with threatkit's warm engine or a kernel, HTML export with
nbconvert, forked processes, and the explorer served by JupyterLab or Voila or frozen in
an offline snapshot. The top layer with batch and cli: it may import everything below it
(report, widgets, render, analysis, model), and nothing below imports it."""

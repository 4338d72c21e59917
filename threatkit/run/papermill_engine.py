"""papermill's view of threatkit's engine (entry point `papermill.engine`: threatkit).

papermill imports this module while it registers its engines, so only papermill
should import it; the work is in threatkit.run.engine.
"""
from __future__ import annotations

from papermill.engines import Engine

from threatkit.run.engine import execute_cells


class ThreatkitEngine(Engine):
    """Execute cells in an IPython shell in a forked child of this (warm) process."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, execution_timeout=None, **kwargs):
        import nbformat

        nb = nb_man.nb
        executed = execute_cells(nb, execution_timeout)
        for index, (cell, done) in enumerate(zip(nb.cells, executed)):
            if cell.cell_type != "code":
                continue
            nb_man.cell_start(cell, index)
            cell.outputs = [nbformat.from_dict(o) for o in done["outputs"]]
            cell.execution_count = done["execution_count"]
            if done.get("error"):
                nb_man.cell_exception(cell, cell_index=index, exception=RuntimeError(done["error"]))
            nb_man.cell_complete(cell, cell_index=index)
            if done.get("error"):
                break

"""threatkit: how fast, and by which route, can an actor with a given access
reproduce the capability of a protected AI model, and what do controls buy?

Importing threatkit is cheap: pandas, pydot, ipywidgets and papermill are
loaded only by the modules that draw or run notebooks (the charts are
hand-written SVG).
"""
__version__ = "0.1.0"

import sys

from threatkit.model.load import ModelError, load_data, load_model, load_text  # noqa: E402

__all__ = ["ModelError", "load_data", "load_model", "load_text", "__version__"]


def _register_display() -> None:
    """Inside IPython/Jupyter, let models, trees and assessments show themselves."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None and hasattr(shell, "display_formatter"):
        from threatkit.render.display import register

        register(shell)


_register_display()

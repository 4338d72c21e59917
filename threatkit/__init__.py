"""threatkit: how fast, and by which route, can an actor with a given access
reproduce the capability of a protected AI model, and what do controls buy?

Importing threatkit is cheap: pandas, matplotlib, pydot, ipywidgets and
papermill are loaded only by the modules that draw or run notebooks.
"""
__version__ = "0.1.0"

from threatkit.model.load import ModelError, load_model, load_text  # noqa: E402

__all__ = ["ModelError", "load_model", "load_text", "__version__"]

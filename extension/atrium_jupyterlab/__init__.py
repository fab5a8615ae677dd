"""Atrium's JupyterLab extension (a prebuilt labextension; no server part)."""

__version__ = "0.1.0"


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "@atrium/jupyterlab"}]

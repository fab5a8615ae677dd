"""Atrium's helper for code running in a workspace.

    from atrium import datasets
    df = datasets.load("sales")

Everything goes through the hub with the credentials the hub gave this
workspace's server; no storage key is ever needed here.
"""

__version__ = "0.1.0"

from . import datasets  # noqa: E402,F401

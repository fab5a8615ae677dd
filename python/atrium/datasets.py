"""Governed datasets from Atrium's catalog, as pandas DataFrames.

Every call goes through the hub, which checks your access, applies masking
(personal data is hashed or redacted unless your grant clears it) and records
the read in the audit log, exactly as for the Datasets panel and the hub's
Data pages.

    from atrium import datasets
    datasets.list()                      # what you can see, with your access
    df = datasets.load("sales")          # a pandas DataFrame, masked as required
    datasets.mount("sales")              # read-only copy in ~/datasets/sales/

Code in a workspace reads and mounts; it never asks for, approves or grants
access in your name (a package you install could otherwise do it too). Ask
for access from the Datasets panel in the Atrium sidebar or the hub's Data
page.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, List, Optional

__all__ = ["DatasetError", "list", "info", "load", "download", "mount", "unmount"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_TIMEOUT = 600


class DatasetError(Exception):
    """The hub refused or failed a request; `code` is the hub's error code (e.g. `access_required`)."""

    def __init__(self, message: str, code: str = "error", status: int = 0):
        super().__init__(message)
        self.code = code
        self.status = status


def _settings() -> Dict[str, str]:
    hub = os.environ.get("ATRIUM_HUB_URL", "").rstrip("/")
    rerun = os.environ.get("ATRIUM_RERUN", "")
    if rerun:
        # A clean re-run of a published notebook: it reads as its author, with a
        # credential that lives as long as the run, and the hub records what it read.
        token = os.environ.get("ATRIUM_RERUN_TOKEN", "")
        if not (hub and token):
            raise DatasetError("The re-run has no data credential from the hub.", "not_in_workspace")
        return {"hub": hub, "user": os.environ.get("ATRIUM_USER", ""), "rerun": rerun, "token": token}
    user = os.environ.get("ATRIUM_USER", "")
    workspace = os.environ.get("ATRIUM_WORKSPACE", "")
    token = os.environ.get("JUPYTER_TOKEN", "")
    if not (hub and user and workspace and token):
        raise DatasetError(
            "This is not an Atrium workspace (ATRIUM_HUB_URL, ATRIUM_USER, ATRIUM_WORKSPACE and the server token are not set). "
            "Run this inside a workspace started from the hub.",
            "not_in_workspace",
        )
    return {"hub": hub, "user": user, "workspace": workspace, "token": token}


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise DatasetError(f"{name!r} is not a data-set name (lower-case letters, digits and dashes).", "invalid_name")
    return name


def _request(method: str, path: str, body: Optional[Dict[str, Any]] = None, accept: str = "application/json"):
    s = _settings()
    headers = {
        # The server's own token proves which workspace is calling; the hub accepts it only for the data API.
        "Authorization": f"token {s['token']}",
        **({"X-Atrium-Rerun": s["rerun"]} if "rerun" in s else {"X-Atrium-Workspace": f"{s['user']}/{s['workspace']}"}),
        "X-Atrium-Client": "python",
        "Accept": accept,
    }
    notebook = os.environ.get("JPY_SESSION_NAME", "")
    if notebook:
        home = os.path.expanduser("~")
        if notebook.startswith(home + os.sep):
            notebook = notebook[len(home) + 1 :]
        headers["X-Atrium-Notebook"] = notebook[:300]
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(f"{s['hub']}/hub/api{path}", data=data, method=method, headers=headers)
    try:
        return urllib.request.urlopen(req, timeout=_TIMEOUT)
    except urllib.error.HTTPError as err:
        message, code = f"The hub answered {err.code}.", f"http_{err.code}"
        try:
            payload = json.loads(err.read().decode() or "{}").get("error", {})
            message, code = payload.get("message", message), payload.get("code", code)
        except (ValueError, AttributeError):
            pass
        raise DatasetError(message, code, err.code) from None
    except urllib.error.URLError as err:
        raise DatasetError(f"Cannot reach the Atrium hub at {s['hub']}: {err.reason}", "network_error") from None


def _json(method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Any:
    with _request(method, path, body) as response:
        raw = response.read()
        return json.loads(raw) if raw else None


def list(query: str = "") -> List[Dict[str, Any]]:  # noqa: A001 - the natural name here
    """Datasets in the catalog: name, title, owner team, classification and your access."""
    path = "/datasets" + (f"?q={urllib.parse.quote(query)}" if query else "")
    return [
        {
            "name": d["name"],
            "title": d["title"],
            "owner_team": d["ownerTeam"],
            "classification": d["classification"],
            "format": d["format"],
            "access": d["access"]["allowed"],
            "pii_cleared": d["access"]["piiCleared"],
            "reason": d["access"]["reason"],
        }
        for d in _json("GET", path)
    ]


def info(name: str) -> Dict[str, Any]:
    """The catalog entry: description, schema with PII tags, your access."""
    return _json("GET", f"/datasets/{_check_name(name)}")


def download(name: str, path: Optional[str] = None) -> str:
    """Save the current version (masked as required) to `path`; returns the path."""
    with _request("GET", f"/datasets/{_check_name(name)}/download", accept="*/*") as response:
        fmt = "parquet" if "parquet" in (response.headers.get("Content-Type") or "") else "csv"
        target = path or os.path.join(os.getcwd(), f"{name}.{fmt}")
        with open(target, "wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
    return target


def _open_data(name: str):
    """The dataset's bytes: straight from the object store with a short-lived
    presigned URL when nothing is masked for you and the store supports it
    (S3), otherwise streamed (and masked) by the hub."""
    try:
        direct = _json("GET", f"/datasets/{name}/direct-url?ttl=60")
    except DatasetError as err:
        if err.code not in ("masking_required", "not_supported"):
            raise
    else:
        try:
            return urllib.request.urlopen(direct["url"], timeout=_TIMEOUT), direct.get("format") == "parquet"
        except (urllib.error.URLError, OSError):
            pass  # the store is not reachable from here: the hub streams it instead
    response = _request("GET", f"/datasets/{name}/download", accept="*/*")
    return response, "parquet" in (response.headers.get("Content-Type") or "")


def load(name: str, **read_options: Any):
    """The dataset as a pandas DataFrame, masked as your access requires.

    Extra keyword arguments go to `pandas.read_csv` or `pandas.read_parquet`.
    """
    try:
        import pandas as pd
    except ImportError:
        raise DatasetError("pandas is not installed in this image: use the Data science image, or datasets.download().", "pandas_missing") from None
    response, is_parquet = _open_data(_check_name(name))
    with response:
        masked = [c for c in (response.headers.get("X-Atrium-Masked-Columns") or "").split(",") if c]
        # Spool to disk past 64 MiB so a large dataset does not sit in memory twice.
        with tempfile.SpooledTemporaryFile(max_size=64 << 20) as spool:
            shutil.copyfileobj(response, spool, 1 << 20)
            spool.seek(0)
            if is_parquet:
                frame = pd.read_parquet(io.BytesIO(spool.read()), **read_options)
            else:
                frame = pd.read_csv(spool, **read_options)
    frame.attrs["atrium_dataset"] = name
    frame.attrs["atrium_masked_columns"] = masked
    return frame


def _mounted_version(folder: str) -> Optional[int]:
    try:
        with open(os.path.join(folder, "atrium-dataset.json"), "rb") as fh:
            return json.loads(fh.read()).get("version")
    except (OSError, ValueError):
        return None


def _wait(done, what: str, timeout: float) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise DatasetError(f"{what} did not happen within {int(timeout)} s; the workspace's mount agent may not be running.", "mount_timeout")
        time.sleep(0.25)


def mount(name: str, timeout: float = 300) -> str:
    """Put a read-only, masked copy in ~/datasets/<name>/; returns that folder.

    Where the workspace's agent copies the files in (Kubernetes), this waits
    until they are there."""
    result = _json("POST", f"/datasets/{_check_name(name)}/mount")
    folder = os.path.expanduser(result["path"])
    if result.get("delivery") == "agent":
        _wait(lambda: _mounted_version(folder) == result["version"], f"Copying {name} into {folder}", timeout)
    return folder


def unmount(name: str, timeout: float = 120) -> None:
    """Remove ~/datasets/<name>/."""
    _json("DELETE", f"/datasets/{_check_name(name)}/mount")
    folder = os.path.expanduser(f"~/datasets/{name}")
    if os.environ.get("ATRIUM_DATASETS_AGENT") == "1":
        _wait(lambda: not os.path.lexists(folder), f"Removing {folder}", timeout)

"""The mount agent: keeps ~/datasets/ in line with what the hub says is mounted.

Used where the hub cannot write into the workspace's home (Kubernetes pods,
whose home is a volume): the hub keeps the desired mounts, and this agent,
started with the Jupyter server (a server extension, enabled by the wheel in
every curated image, active when ATRIUM_DATASETS_AGENT=1), asks the hub for a
manifest of files with short-lived presigned URLs, downloads them into
~/datasets/<name>/ (staged in a hidden folder, made read-only, renamed into
place) and removes datasets the manifest no longer lists.

It authenticates like `atrium.datasets`: the server's own token and
X-Atrium-Workspace, on the data API only. Presigned URLs are fetched without
any credential; no storage key is ever needed here. The manifest request is a
long poll, so a mount or a revocation reaches the workspace within seconds.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import stat
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Optional

from . import datasets as _datasets

__all__ = ["MountAgent", "AgentError"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
_ABOUT = "atrium-dataset.json"
_CHUNK = 1 << 20

log = logging.getLogger("atrium.mount_agent")


class AgentError(Exception):
    """Something the agent cannot fix by trying again at once."""


def _force_remove(path: str) -> None:
    """Remove a mounted folder (read-only by design) or whatever sits at `path`, never following a symlink."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        os.unlink(path)
        return
    for folder, dirs, _files in os.walk(path, followlinks=False):
        os.chmod(folder, 0o755)
        for d in dirs:
            full = os.path.join(folder, d)
            if not os.path.islink(full):
                os.chmod(full, 0o755)
    shutil.rmtree(path)


class MountAgent:
    def __init__(
        self,
        hub: str,
        user: str,
        workspace: str,
        token: str,
        home: str,
        poll_seconds: int = 20,
    ) -> None:
        self.hub = hub.rstrip("/")
        self.user = user
        self.workspace = workspace
        self.token = token
        self.root = os.path.join(home, "datasets")
        self.poll_seconds = max(1, min(int(poll_seconds), 30))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._etag: Optional[str] = None
        self._applied_at = 0
        self._last: Dict[str, Any] = {}
        self.status: Dict[str, Any] = {"state": "starting", "message": "", "datasets": {}, "syncedAt": None}

    @classmethod
    def from_env(cls) -> "MountAgent":
        s = _datasets._settings()
        return cls(s["hub"], s["user"], s["workspace"], s["token"], os.path.expanduser("~"), int(os.environ.get("ATRIUM_DATASETS_POLL_SECONDS", "20") or 20))

    # ------------------------------------------------------------ talking to the hub

    def _headers(self) -> Dict[str, str]:
        return {
            "Authorization": f"token {self.token}",
            "X-Atrium-Workspace": f"{self.user}/{self.workspace}",
            "X-Atrium-Client": "mount-agent",
            "Accept": "application/json",
        }

    def fetch_manifest(self, wait: int = 0, known: Optional[str] = None) -> Dict[str, Any]:
        query = {"wait": str(wait)}
        if known:
            query["known"] = known
        req = urllib.request.Request(f"{self.hub}/hub/api/data/workspace/manifest?{urllib.parse.urlencode(query)}", headers=self._headers())
        try:
            with urllib.request.urlopen(req, timeout=wait + 600) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as err:
            code = f"http_{err.code}"
            message = f"the hub answered {err.code}"
            try:
                payload = json.loads(err.read().decode() or "{}").get("error", {})
                code, message = payload.get("code", code), payload.get("message", message)
            except (ValueError, AttributeError):
                pass
            raise _datasets.DatasetError(message, code, err.code) from None

    def _open(self, f: Dict[str, Any]):
        url = f["url"]
        if f.get("hub"):
            # A hub path (stores without presigned URLs): only these get the workspace's credentials.
            if not url.startswith("/hub/api/"):
                raise AgentError(f"unexpected hub path {url!r}")
            return urllib.request.urlopen(urllib.request.Request(self.hub + url, headers={**self._headers(), "Accept": "*/*"}), timeout=600)
        if not re.match(r"^https?://", url):
            raise AgentError("a download URL must be http(s)")
        return urllib.request.urlopen(urllib.request.Request(url), timeout=600)

    # ------------------------------------------------------------ the folder

    def _datasets_dir(self) -> str:
        try:
            info = os.lstat(self.root)
        except FileNotFoundError:
            os.mkdir(self.root, 0o755)
            return self.root
        # A symlink could point the agent at files elsewhere: only a real folder is used.
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
            raise AgentError("~/datasets exists and is not a folder: rename or remove it, and mounts will appear.")
        return self.root

    def _current(self, name: str) -> Optional[Dict[str, Any]]:
        target = os.path.join(self.root, name)
        try:
            if not stat.S_ISDIR(os.lstat(target).st_mode):
                return None
            with open(os.path.join(target, _ABOUT), "rb") as fh:
                return json.loads(fh.read())
        except (OSError, ValueError):
            return None

    def _install(self, entry: Dict[str, Any]) -> None:
        name = entry["name"]
        staging = os.path.join(self.root, f".{name}.mounting-{secrets.token_hex(4)}")
        os.mkdir(staging, 0o755)
        try:
            for f in entry["files"]:
                if not _FILE.match(f["name"]) or f["name"] == _ABOUT:
                    raise AgentError(f"unexpected file name {f['name']!r}")
                path = os.path.join(staging, f["name"])
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
                written = 0
                with os.fdopen(fd, "wb") as out, self._open(f) as response:
                    while True:
                        chunk = response.read(_CHUNK)
                        if not chunk:
                            break
                        out.write(chunk)
                        written += len(chunk)
                if f.get("size") is not None and written != f["size"]:
                    raise AgentError(f"{f['name']}: got {written} bytes, expected {f['size']}")
                os.chmod(path, 0o444)
            about = dict(entry.get("about") or {})
            about.update({"dataset": name, "version": entry["version"], "variant": entry["variant"], "maskedColumns": entry["maskedColumns"]})
            about_path = os.path.join(staging, _ABOUT)
            with open(about_path, "w") as out:
                out.write(json.dumps(about, indent=2) + "\n")
            os.chmod(about_path, 0o444)
            os.chmod(staging, 0o555)
            target = os.path.join(self.root, name)
            old = None
            if os.path.lexists(target):
                old = os.path.join(self.root, f".{name}.old-{secrets.token_hex(4)}")
                os.rename(target, old)
            os.rename(staging, target)
            if old:
                _force_remove(old)
        except BaseException:
            _force_remove(staging)
            raise

    def apply(self, manifest: Dict[str, Any]) -> None:
        """Make ~/datasets/ match the manifest: download what is new or changed, remove what is gone."""
        with self._lock:
            generated = int(manifest.get("generatedAt") or 0)
            if generated < self._applied_at:
                return  # an older answer arriving late: a newer one was applied already
            self._applied_at = generated
            root = self._datasets_dir()
            wanted: Dict[str, Dict[str, Any]] = {}
            for entry in manifest.get("datasets", []):
                if isinstance(entry, dict) and _NAME.match(str(entry.get("name", ""))):
                    wanted[entry["name"]] = entry
            keep = {n for n in manifest.get("keep", []) if isinstance(n, str)}
            states: Dict[str, Any] = {}
            for name, entry in wanted.items():
                have = self._current(name)
                complete = have is not None and all(os.path.isfile(os.path.join(root, name, f["name"])) for f in entry["files"] if _FILE.match(f["name"]))
                if complete and have.get("version") == entry["version"] and have.get("variant") == entry["variant"]:
                    states[name] = {"version": entry["version"], "state": "ready"}
                    continue
                try:
                    self._install(entry)
                    states[name] = {"version": entry["version"], "state": "ready"}
                    log.info("mounted %s v%s at ~/datasets/%s", name, entry["version"], name)
                except Exception as err:  # noqa: BLE001 - one dataset failing must not stop the others
                    states[name] = {"version": entry["version"], "state": "failed", "error": str(err)}
                    log.warning("could not mount %s: %s", name, err)
            for name in os.listdir(root):
                full = os.path.join(root, name)
                if name.startswith("."):
                    # Leftovers of an interrupted download.
                    if ".mounting-" in name or ".old-" in name:
                        _force_remove(full)
                    continue
                if name in wanted or name in keep:
                    continue
                # Only folders the agent made (with atrium-dataset.json) are removed; anything else is the user's.
                if self._current(name) is not None:
                    _force_remove(full)
                    log.info("removed ~/datasets/%s (no longer mounted)", name)
            self._last = wanted
            self.status = {"state": "ok", "message": "", "datasets": states, "syncedAt": time.time()}

    def expire(self) -> None:
        """Without the hub, still remove datasets whose access has ended."""
        now = time.time() * 1000
        with self._lock:
            for name, entry in list(self._last.items()):
                ends = entry.get("accessExpiresAt")
                if ends is not None and ends <= now:
                    _force_remove(os.path.join(self.root, name))
                    self._last.pop(name, None)

    # ------------------------------------------------------------ the loop

    def sync_now(self) -> Dict[str, Any]:
        """One immediate round (the Datasets panel's Mount asks for this)."""
        manifest = self.fetch_manifest(0)
        self.apply(manifest)
        self._etag = manifest.get("etag")
        return self.status

    def run(self) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            try:
                manifest = self.fetch_manifest(self.poll_seconds, self._etag)
                self.apply(manifest)
                self._etag = manifest.get("etag")
                backoff = 1.0
            except _datasets.DatasetError as err:
                if err.code == "not_agent_mounts":
                    log.info("the hub writes mounts itself; the mount agent stops")
                    self.status = {**self.status, "state": "off", "message": str(err)}
                    return
                self.status = {**self.status, "state": "error", "message": str(err)}
                log.warning("mount agent: %s", err)
                self.expire()
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
            except Exception as err:  # noqa: BLE001 - the agent must outlive network trouble
                self.status = {**self.status, "state": "error", "message": str(err)}
                log.warning("mount agent: %s", err)
                self.expire()
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="atrium-mount-agent", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()


# ---------------------------------------------------------------- Jupyter server extension


def _jupyter_server_extension_points():
    return [{"module": "atrium.mount_agent"}]


def _load_jupyter_server_extension(serverapp) -> None:
    if os.environ.get("ATRIUM_DATASETS_AGENT") != "1":
        return
    try:
        agent = MountAgent.from_env()
    except _datasets.DatasetError as err:
        serverapp.log.warning("Atrium mount agent not started: %s", err)
        return
    from jupyter_server.base.handlers import APIHandler
    from jupyter_server.utils import url_path_join
    from tornado import web
    from tornado.ioloop import IOLoop

    class SyncHandler(APIHandler):
        @web.authenticated
        async def post(self):
            try:
                status = await IOLoop.current().run_in_executor(None, agent.sync_now)
            except Exception as err:  # noqa: BLE001
                self.set_status(502)
                status = {**agent.status, "state": "error", "message": str(err)}
            self.finish(json.dumps(status))

    class StatusHandler(APIHandler):
        @web.authenticated
        async def get(self):
            self.finish(json.dumps(agent.status))

    base = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(
        ".*$",
        [
            (url_path_join(base, "atrium/datasets/sync"), SyncHandler),
            (url_path_join(base, "atrium/datasets/status"), StatusHandler),
        ],
    )
    agent.start()
    serverapp.log.info("Atrium mount agent: ~/datasets follows the hub (poll %ss)", agent.poll_seconds)

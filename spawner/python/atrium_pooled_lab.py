"""A JupyterLab that waits in a warm pool until the hub gives it to a user.

Started by the local spawner's warm pool (spawner/src/local/warm-pool.ts) with
the Python of an image's environment, inside a sandbox that has no home yet.
Standard library only at the top: the expensive part of a JupyterLab start is
importing it (about 2.5 s of the 2.7 s a cold start takes on a 2-core
machine), and that is done here while nobody waits. When the hub assigns the
server to a user it has already mounted the user's home into the sandbox; this
process then becomes that user (uid, groups, environment, home, log file) and
only then initialises JupyterLab with the user's own command line. So nothing
a user can reach exists before the server is theirs, and no process that ran
anyone's code is ever handed to someone else.

Control channel: fd 3, a socket to the hub, one JSON object per line.
  -> {"ready": true}                    imports done; the server may be taken
  <- {"uid", "gid", "home", "env", "argv", "log"?}
  -> {"assigned": true} | {"error": "..."}
End of file before an assignment means the hub went away: exit quietly (a
waiting server is never adopted by another hub).

Privileges: in a root sandbox this runs as uid 0 with only CAP_SETUID and
CAP_SETGID (setpriv removed every other capability from the bounding set and
set no_new_privs). Changing every uid from 0 to the user's clears those two as
well; the switch is checked before anything else runs. As PID 1 of the
sandbox it then forks: the child is JupyterLab, the parent (now the user too,
with no capabilities) reaps orphans and forwards signals, as tini does for a
cold start.
"""

import json
import os
import signal
import socket
import sys

CONTROL_FD = 3


def _warm_up():
    # As a cold start does (spawner/src/jupyterlab.ts, JUPYTER_LAB_MAIN): no
    # RFC 3987 grammar, 1.6 s and memory for formats no server schema uses.
    sys.modules.setdefault("rfc3987_syntax", None)
    # What `jupyter lab` imports at start, and the server extensions the
    # environment enables (their modules are named in jupyter_server_config.d).
    from jupyterlab.labapp import LabApp  # noqa: F401
    import jupyter_server.serverapp  # noqa: F401
    import importlib

    config_dir = os.path.join(sys.prefix, "etc", "jupyter", "jupyter_server_config.d")
    try:
        names = sorted(os.listdir(config_dir))
    except OSError:
        names = []
    for name in names:
        try:
            with open(os.path.join(config_dir, name), encoding="utf-8") as f:
                enabled = json.load(f).get("ServerApp", {}).get("jpserver_extensions", {})
        except (OSError, ValueError, AttributeError):
            continue
        for module, on in enabled.items():
            if on:
                try:
                    importlib.import_module(module)
                except Exception:  # an extension that fails here fails visibly at the real start
                    pass
    for module in (
        "jupyter_server.services.kernels.kernelmanager",
        "jupyter_server.services.contents.largefilemanager",
        "jupyter_server.services.sessions.sessionmanager",
        "jupyter_server.services.kernels.websocket",
        "jupyter_client.provisioning",
    ):
        try:
            importlib.import_module(module)
        except Exception:
            pass


def _send(control, message):
    control.sendall((json.dumps(message) + "\n").encode())


def _read_line(control):
    data = b""
    while not data.endswith(b"\n"):
        chunk = control.recv(65536)
        if not chunk:
            return None
        data += chunk
        if len(data) > 4 * 1024 * 1024:
            raise ValueError("assignment too large")
    return data


def _capabilities():
    caps = {}
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("Cap"):
                key, value = line.split(":", 1)
                caps[key] = int(value.strip(), 16)
    return caps


def _become(uid, gid):
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid) or os.getgroups() not in ([], [gid]):
        raise RuntimeError("the switch to the user's uid did not hold")
    caps = _capabilities()
    if caps.get("CapEff") or caps.get("CapPrm") or caps.get("CapAmb"):
        raise RuntimeError("capabilities remain after the switch to the user's uid")


def _redirect_output(path):
    # The hub put the workspace's log there for this moment only, and takes
    # it away once this process says it is assigned.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def _run_lab(argv):
    from jupyterlab.labapp import LabApp

    sys.argv = ["jupyter-lab", *argv]
    LabApp.launch_instance(argv)


def _supervise(child):
    """PID 1 after the fork: forward signals to JupyterLab, reap everything, exit with it."""

    def forward(signum, _frame):
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(0)
        except InterruptedError:
            continue
        if pid == child:
            os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


def main():
    control = socket.socket(fileno=CONTROL_FD)
    # As PID 1 of a sandbox, a signal without a handler is ignored: the hub's stop must still end a waiting server.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGHUP, lambda *_: os._exit(0))
    _warm_up()
    _send(control, {"ready": True})
    line = _read_line(control)
    if line is None:
        os._exit(0)
    try:
        assignment = json.loads(line)
        home = assignment["home"]
        env = {str(k): str(v) for k, v in assignment["env"].items()}
        argv = [str(a) for a in assignment["argv"]]
        if assignment.get("log"):
            _redirect_output(assignment["log"])
        if assignment.get("uid") is not None:
            _become(int(assignment["uid"]), int(assignment["gid"]))
        os.environ.clear()
        os.environ.update(env)
        os.chdir(home)
    except Exception as err:  # the hub reads the reason and discards this server
        try:
            _send(control, {"error": f"{type(err).__name__}: {err}"})
        finally:
            os._exit(125)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    _send(control, {"assigned": True})
    control.close()
    if os.getpid() != 1:
        _run_lab(argv)
        return
    child = os.fork()
    if child == 0:
        _run_lab(argv)
        os._exit(0)
    _supervise(child)


if __name__ == "__main__":
    main()

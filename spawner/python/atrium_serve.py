"""Atrium model server: runs a published notebook once, then serves its predict().

Started by the local model-server backend (spawner/src/models/) with the
Python of the version's curated image environment and the bundle directory as
working directory. Standard library only, so it runs in every image.

Contract (docs/model-serving.md):
  - the bundle holds notebook.ipynb (defines predict(inputs), JSON in and out),
    artifacts/... and manifest.json;
  - every code cell runs once, in order, at start; the cell tagged
    `parameters` may be followed by overrides (papermill style) from
    ATRIUM_MODEL_PARAMETERS (a JSON object);
  - POST /predict {"inputs": ...} -> {"predictions": ...}; GET /health;
  - every request carries `Authorization: token <ATRIUM_MODEL_TOKEN>`.

Design, for throughput: one asyncio event loop with a hand-written HTTP/1.1
protocol (keep-alive, Content-Length bodies only: the hub always sends one),
and predict() called inline on the loop. predict is CPU-bound Python under the
GIL, so a thread pool would only add hand-offs. A predict that runs too long
is interrupted by SIGALRM (an interval timer, so a predict that swallows the
first interruption gets another one); a predict stuck inside native code that
never returns to Python cannot be interrupted, which is why the hub keeps its
own timeout too.

Environment: ATRIUM_MODEL_PORT, ATRIUM_MODEL_HOST (127.0.0.1),
ATRIUM_MODEL_TOKEN, ATRIUM_MODEL_TIMEOUT_SECONDS (30),
ATRIUM_MODEL_MAX_BODY_BYTES (10 MiB), ATRIUM_MODEL_PARAMETERS,
ATRIUM_MODEL_WORKERS (1: worker processes forked after the notebook ran, so a
slow predict does not hold up the others).
"""

import asyncio
import builtins
import hmac
import json
import os
import signal
import socket
import sys
import time
import traceback

MAX_HEADER_BYTES = 65536


class PredictTimeout(BaseException):
    """Raised by the alarm inside a predict that ran out of time.

    A BaseException so that `except Exception` in a notebook does not swallow it.
    """


class NotebookError(Exception):
    pass


def _cell_source(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _strip_magics(source):
    # IPython magics and shell escapes have no meaning in a server (and the
    # kernel machinery is not there): they become no-ops, indentation kept.
    out = []
    for line in source.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            indent = line[: len(line) - len(stripped)]
            out.append(f"{indent}pass  # skipped when serving: {stripped[:60]}")
        else:
            out.append(line)
    return "\n".join(out)


def load_notebook(path, parameters):
    """Run the notebook's code cells; returns (namespace, predict)."""
    try:
        with open(path, encoding="utf-8") as f:
            nb = json.load(f)
    except (OSError, ValueError) as e:
        raise NotebookError(f"cannot read the notebook {path}: {e}") from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        raise NotebookError(f"{path} is not a Jupyter notebook (no list of cells)")
    namespace = {"__name__": "__main__", "__builtins__": builtins, "display": lambda *a, **k: None}
    code_cells = [c for c in cells if isinstance(c, dict) and c.get("cell_type") == "code"]
    injected = False
    for index, cell in enumerate(code_cells, start=1):
        source = _strip_magics(_cell_source(cell))
        try:
            code = compile(source, f"<cell {index}>", "exec")
            exec(code, namespace)  # noqa: S102 - running the published notebook is the point
        except BaseException as e:  # noqa: BLE001 - report whatever the notebook raised
            tb = traceback.format_exc(limit=-3)
            raise NotebookError(f"code cell {index} raised {type(e).__name__}: {e}\n{tb}") from None
        tags = (cell.get("metadata") or {}).get("tags") or []
        if "parameters" in tags and parameters and not injected:
            namespace.update(parameters)
            injected = True
    if parameters and not injected:
        namespace.update(parameters)
    predict = namespace.get("predict")
    if not callable(predict):
        raise NotebookError("the notebook does not define a function predict(inputs)")
    return namespace, predict


def _to_json(value):
    # numpy arrays and scalars, pandas objects: what predict() usually returns.
    if hasattr(value, "columns") and hasattr(value, "to_dict"):
        return value.to_dict(orient="records")
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"predict returned a {type(value).__name__}, which is not JSON")


REASONS = {
    200: b"OK",
    400: b"Bad Request",
    401: b"Unauthorized",
    404: b"Not Found",
    405: b"Method Not Allowed",
    411: b"Length Required",
    413: b"Payload Too Large",
    422: b"Unprocessable Entity",
    431: b"Request Header Fields Too Large",
    500: b"Internal Server Error",
    504: b"Gateway Timeout",
}


def _error(code, message):
    return json.dumps({"error": {"code": code, "message": message}}).encode()


class App:
    def __init__(self, predict, token, timeout, max_body, info):
        self.predict = predict
        self.expected = f"token {token}".encode()
        self.timeout = timeout
        self.max_body = max_body
        self.info = info
        self.started = time.time()
        self.requests = 0

    def call_predict(self, inputs):
        signal.setitimer(signal.ITIMER_REAL, self.timeout, 1.0)
        try:
            return self.predict(inputs)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def authorized(self, headers):
        got = headers.get(b"authorization")
        return got is not None and hmac.compare_digest(got, self.expected)

    def handle(self, method, path, headers, body):
        """Returns (status, body bytes)."""
        path = path.split(b"?", 1)[0]
        if not self.authorized(headers):
            return 401, _error("unauthenticated", "this model server only answers the Atrium hub")
        if path == b"/predict":
            if method != b"POST":
                return 405, _error("method_not_allowed", "use POST /predict")
            return self.handle_predict(body)
        if path == b"/health":
            if method not in (b"GET", b"HEAD"):
                return 405, _error("method_not_allowed", "use GET /health")
            health = dict(self.info, status="ok", uptimeSeconds=round(time.time() - self.started, 1), requests=self.requests)
            return 200, json.dumps(health).encode()
        return 404, _error("not_found", "this model server answers POST /predict and GET /health")

    def handle_predict(self, body):
        self.requests += 1
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError) as e:
            return 400, _error("invalid_json", f"the request body is not valid JSON: {e}")
        if not isinstance(payload, dict) or "inputs" not in payload:
            return 400, _error("invalid_request", 'send a JSON object {"inputs": ...}')
        started = time.perf_counter()
        try:
            result = self.call_predict(payload["inputs"])
        except PredictTimeout:
            took = time.perf_counter() - started
            return 504, _error("predict_timeout", f"predict(inputs) did not finish within {self.timeout:g} s (stopped after {took:.1f} s)")
        except Exception as e:  # noqa: BLE001 - the model's failure is reported, never fatal
            return 422, _error("predict_failed", f"predict(inputs) raised {type(e).__name__}: {e}")
        except BaseException as e:  # noqa: BLE001 - SystemExit/KeyboardInterrupt from a notebook must not stop the server
            return 422, _error("predict_failed", f"predict(inputs) raised {type(e).__name__}: {e}")
        try:
            return 200, json.dumps({"predictions": result}, default=_to_json, separators=(",", ":"), allow_nan=False).encode()
        except (TypeError, ValueError) as e:
            return 500, _error("invalid_predictions", f"predict(inputs) returned something that is not JSON: {e}")


class HttpProtocol(asyncio.Protocol):
    __slots__ = ("app", "transport", "buf", "pending", "closing")

    def __init__(self, app):
        self.app = app
        self.transport = None
        self.buf = bytearray()
        self.pending = None
        self.closing = False

    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

    def connection_lost(self, exc):
        self.transport = None

    def data_received(self, data):
        if self.closing:
            return
        self.buf += data
        while not self.closing:
            if self.pending is None:
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(self.buf) > MAX_HEADER_BYTES:
                        self.respond(431, _error("headers_too_large", "request headers too large"), close=True)
                    return
                head = bytes(self.buf[:end])
                del self.buf[: end + 4]
                parsed = self.parse_head(head)
                if parsed is None:
                    return
                self.pending = parsed
            method, path, headers, length, keep_alive = self.pending
            if len(self.buf) < length:
                return
            body = bytes(self.buf[:length])
            del self.buf[:length]
            self.pending = None
            try:
                status, payload = self.app.handle(method, path, headers, body)
            except PredictTimeout:
                status, payload = 504, _error("predict_timeout", "predict(inputs) ran out of time")
            except Exception as e:  # noqa: BLE001 - never let one request kill the server
                status, payload = 500, _error("server_error", f"{type(e).__name__}: {e}")
            self.respond(status, payload, close=not keep_alive, head=method == b"HEAD")

    def parse_head(self, head):
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ")
        if len(parts) != 3:
            self.respond(400, _error("bad_request", "malformed request line"), close=True)
            return None
        method, path, version = parts
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep:
                self.respond(400, _error("bad_request", "malformed header"), close=True)
                return None
            headers[name.strip().lower()] = value.strip()
        connection = headers.get(b"connection", b"").lower()
        keep_alive = connection != b"close" if version == b"HTTP/1.1" else connection == b"keep-alive"
        if b"transfer-encoding" in headers:
            self.respond(411, _error("length_required", "send the body with a Content-Length"), close=True)
            return None
        try:
            length = int(headers.get(b"content-length", b"0"))
        except ValueError:
            length = -1
        if length < 0:
            self.respond(400, _error("bad_request", "invalid Content-Length"), close=True)
            return None
        if length > self.app.max_body:
            self.respond(413, _error("payload_too_large", f"the request body is larger than {self.app.max_body} bytes"), close=True)
            return None
        return method, path, headers, length, keep_alive

    def respond(self, status, payload, close=False, head=False):
        transport = self.transport
        if transport is None:
            return
        header = b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n" % (
            status,
            REASONS.get(status, b"Unknown"),
            len(payload),
            b"Connection: close\r\n" if close else b"",
        )
        transport.write(header if head else header + payload)
        if close:
            self.closing = True
            transport.close()


def _on_alarm(signum, frame):
    raise PredictTimeout()


def serve(app, sock):
    """One worker: an event loop on the shared listening socket until SIGTERM."""
    signal.signal(signal.SIGALRM, _on_alarm)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(lambda: HttpProtocol(app), sock=sock))
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    try:
        loop.run_until_complete(stop)
    finally:
        server.close()
        loop.run_until_complete(asyncio.wait_for(server.wait_closed(), 2))


def supervise(app, sock, workers):
    """Fork `workers` processes sharing the socket (the notebook ran once, before the fork,
    so they share its memory copy-on-write); replace any that dies until SIGTERM."""
    children = set()
    stopping = False

    def spawn_worker():
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                serve(app, sock)
            except BaseException:  # noqa: BLE001 - a worker reports and exits, the supervisor replaces it
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        children.add(pid)

    def on_term(signum, frame):
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    for _ in range(workers):
        spawn_worker()
    recent = []
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        children.discard(pid)
        if stopping:
            continue
        now = time.time()
        recent = [t for t in recent if now - t < 60] + [now]
        print(f"atrium_serve: worker {pid} exited ({status}); starting another", file=sys.stderr, flush=True)
        if len(recent) > 10:
            print("atrium_serve: workers keep dying; stopping", file=sys.stderr, flush=True)
            on_term(signal.SIGTERM, None)
            continue
        spawn_worker()


def main():
    bundle = os.getcwd()
    token = os.environ.get("ATRIUM_MODEL_TOKEN", "")
    if not token:
        print("atrium_serve: ATRIUM_MODEL_TOKEN is not set; refusing to serve without authentication", file=sys.stderr)
        return 2
    port = int(os.environ.get("ATRIUM_MODEL_PORT", "8080"))
    host = os.environ.get("ATRIUM_MODEL_HOST", "127.0.0.1")
    timeout = float(os.environ.get("ATRIUM_MODEL_TIMEOUT_SECONDS", "30"))
    max_body = int(os.environ.get("ATRIUM_MODEL_MAX_BODY_BYTES", str(10 * 1024 * 1024)))
    workers = max(1, int(os.environ.get("ATRIUM_MODEL_WORKERS", "1")))
    try:
        parameters = json.loads(os.environ.get("ATRIUM_MODEL_PARAMETERS") or "{}")
        if not isinstance(parameters, dict):
            raise ValueError("not a JSON object")
    except ValueError as e:
        print(f"atrium_serve: ATRIUM_MODEL_PARAMETERS is invalid: {e}", file=sys.stderr)
        return 2
    info = {}
    try:
        with open(os.path.join(bundle, "manifest.json"), encoding="utf-8") as f:
            manifest = json.load(f)
        info = {k: manifest[k] for k in ("team", "model", "version") if k in manifest}
        # Parameters published with the version; the environment's override them.
        if isinstance(manifest.get("parameters"), dict):
            parameters = {**manifest["parameters"], **parameters}
    except (OSError, ValueError, AttributeError):
        pass
    # The token is not for the notebook's code.
    os.environ.pop("ATRIUM_MODEL_TOKEN", None)
    print(f"atrium_serve: running {os.path.join(bundle, 'notebook.ipynb')}", flush=True)
    started = time.perf_counter()
    try:
        _, predict = load_notebook(os.path.join(bundle, "notebook.ipynb"), parameters)
    except NotebookError as e:
        print(f"atrium_serve: cannot serve this model: {e}", file=sys.stderr, flush=True)
        return 3
    print(f"atrium_serve: notebook ran in {time.perf_counter() - started:.2f} s", flush=True)

    app = App(predict, token, timeout, max_body, info)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    print(f"atrium_serve: listening on http://{host}:{port} with {workers} worker(s)", flush=True)
    if workers <= 1:
        serve(app, sock)
    else:
        supervise(app, sock, workers)
    print("atrium_serve: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

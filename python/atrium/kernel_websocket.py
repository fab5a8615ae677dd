"""Kernel WebSockets that send each message at once.

jupyter_server leaves Nagle's algorithm on for kernel WebSockets. A kernel
answers most requests with a small `status: busy` frame followed by the
reply; with Nagle on, the reply waits until the first frame is acknowledged,
and Linux delays that acknowledgement by up to 40 ms. Every execute, complete
and inspect in JupyterLab paid those 40 ms (docs/benchmarks.md). Turning on
TCP_NODELAY for these sockets sends each frame when it is written; large
outputs are unaffected because they fill whole segments anyway.

Enabled for every server the `atrium` wheel is installed in: the wheel's
jupyter_server_config.d/atrium.json loads this module as a server extension,
which hands kernel WebSockets this connection class (config files in `.d`
folders only enable extensions, so the class cannot be set there). A server
configured with another connection class (e.g. a kernel gateway) keeps it.
"""

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection


class NoDelayKernelWebsocketConnection(ZMQChannelsWebsocketConnection):
    """jupyter_server's kernel WebSocket connection with TCP_NODELAY on its socket."""

    def connect(self):
        # The WebSocket is open here (the handler's open() calls connect()), so the stream exists.
        try:
            self.websocket_handler.set_nodelay(True)
        except Exception as err:  # a closed or unusual transport: the connection still works, only slower
            self.log.debug("atrium: could not set TCP_NODELAY on a kernel WebSocket: %s", err)
        return super().connect()


def _jupyter_server_extension_points():
    return [{"module": "atrium.kernel_websocket"}]


def _load_jupyter_server_extension(serverapp) -> None:
    settings = serverapp.web_app.settings
    if settings.get("kernel_websocket_connection_class") is ZMQChannelsWebsocketConnection:
        settings["kernel_websocket_connection_class"] = NoDelayKernelWebsocketConnection

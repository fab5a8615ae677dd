"""JupyterLab's user is the workspace's owner, and the server sets no login cookie.

jupyter_server's default identity, on a request that brings the server's
token, makes up an anonymous user ("Anonymous Mneme", a new one each time)
and sets a signed login cookie to remember it. Atrium's proxies send the
server's token on every request they let through (the hub decided who may
reach the workspace), so that cookie is never read back: the proxies drop
it, and signing it was a quarter of the server's time on a small API call.
Here the token's user is the owner the hub started the server for
(`ATRIUM_USER`): JupyterLab's `/api/me`, which its user features read, names
them, and there is no cookie.

Set by the spawner (`--ServerApp.identity_provider_class`,
spawner/src/jupyterlab.ts); the `atrium` wheel is in every image.
"""

import os

from jupyter_server.auth.identity import IdentityProvider, User


def initials(name: str) -> str:
    """ "ada-lovelace" -> "AL", "alice" -> "A": what JupyterLab shows in its user icon."""
    parts = [p for p in name.replace("_", "-").replace(".", "-").split("-") if p]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


class AtriumIdentityProvider(IdentityProvider):
    """The token's user is `ATRIUM_USER`; no login cookie is read or set."""

    def generate_anonymous_user(self, handler):
        owner = os.environ.get("ATRIUM_USER")
        if not owner:
            return super().generate_anonymous_user(handler)
        return User(username=owner, name=owner, display_name=owner, initials=initials(owner))

    def get_user_cookie(self, handler):
        # The token is the only credential: a cookie names no one here.
        return None

    def set_login_cookie(self, handler, user):
        pass

"""Where contract checks go: the in-process fake (default) or a live base URL.

A live URL off this machine is refused unless ``allow_remote`` is set: the suite and the CI
examples only ever talk to 127.0.0.1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from careflow.mocks.kernel import is_loopback_url

from .vendors import Vendor, credentials_from

# In-process targets are served through a transport, never a socket: their base URL names a
# host that cannot resolve, so a request that escaped the transport could not reach a server.
IN_PROCESS_HOST = "careflow.invalid"


class RemoteRefused(ValueError):
    pass


@dataclass
class Target:
    vendor: Vendor
    base_url: str
    client: httpx.Client
    credentials: dict[str, Any]
    label: str
    app: Any = None  # the ASGI app when in-process
    _closers: list[Any] = field(default_factory=list)

    @property
    def api_base(self) -> str:
        return self.base_url.rstrip("/") + self.vendor.prefix

    def has_admin(self) -> bool:
        """A careflow fake (in-process or `careflow up`) answers /__sandbox/health."""
        try:
            response = self.client.get("/__sandbox/health")
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and "service" in response.text

    def close(self) -> None:
        self.client.close()
        for closer in self._closers:
            closer()

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def unreachable(target: Target, exc: httpx.TransportError) -> str:
    """The reason to report when the target did not answer at all."""
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {target.base_url}: is the server running? ({exc})"
    return f"no answer from {target.base_url}: {type(exc).__name__}: {exc}"


def in_process(v: Vendor, app: Any = None, seed: int = 0) -> Target:
    """The vendor's fake (or ``app``, e.g. a deliberately drifted one) without sockets."""
    from careflow.clock import VirtualClock
    from careflow.mocks.kernel.transports import BackgroundLoop, SyncASGITransport

    if app is None:
        app = v.create_app(clock=VirtualClock(), seed=seed)
    loop = BackgroundLoop()
    transport = SyncASGITransport(httpx.ASGITransport(app=app), loop)
    base = f"http://{v.name}.{IN_PROCESS_HOST}"
    client = httpx.Client(transport=transport, base_url=base, timeout=30)
    backend = app.state.backend
    creds = dict(backend.credentials_of(backend.state()))
    return Target(v, base, client, creds, "the in-process fake", app, [loop.close])


def live(v: Vendor, base_url: str, auth: dict[str, str], *, allow_remote: bool = False) -> Target:
    if not is_loopback_url(base_url) and not allow_remote:
        raise RemoteRefused(
            f"{base_url} is not on this machine; pass --allow-remote to check a real vendor "
            "(its quota is consumed and, for Ours, a live key sends real events)"
        )
    creds: dict[str, Any] = credentials_from(v, auth)
    client = httpx.Client(base_url=base_url.rstrip("/"), timeout=30)
    return Target(v, base_url.rstrip("/"), client, creds, base_url)

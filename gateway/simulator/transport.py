"""Connection-level tricks the ASGI interface does not offer: a real TCP reset, and waiting.

ASGI hides the socket. Every HTTP protocol of uvicorn (h11, httptools, zttp) passes the app a
bound `send` method of its per-request cycle object, which keeps the connection's asyncio
transport as `.transport`. The outermost app calls `remember_transport` once per request to
store that transport in the scope's extensions, where inner code (under middleware that wraps
`send`) can still reach it. A host app that mounts the simulator wraps itself with
`capture_transport` so resets keep working there too. Without a transport (an in-process
client such as httpx's ASGITransport) a reset raises `ConnectionResetUnavailable` instead.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

TRANSPORT_EXTENSION = "costroute.transport"


def find_transport(send: Send) -> asyncio.Transport | None:
    """The asyncio transport behind the server's own `send`, if the server exposes one."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    return transport if isinstance(transport, asyncio.Transport) else None


def remember_transport(scope: Scope, send: Send) -> None:
    """Store the transport behind `send` in `scope["extensions"]`, unless one is there."""
    if scope["type"] != "http":
        return
    extensions: dict[str, Any] = scope.setdefault("extensions", {})
    if TRANSPORT_EXTENSION not in extensions:
        transport = find_transport(send)
        if transport is not None:
            extensions[TRANSPORT_EXTENSION] = transport


def capture_transport(app: ASGIApp) -> ASGIApp:
    """`app`, wrapped so `scope["extensions"]["costroute.transport"]` holds the transport.

    Wrap the outermost app of a host that mounts the simulator, so resets still work there.
    """

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        remember_transport(scope, send)
        await app(scope, receive, send)

    return wrapped


class ConnectionResetUnavailable(ConnectionResetError):
    """Raised instead of a reset when no transport is reachable (e.g. an in-process client)."""


async def reset_connection(scope: Scope, receive: Receive) -> None:
    """Abort the request's TCP connection with an RST, then wait until the server notices.

    The client sees "connection reset by peer", exactly like a crashed or killed upstream.
    """
    transport = (scope.get("extensions") or {}).get(TRANSPORT_EXTENSION)
    if not isinstance(transport, asyncio.Transport):
        raise ConnectionResetUnavailable("simulated connection reset (no socket to reset)")
    abort_with_reset(transport)
    # Returning before the server has seen the connection drop would make it log
    # "returned without starting response" and try to answer 500 on a dead socket.
    await wait_for_disconnect(receive, timeout_s=5.0)


def abort_with_reset(transport: asyncio.BaseTransport) -> None:
    """Close `transport` at once; SO_LINGER 0 makes the kernel send RST rather than FIN."""
    if transport.is_closing():
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    if isinstance(transport, asyncio.Transport):
        transport.abort()
    else:
        transport.close()


async def wait_for_disconnect(receive: Receive, timeout_s: float) -> bool:
    """Wait until the client goes away (True) or `timeout_s` passes (False)."""
    try:
        async with asyncio.timeout(timeout_s):
            while (await receive())["type"] != "http.disconnect":
                pass
    except TimeoutError:
        return False
    return True

"""Listening sockets of `careflow up` give accepted connections TCP_NODELAY."""

from __future__ import annotations

import asyncio
import socket

from careflow.scenarios.server import bind_sockets


def test_listeners_are_tcp_so_asyncio_sets_nodelay_on_accepted_connections():
    sockets = bind_sockets("127.0.0.1", 0)
    try:
        assert set(sockets) == {"whatconverts", "caspio", "ours", "engine"}
        listener = sockets["ours"]
        # asyncio only sets TCP_NODELAY when the listener's proto is IPPROTO_TCP; with proto 0
        # every keep-alive response waited ~40 ms for a delayed ACK.
        assert listener.proto == socket.IPPROTO_TCP

        async def accepted_nodelay() -> int:
            seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

            def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                sock = writer.get_extra_info("socket")
                seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                writer.close()

            server = await asyncio.start_server(on_connect, sock=listener)
            _r, w = await asyncio.open_connection(*listener.getsockname())
            value = await asyncio.wait_for(seen, 5)
            w.close()
            server.close()
            return value

        assert asyncio.run(accepted_nodelay()) != 0
    finally:
        for sock in sockets.values():
            sock.close()

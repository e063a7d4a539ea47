"""A served stack in its own process (forked by a zygote): what ``careflow up`` runs, all four
servers on one event loop, on free ports. Prints ``ready <urls as JSON>``, then serves until
it is killed."""

from __future__ import annotations

import json


def prepare() -> None:
    import careflow.engine.app
    import careflow.mocks.caspio.app
    import careflow.mocks.ours.app
    import careflow.mocks.whatconverts.app
    import careflow.scenarios.server  # noqa: F401


def work() -> None:
    from careflow.scenarios.server import StackServer, bind_sockets, urls_of
    from careflow.scenarios.stack import Stack

    sockets = bind_sockets("127.0.0.1", 0)
    stack = Stack(urls=urls_of("127.0.0.1", sockets))
    server = StackServer(stack, sockets)
    server.run_forever(on_ready=lambda: print(f"ready {json.dumps(server.info())}", flush=True))

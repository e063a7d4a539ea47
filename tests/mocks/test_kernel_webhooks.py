import asyncio

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from careflow.mocks.kernel import VirtualClock, WebhookSender


def receiver(fail_first: int) -> tuple[Starlette, list[dict]]:
    received: list[dict] = []

    async def hook(request: Request) -> JSONResponse:
        received.append({"body": await request.json(), "cid": request.headers.get("x-request-id")})
        if len(received) <= fail_first:
            return JSONResponse({"error": "busy"}, 503)
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/hook", hook, methods=["POST"])]), received


def sender_for(app: Starlette, clock: VirtualClock, **kwargs) -> WebhookSender:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    return WebhookSender(clock, client=client, backoff=(10, 30, 60), **kwargs)


def test_failed_delivery_is_retried_on_the_virtual_clock():
    clock = VirtualClock("2026-01-01T00:00:00Z", frozen=True)
    app, received = receiver(fail_first=2)

    async def scenario() -> None:
        sender = sender_for(app, clock)
        delivery = sender.enqueue("http://127.0.0.1:9/hook", {"n": 1}, correlation_id="c-1")
        await sender.drain()
        assert (delivery.status, len(delivery.attempts)) == ("retrying", 1)
        clock.advance(9)  # not yet due
        await sender.drain()
        assert len(delivery.attempts) == 1
        clock.advance(1)  # first backoff (10 s) reached
        await sender.drain()
        assert (delivery.status, len(delivery.attempts)) == ("retrying", 2)
        clock.advance(30)
        await sender.drain()
        assert delivery.status == "delivered"
        assert [a["status_code"] for a in delivery.attempts] == [503, 503, 200]
        assert received[-1] == {"body": {"n": 1}, "cid": "c-1"}

    asyncio.run(scenario())


def test_delivery_fails_after_max_attempts_and_can_be_redelivered():
    clock = VirtualClock("2026-01-01T00:00:00Z", frozen=True)
    app, _received = receiver(fail_first=3)

    async def scenario() -> None:
        sender = sender_for(app, clock, max_attempts=2)
        delivery = sender.enqueue("http://localhost/hook", {"n": 2})
        await sender.drain()
        clock.advance(10)
        await sender.drain()
        assert (delivery.status, len(delivery.attempts)) == ("failed", 2)
        clock.advance(3600)
        await sender.drain()
        assert len(delivery.attempts) == 2  # failed deliveries are not retried by themselves
        await sender.redeliver(delivery.id)
        assert (delivery.status, len(delivery.attempts)) == ("failed", 3)  # one manual attempt
        await sender.redeliver(delivery.id)
        assert delivery.status == "delivered"

    asyncio.run(scenario())


def test_non_loopback_targets_are_refused_without_a_request():
    clock = VirtualClock()

    class Boom(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            raise AssertionError(f"the sender must not call {request.url}")

    async def scenario() -> None:
        sender = WebhookSender(clock, client=httpx.AsyncClient(transport=Boom()))
        delivery = sender.enqueue("https://hooks.example.org/x", {"n": 3})
        await sender.drain()
        assert delivery.status == "refused"
        assert "--allow-remote" in delivery.attempts[0]["error"]

    asyncio.run(scenario())


def test_delivery_log_masks_phi_and_secrets():
    clock = VirtualClock()
    app, _ = receiver(fail_first=0)

    async def scenario() -> None:
        sender = sender_for(app, clock)
        sender.enqueue(
            "http://127.0.0.1/hook", {"secret": "s3", "data": [{"Email": "a@example.com"}]}
        )
        await sender.drain()
        logged = sender.items()[0].as_dict(sender.masker)
        assert logged["payload"] == {"secret": "***", "data": [{"Email": "***"}]}

    asyncio.run(scenario())

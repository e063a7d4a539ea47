"""A fake's webhook delivery log keeps the newest ``capacity`` deliveries; unfinished ones
are never dropped."""

from __future__ import annotations

import pytest

from careflow.mocks.kernel import VirtualClock, WebhookSender
from careflow.mocks.kernel.webhooks import DELIVERIES_ENV, max_deliveries


def test_the_delivery_log_keeps_the_newest_finished_and_every_unfinished() -> None:
    sender = WebhookSender(VirtualClock(frozen=True), capacity=10)
    pending = [sender.enqueue("http://127.0.0.1:9/h", {"n": i}, send_now=False) for i in range(3)]
    for i in range(40):
        delivery = sender.enqueue("http://127.0.0.1:9/h", {"n": i}, send_now=False)
        delivery.status = "delivered"
    kept = sender.items()
    assert len(kept) <= 10 and sender.dropped == 43 - len(kept)
    assert all(d in kept for d in pending)  # still pending: never forgotten
    assert kept[-1].payload == {"n": 39}  # the newest are kept


def test_the_capacity_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DELIVERIES_ENV, "7")
    assert max_deliveries() == 7
    monkeypatch.setenv(DELIVERIES_ENV, "none")
    with pytest.raises(ValueError, match=DELIVERIES_ENV):
        max_deliveries()

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from careflow.mocks.kernel import VirtualClock, format_instant, parse_instant


def test_frozen_clock_stands_still_and_advances_exactly():
    clock = VirtualClock("2026-01-01T12:00:00Z", frozen=True)
    assert clock.now() == datetime(2026, 1, 1, 12, tzinfo=UTC)
    clock.advance(90)
    assert clock.now() == datetime(2026, 1, 1, 12, 1, 30, tzinfo=UTC)
    assert clock.snapshot() == {"now": "2026-01-01T12:01:30Z", "frozen": True}


def test_running_clock_follows_real_time_with_offset():
    clock = VirtualClock()
    clock.set("2030-06-01T00:00:00Z")
    assert abs((clock.now() - datetime(2030, 6, 1, tzinfo=UTC)).total_seconds()) < 5
    clock.reset()
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 5


def test_negative_advance_is_refused_and_changes_nothing():
    clock = VirtualClock("2026-01-01T00:00:00Z", frozen=True)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)
    assert clock.now() == datetime(2026, 1, 1, tzinfo=UTC)


def test_listeners_hear_every_move():
    clock = VirtualClock("2026-01-01T00:00:00Z", frozen=True)
    heard: list[datetime] = []
    unsubscribe = clock.subscribe(heard.append)
    clock.advance(60)
    clock.set("2026-02-01T00:00:00Z")
    unsubscribe()
    clock.advance(1)
    assert heard == [datetime(2026, 1, 1, 0, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)]


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2999, 1, 1)))
def test_instants_round_trip(moment):
    aware = moment.replace(tzinfo=UTC)
    assert parse_instant(format_instant(aware)) == aware


def test_unfreeze_keeps_the_virtual_time():
    clock = VirtualClock("2026-01-01T00:00:00Z", frozen=True)
    clock.freeze(False)
    assert clock.now() - datetime(2026, 1, 1, tzinfo=UTC) < timedelta(seconds=5)
    assert not clock.frozen

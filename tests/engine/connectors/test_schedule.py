from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from careflow.engine.connectors.schedule import Cron, CronParams


def test_daily_at_eight_new_york_follows_dst():
    params = CronParams(cron="0 8 * * *", timezone="America/New_York")
    winter = Cron().next_fire(params, datetime(2026, 3, 2, 12, tzinfo=UTC))
    summer = Cron().next_fire(params, datetime(2026, 7, 2, 10, tzinfo=UTC))
    assert winter == datetime(2026, 3, 2, 13, tzinfo=UTC)  # EST: UTC-5
    assert summer == datetime(2026, 7, 2, 12, tzinfo=UTC)  # EDT: UTC-4


def test_bad_cron_and_zone_are_refused_at_save():
    assert [p.field for p in Cron.check({"cron": "every day"})] == ["cron"]
    assert [p.field for p in Cron.check({"cron": "0 8 * * *", "timezone": "Mars/Base"})] == [
        "timezone"
    ]
    assert [p.field for p in Cron.check({"cron": "0 8 * * *", "when": 1})] == ["when"]


@settings(max_examples=50, deadline=None)
@given(
    after=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 1, 1)),
    hour=st.integers(0, 23),
    zone=st.sampled_from(["UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata"]),
)
def test_next_fire_is_the_next_local_hour(after, hour, zone):
    after = after.replace(tzinfo=UTC)
    fire = Cron().next_fire(CronParams(cron=f"0 {hour} * * *", timezone=zone), after)
    assert fire > after
    assert fire - after <= timedelta(hours=25)
    assert fire.astimezone(ZoneInfo(zone)).hour in (hour, (hour + 1) % 24)  # DST gaps shift

"""The notification policy as a pure step, the delivery queues, endpoint safety, payloads
and the config section: plain values, milliseconds."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, time
from typing import Any

import pytest
from pydantic import ValidationError

from api.notifications import delivery, endpoints
from api.notifications.config import NotificationsConfig, Window
from api.notifications.delivery import (
    Delivered,
    Delivery,
    DeliveryQueues,
    Failed,
    Gone,
    Outcome,
    Retry,
    parse_retry_after,
)
from api.notifications.payload import notification, topic
from api.notifications.policy import (
    Happening,
    PolicyState,
    Recipient,
    Send,
    Suppress,
    decide,
    in_window,
    tick,
)
from api.notifications.resolver import PublicResolver
from api.notifications.webpush import classify
from tests.waiting import wait_until

T0 = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)  # a Monday, noon
ADMIN = Recipient("push:1")


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0.timestamp() + seconds, UTC)


def happening(event_id: int, seconds: float = 0, camera: str = "porch", **kw: Any) -> Happening:
    values: dict[str, Any] = {"kind": "motion", "armed": True} | kw
    return Happening(event_id, camera, values["kind"], T0.timestamp() + seconds, values["armed"])


def config(**kw: Any) -> NotificationsConfig:
    return NotificationsConfig.model_validate({"cooldown_seconds": 60} | kw)


def reason(decision: Send | Suppress) -> str:
    return "sent" if isinstance(decision, Send) else decision.reason


# ----- decide ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recipient", "event", "expected"),
    [
        (ADMIN, happening(1), "sent"),
        (Recipient("push:2", rights=frozenset({"garage"})), happening(1), "no_rights"),
        (Recipient("push:2", rights=frozenset({"porch"})), happening(1, camera="*"), "no_rights"),
        (Recipient("push:2", rights=None), happening(1, camera="*"), "sent"),
        (Recipient("push:2", cameras=frozenset({"garage"})), happening(1), "filtered"),
        (Recipient("push:2", kinds=frozenset({"sound"})), happening(1), "filtered"),
        (ADMIN, happening(1, armed=False), "disarmed"),
        (Recipient("push:2", snoozed={"porch": T0.timestamp() + 1}), happening(1), "snoozed"),
        (Recipient("push:2", snoozed={"porch": T0.timestamp() - 1}), happening(1), "sent"),
        (Recipient("push:2", snoozed={"garage": T0.timestamp() + 1}), happening(1), "sent"),
        # Rights come first: a viewer's log never tells why about a camera they cannot see.
        (
            Recipient("push:2", rights=frozenset(), snoozed={"porch": 1e12}),
            happening(1, armed=False),
            "no_rights",
        ),
    ],
)
def test_each_check_has_its_reason(recipient, event, expected):
    _, decision = decide(PolicyState(), event, recipient, T0, config())
    assert reason(decision) == expected


def test_quiet_hours_and_schedule():
    night = config(quiet_hours=[{"start": "22:00", "end": "07:00"}])
    office = config(schedule=[{"start": "08:00", "end": "18:00", "days": ["mon", "tue"]}])
    cases = [
        (night, T0, "sent"),
        (night, T0.replace(hour=23), "quiet_hours"),
        (night, T0.replace(hour=6, minute=59), "quiet_hours"),
        (night, T0.replace(hour=7), "sent"),
        (office, T0, "sent"),
        (office, T0.replace(hour=19), "schedule"),
        (office, T0.replace(day=9), "schedule"),  # a Wednesday
    ]
    for settings, now, expected in cases:
        _, decision = decide(PolicyState(), happening(1), ADMIN, now, settings)
        assert reason(decision) == expected, (now, expected)


def test_a_window_across_midnight_belongs_to_the_day_it_starts():
    friday_night = Window(start=time(22), end=time(6), days=["fri"])
    friday = datetime(2026, 12, 11, 23, 0, tzinfo=UTC)
    assert in_window(friday_night, friday)
    assert in_window(friday_night, friday.replace(day=12, hour=5))  # Saturday morning
    assert not in_window(friday_night, friday.replace(day=12, hour=23))  # Saturday night
    assert not in_window(friday_night, friday.replace(hour=5))  # Friday morning


def test_cooldown_folds_a_burst_into_one_summary_that_starts_the_next_cooldown():
    settings = config()
    state = PolicyState()
    state, first = decide(state, happening(1, 0), ADMIN, at(0), settings)
    assert first == Send(happening(1, 0))
    for i, seconds in enumerate((10, 20, 30), start=2):
        state, decision = decide(state, happening(i, seconds), ADMIN, at(seconds), settings)
        assert isinstance(decision, Suppress)
        assert decision.reason == "cooldown"
    # Another recipient and another camera have cooldowns of their own.
    _, other = decide(state, happening(9, 30), Recipient("push:2"), at(30), settings)
    _, garage = decide(state, happening(9, 30, camera="garage"), ADMIN, at(30), settings)
    assert isinstance(other, Send)
    assert isinstance(garage, Send)

    state, nothing_yet = tick(state, {"push:1": ADMIN}, at(59), settings)
    assert nothing_yet == []
    state, summaries = tick(state, {"push:1": ADMIN}, at(60), settings)
    assert summaries == [("push:1", Send(happening(4, 30), folded=2))]  # "and 2 more"
    state, decision = decide(state, happening(5, 70), ADMIN, at(70), settings)
    assert reason(decision) == "cooldown"  # the summary started a new cooldown
    state, _ = tick(state, {"push:1": ADMIN}, at(121), settings)
    state, _ = tick(state, {"push:1": ADMIN}, at(200), settings)
    assert state.cooldowns == {}  # quiet again: nothing left over
    _, decision = decide(state, happening(6, 200), ADMIN, at(200), settings)
    assert isinstance(decision, Send)


def test_a_summary_due_in_quiet_hours_or_for_a_removed_recipient_is_not_sent():
    settings = config(quiet_hours=[{"start": "12:00:30", "end": "13:00"}])
    state = PolicyState()
    for i in range(3):
        state, _ = decide(state, happening(i + 1, i), ADMIN, at(i), settings)
    quiet, decisions = tick(state, {"push:1": ADMIN}, at(60), settings)
    assert [reason(d) for _, d in decisions] == ["quiet_hours"]
    assert quiet.cooldowns == {}
    gone, decisions = tick(state, {}, at(60), config())
    assert decisions == []
    assert gone.cooldowns == {}


def test_state_is_never_changed_in_place():
    state = PolicyState()
    after, _ = decide(state, happening(1), ADMIN, T0, config())
    assert state.cooldowns == {}
    assert after.cooldowns != {}
    with pytest.raises(TypeError):
        after.cooldowns[("x", "y")] = None  # type: ignore[index]


# ----- payloads ----------------------------------------------------------------------------


def test_payload_and_topic():
    event = {
        "id": 42,
        "camera": "porch",
        "kind": "tamper",
        "start": "2026-12-07T12:00:05Z",
        "detail": "covered",
        "links": {"snapshot": "/api/events/42/snapshot.jpg"},
    }
    note = notification(event, "Porch", 4, UTC)
    assert note["title"] == "Tampering · Porch"
    assert note["body"] == "12:00:05 · covered · and 4 more"
    assert (note["url"], note["image"], note["tag"]) == (
        "/#/events/42",
        "/api/events/42/snapshot.jpg",
        "sentrycam-porch",
    )
    system = notification(event | {"camera": "*", "kind": "disk_low"}, "*", 0, UTC)
    assert system["title"] == "Disk almost full · System"
    assert len(topic("a" * 32, "b" * 32)) == 32
    assert topic("porch", "motion") != topic("porch", "sound")
    assert set(topic("porch", "motion")) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_="
    )


# ----- push service answers and delivery queues ---------------------------------------------


def test_push_service_answers():
    assert isinstance(classify(201, "", None), Delivered)
    assert isinstance(classify(410, "", None), Gone)
    assert isinstance(classify(404, "", None), Gone)
    assert classify(429, "slow down", 7.0) == Retry("push service answered 429: slow down", 7.0)
    assert isinstance(classify(503, "", None), Retry)
    assert isinstance(classify(403, "BadJwtToken", None), Failed)
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


async def test_retries_are_bounded_in_count_and_age(monkeypatch):
    monkeypatch.setattr(delivery, "FIRST_BACKOFF_S", 0.001)
    results: list[tuple[str, Outcome]] = []
    answers = {"busy": [Retry("503")] * 10, "later": [Retry("429", 0.0), Delivered()]}
    tries: dict[str, int] = {}

    async def attempt(d: Delivery) -> Outcome:
        tries[d.target] = tries.get(d.target, 0) + 1
        return answers[d.target].pop(0)

    queues = DeliveryQueues("t", attempt, lambda d, o: results.append((d.target, o)))
    queues.put(Delivery("busy", "a", None))
    queues.put(Delivery("later", "a", None))
    await asyncio.wait_for(_drained(queues), 5)
    outcomes = dict(results)
    assert isinstance(outcomes["later"], Delivered)
    assert isinstance(outcomes["busy"], Failed)
    assert outcomes["busy"].detail == "503; gave up after 5 tries"
    assert tries == {"busy": 5, "later": 2}

    old = DeliveryQueues("t", attempt, lambda d, o: results.append((d.target, o)), max_age=0)
    answers["busy"] = [Retry("503", 5.0)]
    old.put(Delivery("busy", "a", None))
    await asyncio.wait_for(_drained(old), 5)
    assert results[-1][1] == Failed("503; gave up after 1 tries (too old to retry)")


async def test_a_newer_notification_replaces_a_waiting_one_with_the_same_topic():
    gate = asyncio.Event()
    sent: list[str] = []
    outcomes: list[tuple[str, Outcome]] = []

    async def attempt(d: Delivery) -> Outcome:
        await gate.wait()
        sent.append(d.payload)
        return Delivered()

    queues = DeliveryQueues("t", attempt, lambda d, o: outcomes.append((d.payload, o)))
    queues.put(Delivery("phone", "porch", "first"))
    await wait_until(lambda: queues.waiting("phone") == 0, 5, "the first one under way")
    for payload, subject in [("old", "porch"), ("other", "door"), ("new", "porch")]:
        queues.put(Delivery("phone", subject, payload))
    gate.set()
    await asyncio.wait_for(_drained(queues), 5)
    assert sent == ["first", "other", "new"], outcomes
    assert ("old", Failed("superseded by a newer notification")) in outcomes
    await queues.close()


async def _drained(queues: DeliveryQueues) -> None:
    await wait_until(lambda: not queues.busy_targets, 5, "every queue drained", interval=0.001)


# ----- where the server may send -------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://push.example.org/x",
        "https://127.0.0.1/x",
        "https://10.0.0.8/x",
        "https://192.168.1.2/x",
        "https://169.254.169.254/latest",
        "https://[::1]/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://[fd00::1]/x",
        "https://localhost/x",
        "https://printer.local/x",
        "https://a:b@push.example.org/x",
        "ftp://push.example.org/x",
        "https://push.example.org:99999/x",
        "https://push.example.org/" + "x" * 3000,
    ],
)
def test_unsafe_endpoints_are_refused(url):
    with pytest.raises(endpoints.UnsafeEndpoint):
        endpoints.check_endpoint(url, insecure=False)


def test_public_endpoints_pass_and_insecure_allows_local_testing():
    endpoints.check_endpoint("https://fcm.googleapis.com/fcm/send/abc", insecure=False)
    endpoints.check_endpoint("https://8.8.8.8/x", insecure=False)
    endpoints.check_endpoint("http://127.0.0.1:8999/push/x", insecure=True)


async def test_the_resolver_drops_private_addresses(monkeypatch):
    async def fake(host: str, port: int = 0, family: Any = socket.AF_INET) -> list[Any]:
        addresses = {
            "evil.example": ["127.0.0.1", "10.0.0.1"],
            "mixed.example": ["10.0.0.1", "1.1.1.1"],
        }
        return [{"hostname": host, "host": a, "port": port} for a in addresses[host]]

    resolver = PublicResolver()
    monkeypatch.setattr(resolver._inner, "resolve", fake)
    with pytest.raises(OSError, match="private"):
        await resolver.resolve("evil.example", 443)
    assert [r["host"] for r in await resolver.resolve("mixed.example", 443)] == ["1.1.1.1"]
    await resolver.close()


# ----- the config section ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"web_push": {"contact": "mailto:me@localhost"}}, "localhost"),
        ({"web_push": {"contact": "me@example.org"}}, "mailto"),
        ({"webhooks": [{"name": "x", "url": "ftp://x", "secret": "whsec_" + "A" * 40}]}, "http"),
        ({"webhooks": [{"name": "x", "url": "http://x", "secret": "whsec_QUJD"}]}, "too short"),
        ({"apprise": ["not a url"]}, "Apprise URL"),
        ({"apprise": [{"url": "ntfy://t", "kinds": ["Motion!"]}]}, "event kind"),
        ({"quiet_hours": [{"start": "22:00", "end": "22:00"}]}, "empty"),
        ({"timezone": "Mars/Olympus"}, "time zone"),
        ({"cooldown_seconds": -1}, "greater than or equal"),
        ({"surprise": 1}, "Extra inputs"),
    ],
)
def test_config_errors_say_what_is_wrong(section, message):
    with pytest.raises(ValidationError, match=message):
        NotificationsConfig.model_validate(section)


def test_apprise_takes_plain_urls_or_entries_with_filters():
    parsed = NotificationsConfig.model_validate(
        {
            "apprise": [
                "ntfy://alerts",
                {"url": "tgram://bot/chat", "name": "phone", "kinds": ["tamper"]},
            ]
        }
    )
    assert [(a.label, a.kinds) for a in parsed.apprise] == [("ntfy", None), ("phone", ["tamper"])]

"""Every channel that could be told about an event, as the policy sees it (``Recipient``)
and as the sender needs it (``Target``): push subscriptions with their owners' current
rights (read from the database, so a change of rights applies at once), and the
configured webhooks and Apprise URLs (admins' channels: they see every camera)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from ..db import aware
from ..models import NotificationSnooze
from .config import NotificationsConfig
from .policy import Recipient
from .store import PushTarget

Channel = Literal["web_push", "webhook", "apprise"]


@dataclass(frozen=True)
class Target:
    recipient: Recipient
    channel: Channel
    label: str  # what the log calls it
    user_id: int | None = None
    push: PushTarget | None = None
    index: int = 0  # apprise: position in the config list


def _snoozes(rows: Iterable[NotificationSnooze], user_id: int | None) -> dict[str, float]:
    """camera -> until, of the snoozes that apply to ``user_id`` (None: config channels,
    to which only snoozes for everyone apply)."""
    out: dict[str, float] = {}
    for row in rows:
        if row.user_id is None or (user_id is not None and row.user_id == user_id):
            until = aware(row.until).timestamp()
            out[row.camera] = max(out.get(row.camera, 0.0), until)
    return out


def _set(values: list[str] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(values)


def build(
    config: NotificationsConfig,
    push: Iterable[PushTarget],
    snoozes: list[NotificationSnooze],
) -> list[Target]:
    targets: list[Target] = []
    for sub in push:
        recipient = Recipient(
            sub.key, sub.rights, sub.cameras, sub.kinds, _snoozes(snoozes, sub.user_id)
        )
        targets.append(Target(recipient, "web_push", sub.key, sub.user_id, sub))
    everyone = _snoozes(snoozes, None)
    for webhook in config.webhooks:
        key = f"webhook:{webhook.name}"
        recipient = Recipient(key, None, _set(webhook.cameras), _set(webhook.kinds), everyone)
        targets.append(Target(recipient, "webhook", key))
    for index, entry in enumerate(config.apprise):
        key = f"apprise:{index}"
        recipient = Recipient(key, None, _set(entry.cameras), _set(entry.kinds), everyone)
        targets.append(Target(recipient, "apprise", f"apprise:{entry.label}", index=index))
    return targets

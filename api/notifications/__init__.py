"""Notifications: alerts that reach people who have no dashboard open.

Web Push to phones and browsers, signed webhooks and Apprise notifiers, all behind one
notification policy (``policy``). The ``notifications:`` config section is ``config``;
the service that attaches to the events is ``service``. Nothing here is imported by
``api.settings`` except ``config`` (no cycles, no heavy imports at start).
"""

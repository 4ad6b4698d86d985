"""The long-lived services the routes work with.

``Services`` (:mod:`.container`) builds them from settings and starts and stops them in
order. The rest are the domain services: the live WebSocket channel
(:mod:`.live_channel`), events (:mod:`.event_policy` decides, :mod:`.event_service`
carries out, :mod:`.event_store` stores), and the recording archive
(:mod:`.recording_archive`, with :mod:`.archive_repair`, :mod:`.retention` and
:mod:`.thumbnails`).
"""

from .container import Services

__all__ = ["Services"]

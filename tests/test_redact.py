import logging

from api.logs import RedactingFilter
from camera.redact import redact


def test_url_credentials_are_redacted():
    assert redact("rtsp://admin:hunter2@10.0.0.5/stream") == "rtsp://***@10.0.0.5/stream"
    assert redact("http://cam/snap?user=a&password=hunter2&x=1") == (
        "http://cam/snap?user=a&password=***&x=1"
    )
    assert redact("plain text") == "plain text"


def test_log_records_are_redacted(caplog):
    logger = logging.getLogger("test.redact")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="test.redact"):
        logger.info("opening %s", "rtsp://admin:hunter2@cam/1")
    assert "hunter2" not in caplog.text
    assert "rtsp://***@cam/1" in caplog.text

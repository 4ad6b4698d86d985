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


def test_a_password_with_at_signs_is_hidden_whole():
    # Regression: the old pattern stopped at the first "@" and logged "ss@cam".
    assert redact("rtsp://admin:p@ss@cam/1") == "rtsp://***@cam/1"
    assert redact("opening rtsp://admin:p@s@s@10.0.0.5:554/s (timeout)") == (
        "opening rtsp://***@10.0.0.5:554/s (timeout)"
    )
    assert "p@ss" not in redact("failed: 'rtsp://u:p@ss@cam' and 'http://x/y'")


def test_prefixed_secret_query_parameters_are_hidden():
    text = redact(
        "http://cam/a?access_token=abc123&api_key=k3y&apikey=z9&user=me&x-amz-signature=s"
    )
    for secret in ("abc123", "k3y", "z9", "=s"):
        assert secret not in text, text
    assert "user=me" in text
    assert "access_token=***" in text
    assert "api_key=***" in text

"""What keeps the server small (issue 13, bench/README.md "memory"): libraries only some
setups use are imported by those setups only, and nothing costs a password hash at start.

Each check runs in a fresh interpreter, since this test process has imported everything.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import argon2

from api.passwords import DUMMY_HASH, hash_password, verify_password

REPO = Path(__file__).resolve().parent.parent

# A new server with one camera and no notification channels or MQTT, as built
# and started by ``sentrycam serve`` (uvicorn's part left out: it imports nothing of these).
START_A_SERVER = """
import asyncio, sys
from pathlib import Path
from api.app import create_app
from api.config_store import load_layered
from api.services.container import Services

config = {"cameras": [{"id": "demo", "source": "demo", "width": 320, "height": 180}]}
{extra}
data_dir = Path(sys.argv[1])
loaded = load_layered(None, data_dir, file=config, autodetect=False)
services = Services(loaded, data_dir)
create_app(services)

async def main():
    await services.start()
    await services.stop()

asyncio.run(main())
print(" ".join(sorted({name.split(".")[0] for name in sys.modules})))
"""


def modules_after_start(tmp_path: Path, extra: str = "") -> set[str]:
    code = START_A_SERVER.replace("{extra}", textwrap.dedent(extra))
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "data")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_a_plain_new_server_never_imports_aiohttp_mqtt_or_alembic(tmp_path):
    loaded = modules_after_start(tmp_path)
    assert {"sqlalchemy", "fastapi", "aiortc"} <= loaded  # it did start
    assert not loaded & {"aiohttp", "yarl", "multidict", "aiomqtt", "paho", "alembic"}


def test_webhooks_and_mqtt_still_load_what_they_need(tmp_path):
    extra = """
    config["notifications"] = {"webhooks": [
        {"name": "ha", "url": "http://127.0.0.1:9/hook", "secret": "whsec_" + "A" * 40}
    ]}
    config["mqtt"] = {"host": "127.0.0.1", "port": 9}
    """
    loaded = modules_after_start(tmp_path, extra)
    assert {"aiohttp", "aiomqtt"} <= loaded


def test_importing_the_password_module_hashes_nothing():
    code = """
import argon2
def refuse(*args, **kwargs):
    raise SystemExit("a hash at import (64 MiB)")
argon2.PasswordHasher.hash = refuse
import api.passwords
"""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr + done.stdout


def test_the_dummy_hash_costs_what_a_real_one_does_and_matches_nothing():
    assert argon2.extract_parameters(DUMMY_HASH) == argon2.extract_parameters(
        hash_password("any password at all")
    )
    assert not verify_password(DUMMY_HASH, "sentrycam-dummy-password")
    assert not verify_password(DUMMY_HASH, "")

"""Safe file serving: nothing outside the served directory, by any spelling."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from api.errors import NotFound
from api.files import safe_file
from tests.conftest import demo_config

CANARY = "SENTRYCAM-CANARY-7f3a"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    served = tmp_path / "served"
    served.mkdir()
    (served / "ok.js").write_text("fine")
    (tmp_path / "canary.js").write_text(CANARY)
    os.symlink(tmp_path / "canary.js", served / "link.js")
    return served


@pytest.mark.parametrize(
    "name",
    [
        "../canary.js",
        "/etc/passwd",
        str(Path("/").resolve() / "etc" / "passwd"),
        "..\\canary.js",
        "sub/../../canary.js",
        "link.js",
        ".hidden",
        "ok.js\x00.png",
        "",
        ".",
        "missing.js",
    ],
)
def test_refused(tree: Path, name: str) -> None:
    with pytest.raises(NotFound):
        safe_file(tree, name)


def test_served(tree: Path) -> None:
    assert safe_file(tree, "ok.js").read_text() == "fine"


TRAVERSALS = [
    "/..%2fcanary.js",
    "/%2e%2e%2fcanary.js",
    "/%2e%2e/canary.js",
    "/..%5ccanary.js",
    "/%252e%252e%252fcanary.js",
    "//etc/passwd",
    "/%2fetc%2fpasswd",
    "/..;/canary.js",
    "/link.js",
    "/web/../../canary.js",
    "/app.js%00.css",
    "/.%2e/.%2e/canary.js",
]


async def test_asset_route_never_leaves_the_web_dir(start_server, tmp_path, monkeypatch):
    # Serve a copy of web/ that also holds a symlink pointing at a canary outside it.
    web = tmp_path / "web"
    shutil.copytree(Path(__file__).parent.parent / "web", web)
    (tmp_path / "canary.js").write_text(CANARY)
    os.symlink(tmp_path / "canary.js", web / "link.js")
    monkeypatch.setattr("api.routes.pages.WEB_DIR", web)
    server = await start_server(demo_config())
    for client in (server.client, server.anonymous()):
        for path in TRAVERSALS:
            response = await client.get(path)
            assert response.status_code in (401, 404, 422), (path, response.status_code)
            assert CANARY not in response.text
            assert "root:" not in response.text
    assert (await server.client.get("/app.js")).status_code == 200

"""Fuzzing the offer parser and the WHEP endpoint: any input is answered or refused (400)."""

from __future__ import annotations

import asyncio
import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from camera.errors import BadOffer
from camera.webrtc import validate_offer
from tests.conftest import demo_config
from tests.whep_client import make_offer


def real_offer() -> str:
    async def make() -> str:
        pc = await make_offer()
        sdp = pc.localDescription.sdp
        await pc.close()
        return sdp

    return asyncio.run(make())


OFFER_LINES = real_offer().splitlines()

mutation = st.one_of(
    st.tuples(st.just("delete"), st.integers(0, len(OFFER_LINES) - 1)),
    st.tuples(st.just("duplicate"), st.integers(0, len(OFFER_LINES) - 1)),
    st.tuples(st.just("truncate"), st.integers(0, len(OFFER_LINES) - 1)),
    st.tuples(
        st.just("replace"),
        st.integers(0, len(OFFER_LINES) - 1),
        st.text(max_size=40),
    ),
)


def mutate(actions: list[tuple[object, ...]]) -> str:
    lines = list(OFFER_LINES)
    for action in actions:
        index = int(action[1]) % max(len(lines), 1)  # type: ignore[call-overload]
        if not lines:
            break
        if action[0] == "delete":
            del lines[index]
        elif action[0] == "duplicate":
            lines.insert(index, lines[index])
        elif action[0] == "truncate":
            lines[index] = lines[index][: len(lines[index]) // 2]
        else:
            lines[index] = str(action[2])
    return "\r\n".join(lines) + "\r\n"


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(max_size=400))
def test_random_text_is_refused_cleanly(text):
    with contextlib.suppress(BadOffer):
        validate_offer(text)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(mutation, min_size=1, max_size=4))
def test_mutated_offers_parse_or_are_refused_cleanly(actions):
    with contextlib.suppress(BadOffer):
        validate_offer(mutate(actions))


async def test_mutated_offers_never_crash_the_endpoint(start_server):
    server = await start_server(demo_config())
    await server.wait_online("demo")
    statuses: list[int] = []

    @settings(
        max_examples=40,
        derandomize=True,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.lists(mutation, min_size=1, max_size=3))
    def post(actions: list[tuple[object, ...]]) -> None:
        statuses.append(asyncio.run_coroutine_threadsafe(send(mutate(actions)), loop).result(30))

    async def send(sdp: str) -> int:
        response = await server.client.post(
            "/api/cameras/demo/whep", content=sdp, headers={"Content-Type": "application/sdp"}
        )
        if response.status_code == 201:
            await server.client.delete(response.headers["location"])
        return response.status_code

    loop = asyncio.get_running_loop()
    await asyncio.to_thread(post)
    assert statuses
    assert set(statuses) <= {201, 400}, statuses
    assert server.services.webrtc.viewers("demo") == 0

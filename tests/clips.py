"""Footage with known ground truth for the motion detector, and how to score it.

Synthetic clips are 256x144 grayscale at 10 fps, made with numpy from a seeded RNG: a
static textured scene, sensor noise, lighting as a function of time and shapes moving along
waypoints. The truth is the time a mover is moving with at least half of it in the
picture. Real clips are the two videos of Debian's ``opencv-doc`` package, with truth
written down from watching them. ``run`` plays footage through ``camera.motion.step`` and
``score`` matches the events against the truth. Shared by tests/test_motion.py and
bench/motion.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

from camera.motion import Gray, MotionConfig, MotionState, Point, Zone, downscale, step

SHAPE = (144, 256)
FPS = 10.0
OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
Interval = tuple[float, float]
Lighting = Callable[[float], tuple[float, float]]  # t -> (gain, offset)
Tone = Callable[[float, "Floats"], "Floats"]  # (t, picture) -> the picture in that light
Frames = Iterator[tuple[float, Gray]]
Floats = npt.NDArray[np.float64]


def steady(t: float) -> tuple[float, float]:
    return 1.0, 0.0


def ramp(start: float, seconds: float, offset: float) -> Lighting:
    """Brightness drifting by ``offset`` over ``seconds`` from ``start`` (clouds, dusk)."""
    return lambda t: (1.0, offset * min(max((t - start) / seconds, 0.0), 1.0))


def switch(at: float, offset: float) -> Lighting:
    """The whole picture brighter by ``offset`` from one frame to the next (a light)."""
    return lambda t: (1.0, offset if t >= at else 0.0)


def shadow(start: float, seconds: float, gain: float) -> Lighting:
    """A cloud's shadow: brightness scaled down to ``gain`` and back over ``seconds``."""

    def light(t: float) -> tuple[float, float]:
        phase = min(max((t - start) / seconds, 0.0), 1.0)
        return 1.0 - (1.0 - gain) * np.sin(np.pi * phase), 0.0

    return light


@dataclass(frozen=True)
class Mover:
    """A shape whose centre glides along waypoints ``(t, x, y)`` (seconds, pixels).

    ``delta`` is its brightness relative to the scene beneath (a dark coat is about -60),
    so its contrast is the same wherever it goes; a faint texture of its own rides on top.
    ``sway`` makes it oscillate around its path instead (a branch in the wind).
    """

    width: int
    height: int
    delta: float
    path: tuple[tuple[float, float, float], ...]
    ellipse: bool = True
    sway: float = 0.0

    def centre(self, t: float) -> tuple[float, float] | None:
        times = [point[0] for point in self.path]
        if not times[0] <= t <= times[-1]:
            return None
        x = float(np.interp(t, times, [point[1] for point in self.path]))
        y = float(np.interp(t, times, [point[2] for point in self.path]))
        return x + self.sway * np.sin(2.0 * np.pi * 0.7 * t), y

    def sprite(self) -> Floats:
        """The shape's brightness change: ``delta`` plus texture inside, 0 outside."""
        rng = np.random.default_rng(self.width * 1000 + self.height)
        texture = self.delta + rng.normal(0.0, 6.0, (self.height, self.width))
        if not self.ellipse:
            return texture
        inside = np.zeros((self.height, self.width), np.uint8)
        centre = (self.width // 2, self.height // 2)
        cv2.ellipse(inside, centre, (self.width // 2, self.height // 2), 0, 0, 360, 1, -1)
        return texture * inside

    def shown(self, t: float) -> float:
        """Fraction of the shape inside the picture at time ``t``."""
        centre = self.centre(t)
        if centre is None:
            return 0.0
        x0, y0 = centre[0] - self.width / 2, centre[1] - self.height / 2
        w = max(0.0, min(x0 + self.width, SHAPE[1]) - max(x0, 0.0))
        h = max(0.0, min(y0 + self.height, SHAPE[0]) - max(y0, 0.0))
        return w * h / (self.width * self.height)


@dataclass(frozen=True)
class Footage:
    """Frames with times, the truth (intervals with real motion) and the config to use."""

    name: str
    frames: Callable[[], Frames]
    truth: tuple[Interval, ...]
    duration: float
    config: MotionConfig = field(default_factory=MotionConfig)
    recalibrate_at: tuple[float, ...] = ()  # times a recalibration is expected


def scene(seed: int) -> Floats:
    """A static textured picture: smooth shading, fine grain and a few flat blocks."""
    rng = np.random.default_rng(seed)
    rows, cols = SHAPE
    coarse = rng.normal(0.0, 25.0, (rows // 16 + 2, cols // 16 + 2))
    picture = 120.0 + cv2.resize(coarse, (cols, rows), interpolation=cv2.INTER_CUBIC)
    picture += cv2.GaussianBlur(rng.normal(0.0, 20.0, SHAPE), (0, 0), 0.8)
    for _ in range(6):
        x, y = int(rng.integers(0, cols - 40)), int(rng.integers(0, rows - 30))
        picture[y : y + int(rng.integers(10, 30)), x : x + int(rng.integers(10, 40))] += float(
            rng.normal(0.0, 35.0)
        )
    clipped: Floats = np.clip(picture, 20.0, 230.0)
    return clipped


def synthetic(
    name: str,
    duration: float,
    movers: tuple[Mover, ...] = (),
    lighting: Lighting = steady,
    noise: float = 4.0,
    config: MotionConfig | None = None,
    recalibrate_at: tuple[float, ...] = (),
    seed: int = 1,
    truth: tuple[Interval, ...] | None = None,
    tone: Tone | None = None,
    fps: float = FPS,
) -> Footage:
    """A clip rendered on demand (frames are not kept: each pass renders them again).

    ``tone`` replaces ``lighting`` by any change of light: it gets the time and the lit
    scene (before movers and noise) and returns the scene in that light.
    """
    times = [index / fps for index in range(round(duration * fps))]

    def frames() -> Frames:
        rng = np.random.default_rng(seed)
        background = scene(seed)
        sprites = [mover.sprite() for mover in movers]
        for t in times:
            gain, offset = lighting(t)
            picture = background * gain + offset
            if tone is not None:
                picture = tone(t, picture)
            for mover, sprite in zip(movers, sprites, strict=True):
                _paste(picture, sprite, mover.centre(t))
            picture += rng.normal(0.0, noise, SHAPE)
            yield t, np.clip(picture, 0.0, 255.0).astype(np.uint8)

    if truth is None:
        truth = _truth(movers, times, 1.0 / fps)
    return Footage(name, frames, truth, duration, config or MotionConfig(), recalibrate_at)


def _paste(picture: Floats, sprite: Floats, centre: tuple[float, float] | None) -> None:
    if centre is None:
        return
    height, width = sprite.shape
    x0, y0 = round(centre[0] - width / 2), round(centre[1] - height / 2)
    left, top = max(x0, 0), max(y0, 0)
    right, bottom = min(x0 + width, SHAPE[1]), min(y0 + height, SHAPE[0])
    if left < right and top < bottom:
        picture[top:bottom, left:right] += sprite[top - y0 : bottom - y0, left - x0 : right - x0]


def _truth(movers: tuple[Mover, ...], times: list[float], step_s: float) -> tuple[Interval, ...]:
    """Runs of frames where some mover is moving with at least half of it in the picture."""
    active = [
        any(
            mover.shown(t) >= 0.5 and mover.centre(t) != mover.centre(t - step_s)
            for mover in movers
        )
        for t in times
    ]
    intervals: list[Interval] = []
    for t, moving in zip(times, active, strict=True):
        if moving and intervals and t - intervals[-1][1] <= 1.0:
            intervals[-1] = (intervals[-1][0], t)
        elif moving:
            intervals.append((t, t))
    return tuple(intervals)


def crossing(
    width: int, height: int, delta: float, speed: float, start: float, y: float = 90.0
) -> Mover:
    """Enters at the left edge at ``start`` and leaves at the right at ``speed`` px/s."""
    travel = (SHAPE[1] + width) / speed
    path = ((start, -width / 2, y), (start + travel, SHAPE[1] + width / 2, y))
    return Mover(width, height, delta, path, ellipse=height > width)


def rect(x: float, y: float, w: float, h: float) -> list[Point]:
    return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]


PERSON = (8, 20, -60.0)
FAR_PERSON = (5, 12, -50.0)
FAINT_PERSON = (10, 24, 35.0)
CAR = (60, 24, 70.0)
NIGHT_PERSON = (8, 20, -15.0)


def night(t: float) -> tuple[float, float]:
    """A dim, flat picture: the 2nd-98th percentile spread shrinks from about 150 to 35."""
    return 0.23, 0.0


def synthetic_set() -> list[Footage]:
    """Every synthetic clip: moving objects, then clips where nothing should fire."""
    return moving_clips() + quiet_clips()


def moving_clips() -> list[Footage]:
    porch = MotionConfig(zones=[Zone(name="porch", points=rect(0.55, 0.3, 0.45, 0.7))])
    # someone passing right in front of the lens, over half the picture: the detector
    # recalibrates as they arrive and leave, and must still see them move in between
    lens = Mover(200, 130, -60.0, ((2.0, 60.0, 72.0), (12.0, 460.0, 72.0)), ellipse=False)
    parking = Mover(*CAR, path=((2.0, -30.0, 100.0), (8.0, 128.0, 100.0), (45.0, 128.0, 100.0)))
    back_and_forth = Mover(
        *PERSON, path=((2.0, 200.0, 100.0), (8.0, 160.0, 80.0), (14.0, 230.0, 110.0))
    )
    return [
        synthetic("person slow", 30.0, (crossing(*PERSON, speed=12.0, start=2.0),)),
        synthetic("person fast", 14.0, (crossing(*PERSON, speed=60.0, start=2.0, y=40.0),)),
        synthetic("person far", 22.0, (crossing(*FAR_PERSON, speed=20.0, start=2.0, y=30.0),)),
        synthetic("person faint", 22.0, (crossing(*FAINT_PERSON, speed=20.0, start=2.0),)),
        synthetic("car slow", 20.0, (crossing(*CAR, speed=30.0, start=2.0, y=110.0),)),
        synthetic("car fast", 12.0, (crossing(*CAR, speed=200.0, start=3.0, y=110.0),)),
        synthetic(
            "two visits",
            50.0,
            (
                crossing(*PERSON, speed=25.0, start=2.0),
                crossing(*PERSON, speed=40.0, start=28.0, y=60.0),
            ),
        ),
        synthetic(
            "person in light ramp",
            28.0,
            (crossing(*PERSON, speed=20.0, start=6.0),),
            lighting=ramp(0.0, 20.0, 60.0),
        ),
        synthetic("person in zone", 22.0, (back_and_forth,), config=porch),
        synthetic("car parks", 45.0, (parking,)),
        synthetic("close to the lens", 18.0, (lens,)),
        synthetic("person at night", 22.0, (crossing(*NIGHT_PERSON, 20.0, 2.0),), night),
    ]


def quiet_clips() -> list[Footage]:
    """Clips where any event is a false alarm."""
    porch = MotionConfig(zones=[Zone(name="porch", points=rect(0.55, 0.3, 0.45, 0.7))])
    hedge = rect(0.0, 0.0, 0.4, 0.5)
    branch = Mover(30, 20, 50.0, ((0.0, 50.0, 30.0), (30.0, 50.0, 30.0)), sway=12.0)
    outside = Mover(*PERSON, path=((2.0, -4.0, 90.0), (9.0, 100.0, 70.0), (16.0, -4.0, 90.0)))
    return [
        synthetic("sensor noise", 30.0, noise=5.0),
        synthetic("sensor noise at night", 30.0, lighting=night, noise=5.0),
        synthetic("light ramp +60/20s", 26.0, lighting=ramp(3.0, 20.0, 60.0)),
        synthetic("light ramp +60/8s", 16.0, lighting=ramp(3.0, 8.0, 60.0)),
        # a pure change of brightness is undone without rebuilding the background
        synthetic("light switch +80", 15.0, lighting=switch(5.0, 80.0)),
        synthetic("cloud shadow x0.7", 15.0, lighting=shadow(3.0, 6.0, 0.7)),
        synthetic("branch in mask", 30.0, (branch,), config=MotionConfig(masks=[hedge]), truth=()),
        synthetic("person outside zone", 20.0, (outside,), config=porch, truth=()),
    ]


# ----- light that changes slowly (issue 12): analysed at 5 fps, as a camera does --------

LIGHT_FPS = 5.0
_COLUMNS = np.linspace(0.0, 1.0, SHAPE[1])[None, :]  # 0 at the left edge, 1 at the right


def _progress(t: float, start: float, seconds: float) -> float:
    return min(max((t - start) / seconds, 0.0), 1.0)


def light_tones() -> dict[str, Tone]:
    """Changes of light over more than half the brightness range in 15-30 s: offsets,
    gains, gamma (what a camera's tone curve makes of exposure), auto exposure hunting,
    light from one side, a cloud. Black and white clip as in a real picture."""
    return {
        "dusk: darker by 140 in 15 s": lambda t, p: p - 140.0 * _progress(t, 2.0, 15.0),
        "dawn: brighter by 130 in 20 s": lambda t, p: p + 130.0 * _progress(t, 2.0, 20.0),
        "exposure x1 to x0.25 in 15 s": lambda t, p: p * (1.0 - 0.75 * _progress(t, 2.0, 15.0)),
        "exposure x0.25 to x1.3 in 25 s": lambda t, p: p * (0.25 + 1.05 * _progress(t, 2.0, 25.0)),
        "gamma 1 to 2.2 in 20 s": lambda t, p: (
            255.0 * (np.clip(p, 0.0, 255.0) / 255.0) ** (1.0 + 1.2 * _progress(t, 2.0, 20.0))
        ),
        "gain and offset in 30 s": lambda t, p: (
            p * (1.0 - 0.5 * _progress(t, 2.0, 30.0)) + 70.0 * _progress(t, 2.0, 30.0)
        ),
        "auto exposure hunting x0.5-x1.5": lambda t, p: (
            p * (1.0 + 0.5 * np.sin(2.0 * np.pi * t / 8.0))
        ),
        "sun setting on the left in 20 s": lambda t, p: (
            p * (1.0 - 0.7 * _progress(t, 2.0, 20.0) * (1.0 - _COLUMNS))
        ),
        "cloud x0.4 and back in 6 s": lambda t, p: (
            p * (1.0 - 0.6 * np.sin(np.pi * _progress(t, 3.0, 6.0)))
        ),
    }


def light_clips(noise: float = 5.0) -> list[Footage]:
    """Nothing moves: any event is a false alarm."""
    return [
        synthetic(name, 30.0, tone=tone, noise=noise, fps=LIGHT_FPS, seed=3, truth=())
        for name, tone in light_tones().items()
    ]


def walker_in_light_clips() -> list[Footage]:
    """A person walks in while the light changes (half way through each ramp)."""
    tones = light_tones()
    return [
        synthetic(
            f"person during {name}",
            30.0,
            (crossing(*PERSON, speed=20.0, start=start),),
            tone=tones[name],
            fps=LIGHT_FPS,
            seed=3,
        )
        for name, start in (
            ("dusk: darker by 140 in 15 s", 8.0),
            ("exposure x0.25 to x1.3 in 25 s", 12.0),
            ("gamma 1 to 2.2 in 20 s", 10.0),
            ("auto exposure hunting x0.5-x1.5", 5.0),
            ("sun setting on the left in 20 s", 11.0),
        )
    ]


def real_footage(name: str) -> Footage:
    """``vtest.avi`` or ``tree.avi``, decoded with PyAV at their own frame times.

    vtest: 768x576 at 10 fps, people walk on the paths from the first frame to the last
    (79.4 s). tree: 320x240 at about 2.3 fps (uneven), a tree sways behind a window for the
    whole clip; a hand comes in from the top right at 23.53 s (frame 53) and stays to the
    end (29.53 s). Only the hand is motion that should raise an event.
    """
    truth = {"vtest": ((0.0, 79.4),), "tree": ((23.53, 29.53),)}[name]
    duration = truth[0][1] if name == "vtest" else 29.53
    return Footage(name, lambda: decode(OPENCV_DATA / f"{name}.avi"), truth, duration)


def decode(path: Path) -> Frames:
    """Frames of a video file as downscaled luma with their presentation times."""
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield float(frame.time or 0.0), downscale(frame.to_ndarray(format="gray"))


# A mask over the tree in tree.avi. The tree fills most of the view, so this is everything
# but the sky at the top right, where the window looks past it and where the hand comes in.
TREE_MASK: list[Point] = [
    (0.0, 0.0),
    (0.62, 0.0),
    (0.62, 0.55),
    (1.0, 0.55),
    (1.0, 1.0),
    (0.0, 1.0),
]


@dataclass(frozen=True)
class Event:
    start: float  # time of the frame that reported "start"
    end: float | None  # time of the frame that reported "end"; None if still open
    first_motion: float
    peak_score: float
    zones: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    events: tuple[Event, ...]
    recalibrations: tuple[float, ...]
    frames: int


def run(footage: Footage, config: MotionConfig | None = None) -> Outcome:
    """Play the footage through the detector and collect its events."""
    state, events, recalibrations, count = MotionState(), [], [], 0
    for t, frame in footage.frames():
        state, result = step(state, frame, config or footage.config, t)
        count += 1
        if result.recalibrated and count > 1:
            recalibrations.append(t)
        summary = result.summary
        if result.event == "start" and summary is not None:
            events.append(Event(t, None, summary.started_at, 0.0, ()))
        if result.event in ("start", "update", "end") and summary is not None:
            events[-1] = Event(
                events[-1].start,
                t if result.event == "end" else None,
                summary.started_at,
                summary.peak_score,
                summary.zones,
            )
    return Outcome(tuple(events), tuple(recalibrations), count)


@dataclass(frozen=True)
class Score:
    """Events against the truth; a truth interval met by an event in progress is detected."""

    events: int
    false_events: int
    truths: int
    detected: int
    delays: tuple[float, ...]  # per detected truth: its start to the event's "start"
    coverage: float  # fraction of the truth's time spent inside an event

    @property
    def precision(self) -> float:
        return 1.0 if not self.events else 1.0 - self.false_events / self.events

    @property
    def recall(self) -> float:
        return 1.0 if not self.truths else self.detected / self.truths


TOLERANCE = 1.0  # seconds an event may start outside its truth interval and still match


def score(footage: Footage, outcome: Outcome) -> Score:
    spans = [
        (event.start, footage.duration if event.end is None else event.end)
        for event in outcome.events
    ]
    false_events = sum(
        not any(a - TOLERANCE <= start <= b + TOLERANCE for a, b in footage.truth)
        for start, _ in spans
    )
    delays = []
    for a, b in footage.truth:
        meeting = [start for start, end in spans if start <= b and end >= a]
        if meeting:
            delays.append(max(0.0, meeting[0] - a))
    truth_time = sum(b - a for a, b in footage.truth)
    covered = sum(_overlap(span, interval) for span in spans for interval in footage.truth)
    coverage = covered / truth_time if truth_time else 1.0
    return Score(len(spans), false_events, len(footage.truth), len(delays), tuple(delays), coverage)


def _overlap(a: Interval, b: Interval) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))

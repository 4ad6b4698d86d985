"""ALSA microphones: which capture devices exist, what they accept, which webcam they
belong to.

Read from ``/proc/asound`` and sysfs (no ALSA library needed to list them). A USB
microphone's rates and channels come from ``/proc/asound/cardN/stream0``; other cards
(the loopback card, HATs) are opened at 48 kHz and ALSA picks the nearest rate. A webcam's
own microphone is the capture device whose USB parent in sysfs is the webcam's
(``audio: auto``). Devices are named ``hw:CARD=<id>,DEV=<n>``, which survives card
renumbering, unlike ``hw:1,0``.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import av

from .v4l2 import UsbInfo, usb_info

logger = logging.getLogger(__name__)

PREFERRED_RATE = 48000


@dataclass(frozen=True)
class AudioDevice:
    card: int
    card_id: str  # ALSA card id (stable name), e.g. "C920" or "Loopback"
    card_name: str
    device: int
    name: str  # the PCM's own name
    rates: tuple[int, ...]  # empty when unknown (the driver decides)
    channels: tuple[int, ...]
    usb: UsbInfo | None = None

    @property
    def alsa(self) -> str:
        return f"hw:CARD={self.card_id},DEV={self.device}"

    @property
    def identity(self) -> str:
        if self.usb is not None:
            base = f"usb-{self.usb.vendor}:{self.usb.product}-"
            base += self.usb.serial if self.usb.serial else f"port-{self.usb.port}"
            return f"{base}-audio{self.device}"
        return f"alsa-{self.card_id}-{self.device}"

    def open_rate(self) -> int:
        """48 kHz when offered, else the highest rate the device has."""
        if not self.rates or PREFERRED_RATE in self.rates:
            return PREFERRED_RATE
        return max(self.rates)

    def open_channels(self) -> int:
        """Mono when offered (most webcam mics), else the fewest channels."""
        return min(self.channels) if self.channels else 1


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def parse_stream(text: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Rates and channel counts of the capture side of a USB audio ``stream0`` file."""
    capture = text.split("Capture:", 1)[1] if "Capture:" in text else ""
    capture = capture.split("Playback:", 1)[0]
    rates: set[int] = set()
    channels: set[int] = set()
    for line in capture.splitlines():
        key, _, value = line.strip().partition(":")
        if key == "Channels":
            channels.update(int(v) for v in re.findall(r"\d+", value)[:1])
        elif key == "Rates":
            numbers = [int(v) for v in re.findall(r"\d+", value)]
            if "continuous" in value and len(numbers) >= 2:
                low, high = numbers[0], numbers[1]
                numbers = [r for r in (8000, 16000, 44100, 48000) if low <= r <= high] or numbers
            rates.update(numbers)
    return tuple(sorted(rates)), tuple(sorted(channels))


class Alsa:
    """Capture devices from a /proc/asound and sysfs tree (real, or a copy in tests)."""

    def __init__(self, proc: str = "/proc/asound", sysfs: str = "/sys") -> None:
        self.proc = Path(proc)
        self.sysfs = Path(sysfs)

    def devices(self) -> list[AudioDevice]:
        found = []
        for card_dir in sorted(self.proc.glob("card[0-9]*"), key=lambda p: int(p.name[4:])):
            card = int(card_dir.name[4:])
            card_id = _read(card_dir / "id").strip() or str(card)
            usb = usb_info(
                Path(os.path.realpath(self.sysfs / "class/sound" / f"card{card}" / "device"))
            )
            rates, channels = parse_stream(_read(card_dir / "stream0"))
            card_name = self._card_name(card) or card_id
            for pcm in sorted(card_dir.glob("pcm[0-9]*c"), key=lambda p: int(p.name[3:-1])):
                info = _read(pcm / "info")
                match = re.search(r"^name: (.*)$", info, re.MULTILINE)
                found.append(
                    AudioDevice(
                        card=card,
                        card_id=card_id,
                        card_name=card_name,
                        device=int(pcm.name[3:-1]),
                        name=match.group(1).strip() if match else card_name,
                        rates=rates,
                        channels=channels,
                        usb=usb,
                    )
                )
        return found

    def _card_name(self, card: int) -> str | None:
        for line in _read(self.proc / "cards").splitlines():
            match = re.match(rf"\s*{card} \[[^\]]*\]: \S+ - (.*)$", line)
            if match:
                return match.group(1).strip()
        return None

    def resolve(self, name: str) -> AudioDevice | None:
        """The device a config's ``audio:`` names (``hw:1,0``, ``hw:CARD=C920,DEV=0``,
        ``plughw:...``), if it is a capture device here; None for names ALSA alone knows
        (``default``, ``dsnoop`` ...)."""
        match = re.fullmatch(r"(?:plug)?hw:(?:CARD=)?([^,]+)(?:,(?:DEV=)?(\d+))?", name)
        if not match:
            return None
        card, device = match.group(1), int(match.group(2) or 0)
        for candidate in self.devices():
            if card in (str(candidate.card), candidate.card_id) and candidate.device == device:
                return candidate
        return None

    def paired_with(self, usb: UsbInfo | None) -> AudioDevice | None:
        """The microphone built into the same USB device as a webcam, if it has one."""
        if usb is None:
            return None
        return next((d for d in self.devices() if d.usb and d.usb.sysfs == usb.sysfs), None)


def pyav_has_alsa() -> bool:
    """Whether this PyAV build can capture from ALSA (the wheels include it)."""
    return "alsa" in av.formats_available

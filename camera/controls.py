"""V4L2 controls of a webcam: read them, check a change, set it.

A control is named like ``v4l2-ctl`` names it: the driver's label in lower case with
``_`` for spaces and punctuation (``Exposure Time, Absolute`` -> ``exposure_time_absolute``,
``Power Line Frequency`` -> ``power_line_frequency``). Integer, boolean and menu controls
are offered; buttons, compound and string controls are not. A menu value may be given by
its index or its label (``power_line_frequency: "50 Hz"``).

Controls are set in an order that works on real cameras: the automatic modes first
(``auto_exposure``, ``white_balance_automatic``, ``focus_automatic_continuous``), so that a
manual value set with them is not refused as inactive.

Everything here does ioctls on its own file handle: call it off the event loop. V4L2 lets
controls change while another handle streams.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .errors import CameraError

ControlValue = int | bool | str

_TYPES = {1: "integer", 2: "boolean", 3: "menu", 5: "integer", 9: "integer_menu"}
_MENU_TYPES = (3, 9)
_FLAG_DISABLED = 0x0001
_FLAG_GRABBED = 0x0002
_FLAG_READ_ONLY = 0x0004
_FLAG_INACTIVE = 0x0010
_FLAG_WRITE_ONLY = 0x0040


class ControlError(CameraError):
    """A control name or value the device does not accept."""


@dataclass(frozen=True)
class Control:
    name: str
    label: str
    type: str  # integer, boolean, menu, integer_menu
    minimum: int
    maximum: int
    step: int
    default: int
    value: int | None
    menu: dict[int, str] = field(default_factory=dict)
    inactive: bool = False
    read_only: bool = False

    def json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "min": self.minimum,
            "max": self.maximum,
            "step": self.step,
            "default": self.default,
            "value": bool(self.value) if self.type == "boolean" else self.value,
            "menu": {str(k): v for k, v in self.menu.items()} or None,
            "inactive": self.inactive,
            "read_only": self.read_only,
        }


def control_name(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


def _order(name: str) -> tuple[int, str]:
    return (0 if "auto" in name else 1, name)


@contextmanager
def _open(path: str) -> Iterator[int]:
    try:
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    except OSError as error:
        from .v4l2 import DeviceUnavailable

        raise DeviceUnavailable(f"{path}: {error.strerror}") from None
    try:
        yield fd
    finally:
        os.close(fd)


def _query(fd: int, menus: set[str] | None = None) -> list[tuple[Any, dict[int, str]]]:
    """The device's controls with their menus (only of the controls named in ``menus``,
    when given: some drivers have menus of a hundred items)."""
    from linuxpy.video import device as v4l

    found = []
    for info in v4l.iter_read_controls(fd):
        if info.type not in _TYPES or info.flags & (_FLAG_DISABLED | _FLAG_WRITE_ONLY):
            continue
        named = menus is None or control_name(info.name.decode(errors="replace")) in menus
        menu = _menu(fd, info) if info.type in _MENU_TYPES and named else {}
        found.append((info, menu))
    return found


def _menu(fd: int, info: Any) -> dict[int, str]:
    from linuxpy.video import device as v4l
    from linuxpy.video import raw

    menu: dict[int, str] = {}
    for index in range(info.minimum, info.maximum + 1):
        item = raw.v4l2_querymenu()
        item.id, item.index = info.id, index
        try:
            v4l.ioctl(fd, v4l.IOC.QUERYMENU, item)
        except OSError:
            continue
        menu[index] = item.name.decode(errors="replace") if info.type == 3 else str(item.value)
    return menu


def _value(fd: int, info: Any) -> int | None:
    from linuxpy.video import device as v4l

    try:
        return int(v4l.get_controls_values(fd, [info])[0])
    except OSError:
        return None


def _control(fd: int, info: Any, menu: dict[int, str]) -> Control:
    label = info.name.decode(errors="replace")
    return Control(
        name=control_name(label),
        label=label,
        type=_TYPES[info.type],
        minimum=int(info.minimum),
        maximum=int(info.maximum),
        step=int(info.step),
        default=int(info.default_value),
        value=_value(fd, info),
        menu=menu,
        inactive=bool(info.flags & _FLAG_INACTIVE),
        read_only=bool(info.flags & (_FLAG_READ_ONLY | _FLAG_GRABBED)),
    )


def read_controls(path: str) -> list[Control]:
    """Every control offered by the device at ``path``, with its current value."""
    with _open(path) as fd:
        return [_control(fd, info, menu) for info, menu in _query(fd)]


def coerce(control: Control, value: object) -> int:
    """The raw value for ``value`` (an int, a bool, or a menu label), or ControlError."""
    name = control.name
    if control.read_only:
        raise ControlError(f"control {name} is read-only")
    if isinstance(value, str) and control.menu:
        for index, label in control.menu.items():
            if label.lower() == value.strip().lower():
                return index
        choices = ", ".join(f"{i} ({label})" for i, label in control.menu.items())
        raise ControlError(f"control {name}: {value!r} is not one of {choices}")
    if isinstance(value, bool):
        if control.type != "boolean":
            raise ControlError(f"control {name} takes a number, not {value}")
        return int(value)
    if not isinstance(value, int):
        raise ControlError(f"control {name} takes a number, not {value!r}")
    if control.menu and value not in control.menu:
        choices = ", ".join(f"{i} ({label})" for i, label in control.menu.items())
        raise ControlError(f"control {name}: {value} is not one of {choices}")
    if not control.minimum <= value <= control.maximum:
        raise ControlError(
            f"control {name}: {value} is outside {control.minimum}..{control.maximum}"
        )
    if control.step > 1 and (value - control.minimum) % control.step:
        raise ControlError(f"control {name}: {value} is not a multiple of {control.step}")
    return value


def set_controls(
    path: str, values: Mapping[str, ControlValue], read_back: bool = True
) -> list[Control]:
    """Check every value first, then set them (automatic modes first); returns the controls
    as read back from the driver (none without ``read_back``: a camera being opened only
    sets them). Nothing is set when a name or value is wrong."""
    from linuxpy.video import device as v4l

    with _open(path) as fd:
        query = {
            control_name(info.name.decode(errors="replace")): (info, menu)
            for info, menu in _query(fd, None if read_back else set(values))
        }
        checked = []
        for name in sorted(values, key=_order):
            if name not in query:
                offered = ", ".join(sorted(query)) or "none"
                raise ControlError(f"the device has no control {name!r}; it has {offered}")
            info, menu = query[name]
            checked.append((info, coerce(_control(fd, info, menu), values[name])))
        for info, raw_value in checked:
            try:
                v4l.set_controls_values(fd, [(info, raw_value)])
            except OSError as error:
                name = control_name(info.name.decode(errors="replace"))
                if error.errno in (errno.EACCES, errno.EBUSY, errno.EINVAL, errno.ERANGE):
                    raise ControlError(
                        f"the device refused {name}={raw_value}: {error.strerror}"
                    ) from None
                raise
        if not read_back:
            return []
        return [_control(fd, info, menu) for info, menu in query.values()]

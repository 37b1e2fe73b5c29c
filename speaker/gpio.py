"""Lights and buttons on the Pi (gpiozero), and a mute that may survive a restart.

The status light follows the events on the bus like every other listener; the button and the mute
switch send the same commands as MQTT does (listen, stop, mute, unmute) through `submit`.

    idle       off                        listening   steady, bright (blue)
    thinking   a quick pulse (blue)       speaking    slow breathing (cyan)
    muted      steady and dim (red)       error       blinking (orange)
    a timer event fires: quick white flashes; an error event: the error blinks; then the state again

A single LED shows the same patterns in brightness alone. gpiozero is imported only when a pin is
set, so the speaker runs on any Linux machine.
"""

from __future__ import annotations

import logging
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .config import ConfigError, GpioSettings
from .events import Error, ErrorCode, Event, EventBus, StateChanged, Timer

log = logging.getLogger(__name__)

BOUNCE_SECONDS = 0.05  # a mechanical contact chatters this long
TIMER_SECONDS = 1.2  # how long the light flashes when a timer fires
ERROR_SECONDS = 2.4  # how long an error event blinks before the light shows the state again


@dataclass(frozen=True)
class Pattern:
    """How the light looks: a colour (a single LED shows its brightest part), steady, or breathing
    (`breathe` seconds up and as many down), or blinking (`blink`: seconds on, seconds off)."""

    color: tuple[float, float, float]
    breathe: float = 0.0
    blink: tuple[float, float] | None = None


PATTERNS = {
    "idle": Pattern((0, 0, 0)),
    "listening": Pattern((0, 0.3, 1)),
    "thinking": Pattern((0, 0.3, 1), breathe=0.3),
    "speaking": Pattern((0, 0.7, 0.7), breathe=1.2),
    "muted": Pattern((0.15, 0, 0)),
    "error": Pattern((1, 0.3, 0), blink=(0.2, 0.6)),
}
TIMER = Pattern((1, 1, 1), blink=(0.1, 0.1))


class Light:
    """A PWMLED or an RGBLED: one lasting pattern, which a flash may cover for a while."""

    def __init__(self, led):
        self.led = led
        self._rgb = hasattr(led, "color")
        self._lasting = PATTERNS["idle"]
        self._flash: threading.Timer | None = None  # ends the flash being shown (None: no flash)
        self._lock = threading.Lock()

    def show(self, pattern: Pattern) -> None:
        """Show `pattern` from now on (once the flash on show, if any, is over)."""
        with self._lock:
            self._lasting = pattern
            if self._flash is None:
                self._draw(pattern)

    def flash(self, pattern: Pattern, seconds: float) -> None:
        """Show `pattern` for `seconds`, then the lasting pattern again."""
        with self._lock:
            if self._flash is not None:
                self._flash.cancel()
            self._flash = threading.Timer(seconds, self._end_flash)
            self._flash.daemon = True
            self._draw(pattern)
            self._flash.start()

    def _end_flash(self) -> None:
        with self._lock:
            if self._flash is threading.current_thread():  # not replaced by a newer flash, nor closed
                self._flash = None
                self._draw(self._lasting)

    def _draw(self, pattern: Pattern) -> None:
        color = {"on_color": pattern.color} if self._rgb else {}
        if pattern.breathe:
            self.led.pulse(pattern.breathe, pattern.breathe, **color)
        elif pattern.blink:
            self.led.blink(*pattern.blink, **color)
        elif self._rgb:
            self.led.color = pattern.color
        else:
            self.led.value = max(pattern.color)

    def close(self) -> None:
        with self._lock:
            if self._flash is not None:
                self._flash.cancel()
                self._flash = None
            self.led.close()


class Gpio:
    """The light, the button and the mute switch, driven by the bus; and the memory of mute.

    A tap of the button listens (or stops the speaker while it talks); a hold mutes or unmutes.
    The mute switch mutes while closed. With `mute_survives_restart`, a file `muted` in `state_dir`
    exists while the speaker is muted, and a new Gpio mutes the speaker again (a mute switch's
    position decides instead, when there is one).
    """

    def __init__(self, settings: GpioSettings, state_dir: Path, bus: EventBus, submit: Callable[[str], bool]):
        self.settings = settings
        self.submit = submit
        self.bus = bus
        self.state = "idle"
        self.muted = False
        self.light: Light | None = None
        self.button = self.switch = None
        self._held = False  # the button press going on has been a hold (so its release is no tap)
        self._memory = state_dir / "muted" if settings.mute_survives_restart else None
        if settings.pins():
            self._open_pins()
        bus.subscribe(self)
        if self.switch is not None:
            mute_now = self.switch.is_pressed
        else:
            mute_now = self._memory is not None and self._memory.exists()
        if mute_now:
            log.info("muted from the start (%s)", "mute switch" if self.switch else f"remembered in {self._memory}")
            submit("mute")

    def _open_pins(self) -> None:
        self.light, self.button, self.switch = open_devices(self.settings)
        if self.button is not None:
            self.button.when_held = self._hold
            self.button.when_released = self._release
        if self.switch is not None:
            self.switch.when_pressed = lambda: self.submit("mute")
            self.switch.when_released = lambda: self.submit("unmute")

    def allows(self, name: str, payload: dict | None) -> bool:
        """Whether a command from elsewhere (MQTT) may run: nothing unmutes while the mute switch is closed."""
        unmutes = name == "unmute" or (name == "mute" and isinstance(payload, dict) and payload.get("mute") is False)
        if unmutes and self.switch is not None and self.switch.is_pressed:
            log.warning("refused %s: the mute switch is closed", name)
            self.bus.emit(Error(code=ErrorCode.MUTED, message=f"{name}: the mute switch is closed; open it to unmute"))
            return False
        return True

    def __call__(self, event: Event) -> None:
        if isinstance(event, StateChanged):
            self.state = event.state
            if self.state in ("idle", "muted"):  # a `say` while muted speaks, then goes back to muted
                self.muted = self.state == "muted"
                if self._memory is not None:
                    self._remember()
            if self.light is not None:
                self.light.show(PATTERNS[self.state])
        elif isinstance(event, Timer) and self.light is not None:
            self.light.flash(TIMER, TIMER_SECONDS)
        elif isinstance(event, Error) and self.light is not None:
            self.light.flash(PATTERNS["error"], ERROR_SECONDS)

    def _hold(self) -> None:
        self._held = True
        if not self.muted:
            self.submit("mute")
        elif self.allows("unmute", None):
            self.submit("unmute")

    def _release(self) -> None:
        if self._held:
            self._held = False
        else:
            self.submit("stop" if self.state == "speaking" else "listen")

    def _remember(self) -> None:
        try:
            if self.muted:
                private_dir(self._memory.parent)
                self._memory.touch(mode=0o600)
                self._memory.chmod(0o600)
            else:
                self._memory.unlink(missing_ok=True)
        except OSError as e:
            log.warning("cannot remember the mute in %s: %s", self._memory, e)

    def close(self) -> None:
        """Turn the light off and let go of the pins."""
        _close(self.light, self.button, self.switch)
        self.light = self.button = self.switch = None


def open_devices(s: GpioSettings) -> tuple:
    """Open the light, button and mute switch the settings name: (Light | None, Button | None, Button | None).
    Raises ConfigError naming the key when a pin cannot be used (and closes what it opened)."""
    from gpiozero import PWMLED, RGBLED, Button
    from gpiozero.exc import BadPinFactory, GPIOZeroError

    opened: list = []

    def open_one(key: str, make):
        try:
            opened.append(make())
            return opened[-1]
        except BadPinFactory:
            _close(*opened)
            raise ConfigError([f"gpio.{k}: this machine has no GPIO pins; remove this setting "
                               "(it is for a Raspberry Pi)" for k in s.pins()]) from None
        except GPIOZeroError as e:  # a pin in use, or no PWM for the LED...
            _close(*opened)
            raise ConfigError([f"gpio.{key}: {type(e).__name__}: {e}"]) from None

    light = button = switch = None
    with warnings.catch_warnings(record=True) as fallbacks:  # gpiozero's search for a pin library
        warnings.simplefilter("always")
        if s.led_pins:
            light = Light(open_one("led_pins", lambda: RGBLED(*s.led_pins) if len(s.led_pins) == 3
                                   else PWMLED(s.led_pins[0])))
        if s.button_pin:
            button = open_one("button_pin", lambda: Button(s.button_pin, hold_time=s.hold_seconds,
                                                           bounce_time=BOUNCE_SECONDS))
        if s.mute_switch_pin:
            switch = open_one("mute_switch_pin", lambda: Button(s.mute_switch_pin, bounce_time=BOUNCE_SECONDS))
    for w in fallbacks:
        log.debug("gpiozero: %s", w.message)
    return light, button, switch


def check_pins(settings: GpioSettings) -> None:
    """Open the pins as `speaker run` would, and let go of them; ConfigError if run would refuse them."""
    if settings.pins():
        _close(*open_devices(settings))


def private_dir(path: Path) -> None:
    """Make `path` (and its missing parents) readable by this user alone."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)


def _close(*devices) -> None:
    for device in devices:
        if device is not None:
            device.close()

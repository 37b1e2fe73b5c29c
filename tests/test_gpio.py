"""The status light and the button on gpiozero's own mock pins (with PWM), driven by real events:
each state's light, timer and error flashes, tap and hold on a real pipeline, mute that drops the
audio and may survive a restart, and a speaker with no GPIO that never imports gpiozero."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory, MockPWMPin

from conftest import ROOT, SPEAKER, RecordingSink, read_events, recording, room, speaker_env, speech, write_wav
from speaker.assembly import Assembly
from speaker.audio import frames_of
from speaker.config import ConfigError, GpioSettings, ListenSettings, Settings, WakeSettings, parse
from speaker.endpoint import Endpointer
from speaker.events import EventBus, StateChanged, Timer
from speaker.gpio import ERROR_SECONDS, TIMER_SECONDS, Gpio
from speaker.wake import WakeDetector

LED, RED, GREEN, BLUE, BUTTON, SWITCH = 18, 17, 27, 22, 5, 6
HOLD = 0.3  # the shortest hold the settings allow


@pytest.fixture
def pins():
    """Fresh mock pins for each test; every device opened on them is closed after it."""
    previous = Device.pin_factory
    Device.pin_factory = MockFactory(pin_class=MockPWMPin)
    opened: list[Gpio] = []
    yield Device.pin_factory, opened
    for gpio in opened:
        gpio.close()
    Device.pin_factory.reset()
    Device.pin_factory = previous


@pytest.fixture
def panel(pins, tmp_path):
    """Returns (bus, gpio) for the given [gpio] settings: the light and button alone, driven by events."""
    factory, opened = pins

    def make(**settings):
        bus = EventBus("test")
        gpio = Gpio(GpioSettings(**settings), tmp_path / "state", bus, lambda name: True)
        opened.append(gpio)
        return bus, gpio

    return make


class Speaker:
    """The daemon's own assembly on the real (Korean) stages, with the light and button on mock pins
    and a sink that records what it was told. `restart()` gives the next run, with the same state
    directory."""

    def __init__(self, stages, folder: Path, opened: list, **gpio):
        self.stages, self.folder, self.opened, self.settings = stages, folder, opened, gpio
        self.bus = EventBus("test")
        self.events: list[dict] = []
        self.bus.subscribe(self.events.append)
        self.sink = RecordingSink()
        settings = Settings(language="ko", gpio=GpioSettings(hold_seconds=HOLD, **gpio))
        self.assembly = Assembly(settings, self.bus, stages=stages, sink=self.sink)
        self.pipeline, self.gpio = self.assembly.pipeline, self.assembly.gpio
        opened.append(self.gpio)
        self.assembly.start()

    @property
    def state(self) -> str:
        return self.pipeline.state.value

    def feed(self, samples) -> None:
        for frame in frames_of(samples):
            self.pipeline.process(frame)

    def kinds(self) -> list[str]:
        return [e["state"] if e["type"] == "state" else e["type"] for e in self.events
                if not (e["type"] == "transcript" and not e["final"])]

    def close(self) -> None:
        self.gpio.close()

    def restart(self) -> "Speaker":
        """Close this speaker and start the next one, with fresh wake-word and end-of-speech state."""
        self.close()
        stages = dataclasses.replace(self.stages, wake=WakeDetector(WakeSettings()), endpointer=Endpointer(ListenSettings()))
        return Speaker(stages, self.folder, self.opened, **self.settings)


@pytest.fixture
def speaker(pins, korean_stages, tmp_path):
    """Returns make(**gpio settings) -> Speaker; all are closed after the test."""
    made = []

    def make(**gpio):
        made.append(Speaker(korean_stages, tmp_path, pins[1], **gpio))
        return made[-1]

    yield make


def pin(number: int):
    return Device.pin_factory.pin(number)


def watch(numbers, seconds: float, every: float = 0.01) -> list:
    """What the pins show over `seconds`: a value per sample for one pin, a tuple for several."""
    one = isinstance(numbers, int)
    pins_ = [pin(numbers)] if one else [pin(n) for n in numbers]
    seen, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        values = tuple(round(float(p.state), 3) for p in pins_)
        seen.append(values[0] if one else values)
        time.sleep(every)
    return seen


def watch_until(numbers, enough, timeout: float, every: float = 0.01) -> list:
    """Watch the pins until what they showed is `enough` (a predicate); fails after `timeout` seconds."""
    one = isinstance(numbers, int)
    pins_ = [pin(numbers)] if one else [pin(n) for n in numbers]
    seen, end = [], time.monotonic() + timeout
    while not enough(seen):
        assert time.monotonic() < end, f"the light never showed it; it showed {sorted(set(seen))}"
        values = tuple(round(float(p.state), 3) for p in pins_)
        seen.append(values[0] if one else values)
        time.sleep(every)
    return seen


def settles(numbers, value, timeout: float = 10.0, hold: float = 0.3) -> None:
    """The pins come to show `value` and keep showing it for `hold` seconds, within `timeout`."""
    end = time.monotonic() + timeout
    while True:
        seen = watch(numbers, hold)
        if set(seen) == {value}:
            return
        assert time.monotonic() < end, f"the light never settled on {value}; it showed {sorted(set(seen))}"


def rises(values, level: float = 0.9) -> int:
    """How many times the light comes up to `level` from below it."""
    return sum(1 for a, b in zip(values, values[1:]) if a < level <= b)


def tap(number: int = BUTTON) -> None:
    pin(number).drive_low()
    pin(number).drive_high()


def hold(s: Speaker, until: str) -> float:
    """Hold the button while the room is quiet until the speaker is in state `until`, then let go.
    Returns how long it was held."""
    start = time.monotonic()
    pin(BUTTON).drive_low()
    while s.state != until:
        assert time.monotonic() - start < 5, f"holding the button never made the speaker {until}"
        s.feed(room(0.08))
        time.sleep(0.02)
    held = time.monotonic() - start
    pin(BUTTON).drive_high()
    return held


# --- the light -------------------------------------------------------------------------------------

def many_levels(values) -> bool:
    return len(set(values)) > 10 and min(values) < 0.2 and max(values) > 0.8


def test_each_state_shows_its_own_pattern_on_a_single_led(panel):
    bus, _ = panel(led_pins=[LED])
    bus.emit(StateChanged(state="idle"))
    assert set(watch(LED, 0.3)) == {0}
    bus.emit(StateChanged(state="listening"))
    assert set(watch(LED, 0.3)) == {1}
    bus.emit(StateChanged(state="muted"))
    muted = watch(LED, 0.3)
    assert len(set(muted)) == 1 and 0 < muted[0] < 0.3  # steady and dim
    bus.emit(StateChanged(state="thinking"))  # a quick pulse: two full rises well within 3 s (0.6 s each)
    watch_until(LED, lambda seen: rises(seen) >= 2 and many_levels(seen), timeout=3.0)
    bus.emit(StateChanged(state="speaking"))  # slow breathing: fades through many levels, never blinks...
    assert rises(watch(LED, 1.3)) <= 1  # ...and slower than thinking
    watch_until(LED, many_levels, timeout=5.0)
    bus.emit(StateChanged(state="error"))  # a hard blink
    blink = watch_until(LED, lambda seen: rises(seen) >= 1, timeout=5.0)
    assert set(blink) <= {0, 1}


def test_each_state_shows_its_own_colour_on_an_rgb_led(panel):
    bus, _ = panel(led_pins=[RED, GREEN, BLUE])
    bus.emit(StateChanged(state="idle"))
    assert set(watch((RED, GREEN, BLUE), 0.3)) == {(0, 0, 0)}
    bus.emit(StateChanged(state="listening"))
    settles((RED, GREEN, BLUE), (0, 0.3, 1))
    for breathing in ("thinking", "speaking"):  # blue or cyan, fading through levels, never red
        bus.emit(StateChanged(state=breathing))
        seen = watch_until((RED, GREEN, BLUE), lambda seen: len(set(seen)) > 5, timeout=5.0)
        assert max(red for red, _, _ in seen[1:]) == 0
    bus.emit(StateChanged(state="muted"))
    settles((RED, GREEN, BLUE), (0.15, 0, 0))  # steady, dim red
    bus.emit(StateChanged(state="error"))  # orange, blinking
    seen = watch_until((RED, GREEN, BLUE), lambda seen: {red for red, _, _ in seen} == {0, 1}, timeout=5.0)
    assert max(green for _, green, _ in seen) > 0 and max(blue for _, _, blue in seen[1:]) == 0


def test_a_timer_flashes_the_light_then_it_shows_the_state_again(panel):
    bus, _ = panel(led_pins=[LED])
    bus.emit(StateChanged(state="listening"))
    bus.emit(Timer(kind="timer", name="tea", seconds=180))
    flash = watch_until(LED, lambda seen: rises(seen) >= 2, timeout=TIMER_SECONDS)  # quick, bright flashes
    assert set(flash) <= {0, 1}
    settles(LED, 1)  # listening again


def test_a_timer_flashes_white_on_an_rgb_led_even_when_idle(panel):
    bus, _ = panel(led_pins=[RED, GREEN, BLUE])
    bus.emit(StateChanged(state="idle"))
    bus.emit(Timer(kind="timer", name=None, seconds=60))
    watch_until((RED, GREEN, BLUE), lambda seen: (1, 1, 1) in seen, timeout=TIMER_SECONDS)
    settles((RED, GREEN, BLUE), (0, 0, 0))


def test_a_state_change_during_a_flash_shows_once_the_flash_is_over(panel):
    bus, _ = panel(led_pins=[LED])
    bus.emit(Timer(kind="timer", name=None, seconds=60))
    bus.emit(StateChanged(state="listening"))
    started = time.monotonic()
    watch_until(LED, lambda seen: 0 in seen, timeout=TIMER_SECONDS)  # still flashing, not listening yet
    settles(LED, 1)
    assert time.monotonic() - started >= TIMER_SECONDS - 0.1  # the flash ran its course first


# --- the button on a real pipeline -----------------------------------------------------------------

def test_a_tap_starts_listening_without_the_wake_word(speaker):
    s = speaker(led_pins=[LED], button_pin=BUTTON)
    tap()
    s.feed(recording(0.3))
    assert s.state == "listening" and set(watch(LED, 0.2)) == {1}
    s.feed(recording(0.2, speech("이름이 뭐야", "ko+f3"), 6.0))
    assert s.kinds()[2:] == ["listening", "thinking", "transcript", "intent", "response", "speaking", "idle"]
    assert [e["name"] for e in s.events if e["type"] == "intent"] == ["SpeakerName"]
    assert set(watch(LED, 0.2)) == {0}


def test_a_tap_while_the_speaker_talks_stops_it(speaker):
    s = speaker(led_pins=[LED], button_pin=BUTTON)
    s.pipeline.submit("say", {"text": "이것은 아주 긴 안내 방송입니다. " * 5})
    s.feed(recording(0.5))
    assert s.state == "speaking"
    assert s.sink.stops == 0
    tap()
    s.feed(recording(0.1))
    assert s.sink.stops == 1  # the answer playing was cut...
    assert s.state == "idle" and "listening" not in s.kinds()  # ...and it stopped, not listening instead
    assert set(watch(LED, 0.2)) == {0}


def test_a_hold_mutes_so_a_wake_word_wakes_nothing_and_another_hold_unmutes(speaker, hey_jarvis):
    s = speaker(led_pins=[LED], button_pin=BUTTON)
    assert hold(s, "muted") >= HOLD
    assert "listening" not in s.kinds()  # letting go after a hold is not a tap
    muted = watch(LED, 0.2)
    assert len(set(muted)) == 1 and 0 < muted[0] < 0.3
    s.feed(recording(1.0, hey_jarvis, 0.7, speech("지금 몇 시야", "ko+f3"), 3.0))
    assert "wake" not in s.kinds() and "transcript" not in s.kinds() and s.state == "muted"

    hold(s, "idle")
    s.feed(recording(1.0, hey_jarvis, 0.7, speech("지금 몇 시야", "ko+f3"), 5.0))
    assert [e["name"] for e in s.events if e["type"] == "intent"] == ["HassGetCurrentTime"]


def test_a_tap_while_muted_blinks_an_error_and_stays_muted(speaker):
    s = speaker(led_pins=[LED], button_pin=BUTTON)
    hold(s, "muted")
    tap()
    s.feed(recording(0.2))
    assert s.events[-1]["type"] == "error" and s.events[-1]["code"] == "muted" and s.state == "muted"
    assert set(watch(LED, 0.5)) == {0, 1}  # blinking
    time.sleep(ERROR_SECONDS)
    muted = watch(LED, 0.2)
    assert len(set(muted)) == 1 and 0 < muted[0] < 0.3


def test_the_mute_switch_mutes_while_closed(speaker, hey_jarvis):
    s = speaker(led_pins=[LED], mute_switch_pin=SWITCH)
    pin(SWITCH).drive_low()
    s.feed(recording(1.0, hey_jarvis, 0.7, speech("지금 몇 시야", "ko+f3"), 3.0))
    assert s.state == "muted" and "wake" not in s.kinds()
    pin(SWITCH).drive_high()
    s.feed(recording(1.0, hey_jarvis, 0.7, speech("지금 몇 시야", "ko+f3"), 5.0))
    assert [e["name"] for e in s.events if e["type"] == "intent"] == ["HassGetCurrentTime"]


def test_the_mute_switch_wins_over_an_unmute_from_elsewhere(speaker, hey_jarvis):
    s = speaker(led_pins=[LED], button_pin=BUTTON, mute_switch_pin=SWITCH)
    pin(SWITCH).drive_low()
    s.feed(recording(0.2))
    assert s.state == "muted"
    assert not s.assembly.submit("unmute") and not s.assembly.submit("mute", {"mute": False})  # MQTT's door
    pin(BUTTON).drive_low()  # a hold of the button would unmute: not while the switch is closed
    deadline = time.monotonic() + 10
    while len([e for e in s.events if e["type"] == "error"]) < 3:
        assert time.monotonic() < deadline, "the hold was never refused"
        s.feed(room(0.08))
        time.sleep(0.02)
    pin(BUTTON).drive_high()
    s.feed(recording(1.0, hey_jarvis, 0.7, speech("지금 몇 시야", "ko+f3"), 3.0))
    assert s.state == "muted" and "wake" not in s.kinds() and "transcript" not in s.kinds()
    refusals = [e for e in s.events if e["type"] == "error" and e["code"] == "muted"]
    assert len(refusals) == 3 and all("mute switch" in e["message"] for e in refusals)
    pin(SWITCH).drive_high()  # opening the switch unmutes
    s.feed(recording(1.0, hey_jarvis, 0.7, speech("지금 몇 시야", "ko+f3"), 5.0))
    assert [e["name"] for e in s.events if e["type"] == "intent"] == ["HassGetCurrentTime"]


def test_the_remembered_mute_is_private(speaker, tmp_path):
    s = speaker(button_pin=BUTTON, mute_survives_restart=True)
    hold(s, "muted")
    memory = tmp_path / "state" / "muted"
    assert memory.exists()
    assert memory.stat().st_mode & 0o777 == 0o600 and memory.parent.stat().st_mode & 0o777 == 0o700


# --- mute across a restart -------------------------------------------------------------------------

@pytest.mark.parametrize("survives", [True, False])
def test_mute_survives_a_restart_only_when_set(speaker, hey_jarvis, survives):
    s = speaker(button_pin=BUTTON, mute_survives_restart=survives)
    hold(s, "muted")
    s = s.restart()
    s.feed(recording(1.0, hey_jarvis, 1.0))
    if survives:
        assert s.state == "muted" and "wake" not in s.kinds()
        hold(s, "idle")
        assert s.restart().state == "idle"  # unmuted before the restart: unmuted after it
    else:
        assert "wake" in s.kinds() and "muted" not in s.kinds()


def test_a_mute_switch_that_is_open_at_start_beats_the_remembered_mute(speaker):
    s = speaker(button_pin=BUTTON, mute_switch_pin=SWITCH, mute_survives_restart=True)
    hold(s, "muted")
    s = s.restart()
    s.feed(recording(0.2))
    assert s.state == "idle" and "muted" not in s.kinds()


def test_the_state_directory_follows_systemd_or_the_home_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("STATE_DIRECTORY", f"{tmp_path}/state:{tmp_path}/other")
    assert Settings().state_dir() == tmp_path / "state"
    monkeypatch.delenv("STATE_DIRECTORY")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Settings().state_dir() == tmp_path / ".local/state/speaker"


# --- the daemon ------------------------------------------------------------------------------------

def config_file(folder: Path, gpio: str) -> Path:
    path = folder / "speaker.toml"
    path.write_text(f"[gpio]\n{gpio}\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def wake_wav(tmp_path_factory) -> Path:
    return write_wav(tmp_path_factory.mktemp("gpio") / "wake.wav", recording(0.5, speech("hey jarvis"), 1.5))


@pytest.mark.parametrize("survives", [True, False])
def test_the_daemon_drives_the_pins_and_remembers_mute_across_a_restart(speaker, tmp_path, wake_wav, survives):
    gpio = f"led_pins = [{LED}]\nbutton_pin = {BUTTON}\nmute_survives_restart = {str(survives).lower()}"
    hold(speaker(button_pin=BUTTON, mute_survives_restart=survives), "muted")  # muted by hand, then...
    result = subprocess.run(  # ...`speaker run` starts again, on mock pins
        [*SPEAKER, "run", "--config", config_file(tmp_path, gpio), "--input", wake_wav, "--output",
         tmp_path / "out.wav", "--events-jsonl", "-"], capture_output=True, timeout=120, cwd=ROOT,
        env=speaker_env(STATE_DIRECTORY=str(tmp_path / "state"), GPIOZERO_PIN_FACTORY="mock",
                        GPIOZERO_MOCK_PIN_CLASS="mockpwmpin"))
    assert result.returncode == 0, result.stderr.decode()
    events = read_events(result.stdout)
    states = [e["state"] for e in events if e["type"] == "state"]
    if survives:
        assert states[-1] == "muted" and not any(e["type"] == "wake" for e in events)
    else:
        assert "muted" not in states and any(e["type"] == "wake" for e in events)


NO_GPIOZERO = """
import sys
from speaker.daemon import Daemon, RunOptions
Daemon(RunOptions(config_path=sys.argv[1], input=sys.argv[2], output=sys.argv[3], events_jsonl="-")).run()
print("gpiozero imported:", any(m.startswith("gpiozero") for m in sys.modules), file=sys.stderr)
"""


@pytest.mark.parametrize("gpio", ["", "mute_survives_restart = true"])
def test_without_pins_gpiozero_is_never_imported(tmp_path, wake_wav, gpio):
    (tmp_path / "state").mkdir()
    result = subprocess.run([sys.executable, "-c", NO_GPIOZERO, config_file(tmp_path, gpio), wake_wav,
                             tmp_path / "out.wav"], capture_output=True, timeout=120, cwd=ROOT,
                            env=speaker_env(STATE_DIRECTORY=str(tmp_path / "state")))
    assert result.returncode == 0, result.stderr.decode()
    assert "gpiozero imported: False" in result.stderr.decode().splitlines()
    assert any(e["type"] == "wake" for e in read_events(result.stdout))  # and the speaker works as ever


@pytest.mark.skipif(Path("/dev/gpiochip0").exists(), reason="this machine has GPIO pins")
def test_on_a_machine_without_pins_the_error_names_the_settings_to_remove(tmp_path, wake_wav):
    config = config_file(tmp_path, f"led_pins = [{RED}, {GREEN}, {BLUE}]\nbutton_pin = {BUTTON}")
    result = subprocess.run([*SPEAKER, "run", "--config", config, "--input", wake_wav, "--output", tmp_path / "o.wav"],
                            capture_output=True, timeout=120, cwd=ROOT, env=speaker_env())
    assert result.returncode == 2
    errors = [line for line in result.stderr.decode().splitlines() if line.startswith("error:")]
    assert errors == [f"error: gpio.{key}: this machine has no GPIO pins; remove this setting (it is for a Raspberry Pi)"
                      for key in ("led_pins", "button_pin")]
    assert "Traceback" not in result.stderr.decode() and "Falling back" not in result.stderr.decode()


# --- settings --------------------------------------------------------------------------------------

@pytest.mark.parametrize("gpio, problem", [
    ({"led_pins": [17, 27]}, "gpio.led_pins: one pin (a single LED) or three (red, green, blue), got [17, 27]"),
    ({"led_pins": [18, 40]}, "gpio.led_pins: 40 is out of range (1 to 27)"),
    ({"led_pins": 18}, "gpio.led_pins: must be a list of whole numbers, got 18"),
    ({"led_pins": [18], "button_pin": 18}, "gpio: pin 18 is used twice (led_pins and button_pin)"),
    ({"button_pin": True}, "gpio.button_pin: must be int, got bool True"),
    ({"hold_seconds": 0.1}, "gpio.hold_seconds: 0.1 is out of range (0.3 to 10)"),
    ({"mute_switch_pin": 28}, "gpio.mute_switch_pin: 28 is out of range (0 to 27)"),
])
def test_bad_gpio_settings_are_refused_with_the_key_named(gpio, problem):
    with pytest.raises(ConfigError) as e:
        parse({"gpio": gpio})
    assert e.value.problems == [problem]

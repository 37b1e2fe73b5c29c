"""Signals and reloads: `speaker run` catches SIGTERM and SIGHUP from its first moments, a SIGHUP
re-reads the settings between turns (a bad file is refused, a flood is one reload), and a reload
rebuilds only what its changes touch."""

import contextlib
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from conftest import ROOT, RunningSpeaker, recording, room, speech
from speaker.audio import FRAME_SECONDS, FRAME_SAMPLES
from speaker.events import EventBus


def catches(pid: int, signum: int) -> bool:
    """Whether process `pid` has a handler for `signum` (from /proc/PID/status)."""
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(re.search(r"^SigCgt:\s*([0-9a-f]+)", status, re.M).group(1), 16)
    return bool(caught >> (signum - 1) & 1)


def test_signals_are_caught_before_anything_slow_is_imported():
    result = subprocess.run([sys.executable, "-c", "import sys, speaker.cli; print(sorted(m for m in sys.modules "
                             "if m.split('.')[0] in ('numpy', 'scipy', 'vosk', 'openwakeword', 'pyttsx3')))"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == "[]", result.stderr


def test_a_sighup_while_starting_is_a_reload_once_started_not_a_crash(tmp_path):
    with fed_speaker(tmp_path, 'language = "ko"\ndevice_id = "kitchen"\n') as (conf, speaker, feeder):
        deadline = time.monotonic() + 30
        while not catches(speaker.proc.pid, signal.SIGHUP):  # the first moment it can
            assert speaker.proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.001)
        conf.write_text('language = "ko"\ndevice_id = "hall"\n')
        speaker.proc.send_signal(signal.SIGHUP)
        reloaded = speaker.wait_event(lambda e: e["type"] == "reloaded")
        assert reloaded["device"] == "hall"
        feeder.close()
        assert speaker.proc.wait(timeout=30) == 0


@contextlib.contextmanager
def fed_speaker(tmp_path: Path, settings: str):
    """`speaker run` on raw audio from a Feeder, with `settings` in its config file: (conf, speaker, feeder)."""
    conf = tmp_path / "speaker.toml"
    conf.write_text(settings)
    speaker = RunningSpeaker(tmp_path, ["--config", conf, "--input", "-", "--output", tmp_path / "answers.wav"], {},
                             stdin=True)
    feeder = Feeder(speaker.proc.stdin)
    try:
        yield conf, speaker, feeder
    finally:
        feeder.close()
        speaker.stop()


class Feeder:
    """Feeds raw audio to the daemon's standard input at the pace of a microphone: a quiet room,
    or what `say` queued."""

    def __init__(self, stream):
        self.stream = stream
        self.queued: queue.SimpleQueue[np.ndarray] = queue.SimpleQueue()
        self._quiet = room(1.0, seed=7)
        self._running = True
        self._held = threading.Event()
        threading.Thread(target=self._feed, daemon=True).start()

    def say(self, samples: np.ndarray):
        self.queued.put(samples)

    @contextlib.contextmanager
    def held(self):
        """No audio meanwhile, as from a microphone that stalls: the daemon's pipeline waits in its
        read, and what is queued for its thread waits with it."""
        self._held.set()
        try:
            yield
        finally:
            self._held.clear()

    def close(self):
        self._running = False

    def _frames(self):
        while True:
            try:
                samples = self.queued.get_nowait()
            except queue.Empty:
                samples = self._quiet
            for start in range(0, len(samples) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
                yield samples[start:start + FRAME_SAMPLES]

    def _feed(self):
        due = time.monotonic()
        for frame in self._frames():
            if not self._running:
                break
            while self._held.is_set() and self._running:
                time.sleep(0.01)
                due = time.monotonic()  # the pace goes on from where the stall ended
            try:
                self.stream.write(frame.astype("<i2").tobytes())
                self.stream.flush()
            except (BrokenPipeError, ValueError):
                return
            due += FRAME_SECONDS
            time.sleep(max(0.0, due - time.monotonic()))
        self.stream.close()


def test_sighup_reloads_a_good_config_and_refuses_a_bad_one_while_still_answering(tmp_path, hey_jarvis):
    with fed_speaker(tmp_path, 'language = "ko"\ndevice_id = "kitchen"\n') as (conf, speaker, feeder):
        speaker.wait_event(lambda e: e["type"] == "state" and e["state"] == "idle")

        conf.write_text('language = "ko"\ndevice_id = "hall"\n')
        seen = len(speaker.events)
        speaker.proc.send_signal(signal.SIGHUP)
        reloaded = speaker.wait_event(lambda e: e["type"] == "reloaded", after=seen)
        assert reloaded["device"] == "hall" and reloaded["config"] == str(conf)
        assert reloaded["applied"] == ["device_id"] and reloaded["restart_needed"] == [] and reloaded["refused"] == []

        conf.write_text('language = "ko"\ndevice_id = "porch"\n[listen]\nsilence_seconds = "long"\n')
        seen = len(speaker.events)
        speaker.proc.send_signal(signal.SIGHUP)
        refused = speaker.wait_event(lambda e: e["type"] == "error", after=seen)
        assert refused["code"] == "bad_config" and "listen.silence_seconds" in refused["message"]

        conf.write_bytes('language = "ko"\npersona = "사만다"\n'.encode("euc-kr"))  # not UTF-8
        seen = len(speaker.events)
        speaker.proc.send_signal(signal.SIGHUP)
        refused = speaker.wait_event(lambda e: e["type"] == "error", after=seen)
        assert refused["code"] == "bad_config" and "not UTF-8" in refused["message"]

        seen = len(speaker.events)
        feeder.say(recording(0.5, hey_jarvis, 0.7, speech("지금 몇 시야", "ko+f3", 165), 1.0))
        intent = speaker.wait_event(lambda e: e["type"] == "intent", after=seen, timeout=30)
        assert intent["name"] == "HassGetCurrentTime" and intent["device"] == "hall"  # the good settings stayed
        speaker.wait_event(lambda e: e["type"] == "state" and e["state"] == "speaking", after=seen)
        feeder.close()
        assert speaker.proc.wait(timeout=30) == 0
        assert not [e for e in speaker.events if e["type"] == "reloaded" and e["device"] != "hall"]


def test_a_flood_of_sighups_during_a_turn_is_one_reload_after_the_answer(tmp_path, hey_jarvis):
    with fed_speaker(tmp_path, 'language = "ko"\n[listen]\nsilence_seconds = 0.4\n') as (conf, speaker, feeder):
        speaker.wait_event(lambda e: e["type"] == "volume")
        conf.write_text('language = "ko"\n[listen]\nsilence_seconds = 0.5\n[log]\nlevel = "warning"\n'
                        '[audio]\ninput_device = "hw:1"\n')
        seen = len(speaker.events)
        feeder.say(recording(0.5, hey_jarvis, 0.7, speech("지금 몇 시야", "ko+f3", 165), 1.0))
        speaker.wait_event(lambda e: e["type"] == "state" and e["state"] == "listening", after=seen, timeout=30)
        for _ in range(20):  # 20 in a second, while the user is heard and answered
            speaker.proc.send_signal(signal.SIGHUP)
            time.sleep(0.05)
        reloaded = speaker.wait_event(lambda e: e["type"] == "reloaded", after=seen, timeout=30)
        turn = [e["state"] if e["type"] == "state" else e["type"] for e in speaker.events[seen:]
                if e.get("final", True)]
        assert turn[:turn.index("reloaded")] == ["wake", "listening", "thinking", "transcript", "intent", "response",
                                                 "speaking", "idle"], turn  # answered in full, then reloaded
        assert reloaded["applied"] == ["listen", "log"] and reloaded["restart_needed"] == ["audio.input_device"]
        time.sleep(1.0)
        assert [e["type"] for e in speaker.events].count("reloaded") <= 2  # the flood is one reload (or two)
        feeder.close()
        assert speaker.proc.wait(timeout=30) == 0


# --- reload, in process -------------------------------------------------------------------------

def test_a_reload_reuses_every_loaded_part_it_does_not_change(korean_stages):
    from conftest import RecordingSink
    from speaker.assembly import Assembly
    from speaker.config import DeviceSettings, ListenSettings, MqttSettings, Settings

    bus = EventBus("test")
    events = []
    bus.subscribe(events.append)
    settings = Settings(language="ko")
    assembly = Assembly(settings, bus, stages=korean_stages, sink=RecordingSink())
    assembly.start()
    listeners = len(bus._listeners)
    running = assembly.pipeline.stages

    assembly.apply(assembly.prepare(settings))  # nothing changed: nothing is built
    same = assembly.pipeline.stages
    assert all(getattr(same, part) is getattr(running, part)
               for part in ("wake", "endpointer", "transcriber", "dialogue", "voice"))
    assert events[-1]["type"] == "reloaded" and events[-1]["applied"] == []

    lamp = DeviceSettings(names=("책상 불",), topic="z/desk/set")
    changed = Settings(language="ko", listen=ListenSettings(silence_seconds=0.5), mqtt=MqttSettings(devices=(lamp,)))
    assembly.apply(assembly.prepare(changed))
    new = assembly.pipeline.stages
    assert new.wake is running.wake and new.voice is running.voice  # the wake word and voice did not change
    assert new.endpointer is not running.endpointer and new.endpointer.settings.silence_seconds == 0.5
    assert any("책상 불" in phrase for phrase in new.transcriber.grammar)  # the new device name can be heard
    assert new.transcriber.understands("책상 불 켜줘")
    assert events[-1]["applied"] == ["listen", "mqtt"] and len(bus._listeners) == listeners

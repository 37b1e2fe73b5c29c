"""The real daemon in a real sound loop, for tests and benchmarks: a private PulseAudio
(sound_server.py), the room process between its sink and its microphone (sound_room.py), and `speaker run` as
the README sets it up, playing with `audio.output_command = "pacat …"` into `spk` and hearing with
`audio.input_command = "parec -d mic …"`; answers are asked for with MQTT `say`, as Home
Assistant does. Nothing passes between the speaker and the room but sound."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from conftest import RunningSpeaker, write_wav
from sound_server import PLAYER, RECORDER, SoundServer

ROOT = Path(__file__).resolve().parent.parent
VOICE_RMS = 1000.0  # the user at the microphone, about -30 dBFS


def voice_rms(language: str) -> float:
    """How loud the speaker's own default voice plays (what the room scales its echo by)."""
    from speaker.config import Settings
    from speaker.testing.room import speech_rms
    from speaker.voice import Voice

    voice = Voice(Settings(language=language).voice, language)
    try:
        return speech_rms(voice.synthesize({"en": "Here is the news from the village.",
                                            "ko": "오늘은 날씨가 맑고 바람이 조금 불어요."}[language]))
    finally:
        voice.close()


class Room:
    """tests/sound_room.py as a process: `say(samples)` has the user say them into the room."""

    def __init__(self, folder: Path, server: SoundServer, *, echo_db: float, speaker_rms: float, seed: int = 0,
                 drift: float = 0.001):
        self.folder = folder
        self.log = folder / "room.log"
        self._said = 0
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "sound_room.py"),
                                      "--into", str(server.microphone), "--echo-db", str(echo_db),
                                      "--speaker-rms", str(speaker_rms), "--voice-rms", str(VOICE_RMS),
                                      "--seed", str(seed), "--drift", str(drift), "--log", str(self.log)],
                                     env={**_env(), **server.env}, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        assert self.proc.stdout.readline().strip() == "ready"

    def say(self, samples: np.ndarray) -> tuple[float, float]:
        """The user says `samples` now; returns when it started and ended (epoch seconds), once said."""
        self._said += 1
        wav = write_wav(self.folder / f"user{self._said}.wav", samples)
        self.proc.stdin.write(f"user {wav}\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline().split()
        assert line[:1] == ["user"], line
        return float(line[1]), float(line[2])

    def played(self, since: float, until: float = float("inf")) -> np.ndarray:
        """RMS of each 20 ms block the loudspeaker really played between `since` and `until` (epoch seconds)."""
        text = self.log.read_text()
        rows = [line.split() for line in text[:text.rfind("\n") + 1].splitlines()]  # not a line the room is writing
        return np.array([float(rms) for t, rms in rows if since <= float(t) < until])

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _env() -> dict[str, str]:
    import os

    return {key: os.environ[key] for key in ("PATH", "PYTHONPATH", "HOME") if key in os.environ}


class Speaker(RunningSpeaker):
    """`speaker run` playing into `spk` and hearing `mic`, its commands over MQTT."""

    def __init__(self, folder: Path, server: SoundServer, broker, language: str, settings: str = ""):
        conf = folder / "speaker.toml"
        conf.write_text(f'language = "{language}"\n{settings}\n[audio]\n'
                        f"input_command = {json.dumps(RECORDER)}\noutput_command = {json.dumps(PLAYER)}\n")
        self.broker = broker
        super().__init__(folder, ["--config", conf, "--mqtt", broker.url], server.env)
        self.wait_event(lambda e: e.get("state") == "idle", timeout=120)
        level = None
        while level is None:  # the link is up once a command gets through: 99, not the 100 said at the start (that
            after = len(self.events)  # event can come after the idle one, and a say sent then was lost)
            self.publish("volume", {"level": 99})
            try:
                level = self.wait_event(lambda e: e["type"] == "volume" and e["level"] == 99, timeout=2, after=after)
            except AssertionError:
                pass
        after = len(self.events)
        self.publish("volume", {"level": 100})
        self.wait_event(lambda e: e["type"] == "volume" and e["level"] == 100, timeout=10, after=after)

    def publish(self, name: str, payload: dict) -> None:
        subprocess.run(["mosquitto_pub", "-p", str(self.broker.port), "-q", "1", "-t", f"speaker/speaker/cmd/{name}",
                        "-m", json.dumps(payload)], check=True)

    def say(self, text: str) -> dict:
        """Announce `text`; returns the `speaking` event it starts with."""
        after = len(self.events)
        self.publish("say", {"text": text})
        return self.wait_event(lambda e: e.get("state") == "speaking", timeout=30, after=after)

    def since(self, after: int) -> list[dict]:
        return self.events[after:]


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False

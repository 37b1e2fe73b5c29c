"""The systemd unit as systemd reads it (systemd-analyze), what it asks for, and its system-call
sandbox, emulated by tests/unit_sandbox.py around the real `speaker run`."""

import json
import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, SPEAKER, UNIT, recording, speaker_env, speech, unit_for_test, write_wav

README = ROOT / "README.md"


def unit_settings(text: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


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
                                      "--events-jsonl", "-"), capture_output=True, cwd=ROOT, env=speaker_env(),
                            timeout=180)
    assert result.returncode == 0, result.stderr.decode()
    events = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [e["name"] for e in events if e["type"] == "intent"] == ["HassGetCurrentTime"]
    assert (tmp_path / "a.wav").stat().st_size > 44 + 22050

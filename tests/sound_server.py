"""A private PulseAudio sound server for tests and benchmarks: a null sink `spk` (what the speaker
plays; its monitor is what the loudspeaker sends into the room) and a pipe source `mic` (the
speaker's microphone: what the room process writes into `SoundServer.microphone` comes out of it as
it comes, as from a capture device, with no playback buffer in between that would fall behind
whenever the room is late and stay behind). Nothing but sound passes between the speaker and the
room process (sound_room.py) that joins them."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

RATE = 16000
PLAYER = "pacat -d spk --rate={rate} --channels=1 --format=s16le --raw --latency-msec=30"
RECORDER = "parec -d mic --rate=16000 --channels=1 --format=s16le --raw --latency-msec=20"


class SoundServerUnavailable(Exception):
    """PulseAudio is not installed here, or would not start."""


class SoundServer:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.socket = self.folder / "native"
        self.microphone = self.folder / "mic.fifo"  # what is written here, the speaker hears
        self._proc: subprocess.Popen | None = None

    @property
    def env(self) -> dict[str, str]:
        """What a client of this server needs in its environment (sounddevice's ALSA "pulse" device
        plays into `spk` and records `mic` with it)."""
        return {"PULSE_SERVER": f"unix:{self.socket}", "PULSE_SINK": "spk", "PULSE_SOURCE": "mic"}

    def start(self) -> "SoundServer":
        if shutil.which("pulseaudio") is None or shutil.which("pacat") is None:
            raise SoundServerUnavailable("PulseAudio is not installed (apt install pulseaudio pulseaudio-utils)")
        self.folder.mkdir(parents=True, exist_ok=True)
        script = self.folder / "server.pa"
        script.write_text(f"load-module module-native-protocol-unix socket={self.socket} auth-anonymous=1\n"
                          f"load-module module-null-sink sink_name=spk rate={RATE} channels=1\n"
                          f"load-module module-pipe-source source_name=mic file={self.microphone} format=s16le "
                          f"rate={RATE} channels=1\n"
                          "set-default-sink spk\nset-default-source mic\n")
        env = {**os.environ, "XDG_RUNTIME_DIR": str(self.folder), "HOME": str(self.folder)}
        self._log = open(self.folder / "server.log", "wb")
        self._proc = subprocess.Popen(["pulseaudio", "-n", "-F", str(script), "--daemonize=no", "--exit-idle-time=-1",
                                       "--use-pid-file=no", "--log-target=stderr"],
                                      env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                said = (self.folder / "server.log").read_text(errors="replace").strip().splitlines()[-3:]
                raise SoundServerUnavailable(f"pulseaudio exited with {self._proc.returncode}: {' / '.join(said)}")
            ready = subprocess.run(["pactl", "list", "short", "sources"], env={**os.environ, **self.env},
                                   capture_output=True, text=True)
            if ready.returncode == 0 and "spk.monitor" in ready.stdout and "\tmic\t" in ready.stdout:
                return self
            time.sleep(0.05)
        self.stop()
        raise SoundServerUnavailable("pulseaudio did not answer within 10 s")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
            self._log.close()

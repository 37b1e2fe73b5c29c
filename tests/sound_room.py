"""The room between the speaker's loudspeaker and its microphone, as a process of its own:

    python tests/sound_room.py --into MIC_FIFO --echo-db 5 --speaker-rms 3000 [--voice-rms 1000] [--log FILE]

It records what the sound server's `spk` sink plays (its monitor) and writes into the FIFO of the
`mic` pipe source, the speaker's microphone: the loudspeaker's sound after `--delay-ms`, soft-clipped
as a small loudspeaker does, with a reverberant tail, `--echo-db` louder than the user (whose voice
is `--voice-rms` at the microphone; `--speaker-rms` is how loud the speaker's voice is played), and
with the loudspeaker's clock `--drift` slower than the microphone's (the echo comes later and later
while the speaker talks; after two quiet seconds the delay is back to where it started). A faint
noise floor is always there. Every block played is heard, also when the room runs late on a busy
machine (it catches up): a room has no latency of its own. (A room that played into a sink of its
own, or dropped what it was late on, had its echo come up to 0.85 s later within one answer.)

Standard input takes `user WAV` (16 kHz speech, already at the user's level): it is said into the
room from the next block on, and `user START END` (seconds since the epoch, as events are stamped) is printed
when it has all been said. `--log` gets a line per 20 ms block: the time (epoch seconds) and the RMS of
what the loudspeaker played, to see when an answer really stopped.
"""

from __future__ import annotations

import argparse
import os
import queue
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from speaker.audio import read_wav  # noqa: E402
from speaker.testing.room import impulse_response  # noqa: E402

RATE = 16000
BLOCK = 320  # 20 ms
LISTEN = "parec -d spk.monitor --rate=16000 --channels=1 --format=s16le --raw --latency-msec=20"
CLIP = 12000.0  # a small loudspeaker: louder peaks are squashed (tanh)
NOISE_RMS = 20.0
BASE_LAG = 0.02  # seconds of the loudspeaker's sound held back (part of the delay), so that its slower clock has room to fall behind
QUIET_RESET = 2.0  # the loudspeaker quiet this long: the drift starts again from BASE_LAG


class Room:
    def __init__(self, args):
        self.gain = args.voice_rms * 10 ** (args.echo_db / 20) / args.speaker_rms
        self.ir = impulse_response(max(0.0, args.delay_ms - BASE_LAG * 1000), args.reverb, args.seed)
        self.step = 1.0 - args.drift  # loudspeaker samples per microphone sample
        self.rng = np.random.default_rng(args.seed)
        self.played = np.zeros(int(BASE_LAG * RATE), np.float32)  # the loudspeaker's sound not yet in the room
        self.position = 0.0  # where in `played` the room reads next
        self.tail = np.zeros(len(self.ir) - 1, np.float32)
        self.quiet = 0.0
        self.user: list[np.ndarray] = []  # what the user is saying, from now on
        self.saying: float | None = None  # when the user started

    def block(self, loudspeaker: np.ndarray) -> np.ndarray:
        from scipy.signal import fftconvolve

        self.played = np.concatenate([self.played, loudspeaker.astype(np.float32)])
        self.quiet = self.quiet + BLOCK / RATE if not np.abs(loudspeaker).max(initial=0) > 100 else 0.0
        if self.quiet >= QUIET_RESET:  # nothing played for a while: the clocks meet again
            self.played, self.position = self.played[-int(BASE_LAG * RATE):], 0.0
        at = self.position + np.arange(BLOCK) * self.step
        sound = np.interp(at, np.arange(len(self.played)), self.played)
        self.position += BLOCK * self.step
        whole = int(self.position) - 1
        if whole > 0:
            self.played, self.position = self.played[whole:], self.position - whole
        sound = CLIP * np.tanh(sound * self.gain / CLIP)
        echo = fftconvolve(sound, self.ir)
        echo[: len(self.tail)] += self.tail
        self.tail = echo[BLOCK:].astype(np.float32)
        heard = echo[:BLOCK] + self.rng.standard_normal(BLOCK) * NOISE_RMS
        return heard + self._user_block()

    def _user_block(self) -> np.ndarray:
        out = np.zeros(BLOCK, np.float32)
        filled = 0
        if self.user and self.saying is None:
            self.saying = time.time()
        while self.user and filled < BLOCK:
            piece = self.user[0]
            n = min(BLOCK - filled, len(piece))
            out[filled:filled + n] = piece[:n]
            filled += n
            self.user[0] = piece[n:]
            if not len(self.user[0]):
                self.user.pop(0)
                if not self.user:
                    print(f"user {self.saying:.4f} {time.time():.4f}", flush=True)
                    self.saying = None
        return out


class FileTimeRoom:
    """The room's echo path in file time, inside the caller's process (benchmarks, quick tests): its
    `source` gives the microphone's frames, `user` (16 kHz, at the user's level) with the echo of what
    was played into its `sink` mixed in, the sink's sound device `device_ms` late. A stop silences
    the sink at once. `now`: samples the microphone has given so far."""

    def __init__(self, *, user: np.ndarray, speaker_rms: float, echo_db: float, voice_rms: float = 1000.0,
                 delay_ms: float = 45.0, reverb: float = 0.3, drift: float = 0.001, device_ms: float = 150.0,
                 seed: int = 0):
        import types

        self.room = Room(types.SimpleNamespace(voice_rms=voice_rms, echo_db=echo_db, speaker_rms=speaker_rms,
                                               delay_ms=delay_ms, reverb=reverb, seed=seed, drift=drift))
        self._user = user
        self._queue = np.zeros(0, np.int16)  # handed to the sink, not yet in its device
        self._device = np.zeros(int(device_ms * RATE / 1000), np.int16)  # in the device's buffers
        self.now = 0
        self.source, self.sink = _FileTimeMicrophone(self), _FileTimeLoudspeaker(self)

    def frames(self, size: int):
        for start in range(0, len(self._user) - size + 1, size):
            heard = np.concatenate([self._block() for _ in range(size // BLOCK)])
            self.now = start + size
            yield np.clip(heard + self._user[start:start + size], -32768, 32767).astype(np.int16)

    def _block(self) -> np.ndarray:
        block, self._queue = self._queue[:BLOCK], self._queue[BLOCK:]
        block = np.concatenate([self._device, block, np.zeros(BLOCK - len(block), np.int16)])
        played, self._device = block[:BLOCK], block[BLOCK:]
        return self.room.block(played)

    def play(self, samples: np.ndarray, rate: int) -> None:
        from speaker.audio import resample

        self._queue = np.concatenate([self._queue, resample(samples, rate, RATE).astype(np.int16)])

    def stop(self) -> None:
        self._queue = self._queue[:0]
        self._device[:] = 0


class _FileTimeMicrophone:
    live = False
    behind = 0.0

    def __init__(self, room: FileTimeRoom):
        self._room = room

    def __iter__(self):
        from speaker.audio import FRAME_SAMPLES

        return self._room.frames(FRAME_SAMPLES)

    def close(self) -> None:
        pass


class _FileTimeLoudspeaker:
    def __init__(self, room: FileTimeRoom):
        self.play, self.stop = room.play, room.stop

    def close(self) -> None:
        pass


def read_exactly(fd: int, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = os.read(fd, n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def main() -> None:
    from scipy.signal import fftconvolve  # noqa: F401  (loaded before the sound flows)

    parser = argparse.ArgumentParser()
    parser.add_argument("--into", type=Path, required=True)
    parser.add_argument("--echo-db", type=float, default=5.0)
    parser.add_argument("--speaker-rms", type=float, required=True)
    parser.add_argument("--voice-rms", type=float, default=1000.0)
    parser.add_argument("--delay-ms", type=float, default=45.0)
    parser.add_argument("--reverb", type=float, default=0.3)
    parser.add_argument("--drift", type=float, default=0.001)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log", type=Path)
    args = parser.parse_args()
    room = Room(args)
    commands: queue.SimpleQueue[str] = queue.SimpleQueue()

    def read_commands() -> None:
        for line in sys.stdin:
            commands.put(line.strip())
        commands.put("quit")

    threading.Thread(target=read_commands, daemon=True).start()
    listen = subprocess.Popen(shlex.split(LISTEN), stdout=subprocess.PIPE)
    microphone = open(args.into, "wb", buffering=0)
    log = open(args.log, "a", buffering=1) if args.log else None
    print("ready", flush=True)
    try:
        while True:
            while not commands.empty():
                command = commands.get()
                if command == "quit":
                    return
                if command.startswith("user "):
                    room.user.append(read_wav(command[5:]).astype(np.float32))
            loudspeaker = np.frombuffer(read_exactly(listen.stdout.fileno(), BLOCK * 2), "<i2")
            heard = room.block(loudspeaker)
            microphone.write(np.clip(heard, -32768, 32767).astype("<i2").tobytes())
            if log is not None:
                log.write(f"{time.time():.4f} {np.sqrt(np.mean(loudspeaker.astype(np.float32) ** 2)):.0f}\n")
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass
    finally:
        listen.kill()
        listen.wait()
        microphone.close()


if __name__ == "__main__":
    main()

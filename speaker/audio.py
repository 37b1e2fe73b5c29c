"""Audio in and out.

Sources yield 80 ms frames of 16 kHz mono int16 (numpy arrays of FRAME_SAMPLES); sinks take the
speaker's answers as int16 chunks at any rate. Live capture runs in its own thread into a bounded
queue, so the pipeline never makes the microphone wait.
"""

from __future__ import annotations

import logging
import os
import queue
import select
import shlex
import signal
import subprocess
import tempfile
import threading
import time
import wave
from datetime import datetime, timedelta
from math import gcd
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

import numpy as np

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
FRAME_SAMPLES = 1280  # 80 ms, what openWakeWord expects
FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE
FRAME_BYTES = FRAME_SAMPLES * 2

Reporter = Callable[..., None]
"""Called with (error code, message, **fields) when a device fails; the daemon turns it into an error event."""


class AudioClock:
    """Time counted in audio heard, for file input: a file runs as a live microphone would, and a
    timer set in it goes off at its time in the file."""

    def __init__(self):
        self.seconds = 0.0
        self._started = datetime.now()

    def __call__(self) -> float:
        return self.seconds

    def advance(self, seconds: float) -> None:
        self.seconds += seconds

    def wall(self) -> datetime:
        """The time of day in the file (the dialogue's clock)."""
        return self._started + timedelta(seconds=self.seconds)


class AudioError(Exception):
    """An audio file or device could not be used."""


class MicrophoneSilent(Exception):
    """The microphone is open but sends no audio."""


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Convert int16 samples from `rate` to `target` Hz."""
    if rate == target:
        return samples
    from scipy.signal import resample_poly

    g = gcd(rate, target)
    out = resample_poly(samples.astype(np.float32), target // g, rate // g)
    return np.clip(out, -32768, 32767).astype(np.int16)


def read_wav(path: str | Path) -> np.ndarray:
    """Read a WAV file as 16 kHz mono int16, converting rate, channels and 8/24/32-bit samples."""
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except FileNotFoundError:
        raise AudioError(f"{path}: no such file") from None
    except (wave.Error, EOFError) as e:
        raise AudioError(f"{path}: not a PCM WAV file ({e})") from None
    except OSError as e:
        raise AudioError(f"{path}: cannot read: {e.strerror}") from None
    raw = raw[: len(raw) // (width * channels) * (width * channels)]  # a file cut off mid-sample
    if width == 1:
        data = (np.frombuffer(raw, np.uint8).astype(np.int16) - 128) << 8
    elif width == 2:
        data = np.frombuffer(raw, "<i2")
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3)
        data = ((b[:, 2].astype(np.int8).astype(np.int32) << 8) | b[:, 1]).astype(np.int16)
    else:
        data = (np.frombuffer(raw, "<i4") >> 16).astype(np.int16)
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return resample(data, rate, SAMPLE_RATE)


def frames_of(samples: np.ndarray) -> Iterator[np.ndarray]:
    """Cut samples into whole frames, zero-padding the last one."""
    for start in range(0, len(samples), FRAME_SAMPLES):
        frame = samples[start : start + FRAME_SAMPLES]
        if len(frame) < FRAME_SAMPLES:
            frame = np.concatenate([frame, np.zeros(FRAME_SAMPLES - len(frame), np.int16)])
        yield frame


class WavSource:
    """A WAV file standing in for the microphone; `realtime` paces it like a live one."""

    live = False

    def __init__(self, path: str | Path, realtime: bool = False):
        self.samples = read_wav(path)
        self.realtime = realtime

    def __iter__(self) -> Iterator[np.ndarray]:
        start = time.monotonic()
        for i, frame in enumerate(frames_of(self.samples)):
            if self.realtime:
                delay = start + i * FRAME_SECONDS - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield frame

    def close(self) -> None:
        pass


class RawSource:
    """Raw 16 kHz mono s16le from a binary stream (standard input), frame by frame as it arrives."""

    live = False

    def __init__(self, stream: BinaryIO):
        self.stream = stream

    def __iter__(self) -> Iterator[np.ndarray]:
        pending = b""
        while True:
            chunk = self.stream.read(FRAME_BYTES - len(pending))
            if not chunk:
                break
            pending += chunk
            if len(pending) == FRAME_BYTES:
                yield np.frombuffer(pending, "<i2").copy()
                pending = b""
        if len(pending) >= 2:
            yield next(frames_of(np.frombuffer(pending[: len(pending) // 2 * 2], "<i2")))

    def close(self) -> None:
        pass


class LiveSource:
    """A live microphone: a capture thread fills a bounded queue; a missing, silent or dying device
    is reported (once, until it recovers) and retried every `retry_seconds`, and the speaker keeps
    running meanwhile. `restored` is called once audio flows again after a reported problem."""

    live = True
    QUEUE_FRAMES = 64  # ~5 s: room for a slow answer without losing the microphone
    RESTORED_FRAMES = 25  # ~2 s of audio after a problem: the microphone is back, not flickering

    def __init__(self, device: str, command: str, retry_seconds: float, report: Reporter,
                 read_timeout: float = 3.0, restored: Callable[[], None] | None = None):
        self.device, self.command = device, command
        self.retry_seconds = retry_seconds
        self.read_timeout = read_timeout
        self.report = report
        self.restored = restored or (lambda: None)
        self.frames: queue.Queue[np.ndarray] = queue.Queue(self.QUEUE_FRAMES)
        self.dropped = 0
        self.opened = threading.Event()
        self._stop = threading.Event()
        self._proc: subprocess.Popen | None = None
        self._reported: str | None = None  # the problem last reported, until audio flows again
        self._heard = 0  # frames since the microphone opened
        self._thread = threading.Thread(target=self._capture_forever, name="capture", daemon=True)
        self._thread.start()

    def __iter__(self) -> Iterator[np.ndarray | None]:
        """Frames as they come; None every 0.1 s without audio, so commands still run."""
        while not self._stop.is_set():
            try:
                yield self.frames.get(timeout=0.1)
            except queue.Empty:
                yield None

    def close(self) -> None:
        """Stop capturing: the recorder command, if any, is killed and reaped."""
        self._stop.set()
        _kill(self._proc)
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _put(self, frame: np.ndarray) -> None:
        self._heard += 1
        if self._heard == 1:
            self.opened.set()
            log.info("microphone open (%s)", self.command or self.device)
        if self._heard == self.RESTORED_FRAMES and self._reported is not None:
            self._reported = None
            log.info("the microphone is back")
            self.restored()
        try:
            self.frames.put_nowait(frame)
        except queue.Full:  # the pipeline fell behind: drop the oldest audio, not the newest
            self.dropped += 1
            try:
                self.frames.get_nowait()
            except queue.Empty:
                pass
            self.frames.put_nowait(frame)

    def _capture_forever(self) -> None:
        while not self._stop.is_set():
            self._heard = 0
            fields = {}
            try:
                if self.command:
                    ended, status = self._capture_command()
                    code, message = "microphone_closed", f"the microphone stopped sending audio ({ended})"
                    fields = {"exit_status": status}
                else:
                    self._capture_device()
                    code, message = "microphone_closed", "the microphone stopped sending audio"
            except MicrophoneSilent as e:
                code, message, fields = "microphone_silent", str(e), {}
            except Exception as e:  # any device failure: report once, retry
                code, message = "microphone_unavailable", f"no microphone ({e})"
            self.opened.clear()
            if self._stop.is_set():
                break
            message += f"; retrying every {self.retry_seconds:g} s"
            if code != self._reported:
                log.warning(message)
                self.report(code, message, **fields)
                self._reported = code
            self._stop.wait(self.retry_seconds)

    def _silent(self) -> MicrophoneSilent:
        what = f"{self.command!r}" if self.command else f"device {self.device!r}"
        return MicrophoneSilent(f"no audio from the microphone ({what}) for {self.read_timeout:g} s")

    def _capture_device(self) -> None:
        import sounddevice

        device = int(self.device) if self.device.isdigit() else (None if self.device == "default" else self.device)
        with sounddevice.RawInputStream(
            samplerate=SAMPLE_RATE, channels=1, dtype="int16", blocksize=FRAME_SAMPLES, device=device
        ) as stream:
            last = time.monotonic()
            while not self._stop.is_set():
                if stream.read_available >= FRAME_SAMPLES:  # never block: a silent device must be noticed
                    data, _overflowed = stream.read(FRAME_SAMPLES)
                    self._put(np.frombuffer(data, "<i2").copy())
                    last = time.monotonic()
                elif time.monotonic() - last > self.read_timeout:
                    raise self._silent()
                else:
                    self._stop.wait(0.01)

    def _capture_command(self) -> tuple[str, int | None]:
        """Run the recorder until it ends or falls silent; returns how it ended, in words, and its exit status."""
        with tempfile.TemporaryFile() as errors:
            self._proc = proc = subprocess.Popen(shlex.split(self.command), stdout=subprocess.PIPE, stderr=errors)
            try:
                self._read_command(proc)
            finally:
                _kill(proc)
                proc.stdout.close()
                self._proc = None
            errors.seek(0)
            said = errors.read()[-300:].decode(errors="replace").strip().splitlines()
        status = proc.returncode
        if status is not None and status < 0:
            exit_text = f"killed by {signal.Signals(-status).name}"
        else:
            exit_text = f"exit status {status}"
        if said:
            exit_text += f": {said[-1]}"
        return exit_text, status

    def _read_command(self, proc: subprocess.Popen) -> None:
        fd = proc.stdout.fileno()
        pending, last = b"", time.monotonic()
        while not self._stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.1)
            if not ready:
                if time.monotonic() - last > self.read_timeout:
                    raise self._silent()
                continue
            chunk = os.read(fd, FRAME_BYTES - len(pending))
            if not chunk:
                if len(pending) >= 2:  # the last, short frame
                    self._put(next(frames_of(np.frombuffer(pending[: len(pending) // 2 * 2], "<i2"))))
                return
            last = time.monotonic()
            pending += chunk
            if len(pending) == FRAME_BYTES:
                self._put(np.frombuffer(pending, "<i2").copy())
                pending = b""


def _kill(proc: subprocess.Popen | None) -> None:
    """Kill a child process (if still running) and reap it."""
    if proc is None:
        return
    try:
        proc.kill()
    except OSError:
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        log.warning("process %s did not end after SIGKILL", proc.pid)


class WavSink:
    """Appends every answer to one WAV file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._wav: wave.Wave_write | None = None
        self._rate = 0

    def play(self, samples: np.ndarray, rate: int) -> None:
        if self._wav is None:
            self._rate = rate
            self._wav = wave.open(str(self.path), "wb")
            self._wav.setnchannels(1)
            self._wav.setsampwidth(2)
            self._wav.setframerate(rate)
        self._wav.writeframes(resample(samples, rate, self._rate).astype("<i2").tobytes())

    def stop(self) -> None:
        """A file keeps what was already written."""

    def close(self) -> None:
        if self._wav is not None:
            self._wav.close()
            self._wav = None


class DeviceSink:
    """Plays answers on a sound device (or pipes them to a command) from a player thread,
    so the pipeline hands over a chunk and goes straight back to listening."""

    def __init__(self, device: str, command: str, report: Reporter):
        self.device, self.command, self.report = device, command, report
        self._chunks: queue.Queue = queue.Queue()
        self._generation = 0  # bumped by stop(): chunks queued before it are dropped
        self._player: subprocess.Popen | None = None
        self._thread = threading.Thread(target=self._play_forever, name="player", daemon=True)
        self._thread.start()

    def play(self, samples: np.ndarray, rate: int) -> None:
        self._chunks.put((self._generation, samples, rate))

    def stop(self) -> None:
        """Cut the answer that is playing and drop the rest."""
        self._generation += 1
        player = self._player  # read once: the player thread clears it when the chunk ends
        if player is not None:
            try:
                player.kill()
            except OSError:
                pass
        if not self.command:
            try:
                import sounddevice

                sounddevice.stop()
            except Exception:  # nothing playing, or no PortAudio at all
                pass

    def close(self) -> None:
        self._chunks.put(None)
        self._thread.join(timeout=30)

    def _play_forever(self) -> None:
        while (item := self._chunks.get()) is not None:
            generation, samples, rate = item
            if generation != self._generation:
                continue
            try:
                self._play(samples, rate, generation)
            except Exception as e:
                log.warning("cannot play the answer: %s", e)
                self.report("speaker_unavailable", f"cannot play the answer ({e})")

    def _play(self, samples: np.ndarray, rate: int, generation: int) -> None:
        if self.command:
            player = subprocess.Popen(shlex.split(self.command.format(rate=rate)), stdin=subprocess.PIPE,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self._player = player
            if generation != self._generation:  # stop() came while the player was starting
                player.kill()
            try:
                player.communicate(samples.astype("<i2").tobytes(), timeout=120)
            except BrokenPipeError:
                pass
            self._player = None
            code = player.returncode
            if code not in (0, -9):
                raise AudioError(f"{self.command!r} exited with {code}")
            return
        import sounddevice

        device = None if self.device == "default" else self.device
        sounddevice.play(samples, rate, device=device, blocking=True)

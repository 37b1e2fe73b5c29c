"""Audio in and out.

Sources yield 80 ms frames of 16 kHz mono int16 (numpy arrays of FRAME_SAMPLES); sinks take the
speaker's answers as int16 chunks at any rate. Live capture runs in its own thread into a bounded
queue, so the pipeline never makes the microphone wait.
"""

from __future__ import annotations

import logging
import queue
import shlex
import subprocess
import threading
import time
import wave
from math import gcd
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

import numpy as np

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
FRAME_SAMPLES = 1280  # 80 ms, what openWakeWord expects
FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE
FRAME_BYTES = FRAME_SAMPLES * 2

Reporter = Callable[[str, str], None]
"""Called with (error code, message) when a device fails; the pipeline turns it into an error event."""


class AudioError(Exception):
    """An audio file or device could not be used."""


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
    """A live microphone: a capture thread fills a bounded queue; a missing or dying device is
    reported and retried every `retry_seconds`, and the speaker keeps running meanwhile."""

    live = True
    QUEUE_FRAMES = 64  # ~5 s: room for a slow answer without losing the microphone

    def __init__(self, device: str, command: str, retry_seconds: float, report: Reporter):
        self.device, self.command = device, command
        self.retry_seconds = retry_seconds
        self.report = report
        self.frames: queue.Queue[np.ndarray] = queue.Queue(self.QUEUE_FRAMES)
        self.dropped = 0
        self.opened = threading.Event()
        self._stop = threading.Event()
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
        self._stop.set()

    def _put(self, frame: np.ndarray) -> None:
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
        self._reported = None
        while not self._stop.is_set():
            try:
                if self.command:
                    self._capture_command()
                else:
                    self._capture_device()
                problem = "microphone_closed", "the microphone stopped sending audio"
            except Exception as e:  # any device failure: report once, retry
                problem = "microphone_unavailable", f"no microphone ({e}); retrying every {self.retry_seconds:g} s"
            self.opened.clear()
            if self._stop.is_set():
                break
            if problem != self._reported:
                log.warning(problem[1])
                self.report(*problem)
                self._reported = problem
            self._stop.wait(self.retry_seconds)

    def _capture_device(self) -> None:
        import sounddevice

        device = int(self.device) if self.device.isdigit() else (None if self.device == "default" else self.device)
        with sounddevice.RawInputStream(
            samplerate=SAMPLE_RATE, channels=1, dtype="int16", blocksize=FRAME_SAMPLES, device=device
        ) as stream:
            self._opened()
            while not self._stop.is_set():
                data, _overflowed = stream.read(FRAME_SAMPLES)
                self._put(np.frombuffer(data, "<i2").copy())

    def _capture_command(self) -> None:
        proc = subprocess.Popen(shlex.split(self.command), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            first = True
            for frame in RawSource(proc.stdout):
                if first:
                    self._opened()
                    first = False
                self._put(frame)
                if self._stop.is_set():
                    break
        finally:
            proc.kill()
            proc.wait()

    def _opened(self) -> None:
        self._reported = None  # a microphone that dies again later is reported again
        self.opened.set()
        log.info("microphone open (%s)", self.command or self.device)


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
        if self._player is not None:
            self._player.kill()
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
            self._player = subprocess.Popen(shlex.split(self.command.format(rate=rate)), stdin=subprocess.PIPE,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if generation != self._generation:  # stop() came while the player was starting
                self._player.kill()
            try:
                self._player.communicate(samples.astype("<i2").tobytes(), timeout=120)
            except BrokenPipeError:
                pass
            code, self._player = self._player.returncode, None
            if code not in (0, -9):
                raise AudioError(f"{self.command!r} exited with {code}")
            return
        import sounddevice

        device = None if self.device == "default" else self.device
        sounddevice.play(samples, rate, device=device, blocking=True)

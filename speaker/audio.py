"""Audio in and out.

Sources yield 80 ms frames of 16 kHz mono int16 (numpy arrays of FRAME_SAMPLES); sinks take the
speaker's answers as int16 chunks at any rate. Live capture runs in its own thread into a bounded
queue, so the pipeline never makes the microphone wait.
"""

from __future__ import annotations

import collections
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
    """A WAV file standing in for the microphone; `realtime` paces it like a live one (and, like
    one, it runs ahead of a pipeline that falls `behind`)."""

    live = False
    behind = 0.0  # seconds of audio "captured" after the frame last given

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
                self.behind = max(0.0, -delay)
            yield frame

    def close(self) -> None:
        pass


class RawSource:
    """Raw 16 kHz mono s16le from a binary stream (standard input), frame by frame as it arrives."""

    live = False
    behind = 0.0  # what waits in the stream is not known

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

    def __init__(self, device: str, command: str, retry_seconds: float, *, report: Reporter,
                 read_timeout: float = 3.0, restored: Callable[[], None] | None = None):
        self.device, self.command = device, command
        self.retry_seconds = retry_seconds
        self.read_timeout = read_timeout
        self.report = report
        self.restored = restored or (lambda: None)
        self.frames: queue.Queue[tuple[np.ndarray, float] | None] = queue.Queue(self.QUEUE_FRAMES)  # and when captured
        self.behind = 0.0  # seconds captured after the frame last given (the pipeline running behind)
        self.dropped = 0
        self.opened = threading.Event()
        self._stop = threading.Event()
        self._proc: subprocess.Popen | None = None
        self._reported: str | None = None  # the problem last reported, until audio flows again
        self._heard = 0  # frames since the microphone opened
        self._thread = threading.Thread(target=self._capture_forever, name="capture", daemon=True)
        self._thread.start()

    def __iter__(self) -> Iterator[np.ndarray | None]:
        """Frames as they come; None every 0.1 s without audio, so commands still run, and at once
        when nudged."""
        while not self._stop.is_set():
            try:
                captured = self.frames.get(timeout=0.1)
            except queue.Empty:
                captured = None
            if captured is None:
                yield None
                continue
            frame, captured_at = captured
            self.behind = time.monotonic() - captured_at
            yield frame

    def nudge(self) -> None:
        """Yield None now, not with the next frame (any thread): what became ready on another thread
        (a sentence to say, the text of what was said, a command) is acted on at once."""
        if self.frames.empty():  # else a frame is there to be taken already
            self.frames.put_nowait(None)

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
        captured = (frame, time.monotonic())
        try:
            self.frames.put_nowait(captured)
        except queue.Full:  # the pipeline fell behind: drop the oldest audio, not the newest
            self.dropped += 1
            try:
                self.frames.get_nowait()
            except queue.Empty:
                pass
            self.frames.put_nowait(captured)

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


PLAYER_STUCK_SECONDS = 3.0  # a player still busy this long after what it was given has played is stuck


class DeviceSink:
    """Plays answers on a sound device (or pipes them to a command) from a player thread, so the
    pipeline hands over a chunk and goes straight back to listening.

    One stream stays open while chunks come (a PortAudio output stream, or one player process),
    fed only LEAD_SECONDS ahead of the loudspeaker: the rest waits here, so a stop takes back all
    but that lead, and the player process (killed) or the stream (aborted) drops what it held."""

    LEAD_SECONDS = 0.1  # how far ahead of the loudspeaker the player is fed
    BLOCK_SECONDS = 0.02  # handed to the player at a time

    def __init__(self, device: str, command: str, report: Reporter):
        self.device, self.command, self.report = device, command, report
        self._lock = threading.Condition()
        self._chunks: collections.deque[tuple[np.ndarray, int]] = collections.deque()  # not yet handed to the player
        self._generation = 0  # bumped by stop(): the player thread drops what it took before it
        self._output: _PlayerOutput | None = None
        self._ends_at = 0.0  # monotonic time when what the player was given has played (its own latency aside)
        self._closing = False
        self._thread = threading.Thread(target=self._play_forever, name="player", daemon=True)
        self._thread.start()

    def play(self, samples: np.ndarray, rate: int) -> None:
        with self._lock:
            self._chunks.append((samples, rate))
            self._lock.notify()

    @property
    def heard_until(self) -> float:
        """Monotonic time by which everything handed over will have left the loudspeaker."""
        with self._lock:
            waiting = sum(len(samples) / rate for samples, rate in self._chunks)
            output = self._output
        latency = output.latency if output is not None else 0.0
        return max(self._ends_at, time.monotonic()) + waiting + latency

    def stop(self) -> None:
        """Cut the answer that is playing and drop the rest: nothing more of it is heard."""
        self._drop()

    def _drop(self) -> bool:
        """Stop; whether there was anything to cut (a player, or audio waiting for one)."""
        with self._lock:
            self._generation += 1
            cut = bool(self._chunks) or self._output is not None
            self._chunks.clear()
            output, self._output = self._output, None
            self._ends_at = time.monotonic()
        if output is not None:
            output.abort()
        return cut

    def close(self) -> None:
        """Play what is still to be played, then close the player; a player that takes no more audio
        (or does not end) for PLAYER_STUCK_SECONDS after all it was given should have played is killed."""
        with self._lock:
            self._closing = True
            self._lock.notify()
        self._thread.join(timeout=max(0.0, self.heard_until - time.monotonic()) + PLAYER_STUCK_SECONDS)
        if self._thread.is_alive() and self._drop():  # stuck: the rest is dropped, not handed to a new player
            log.warning("the player took no more of the answer: stopped")
            self.report("speaker_unavailable", "the player took no more of the answer: stopped")
        self._thread.join(timeout=5)

    def _play_forever(self) -> None:
        while (taken := self._next_block()) is not None:
            block, rate, generation = taken
            try:
                self._write(block, rate, generation)
            except Exception as e:
                with self._lock:
                    if generation != self._generation:  # stopped meanwhile: the player was cut on purpose
                        continue
                    output, self._output = self._output, None
                    self._drop_chunk_of(rate)
                if output is not None:
                    output.abort()
                log.warning("cannot play the answer: %s", e)
                self.report("speaker_unavailable", f"cannot play the answer ({e})")
        self._finish()

    def _next_block(self) -> tuple[np.ndarray, int, int] | None:
        """The next piece to hand to the player, once the player is within LEAD_SECONDS of the
        loudspeaker; None when closing and everything was handed over."""
        with self._lock:
            while True:
                if self._chunks:
                    lead = self._ends_at - time.monotonic()
                    if lead <= self.LEAD_SECONDS:
                        samples, rate = self._chunks[0]
                        n = max(1, int(rate * self.BLOCK_SECONDS))
                        block, rest = samples[:n], samples[n:]
                        if len(rest):
                            self._chunks[0] = (rest, rate)
                        else:
                            self._chunks.popleft()
                        return block, rate, self._generation
                    self._lock.wait(lead - self.LEAD_SECONDS + 0.002)
                elif self._closing:
                    return None
                else:
                    self._lock.wait()

    def _drop_chunk_of(self, rate: int) -> None:
        """A player failed: the rest of the chunk it was playing goes too (the next one tries again)."""
        if self._chunks and self._chunks[0][1] == rate:
            self._chunks.popleft()

    def _write(self, block: np.ndarray, rate: int, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return
            output = self._output
        if output is not None and output.rate != rate:  # another voice: the stream is reopened at its rate
            output.close()
            output = None
        if output is None:
            output = _CommandOutput(self.command, rate) if self.command else _PortAudioOutput(self.device, rate)
            with self._lock:
                if generation != self._generation:
                    stale = True
                else:
                    stale, self._output = False, output
            if stale:
                output.abort()
                return
        output.write(block)
        with self._lock:
            if generation == self._generation:
                self._ends_at = max(self._ends_at, time.monotonic()) + len(block) / rate

    def _finish(self) -> None:
        with self._lock:
            output, self._output = self._output, None
        if output is None:
            return
        try:
            output.close()
        except Exception as e:
            log.warning("cannot play the answer: %s", e)
            self.report("speaker_unavailable", f"cannot play the answer ({e})")


class _PlayerOutput:
    """One open stream to the loudspeaker, at one rate."""

    rate: int
    latency = 0.0  # seconds from a write to the loudspeaker beyond the writer's lead, as far as it is known

    def write(self, block: np.ndarray) -> None: ...

    def abort(self) -> None:
        """Drop what the player holds, at once."""

    def close(self) -> None:
        """Play what the player holds, then close."""


class _CommandOutput(_PlayerOutput):
    """A player command (pacat, aplay) reading raw s16le from its standard input."""

    def __init__(self, command: str, rate: int):
        self.command, self.rate = command, rate
        self._proc = subprocess.Popen(shlex.split(command.format(rate=rate)), stdin=subprocess.PIPE,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def write(self, block: np.ndarray) -> None:
        try:
            self._proc.stdin.write(block.astype("<i2").tobytes())
            self._proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            raise AudioError(f"{self.command!r} ended (exit status {self._proc.wait(timeout=5)})") from None

    def abort(self) -> None:
        _kill(self._proc)  # its buffer goes with it
        self._close_pipe()

    def close(self) -> None:
        self._close_pipe()
        try:
            code = self._proc.wait(timeout=PLAYER_STUCK_SECONDS)
        except subprocess.TimeoutExpired:
            _kill(self._proc)
            raise AudioError(f"{self.command!r} did not end once it had played the answer") from None
        self._check(code)

    def _close_pipe(self) -> None:
        try:
            self._proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass

    def _check(self, code: int) -> None:
        if code != 0:
            raise AudioError(f"{self.command!r} exited with {code}")


class _PortAudioOutput(_PlayerOutput):
    """A PortAudio output stream (sounddevice), fed with blocking writes."""

    def __init__(self, device: str, rate: int):
        import sounddevice

        self.rate = rate
        self._lock = threading.Lock()  # PortAudio must not abort a stream while another thread writes to it
        device = int(device) if device.isdigit() else (None if device == "default" else device)
        self._stream = sounddevice.RawOutputStream(samplerate=rate, channels=1, dtype="int16", device=device,
                                                   latency="low")
        self._stream.start()
        self.latency = float(self._stream.latency)

    def write(self, block: np.ndarray) -> None:
        with self._lock:  # fed LEAD_SECONDS ahead, a write finds room at once: a stop waits no longer than that
            if not self._stream.closed:
                self._stream.write(block.astype("<i2").tobytes())

    def abort(self) -> None:
        with self._lock:
            try:
                self._stream.abort()  # what the device holds is dropped (stop() would play it out)
                self._stream.close()
            except Exception:  # already closed, or the device is gone
                pass

    def close(self) -> None:
        with self._lock:
            self._stream.stop()
            self._stream.close()

"""A simulated room: the speaker beside its own microphone, for tests and benchmarks.

`Room(source, sink)` gives a `source` and a `sink` to hand to the pipeline. What the pipeline
plays goes to the real sink and also comes back into the microphone's frames: after a delay, with
a decaying reverberant tail, at a level `echo_db` louder than the user's voice. The user's speech
is whatever the wrapped source holds (a WAV file, stdin). Time is the microphone's: a sentence
played while another still plays starts when that one ends, as on a sound device. A room's
`behind` (seconds) is a pipeline running behind its microphone on a busy machine: what is played
now is heard that much after the frame the pipeline was last given.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from ..audio import SAMPLE_RATE, resample

VOICE_RMS = 1500.0  # the user's voice at the microphone (about -27 dBFS) when the source does not say


def speech_rms(samples: np.ndarray) -> float:
    """The loudness of the speech in `samples`: the RMS of its loud 20 ms pieces (pauses left out)."""
    pieces = samples[: len(samples) // 320 * 320].astype(np.float32).reshape(-1, 320)
    rms = np.sqrt((pieces**2).mean(axis=1))
    loud = rms[rms > max(100.0, rms.max() / 10)] if len(rms) else rms
    return float(np.sqrt((loud**2).mean())) if len(loud) else 0.0


def impulse_response(delay_ms: float, reverb_seconds: float, seed: int = 0) -> np.ndarray:
    """The path from loudspeaker to microphone: the direct sound after `delay_ms`, then a tail of
    reflections that dies away by 60 dB in `reverb_seconds`, about 12 dB below the direct sound."""
    rng = np.random.default_rng(seed)
    delay = int(delay_ms * SAMPLE_RATE / 1000)
    tail = int(reverb_seconds * SAMPLE_RATE)
    t = np.arange(tail) / SAMPLE_RATE
    reflections = rng.standard_normal(tail) * np.exp(-6.9 * t / max(reverb_seconds, 1e-3)) * 0.25 / np.sqrt(SAMPLE_RATE * 0.01)
    ir = np.zeros(delay + 1 + tail, np.float32)
    ir[delay] = 1.0
    ir[delay + 1 :] = reflections
    return ir


class Room:
    def __init__(self, source, sink, *, echo_db: float = 6.0, delay_ms: float = 45.0, reverb_seconds: float = 0.3,
                 voice_rms: float | None = None, seed: int = 0, gain: float | None = None):
        """`gain`: from what is played to what the microphone hears (None: set at the first sound, so that
        the speaker's voice is `echo_db` louder than the user's; pass a room's `gain` on to keep its acoustics)."""
        if voice_rms is None:
            samples = getattr(source, "samples", None)
            voice_rms = speech_rms(samples) if samples is not None else 0.0
        self.voice_rms = voice_rms or VOICE_RMS
        self.echo_db = echo_db
        self.ir = impulse_response(delay_ms, reverb_seconds, seed)
        self.source = _Microphone(self, source)
        self.sink = _Loudspeaker(self, sink)
        self.now = 0  # samples the microphone has given so far
        self.behind = 0.0  # seconds the microphone has captured beyond them
        self.gain = gain  # fixed at the first sound: a room does not change its acoustics
        self._echo = np.zeros(0, np.float32)  # what the microphone will hear of the speaker, from `now` on
        self._played_until = 0  # where the loudspeaker's queue ends, in microphone samples

    def _play(self, samples: np.ndarray, rate: int) -> None:
        samples = resample(samples, rate, SAMPLE_RATE).astype(np.float32)
        if self.gain is None:
            level = speech_rms(samples.astype(np.int16))
            if level == 0:
                return
            self.gain = self.voice_rms * 10 ** (self.echo_db / 20) / level
        start = max(self.now + self._behind_samples, self._played_until)
        self._played_until = start + len(samples)
        from scipy.signal import fftconvolve

        heard = fftconvolve(samples * self.gain, self.ir).astype(np.float32)
        end = start - self.now + len(heard)
        if end > len(self._echo):
            self._echo = np.concatenate([self._echo, np.zeros(end - len(self._echo), np.float32)])
        self._echo[start - self.now : end] += heard

    def _stop(self) -> None:
        heard = self._behind_samples  # captured already, and what is in the air still rings out
        self._echo = self._echo[: min(len(self._echo), heard + len(self.ir))]
        self._played_until = self.now + heard

    @property
    def _behind_samples(self) -> int:
        return int(self.behind * SAMPLE_RATE)

    def _hear(self, frame: np.ndarray) -> np.ndarray:
        n = len(frame)
        echo, self._echo = self._echo[:n], self._echo[n:]
        self.now += n
        if not len(echo):
            return frame
        mixed = frame.astype(np.float32)
        mixed[: len(echo)] += echo
        return np.clip(mixed, -32768, 32767).astype(np.int16)


class _Microphone:
    def __init__(self, room: Room, source):
        self.room, self.inner = room, source
        self.live = source.live

    @property
    def behind(self) -> float:
        return self.room.behind

    def __iter__(self) -> Iterator[np.ndarray | None]:
        for frame in self.inner:
            yield frame if frame is None else self.room._hear(frame)

    def nudge(self) -> None:
        self.inner.nudge()

    def close(self) -> None:
        self.inner.close()


class _Loudspeaker:
    def __init__(self, room: Room, sink):
        self.room, self.inner = room, sink

    def play(self, samples: np.ndarray, rate: int) -> None:
        self.inner.play(samples, rate)
        self.room._play(samples, rate)

    def stop(self) -> None:
        self.inner.stop()
        self.room._stop()

    def close(self) -> None:
        self.inner.close()


"""Residual echo suppression: what the linear canceller could not take out of the microphone.

A small loudspeaker distorts (it soft-clips its peaks), and a linear filter cannot model that:
through such a room speex takes the echo down by 13-20 dB, not 25-38. What is left still follows
the answer, band by band. `ResidualEchoSuppressor` takes the filter's echo estimate (the
microphone minus the canceller's output) and learns, per band, how much of its power comes back
in the residual (the residual's covariance with the estimate over their variance: the user's
voice, which the estimate does not follow, averages out), then lowers each frequency by the share
of it that is echo, never below `FLOOR` (the user's voice over the answer stands above the echo
and passes). Short-time spectra (512 samples, half overlapping): the output comes 16 ms late.

It also tells how loud a voice other than the echo is in a frame (`voice_rms`: in the voice band,
the power beyond `NOT_ECHO` times the echo expected there, band by band, so that a band the canceller
fails in does not hide the voice in the others): barge-in wants such a voice over the answer, not
only a wake word heard in what the canceller left of the answer itself.
"""

from __future__ import annotations

import functools

import numpy as np

from .audio import SAMPLE_RATE

FFT = 512
HOP = FFT // 2  # 16 ms: the output's delay
WINDOW = np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FFT) / FFT)).astype(np.float32)  # analysis and synthesis
BAND_EDGES_HZ = (0, 250, 500, 750, 1000, 1250, 1500, 2000, 2500, 3000, 3500, 4000, 5000, 6000, 8001)
LEARN = 0.05  # per frame (80 ms): the leakage follows the room over about 1.6 s
OVER = 2.0  # the echo's share is overestimated this much: what is left of it must not sound like words
FLOOR = 0.1  # -20 dB at most: the user's voice over the answer is never taken out
ACTIVE = 1e3  # a band's echo estimate below this power (per bin) teaches nothing (silence between words)
SPEECH = slice(300 * FFT // SAMPLE_RATE, 4000 * FFT // SAMPLE_RATE)  # bins where a voice is judged
NOT_ECHO = 10.0  # a frame's voice band holds a voice besides the echo by what stands 10 dB above the echo expected
TO_SAMPLE_POWER = (FFT / 2) ** 2  # a windowed spectrum's power, summed over its bins, per sample's power


def _bands() -> np.ndarray:
    """Which band each frequency bin of a spectrum belongs to."""
    hz = np.arange(FFT // 2 + 1) * SAMPLE_RATE / FFT
    return np.searchsorted(BAND_EDGES_HZ, hz, side="right") - 1


BAND = _bands()
BANDS = int(BAND.max()) + 1
TO_BANDS = np.eye(BANDS, dtype=np.float32)[BAND]  # bins x bands: spectra summed per band by one product


@functools.cache
def _windows(samples: int) -> np.ndarray:
    """Where each half-overlapping window of a frame of `samples` (and the HOP before it) lies."""
    return np.arange(0, samples, HOP)[:, None] + np.arange(FFT)[None, :]


class ResidualEchoSuppressor:
    """Takes the microphone and the linear canceller's output, frame by frame; returns the output
    with what is still echo lowered (16 ms later)."""

    def __init__(self):
        self._near = np.zeros(HOP, np.float32)  # the last 16 ms of the canceller's output
        self._echo = np.zeros(HOP, np.float32)  # ... and of its echo estimate
        self._carry = np.zeros(HOP, np.float32)  # the overlap still to be added to the next output
        self._mean_residual = np.zeros(BANDS)
        self._mean_echo = np.zeros(BANDS)
        self._covariance = np.zeros(BANDS)
        self._variance = np.zeros(BANDS)
        self.leak = np.zeros(BANDS)  # per band: how much of the estimated echo's power is left in the output
        self.voice_rms = 0.0  # the last frame: how loud a voice besides the echo is in its voice band

    def restart(self, passed: np.ndarray) -> None:
        """The frame `passed` went by untouched (nothing played): the next output goes on from it."""
        self._near = passed[-HOP:].astype(np.float32)
        self._echo[:] = 0.0
        self._carry = self._near * WINDOW[HOP:] ** 2  # as if its last window had passed through whole
        self.voice_rms = 0.0

    def process(self, microphone: np.ndarray, cleaned: np.ndarray) -> np.ndarray:
        near = np.concatenate([self._near, cleaned.astype(np.float32)])
        echo = np.concatenate([self._echo, microphone.astype(np.float32) - cleaned])
        self._near, self._echo = near[-HOP:], echo[-HOP:]
        at = _windows(len(cleaned))
        spectrum = np.fft.rfft(near[at] * WINDOW, axis=1)
        echo_power = np.abs(np.fft.rfft(echo[at] * WINDOW, axis=1)) ** 2
        power = spectrum.real**2 + spectrum.imag**2
        self._learn(power @ TO_BANDS, echo_power @ TO_BANDS)
        expected = echo_power * self.leak[BAND]
        gain = np.maximum(FLOOR, 1.0 - OVER * expected / np.maximum(power, 1e-3))
        beyond = (power[:, SPEECH] - NOT_ECHO * expected[:, SPEECH]) @ TO_BANDS[SPEECH]  # per window and band
        self.voice_rms = float(np.sqrt(np.maximum(beyond, 0.0).sum() / (len(at) * TO_SAMPLE_POWER)))
        pieces = np.fft.irfft(spectrum * gain, FFT, axis=1) * WINDOW
        out = np.zeros(len(cleaned) + HOP, np.float32)
        out[: len(cleaned)] += pieces[:, :HOP].reshape(-1)  # half-overlapping windows: each one's first half
        out[HOP:] += pieces[:, HOP:].reshape(-1)  # ... and its second
        out[:HOP] += self._carry
        self._carry = out[-HOP:].copy()
        return np.clip(np.round(out[: len(cleaned)]), -32768, 32767).astype(np.int16)

    def _learn(self, residual: np.ndarray, echo: np.ndarray) -> None:
        """Follow, band by band, how the residual's power moves with the echo estimate's."""
        active = echo.mean(axis=0) > ACTIVE * np.bincount(BAND)
        if not active.any():
            return
        rate = np.where(active, LEARN, 0.0)
        self._mean_residual += rate * (residual.mean(axis=0) - self._mean_residual)
        self._mean_echo += rate * (echo.mean(axis=0) - self._mean_echo)
        r, e = residual - self._mean_residual, echo - self._mean_echo
        self._covariance += rate * ((r * e).mean(axis=0) - self._covariance)
        self._variance += rate * ((e * e).mean(axis=0) - self._variance)
        self.leak = np.clip(self._covariance / np.maximum(self._variance, 1e-9), 0.0, 1.0)

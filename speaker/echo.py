"""Echo cancellation: the speaker's own voice taken out of its microphone.

The speaker knows what it plays: `EchoTap` wraps the sink and hands every chunk to the
`EchoCanceller` as the far-end reference, queued in microphone time (a chunk played while another
still plays starts when that one ends; `stop` cuts the queue). Each microphone frame then goes
through the canceller with the reference frame of the same moment. While nothing plays (and the
room has stopped ringing) a frame passes through untouched, at no cost.

Two engines: speex's linear adaptive filter (libspeexdsp, through ctypes) takes the echo down by
25-38 dB once it has adapted and leaves the user's voice whole, so the wake word is heard over the
answer; WebRTC's AEC3 (pywebrtc-audio) takes the echo down further but suppresses the user's voice
with it during double talk (benchmarks/barge_in.py measures both).
"""

from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np

from .audio import FRAME_SAMPLES, SAMPLE_RATE, resample
from .config import EchoSettings, ModelMissing

RING_FRAMES = 6  # keep cancelling 0.5 s after the last sample played: the room still rings
NO_ECHO_FRAMES = 25  # 2 s of an answer the microphone hears as quiet: no echo reaches it (until it ends)
ERLE_RISE, ERLE_FALL = 0.1, 0.02  # how fast the measured reduction follows a frame's: it falls slowly, because a
                                  # frame with the user's voice in it looks like echo the filter missed
SPEEX_BLOCK = 256  # samples per speex step (16 ms); a frame is five of them
SPEEX_TAIL = 4096  # 256 ms of echo path: the device's and the room's delay, and the first reflections
SPEEX_SET_SAMPLING_RATE = 24


class SpeexCanceller:
    """speex's multi-delay block frequency-domain adaptive filter, from libspeexdsp."""

    def __init__(self):
        name = ctypes.util.find_library("speexdsp") or "libspeexdsp.so.1"
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            raise ModelMissing('echo.canceller = "speex" needs libspeexdsp (apt install libspeexdsp1), '
                               'or set echo.canceller = "webrtc" or "off"') from None
        lib.speex_echo_state_init.restype = ctypes.c_void_p
        lib.speex_echo_state_init.argtypes = [ctypes.c_int, ctypes.c_int]
        lib.speex_echo_cancellation.argtypes = [ctypes.c_void_p] * 4
        lib.speex_echo_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
        lib.speex_echo_state_destroy.argtypes = [ctypes.c_void_p]
        self._lib = lib
        self._state = lib.speex_echo_state_init(SPEEX_BLOCK, SPEEX_TAIL)
        rate = ctypes.c_int(SAMPLE_RATE)
        lib.speex_echo_ctl(self._state, SPEEX_SET_SAMPLING_RATE, ctypes.byref(rate))

    def process(self, near: np.ndarray, far: np.ndarray) -> np.ndarray:
        near, far = np.ascontiguousarray(near, np.int16), np.ascontiguousarray(far, np.int16)
        out = np.empty_like(near)
        for i in range(0, len(near) - SPEEX_BLOCK + 1, SPEEX_BLOCK):
            self._lib.speex_echo_cancellation(self._state, near[i:].ctypes.data, far[i:].ctypes.data, out[i:].ctypes.data)
        return out

    def __del__(self):
        if getattr(self, "_state", None):
            self._lib.speex_echo_state_destroy(self._state)


class WebRtcCanceller:
    """WebRTC's AEC3: a delay estimator, a linear filter and a suppressor of what is left."""

    def __init__(self):
        import pywebrtc_audio

        self._aec = pywebrtc_audio.EchoCanceller(SAMPLE_RATE, 1)

    def process(self, near: np.ndarray, far: np.ndarray) -> np.ndarray:
        return self._aec.process(near, far)


ENGINES = {"speex": SpeexCanceller, "webrtc": WebRtcCanceller}


class EchoCanceller:
    """Takes microphone frames, returns them with what the speaker played taken out."""

    def __init__(self, settings: EchoSettings):
        self.settings = settings
        self._engine = ENGINES[settings.canceller]() if settings.canceller in ENGINES else None
        self._far = np.zeros(0, np.int16)  # what is still to be played, from the next frame on
        self._ringing = 0
        self.reference = np.zeros(FRAME_SAMPLES, np.int16)  # what was played during the last frame
        self.frames_processed = 0  # frames that went through the canceller (for CPU measurements)
        self.erle_db = 0.0  # how much it takes the echo down now (smoothed over frames with echo in them)
        self._quiet_playback = 0  # frames in a row of playback that the microphone heard as quiet

    @property
    def echo_below_db(self) -> float:
        """How far below what is played the microphone hears it now: the canceller's reduction, or all
        of it when no echo reaches the microphone (answers into a file or headphones: playback
        heard as quiet for NO_ECHO_FRAMES in a row)."""
        return 40.0 if self._quiet_playback >= NO_ECHO_FRAMES else self.erle_db

    @property
    def measures(self) -> bool:
        """It knows how much echo it takes out (not so with `canceller = "off"`: a hardware canceller)."""
        return self._engine is not None

    @property
    def playing(self) -> bool:
        """The speaker is talking (or its voice still rings in the room)."""
        return len(self._far) > 0 or self._ringing > 0

    def played(self, samples: np.ndarray, rate: int) -> None:
        """`samples` were handed to the sound device: they will be heard after what is queued."""
        samples = resample(samples, rate, SAMPLE_RATE).astype(np.int16)
        if not len(self._far):  # from silence: the device's own latency comes first
            samples = np.concatenate([np.zeros(self.settings.device_delay_ms * SAMPLE_RATE // 1000, np.int16), samples])
        self._far = np.concatenate([self._far, samples])

    def stopped(self) -> None:
        """The sound device was told to stop: nothing more of what was queued will be heard."""
        self._far = self._far[:0]

    def process(self, frame: np.ndarray) -> np.ndarray:
        if not self.playing:
            self._quiet_playback = 0  # the next answer shows again whether its echo reaches the microphone
            return frame
        n = len(frame)
        far, self._far = self._far[:n], self._far[n:]
        if len(far) < n:
            far = np.concatenate([far, np.zeros(n - len(far), np.int16)])
        self._ringing = RING_FRAMES if len(self._far) or far.any() else self._ringing - 1
        self.reference = far
        if self._engine is None:
            return frame
        self.frames_processed += 1
        cleaned = self._engine.process(frame, far)
        if far.any():
            before, after = _power(frame), _power(cleaned)
            if before > 1e4:  # echo worth measuring (louder than about -50 dBFS)
                reduction = min(40.0, 10 * np.log10(before / max(after, 1.0)))
                self.erle_db += (ERLE_RISE if reduction > self.erle_db else ERLE_FALL) * (reduction - self.erle_db)
                if self._quiet_playback < NO_ECHO_FRAMES:  # once shown, a voice over the answer is the user's
                    self._quiet_playback = 0
            else:
                self._quiet_playback += 1
        return cleaned


def _power(samples: np.ndarray) -> float:
    x = samples.astype(np.float32)
    return float(np.dot(x, x)) / len(x)


class EchoTap:
    """A sink that tells the echo canceller what it plays (and when it was stopped)."""

    def __init__(self, sink, canceller):
        self.inner = sink
        self._canceller = canceller  # a callable: the pipeline's stages (and so the canceller) may be replaced

    def play(self, samples: np.ndarray, rate: int) -> None:
        self.inner.play(samples, rate)
        self._canceller().played(samples, rate)

    def stop(self) -> None:
        self.inner.stop()
        self._canceller().stopped()

    def close(self) -> None:
        self.inner.close()

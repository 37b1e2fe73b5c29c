"""Echo cancellation: the speaker's own voice taken out of its microphone.

The speaker knows what it plays: `EchoTap` wraps the sink and hands every chunk to the
`EchoCanceller` as the far-end reference, queued in microphone time (a chunk played while another
still plays starts when that one ends; `stop` cuts the queue). On a busy machine the pipeline runs
behind its microphone: a chunk played now is heard after the frames captured meanwhile, so it is
queued behind them. Each microphone frame then goes
through the canceller with the reference frame of the same moment. While nothing plays (and the
room has stopped ringing) a frame passes through untouched, at no cost.

The same moment is measured, not assumed: between the sink and the microphone lie the sound
device's buffers, a sound server, the room and the capture's own buffer, and the loudspeaker's
clock drifts from the microphone's. Twice a second during an answer, `DelayTracker` cross-correlates
the microphone with what was played (GCC-PHAT) and the reference is delayed to match, so the
canceller's filter holds the direct sound and the tail. Four times a second `EchoPosition` finds,
to a fraction of a sample, where the echo falls behind that reference, and the reference follows
it: the filter keeps what it learnt when the path jumps (a new answer after a pause, a sound
server's buffer), and how fast the echo moves is the drift between the two clocks, by which the
reference then glides, a fraction of a sample at a time (a windowed sinc). The canceller keeps
listening until the echo of the last sample played has arrived.

Two engines: speex's linear adaptive filter (libspeexdsp, through ctypes) takes the echo down by
25-38 dB once it has adapted and leaves the user's voice whole, so the wake word is heard over the
answer (what a distorting loudspeaker adds, which a linear filter cannot take out, the residual
echo suppressor behind it lowers: residual_echo.py); WebRTC's AEC3 (pywebrtc-audio) takes the echo down further but suppresses the user's voice
with it during double talk (benchmarks/barge_in.py measures both).
"""

from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np

from .audio import FRAME_SAMPLES, SAMPLE_RATE, resample
from .config import EchoSettings, ModelMissing
from .residual_echo import ResidualEchoSuppressor

RING_FRAMES = 6  # keep cancelling 0.5 s after the echo of the last sample played arrived: the room still rings
NO_ECHO_FRAMES = 25  # 2 s of answers the microphone hears as quiet: no echo reaches it (until one is doubted)
ERLE_RISE, ERLE_FALL = 0.1, 0.02  # how fast the measured reduction follows a frame's: it falls slowly, because a
                                  # frame with the user's voice in it looks like echo the filter missed
ECHO_FOUND_DB = 10.0  # the linear filter takes this much out of what the microphone hears while the speaker talks:
                      # an echo reaches it (with none, it took 0-1 dB out of the user's voice over a chime)
ECHO_DOUBT_DB = 3.0  # ... this much, once no echo was heard: one may be there after all (headphones unplugged; a
                     # clipping loudspeaker's echo never reached 10 dB)
SPEEX_BLOCK = 256  # samples per speex step (16 ms); a frame is five of them
SPEEX_TAIL = 4096  # 256 ms of echo path: the device's and the room's delay, and the first reflections
SPEEX_SET_SAMPLING_RATE = 24
TRACK_WINDOW = SAMPLE_RATE  # the microphone's last second is compared with what was played
MAX_DELAY = SAMPLE_RATE  # an echo path (device, sound server, room, capture) up to 1 s long
TRACK_EVERY = 6  # frames between measurements (~0.5 s)
TRACK_PEAK = 8.0  # a measurement counts when its peak stands this far above the correlation's spread
MARGIN = 640  # the reference runs 40 ms ahead of the measured echo: the filter holds the direct sound whole
SHIFT_STEP = 320  # the reference jumps when the measured delay is 20 ms off (the filter covers less)
DRIFT_GAIN = 0.5  # how much of the drift a move of the echo shows is believed at once
MAX_DRIFT = 0.005  # 0.5 %: more is a measurement gone wrong, not two clocks
ALIGN_WINDOW = SAMPLE_RATE // 2  # the reference is compared with the microphone over the last 0.5 s
ALIGN_EVERY = 3  # frames between measurements (~0.25 s: a new answer's echo is put back in place quickly)
ALIGN_RANGE = 2 * MARGIN  # the echo is looked for up to 80 ms behind the reference (more: the delay tracker moves it)
ALIGN_PEAK = 6.0  # a measurement counts when its peak stands this far above the correlation's spread
ALIGN_MIN = 0.25  # samples: a smaller move is left to the filter
ALIGN_SURE = 8  # samples: a larger move (a jump of the path) must be measured twice
ALIGN_EDGE = 16  # an echo found this near the ends of the range may lie beyond it
SINC_TAPS = 8  # each side of a sample between two: the reference is delayed by fractions of a sample cleanly


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
        lib.speex_echo_state_reset.argtypes = [ctypes.c_void_p]
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

    def reset(self) -> None:
        """Forget the echo path learnt (it moved)."""
        self._lib.speex_echo_state_reset(self._state)

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

    def reset(self) -> None:
        """Forget the echo path learnt (it moved)."""
        self.__init__()


ENGINES = {"speex": SpeexCanceller, "webrtc": WebRtcCanceller}


class DelayTracker:
    """Measures how long the speaker's sound takes to come back into its microphone."""

    def __init__(self):
        self._far = np.zeros(MAX_DELAY, np.float32)  # what was played, frame by frame, the last TRACK_WINDOW + MAX_DELAY
        self._near = np.zeros(0, np.float32)  # what the microphone heard meanwhile, the last TRACK_WINDOW
        self._frames = 0
        self.delay: int | None = None  # samples, the last clear measurement

    def add(self, near: np.ndarray, far: np.ndarray) -> None:
        """One frame heard while `far` was played; now and then a measurement."""
        self._far = np.concatenate([self._far, far.astype(np.float32)])[-(TRACK_WINDOW + MAX_DELAY):]
        self._near = np.concatenate([self._near, near.astype(np.float32)])[-TRACK_WINDOW:]
        self._frames += 1
        if self._frames % TRACK_EVERY == 0 and len(self._near) == TRACK_WINDOW:
            self._measure()

    def _measure(self) -> None:
        if np.count_nonzero(self._far) < TRACK_WINDOW // 2:
            return  # too little played to tell
        n = 1 << (len(self._far) - 1).bit_length()
        cross = np.conj(np.fft.rfft(self._near, n)) * np.fft.rfft(self._far, n)
        correlation = np.fft.irfft(cross / np.maximum(np.abs(cross), 1e-9), n)[: MAX_DELAY + 1]
        peak = int(np.argmax(correlation))
        if correlation[peak] > TRACK_PEAK * np.std(correlation):
            self.delay = MAX_DELAY - peak


class EchoPosition:
    """Keeps what the filter has learnt valid when the echo moves: finds where the echo's direct
    sound falls behind the reference the filter is given (cross-correlating the two, to a fraction
    of a sample), remembers where it fell while the filter learnt it, and tells how far it has moved
    since (the path jumped: a new answer after a pause, the player's buffer; or the drift was
    measured a little off), so that the reference moves with it and the filter goes on cancelling
    instead of learning the room again."""

    def __init__(self):
        self._near = np.zeros(0, np.float32)
        self._far = np.zeros(0, np.float32)
        self._frames = 0
        self._jump: float | None = None  # a move measured once, waiting to be measured again
        self.anchor: float | None = None  # where the echo fell behind the reference while the filter learnt it

    def clear(self) -> None:
        """Measure afresh (the reference moved, or the answer ended)."""
        self._near, self._far = self._near[:0], self._far[:0]
        self._frames = 0

    def add(self, near: np.ndarray, far: np.ndarray) -> float | None:
        """One frame and the reference given with it; now and then, how many samples later the
        echo comes than where the filter learnt it (None: not measured)."""
        self._near = np.concatenate([self._near, near.astype(np.float32)])[-ALIGN_WINDOW:]
        self._far = np.concatenate([self._far, far.astype(np.float32)])[-ALIGN_WINDOW:]
        self._frames += 1
        if self._frames % ALIGN_EVERY or len(self._near) < ALIGN_EVERY * len(near):
            return None
        at = self._where()
        if at is None:
            return None
        if self.anchor is None:
            self.anchor = at
        moved = at - self.anchor
        if abs(moved) > ALIGN_SURE:  # a jump: believed when the next measurement finds it too
            seen, self._jump = self._jump, moved
            if seen is None or abs(seen - moved) > ALIGN_SURE / 2:
                return None
        self._jump = None
        return moved

    def _where(self) -> float | None:
        if np.count_nonzero(self._far) < len(self._far) // 2:
            return None  # too little played to tell
        n = 2 * len(self._near)
        cross = np.fft.rfft(self._near, n) * np.conj(np.fft.rfft(self._far, n))
        lags = np.fft.irfft(cross / np.maximum(np.abs(cross), 1e-9), n)[:ALIGN_RANGE]
        peak = int(np.argmax(lags))
        if not ALIGN_EDGE <= peak < len(lags) - ALIGN_EDGE or lags[peak] < ALIGN_PEAK * np.std(lags):
            return None  # no clear echo, or one further off than this looks (the delay tracker will find it)
        before, at, after = lags[peak - 1 : peak + 2]
        curve = before - 2 * at + after
        return peak + 0.5 * (before - after) / curve if curve < 0 else float(peak)  # between samples


class EchoCanceller:
    """Takes microphone frames, returns them with what the speaker played taken out."""

    def __init__(self, settings: EchoSettings):
        self.settings = settings
        self._engine = ENGINES[settings.canceller]() if settings.canceller in ENGINES else None
        speex = settings.canceller == "speex"  # (AEC3 suppresses what is left itself)
        self._suppressor = ResidualEchoSuppressor() if speex and settings.suppress_residual else None
        self._far = np.zeros(0, np.int16)  # what is still to be played, from the next frame on
        self._behind = 0  # samples the microphone captured after the last frame (the pipeline running behind)
        self._played = np.zeros(MAX_DELAY + FRAME_SAMPLES + 1, np.int16)  # what was played, up to this frame
        self.shift = float(settings.device_delay_ms * SAMPLE_RATE // 1000)  # samples the reference is delayed by
        self.tracker = DelayTracker()
        self.drift = 0.0  # how fast the echo comes later, in samples per sample heard (the loudspeaker's clock
                          # against the microphone's), as the moves of the echo show
        self._since_moved = 0  # samples heard since the reference last moved onto the echo (0: the delay
                               # tracker placed it, its first move is that measurement's error, not the drift)
        self.position = EchoPosition()
        self._last_shift = self.shift  # the shift at the end of the last frame (it moves across a frame with the drift)
        self._ringing = 0
        self.reference = np.zeros(FRAME_SAMPLES, np.int16)  # what was heard of what was played during the last frame
        self.sent = np.zeros(FRAME_SAMPLES, np.int16)  # what the sound device started playing then (its echo
                                                       # comes later, however far off the measured delay is)
        self.frames_processed = 0  # frames that went through the canceller (for CPU measurements)
        self.erle_db = 0.0  # how much it takes the echo down now (smoothed over frames with echo in them)
        self._filter_db = 0.0  # ... the linear filter alone
        self._echo_found = False  # the filter showed an echo: it stays found (the filter's reduction dips and
                                  # rises with the room) until 2 s of playback are heard as quiet (no echo path)
        self._quiet_playback = 0  # frames of playback in a row (across answers) that the microphone heard as quiet

    @property
    def echo_below_db(self) -> float:
        """How far below what is played the microphone hears it now: the canceller's reduction, or all
        of it when no echo reaches the microphone (answers into a file or headphones: playback
        heard as quiet for NO_ECHO_FRAMES, over one answer or more, and no echo found since)."""
        return 40.0 if self._quiet_playback >= NO_ECHO_FRAMES else self.erle_db

    @property
    def voice_rms(self) -> float | None:
        """How loud a voice besides the speaker's echo was in the last frame (None: it cannot tell)."""
        return self._suppressor.voice_rms if self._suppressor is not None and self.playing else None

    @property
    def measures(self) -> bool:
        """It knows how much echo it takes out (not so with `canceller = "off"`: a hardware canceller)."""
        return self._engine is not None

    @property
    def playing(self) -> bool:
        """The speaker is talking (or its voice still rings in the room)."""
        return len(self._far) > 0 or self._ringing > 0

    @property
    def echo_delay(self) -> float:
        """Seconds from handing a sample to the sink to its echo in the microphone: measured, or
        `device_delay_ms` until a measurement."""
        delay = self.tracker.delay
        return (delay if delay is not None else self.shift) / SAMPLE_RATE

    def played(self, samples: np.ndarray, rate: int) -> None:
        """`samples` were handed to the sound device: they will be heard after what is queued, and
        after what the microphone has captured that is still to be processed."""
        samples = resample(samples, rate, SAMPLE_RATE).astype(np.int16)
        gap = np.zeros(max(0, self._behind - len(self._far)), np.int16)
        self._far = np.concatenate([self._far, gap, samples])

    def stopped(self, unheard: float = 0.0) -> None:
        """The sound device was told to stop: nothing more of what was queued will be heard, nor the
        last `unheard` seconds handed to it (what its player still held)."""
        cut = int(unheard * SAMPLE_RATE)
        self._far = self._far[: max(0, self._behind - cut)]  # captured already: it was heard
        if cut > self._behind:
            self._played[self._behind - cut :] = 0

    def process(self, frame: np.ndarray, behind: float = 0.0) -> np.ndarray:
        """The frame with the echo taken out; `behind`: seconds the microphone has captured after it."""
        self._behind = int(behind * SAMPLE_RATE)
        if not self.playing:
            if self._suppressor is not None:
                self._suppressor.restart(frame)
            self.position.clear()  # the next answer's echo is compared with its own
            return frame
        n = len(frame)
        far, self._far = self._far[:n], self._far[n:]
        if len(far) < n:
            far = np.concatenate([far, np.zeros(n - len(far), np.int16)])
        self._played = np.concatenate([self._played[n:], far])
        self.sent = far
        self.shift = max(0.0, min(float(MAX_DELAY), self.shift + self.drift * n))  # the clocks drift apart
        self._since_moved += n if self._since_moved else 0
        far = self._heard_now(n)
        self._ringing = RING_FRAMES if len(self._far) or self._played[-int(self.shift) - n:].any() else self._ringing - 1
        self.reference = far
        if self._engine is None:
            return frame
        self.frames_processed += 1
        if not self._follow_the_delay(frame):  # (a reference just moved: this frame's was given before)
            self._follow_the_echo(frame, far)
        linear = cleaned = self._engine.process(frame, far)
        if self._suppressor is not None:
            suppressed = self._suppressor.process(frame, linear)
            # Its output only once the linear filter has shown that an echo reaches the microphone. With
            # none (answers into a file or headphones) what the filter takes out is no echo, and the
            # suppressor learns it as if it were: a chime over the user's request took 10 dB out of
            # frames of it. (Not the delay tracker's word: a user's voice like the speaker's own, as
            # two espeak-ng voices are, once gave it an echo that was not there.)
            cleaned = suppressed if self._echo_found else linear
        if far.any():
            before = _power(frame)
            if before > 1e4:  # echo worth measuring (louder than about -50 dBFS)
                self.erle_db = _followed(self.erle_db, before, cleaned)
                self._filter_db = _followed(self._filter_db, before, linear)
                self._echo_found = self._echo_found or self._filter_db >= ECHO_FOUND_DB
                if self._quiet_playback < NO_ECHO_FRAMES or self._filter_db >= ECHO_DOUBT_DB:
                    self._quiet_playback = 0  # once no echo was shown, a voice over the answer is the user's,
                                              # until the filter takes something out (headphones unplugged)
            else:
                self._quiet_playback += 1
                if self._quiet_playback == NO_ECHO_FRAMES:  # no echo reaches the microphone now (headphones)
                    self._filter_db, self._echo_found = 0.0, False
        return cleaned

    def _heard_now(self, n: int) -> np.ndarray:
        """What is heard during this frame, as far as the measured delay (and drift) tells: each
        sample `shift` samples back (the shift moving across the frame from where it was at the end
        of the last one), between two samples when it falls there (a windowed sinc: a straight line
        between them would dull the highs, by a different amount every sample)."""
        start, self._last_shift = self._last_shift, self.shift
        end = len(self._played)
        if start == self.shift == int(self.shift):
            return self._played[end - n - int(self.shift) : end - int(self.shift)]
        at = end - n + np.arange(n) - (start + (self.shift - start) * np.arange(1, n + 1) / n)
        first = max(0, int(at.min()) - SINC_TAPS)
        ahead = self._far[:SINC_TAPS]  # a sample between two near the end needs the next ones: still to be played
        around = np.concatenate([self._played[first:], ahead, np.zeros(SINC_TAPS - len(ahead), np.int16)])
        at = np.clip(at - first, SINC_TAPS, len(around) - SINC_TAPS - 1)
        return np.round(_sinc_at(around, at)).astype(np.int16)

    def _follow_the_echo(self, frame: np.ndarray, far: np.ndarray) -> None:
        """Move the reference onto the echo when it moved, and learn the drift from how fast it moves."""
        moved = self.position.add(frame, far) if self.tracker.delay is not None else None
        if moved is None or abs(moved) < ALIGN_MIN:
            return
        if abs(moved) > ALIGN_SURE:  # a jump: from the next frame on (a small move glides over it)
            self._last_shift = self.shift + moved
        elif self._since_moved:  # (not the first move after the delay tracker placed the reference: its error)
            self.drift = max(-MAX_DRIFT, min(MAX_DRIFT, self.drift + DRIFT_GAIN * moved / self._since_moved))
        self.shift = max(0.0, min(float(MAX_DELAY), self.shift + moved))
        self._since_moved = 1
        self.position.clear()

    def _follow_the_delay(self, frame: np.ndarray) -> bool:
        """Measure the echo's delay now and then, and move the reference when it is off (saying so):
        to where the filter learnt the echo (so it goes on cancelling), or, the first time, 40 ms
        ahead of it (with a fresh filter: the old one learnt the echo where it is not)."""
        self.tracker.add(frame, self._played[-len(frame):])
        if self.tracker.delay is None:
            return False
        anchor = self.position.anchor
        wanted = max(0, min(MAX_DELAY, self.tracker.delay - (MARGIN if anchor is None else anchor)))
        if abs(wanted - self.shift) < SHIFT_STEP:  # between measurements the drift moves it smoothly
            return False
        if anchor is None:
            self._engine.reset()
        self.shift = self._last_shift = float(wanted)
        self._since_moved = 0
        self.position.clear()
        return True


def _sinc_table(phases: int = 512) -> np.ndarray:
    """Hann-windowed sinc weights for `phases` fractions of a sample, SINC_TAPS each side."""
    distance = np.arange(-SINC_TAPS + 1, SINC_TAPS + 1)[None, :] - (np.arange(phases + 1) / phases)[:, None]
    weights = np.sinc(distance) * (0.5 + 0.5 * np.cos(np.pi * distance / SINC_TAPS))
    return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)


SINC = _sinc_table()


def _sinc_at(samples: np.ndarray, at: np.ndarray) -> np.ndarray:
    """`samples` read at the (fractional) positions `at`, band-limited (to 1/512 of a sample)."""
    base = np.floor(at).astype(np.int64)
    weights = SINC[np.round((at - base) * (len(SINC) - 1)).astype(np.int64)]
    taps = base[:, None] + np.arange(-SINC_TAPS + 1, SINC_TAPS + 1)[None, :]
    return (samples[taps] * weights).sum(axis=1)


def _followed(measured_db: float, before: float, after: np.ndarray) -> float:
    """A smoothed reduction, `measured_db`, followed to one more frame's: `before` (its power) to `after`."""
    reduction = min(40.0, 10 * np.log10(before / max(_power(after), 1.0)))
    return measured_db + (ERLE_RISE if reduction > measured_db else ERLE_FALL) * (reduction - measured_db)


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
        self._canceller().stopped(getattr(self.inner, "LEAD_SECONDS", 0.0))

    def close(self) -> None:
        self.inner.close()

"""Audio in and out: WAV reading and conversion, frames, raw streams, live capture and playback."""

from __future__ import annotations

import io
import os
import shlex
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from conftest import write_wav
from speaker.audio import (FRAME_SAMPLES, SAMPLE_RATE, AudioError, DeviceSink, LiveSource, RawSource, WavSink,
                           frames_of, read_wav)

RNG = np.random.default_rng(1)


def sine(freq: float, seconds: float, rate: int, amplitude: float = 8000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def peaks(samples: np.ndarray, rate: int = SAMPLE_RATE, n: int = 1) -> list[float]:
    """The n strongest frequencies (Hz), strongest first."""
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    order = np.argsort(spectrum)[::-1]
    found = []
    for i in order:  # skip the neighbours of a peak already found
        if all(abs(freqs[i] - f) > 20 for f in found):
            found.append(float(freqs[i]))
        if len(found) == n:
            break
    return found


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


def write_raw_width(path, ints: np.ndarray, width: int, rate: int = SAMPLE_RATE):
    """A mono PCM WAV of `width` bytes a sample; `ints` are already scaled to that width."""
    if width == 1:
        raw = ints.astype(np.uint8).tobytes()
    else:
        raw = b"".join(int(v).to_bytes(width, "little", signed=True) for v in ints)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(raw)
    return path


def closing_after(source, seconds: float) -> threading.Timer:
    """Close `source` after `seconds` so a broken test ends instead of hanging."""
    timer = threading.Timer(seconds, source.close)
    timer.daemon = True
    timer.start()
    return timer


def sh(script: str) -> str:
    return f"sh -c {shlex.quote(script)}"


# --- read_wav ------------------------------------------------------------------------------------

def test_a_16k_mono_wav_is_read_unchanged(tmp_path):
    samples = RNG.integers(-32768, 32767, 5000, dtype=np.int16)
    assert np.array_equal(read_wav(write_wav(tmp_path / "a.wav", samples)), samples)


def test_44k_stereo_becomes_16k_mono_with_the_same_pitch(tmp_path):
    tone = sine(440, 1.0, 44100)
    stereo = np.column_stack([tone, tone]).ravel()
    out = read_wav(write_wav(tmp_path / "cd.wav", stereo, rate=44100, channels=2))
    assert out.dtype == np.int16 and out.ndim == 1
    assert abs(len(out) - SAMPLE_RATE) <= 1
    assert abs(peaks(out)[0] - 440) < 3
    assert rms(out) == pytest.approx(rms(tone), rel=0.05)


def test_both_stereo_channels_are_heard(tmp_path):
    left, right = sine(440, 1.0, 44100), sine(1000, 1.0, 44100)
    out = read_wav(write_wav(tmp_path / "lr.wav", np.column_stack([left, right]).ravel(), rate=44100, channels=2))
    assert sorted(round(f / 10) * 10 for f in peaks(out, n=2)) == [440, 1000]


def test_8k_becomes_16k_with_the_same_pitch(tmp_path):
    tone = sine(440, 0.5, 8000)
    out = read_wav(write_wav(tmp_path / "phone.wav", tone, rate=8000))
    assert len(out) == 8000
    assert abs(peaks(out)[0] - 440) < 3
    assert rms(out) == pytest.approx(rms(tone), rel=0.05)


def test_8_bit_wav(tmp_path):
    tone = sine(440, 0.5, SAMPLE_RATE, amplitude=100)  # unsigned 8-bit: 128 +- 100
    out = read_wav(write_raw_width(tmp_path / "8.wav", tone + 128, 1))
    assert len(out) == len(tone)
    assert np.array_equal(out, tone.astype(np.int16) << 8)
    assert abs(peaks(out)[0] - 440) < 3


@pytest.mark.parametrize("width", [3, 4])
def test_24_and_32_bit_wav_keep_the_top_16_bits(tmp_path, width):
    samples = np.concatenate([[-32768, -1, 0, 1, 32767], RNG.integers(-32768, 32767, 995)]).astype(np.int64)
    extra_bits = 8 * (width - 2)
    wide = samples * (1 << extra_bits) + RNG.integers(0, 1 << extra_bits, len(samples))
    out = read_wav(write_raw_width(tmp_path / f"{width}.wav", wide, width))
    assert np.array_equal(out, samples.astype(np.int16))


def test_a_file_that_is_not_a_wav_is_refused_clearly(tmp_path):
    path = tmp_path / "song.wav"
    path.write_bytes(b"ID3\x03\x00\x00\x00" + bytes(500))  # an MP3 with a .wav name
    with pytest.raises(AudioError) as e:
        read_wav(path)
    assert str(e.value).startswith(f"{path}: not a PCM WAV file")


def test_an_empty_file_is_refused_clearly(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioError, match="not a PCM WAV file"):
        read_wav(path)


def test_a_missing_file_is_refused_clearly(tmp_path):
    with pytest.raises(AudioError) as e:
        read_wav(tmp_path / "nope.wav")
    assert str(e.value) == f"{tmp_path / 'nope.wav'}: no such file"


def test_a_directory_is_refused_clearly(tmp_path):
    with pytest.raises(AudioError):
        read_wav(tmp_path)


def test_a_wav_cut_off_mid_sample_is_read_up_to_the_cut(tmp_path):
    samples = RNG.integers(-32768, 32767, 2000, dtype=np.int16)
    whole = write_wav(tmp_path / "whole.wav", samples, channels=2).read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole[:-3])
    out = read_wav(cut)
    assert len(out) == 999


# --- frames --------------------------------------------------------------------------------------

def test_frames_of_pads_only_the_last_frame():
    samples = RNG.integers(-1000, 1000, 2 * FRAME_SAMPLES + 300, dtype=np.int16)
    frames = list(frames_of(samples))
    assert [len(f) for f in frames] == [FRAME_SAMPLES] * 3
    assert np.array_equal(np.concatenate(frames)[: len(samples)], samples)
    assert not frames[-1][300:].any()
    assert len(list(frames_of(samples[: 2 * FRAME_SAMPLES]))) == 2


def test_raw_source_yields_whole_frames_and_a_padded_last_one():
    samples = RNG.integers(-32768, 32767, 2 * FRAME_SAMPLES + 500, dtype=np.int16)
    frames = list(RawSource(io.BytesIO(samples.astype("<i2").tobytes())))
    assert [len(f) for f in frames] == [FRAME_SAMPLES] * 3
    assert np.array_equal(np.concatenate(frames)[: len(samples)], samples)
    assert not frames[-1][500:].any()


def test_raw_source_joins_a_pipe_that_delivers_odd_sized_pieces():
    samples = RNG.integers(-32768, 32767, 3 * FRAME_SAMPLES, dtype=np.int16)
    data = samples.astype("<i2").tobytes() + b"\x01"  # a dangling half sample at the end is dropped
    read_end, write_end = os.pipe()

    def writer():
        with os.fdopen(write_end, "wb", buffering=0) as w:
            for start in range(0, len(data), 777):
                w.write(data[start : start + 777])

    threading.Thread(target=writer, daemon=True).start()
    with os.fdopen(read_end, "rb", buffering=0) as r:
        frames = list(RawSource(r))
    assert len(frames) == 3 and np.array_equal(np.concatenate(frames), samples)


# --- WavSink -------------------------------------------------------------------------------------

def test_wav_sink_appends_every_answer_into_one_file(tmp_path):
    first, second = sine(300, 0.5, 22050), sine(500, 0.3, 22050)
    third = sine(700, 0.4, SAMPLE_RATE)  # a different rate is converted to the file's
    sink = WavSink(tmp_path / "answers.wav")
    sink.play(first, 22050)
    sink.play(second, 22050)
    sink.play(third, SAMPLE_RATE)
    sink.close()
    with wave.open(str(tmp_path / "answers.wav"), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 22050)
        out = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    assert len(out) == len(first) + len(second) + round(len(third) * 22050 / SAMPLE_RATE)
    assert np.array_equal(out[: len(first) + len(second)], np.concatenate([first, second]))
    assert abs(peaks(out[len(first) + len(second):], 22050)[0] - 700) < 5


def test_wav_sink_without_answers_writes_no_file(tmp_path):
    WavSink(tmp_path / "answers.wav").close()
    assert not (tmp_path / "answers.wav").exists()


# --- LiveSource ----------------------------------------------------------------------------------

class Reports:
    """What a LiveSource reported, as (code, message, fields), and how often it said it recovered."""

    def __init__(self):
        self.reports: list[tuple[str, str, dict]] = []
        self.restored = 0
        self._changed = threading.Condition()

    def __call__(self, code, message, **fields):
        with self._changed:
            self.reports.append((code, message, fields))
            self._changed.notify_all()

    def back(self):
        with self._changed:
            self.restored += 1
            self._changed.notify_all()

    def wait(self, predicate, timeout: float = 10) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: predicate(self), timeout), (self.reports, self.restored)

    @property
    def codes(self) -> list[str]:
        return [code for code, _, _ in self.reports]


def consume(source, frames: int, timeout: float = 20) -> int:
    """Read up to `frames` frames of audio from `source` (closing it at `timeout`); how many came."""
    closing_after(source, timeout)
    received = 0
    for frame in source:
        received += frame is not None
        if received == frames:
            break
    return received


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()


def test_a_microphone_command_that_exits_is_reported_once_with_its_exit_status_and_retried(tmp_path):
    runs = tmp_path / "runs"
    reports = Reports()
    source = LiveSource("default", sh(f"echo run >> {shlex.quote(str(runs))}; echo 'no such card' >&2; exit 3"),
                        0.05, report=reports)
    try:
        reports.wait(lambda r: r.reports)
        code, message, fields = reports.reports[0]
        assert code == "microphone_closed" and fields == {"exit_status": 3}
        assert "exit status 3: no such card" in message and "retrying every 0.05 s" in message
        for _ in range(100):  # it keeps trying again...
            if runs.exists() and len(runs.read_text().split()) >= 4:
                break
            threading.Event().wait(0.05)
        assert len(runs.read_text().split()) >= 4
        assert len(reports.reports) == 1  # ...without flooding the events with the same error
        assert not source.opened.is_set()
    finally:
        source.close()


def test_a_microphone_command_that_cannot_start_is_reported():
    reports = Reports()
    source = LiveSource("default", "no-such-recorder -q", 0.05, report=reports)
    try:
        reports.wait(lambda r: r.reports)
        code, message, _ = reports.reports[0]
        assert code == "microphone_unavailable" and "no-such-recorder" in message
    finally:
        source.close()


def test_a_microphone_that_sends_nothing_is_reported_silent_and_its_process_is_killed_on_close(tmp_path):
    pids = tmp_path / "pids"
    reports = Reports()
    source = LiveSource("default", sh(f"echo $$ >> {shlex.quote(str(pids))}; exec sleep 1000"), 0.05, report=reports,
                        read_timeout=0.5)
    try:
        reports.wait(lambda r: r.reports)
        code, message, _ = reports.reports[0]
        assert code == "microphone_silent" and "no audio from the microphone" in message and "0.5 s" in message
        reports.wait(lambda r: len(pids.read_text().split()) >= 2)  # the silent one was killed and started again
        assert not alive(int(pids.read_text().split()[0]))
        assert reports.codes == ["microphone_silent"]  # said once
    finally:
        source.close()
    assert not any(alive(int(pid)) for pid in pids.read_text().split())  # nothing left running after close


def test_a_microphone_command_delivers_its_audio_bit_exact(tmp_path):
    samples = RNG.integers(-32768, 32767, 2 * FRAME_SAMPLES + 100, dtype=np.int16)
    raw = tmp_path / "mic.raw"
    raw.write_bytes(samples.astype("<i2").tobytes())
    reports = Reports()
    source = LiveSource("default", f"cat {shlex.quote(str(raw))}", 60, report=reports)
    closing_after(source, 10)
    frames = []
    for frame in source:
        if frame is not None:  # (a live source may also yield None while no audio comes)
            frames.append(frame)
        if len(frames) == 3:
            break
    source.close()
    assert len(frames) == 3, "the microphone's audio never arrived"
    assert all(f.dtype == np.int16 and len(f) == FRAME_SAMPLES for f in frames)
    assert np.array_equal(np.concatenate(frames)[: len(samples)], samples)
    assert not frames[-1][100:].any()


def test_a_microphone_tells_how_far_it_is_ahead_of_the_frame_it_gives(tmp_path):
    """The echo canceller places what is played after the audio captured meanwhile (echo.py)."""
    raw = tmp_path / "mic.raw"
    raw.write_bytes(np.zeros(4 * FRAME_SAMPLES, "<i2").tobytes())
    source = LiveSource("default", f"cat {shlex.quote(str(raw))}", 60, report=Reports())
    closing_after(source, 10)
    try:
        deadline = time.monotonic() + 10
        while source.frames.qsize() < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.5)  # the pipeline is busy: the frames wait
        assert next(f for f in source if f is not None) is not None
        assert source.behind >= 0.5
    finally:
        source.close()


def test_a_microphone_that_comes_back_is_announced_once_and_reported_again_when_it_dies_again(tmp_path):
    lives = LiveSource.RESTORED_FRAMES + 5
    raw = tmp_path / "mic.raw"
    raw.write_bytes(bytes(FRAME_SAMPLES * 2 * lives))  # some seconds of audio, then the "microphone" dies
    plugged_in = tmp_path / "plugged-in"
    reports = Reports()
    source = LiveSource("default", sh(f"test -e {plugged_in} && cat {raw}"), 0.05, report=reports, restored=reports.back)
    try:
        reports.wait(lambda r: r.reports)
        plugged_in.touch()
        assert consume(source, 2 * lives) == 2 * lives  # two lives
        reports.wait(lambda r: r.codes.count("microphone_closed") >= 2)
        assert reports.restored >= 1
    finally:
        source.close()


def test_a_microphone_that_flickers_is_reported_once_not_at_every_retry(tmp_path):
    raw = tmp_path / "mic.raw"
    raw.write_bytes(bytes(2 * FRAME_SAMPLES * 2))  # two frames, then it dies; again and again
    reports = Reports()
    source = LiveSource("default", f"cat {shlex.quote(str(raw))}", 0.05, report=reports, restored=reports.back)
    assert consume(source, 10) == 10  # five lives
    source.close()
    assert reports.codes == ["microphone_closed"] and reports.restored == 0


def _has_sound_device(kind: str) -> bool:
    import sounddevice

    try:
        sounddevice.query_devices(kind=kind)
        return True
    except Exception:
        return False


def test_with_no_sound_card_the_microphone_is_reported_missing_and_retried():
    if _has_sound_device("input"):
        pytest.skip("this machine has a microphone")
    reports = Reports()
    source = LiveSource("default", "", 0.05, report=reports)
    reports.wait(lambda r: r.reports)
    closing_after(source, 0.5)
    frames = [f for f in source if f is not None]  # no exception: it waits for a microphone until closed
    assert frames == []
    assert len(reports.reports) == 1
    code, message, _ = reports.reports[0]
    assert code == "microphone_unavailable" and "retrying every 0.05 s" in message


# --- DeviceSink ----------------------------------------------------------------------------------

def test_device_sink_pipes_every_answer_to_one_output_command(tmp_path):
    out, rates = tmp_path / "played.raw", tmp_path / "rates"
    reports = []
    sink = DeviceSink("default", sh(f"echo {{rate}} >> {rates}; cat >> {out}"), lambda *r: reports.append(r))
    first, second = sine(300, 0.3, 22050), sine(500, 0.2, 22050)
    sink.play(first, 22050)
    sink.play(second, 22050)
    sink.close()
    assert reports == []
    assert out.read_bytes() == np.concatenate([first, second]).astype("<i2").tobytes()
    assert rates.read_text().split() == ["22050"]  # one player for chunks that follow one another


def test_device_sink_reports_a_failing_output_command():
    reports = []
    sink = DeviceSink("default", "false", lambda *r: reports.append(r))
    sink.play(sine(300, 0.1, 22050), 22050)
    sink.close()
    assert [code for code, _ in reports] == ["speaker_unavailable"]


@pytest.mark.parametrize("seconds, sentences", [(0.5, 1), (4.0, 1), (4.0, 3)])  # all of it fits in the
def test_device_sink_closing_on_a_player_that_takes_no_more_kills_it_and_says_so(tmp_path, seconds, sentences):
    """A stuck player (here one that never reads) does not hold the speaker's stop for its whole life,
    and the sentences it never took are dropped, not handed to a new player that is as stuck."""
    pids = tmp_path / "pids"  # pipe to the player, or not; one sentence or several
    reports = []
    sink = DeviceSink("default", sh(f"echo $$ >> {pids}; exec sleep 600"), lambda *r: reports.append(r))
    for _ in range(sentences):
        sink.play(sine(300, seconds, 22050), 22050)
    time.sleep(seconds + 0.5)  # the first has been handed over, as far as the clock says
    started = time.monotonic()
    sink.close()
    assert time.monotonic() - started < 60  # not the player's 600 s (a freeze-level bound)
    assert [code for code, _ in reports] == ["speaker_unavailable"]
    started_players = pids.read_text().split()
    assert len(started_players) == 1
    assert not alive(int(started_players[0]))


def test_device_sink_with_no_sound_card_reports_and_keeps_going():
    if _has_sound_device("output"):
        pytest.skip("this machine has a sound output")
    reports = []
    sink = DeviceSink("default", "", lambda *r: reports.append(r))
    sink.play(sine(300, 0.1, 22050), 22050)
    sink.play(sine(300, 0.1, 22050), 22050)
    sink.close()
    assert [code for code, _ in reports] == ["speaker_unavailable"] * 2


def test_stopping_the_device_sink_while_its_player_ends_never_fails():
    # stop() comes from the pipeline's thread while the player thread clears the player it kills.
    reports = []
    sink = DeviceSink("default", "cat", lambda *r: reports.append(r))
    chunk = sine(300, 0.01, 22050)
    deadline = time.monotonic() + 3
    stops = 0
    while time.monotonic() < deadline:
        sink.play(chunk, 22050)
        sink.stop()
        stops += 1
    sink.close()
    assert stops > 100 and reports == []

"""Wake word: real openWakeWord models on real espeak-ng speech."""

from __future__ import annotations

import functools
import json
import threading

import numpy as np
import pytest

from conftest import plain_openwakeword, recording, room, run_speaker, speech, write_wav
from speaker.audio import FRAME_SECONDS, SAMPLE_RATE, frames_of
from speaker.config import ModelMissing, WakeSettings
from speaker.wake import ECHO_GUARD_FRAMES, WakeDetector, model_path
from speaker.wake_engines import OPENWAKEWORD_MODELS

VOICES = ["en-us", "en-gb", "en-us+f3", "en-us+m3", "en-us+f2", "en-us+m1", "en-gb-x-rp", "en-gb-scotland"]


def detector(**settings) -> WakeDetector:
    np.random.seed(0)  # openWakeWord fills its buffers with random noise
    return WakeDetector(WakeSettings(**settings))


def detect(wake: WakeDetector, samples: np.ndarray, resume_at: int | None = None) -> list[tuple[int, str, float]]:
    """(frame index, wake word, score) of every detection."""
    found = []
    for i, frame in enumerate(frames_of(samples)):
        if i == resume_at:
            wake.resume()
        detection = wake.process(frame)
        if detection is not None:
            found.append((i, detection.wake_word, detection.score))
    return found


def end_time(frame_index: int) -> float:
    """When the frame that completed a detection ends (what `speaker detect` prints as t)."""
    return (frame_index + 1) * FRAME_SECONDS


def voiced_end(samples: np.ndarray) -> float:
    """Seconds until the last audible sample of a synthesised phrase (espeak-ng pads with silence)."""
    return np.nonzero(np.abs(samples) > 300)[0][-1] / SAMPLE_RATE


def seconds(samples: np.ndarray) -> float:
    return len(samples) / SAMPLE_RATE


@pytest.mark.parametrize("voice", VOICES)
def test_hey_jarvis_wakes_once_just_after_it_is_said(voice):
    phrase = speech("hey jarvis", voice)
    found = detect(detector(), recording(2.0, phrase, 3.0))
    assert [name for _, name, _ in found] == ["hey_jarvis"], found
    index, _, score = found[0]
    said_until = 2.0 + voiced_end(phrase)
    assert said_until - 0.1 <= end_time(index) <= said_until + 1.0
    assert 0.5 <= score <= 1.0


def test_a_detector_hears_on_while_another_thread_makes_twins_of_it():
    """Loading makes the barge-in's twin (which runs the shared models on silence) while the microphone
    is already heard for the wake word."""
    wake, said = detector(silence_gate=False), recording(1.0, speech("hey jarvis", "en-us"), 1.0)
    heard, errors = threading.Event(), []

    def make_twins():
        try:
            while not heard.is_set():
                wake.twin(WakeSettings())
        except Exception as e:
            errors.append(e)

    twins = threading.Thread(target=make_twins)
    twins.start()
    try:
        found = [[name for _, name, _ in detect(wake, said)] for _ in range(3)]
    finally:
        heard.set()
        twins.join()
    assert errors == [] and found == [["hey_jarvis"]] * 3


def test_other_speech_silence_and_noise_never_wake():
    rng = np.random.default_rng(1)
    english = ["What time is it now?", "The weather today is sunny and warm.", "I was just saying hello to a friend.",
               "Please turn off the lights in the kitchen.", "Could you tell me a story about a dragon?",
               "Hey, how are you doing today?", "Jars of jam are on the shelf.", "Harvey bought a new car yesterday.",
               "Let's have dinner at seven."]
    korean = ["지금 몇 시야", "오늘 날씨 어때", "이름이 뭐야", "안녕하세요 반가워요", "오늘 저녁에 친구를 만나기로 했어요"]
    parts: list = [1.0]
    for text in english:
        for voice in ("en-us", "en-gb", "en-us+f3"):
            parts += [speech(text, voice), 0.7]
    parts += [speech("Hey Travis, pass me the salt.", "en-us"), 0.7]  # "hey" and a word like "jarvis"
    for text in korean:
        for voice in ("ko+f3", "ko"):
            parts += [speech(text, voice, 165), 0.7]
    parts += [np.zeros(10 * SAMPLE_RATE, np.int16), 5.0,  # digital silence, a quiet room
              (rng.standard_normal(5 * SAMPLE_RATE) * 1000).astype(np.int16), 1.0,  # white noise, soft and loud
              (rng.standard_normal(5 * SAMPLE_RATE) * 5000).astype(np.int16), 1.0]
    assert detect(detector(), recording(*parts)) == []


def test_several_wake_words_at_once_say_which_was_heard():
    wake = detector(models=["hey_jarvis", "alexa"])
    assert wake.names == ["hey_jarvis", "alexa"]
    samples = recording(1.0, speech("hey jarvis", "en-us"), 3.0, speech("alexa", "en-gb"), 3.0,
                        speech("hey jarvis", "en-gb"), 3.0, speech("alexa", "en-gb-x-rp"), 3.0)
    assert [name for _, name, _ in detect(wake, samples)] == ["hey_jarvis", "alexa", "hey_jarvis", "alexa"]


def test_ok_nabu_is_an_alias_of_okay_nabu():
    assert model_path("ok_nabu") == model_path("okay_nabu")
    wake = detector(models=["ok_nabu"])
    assert wake.names == ["okay_nabu"]
    samples = recording(1.0, speech("okay nabu", "en-us"), 3.0, speech("hey jarvis", "en-us"), 3.0)
    assert [name for _, name, _ in detect(wake, samples)] == ["okay_nabu"]


@functools.cache
def conversation(pause) -> np.ndarray:
    """A mostly silent minute: two wakes and a request, with long pauses of `pause(seconds, seed)`."""
    hey = speech("hey jarvis", "en-us")
    return np.concatenate([pause(20, 0), hey, pause(20, 2), speech("what time is it now", "en-us"),
                           pause(15, 4), hey, pause(20, 6)])


def silent(seconds: float, seed: int) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), np.int16)


@pytest.mark.parametrize("pause", [silent, room], ids=["digital-silence", "quiet-room"])
def test_silence_gate_gives_the_same_detections(pause):
    samples = conversation(pause)
    gated = detect(detector(), samples)
    assert len(gated) == 2
    assert gated == detect(detector(silence_gate=False), samples)


def test_silence_gate_runs_the_models_on_far_fewer_frames_in_silence():
    samples = conversation(silent)
    frames = len(list(frames_of(samples)))
    ungated, gated = detector(silence_gate=False), detector()
    detect(ungated, samples), detect(gated, samples)
    assert ungated.model_frames == frames
    assert gated.model_frames < 0.3 * frames


def test_silence_gate_saves_most_of_the_work_in_a_quiet_room():
    samples = conversation(room)
    frames = len(list(frames_of(samples)))
    gated = detector()
    detect(gated, samples)
    assert gated.model_frames < 0.5 * frames


def test_trigger_frames_needs_that_many_frames_in_a_row():
    voices = ["en-us", "en-gb", "en-us+f3", "en-us+m3"]
    parts: list = [1.0]
    for voice in voices:
        parts += [speech("hey jarvis", voice), 4.0]
    samples = recording(*parts)
    first = detect(detector(trigger_frames=1), samples)
    assert len(first) == len(voices)
    counts = [len(first)]
    for n in (2, 3, 4, 6, 8):
        found = detect(detector(trigger_frames=n), samples)
        counts.append(len(found))
        # a wake comes exactly n-1 frames after the first frame above the threshold, or not at all
        starts = {index for index, _, _ in first}
        assert all(index - (n - 1) in starts for index, _, _ in found), (n, found, first)
    assert counts == sorted(counts, reverse=True), counts  # a higher value never detects more
    assert counts[-1] < counts[0]
    assert detect(detector(trigger_frames=20), samples) == []


@pytest.mark.parametrize("refractory, gap, wakes", [
    (2.0, 0.3, 1),  # said again 1.6 s after the first wake: ignored
    (2.0, 2.5, 2),  # said again 3.8 s after: heard
    (5.0, 2.5, 1),
    (5.0, 4.0, 2),  # 5.3 s after
])
def test_refractory_time_ignores_a_repeat_said_soon_after(refractory, gap, wakes):
    samples = recording(1.0, speech("hey jarvis", "en-us"), gap, speech("hey jarvis", "en-gb"), 3.0)
    found = detect(detector(refractory_seconds=refractory), samples)
    assert len(found) == wakes, found
    if wakes == 2:
        assert (found[1][0] - found[0][0]) * FRAME_SECONDS >= refractory


@pytest.mark.parametrize("gate", [True, False])
def test_after_resume_only_the_short_echo_guard_ignores_the_wake_word(gate):
    samples = recording(2.0, speech("hey jarvis", "en-us"), 3.0)
    [(index, _, _)] = detect(detector(silence_gate=gate), samples)
    # resumed as "hey jarvis" begins (frame 25 = 2.0 s): heard as usual
    assert [i for i, _, _ in detect(detector(silence_gate=gate), samples, resume_at=25)] == [index]
    # resumed just as it completes: ignored for the echo guard (0.5 s) only, then heard
    found = detect(detector(silence_gate=gate), samples, resume_at=index)
    assert [i for i, _, _ in found] == [index + ECHO_GUARD_FRAMES]


def test_unknown_wake_word_names_the_setting_and_the_choices():
    with pytest.raises(ModelMissing) as error:
        detector(models=["hey_siri"])
    message = str(error.value)
    assert "wake.models" in message and "hey_siri" in message
    assert all(name in message for name in OPENWAKEWORD_MODELS)


def test_missing_model_file_names_the_path(tmp_path):
    path = tmp_path / "my_wake_word.tflite"
    with pytest.raises(ModelMissing) as error:
        detector(models=[str(path)])
    assert str(path) in str(error.value) and "wake.models" in str(error.value)


def test_speaker_detect_finds_what_plain_openwakeword_finds_and_no_more_false_wakes(tmp_path):
    """Compare with openWakeWord used the plain way: predict() on every frame, count threshold crossings."""
    voices = ["en-us", "en-gb", "en-us+f3", "en-us+m3", "en-gb-x-rp", "en-us+f2"]
    others = [speech("what time is it now", "en-us"), speech("지금 몇 시야", "ko+f3", 165),
              speech("I was just saying hello to a friend.", "en-gb"),
              speech("Please turn off the lights in the kitchen.", "en-us+f3"), speech("오늘 날씨 어때", "ko"),
              speech("Harvey bought a new car yesterday.", "en-us")]
    parts: list = [2.0]
    for voice, other in zip(voices, others):
        parts += [speech("hey jarvis", voice), 1.0, other, 4.0]
    samples = recording(*parts)
    windows, start = [], 0.0  # when each "hey jarvis" is said, and the second after it
    for i, part in enumerate(parts):
        length = part if isinstance(part, float) else seconds(part)
        if i % 4 == 1:
            windows.append((start, start + length + 1.0))
        start += length

    def score(times: list[float]) -> tuple[int, int]:
        true = sum(any(a <= t <= b for t in times) for a, b in windows)
        false = sum(not any(a <= t <= b for a, b in windows) for t in times)
        return true, false

    np.random.seed(0)
    plain = plain_openwakeword()
    scores = [plain.predict(frame)["hey_jarvis"] for frame in frames_of(samples)]
    crossings = [end_time(i) for i, s in enumerate(scores) if s > 0.5 and (i == 0 or scores[i - 1] <= 0.5)]

    config = tmp_path / "speaker.toml"
    config.write_text("")
    result = run_speaker("detect", write_wav(tmp_path / "talk.wav", samples), "--config", config)
    assert result.returncode == 0, result.stderr.decode()
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert all(line.keys() == {"wake_word", "score", "t"} and line["wake_word"] == "hey_jarvis" for line in lines)

    plain_true, plain_false = score(crossings)
    ours_true, ours_false = score([line["t"] for line in lines])
    assert ours_true >= plain_true and ours_false <= plain_false
    assert ours_true == len(windows) and ours_false == 0

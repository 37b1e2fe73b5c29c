"""The voice: real espeak-ng through pyttsx3, sentence by sentence.

espeak-ng is one engine per process: in process this module uses one English and one Korean Voice
with the same settings (as the pipeline does); other settings are heard through the real
`speaker say` command, one process each.
"""

from __future__ import annotations

import subprocess
import wave

import numpy as np
import pytest

from conftest import run_speaker
from speaker.config import ModelMissing, VoiceSettings
from speaker.voice import VOICE_RATE, Voice, split_sentences

SHORT = "Hello there."
LONG = "Hello there. I can't see the sky from here, and I keep everything offline to keep your home private."


@pytest.fixture(scope="module")
def voice():
    v = Voice(VoiceSettings(), "en")
    yield v
    v.close()


@pytest.fixture(scope="module")
def korean(voice):
    v = Voice(VoiceSettings(), "ko")
    yield v
    v.close()


def espeak(text: str, voice_name: str) -> np.ndarray:
    """espeak-ng's own 22050 Hz output for `text` with the default settings."""
    s = VoiceSettings()
    wav = subprocess.run(["espeak-ng", "-v", voice_name, "-s", str(s.rate), "-p", str(s.pitch), "--stdout", text],
                         check=True, capture_output=True).stdout
    return np.frombuffer(wav[44:], "<i2")


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


def seconds(samples: np.ndarray) -> float:
    return len(samples) / VOICE_RATE


def say(tmp_path, text: str, *args, config: str = "") -> tuple[int, np.ndarray]:
    """Run `speaker say` into a WAV; return its sample rate and samples."""
    conf = tmp_path / f"voice{abs(hash((text, config, args)))}.toml"
    conf.write_text(config, encoding="utf-8")
    out = conf.with_suffix(".wav")
    result = run_speaker("say", text, "--config", conf, "--output", out, *args)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b""
    with wave.open(str(out), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        return w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), "<i2")


# --- in process ----------------------------------------------------------------------------------

def test_english_is_spoken_as_audible_int16(voice):
    samples = voice.synthesize(SHORT)
    assert samples.dtype == np.int16
    assert 0.4 < seconds(samples) < 3
    assert rms(samples) > 500 and np.abs(samples).max() > 5000


def test_the_audio_is_at_voice_rate(voice):
    """Played at VOICE_RATE it lasts as long as espeak-ng's own 22050 Hz output of the same words."""
    sentence = LONG.split(". ")[1]
    assert len(voice.synthesize(sentence)) == pytest.approx(len(espeak(sentence, "en-us+f3")), rel=0.05)


KOREAN = ["안녕하세요.", "오늘은 11월 27일 금요일이에요.", "여기서는 하늘이 안 보여요. 창밖을 한번 봐 주세요."]


def test_korean_is_spoken_as_audible_int16_in_the_korean_voice(korean):
    durations = []
    for text in KOREAN:
        samples = np.concatenate(list(korean.speak(text)))
        assert samples.dtype == np.int16 and rms(samples) > 500
        durations.append(seconds(samples))
    assert durations == sorted(durations) and durations[-1] > 2.5 * durations[0]
    sentence = KOREAN[1]
    assert len(korean.synthesize(sentence)) == pytest.approx(len(espeak(sentence, "ko+f3")), rel=0.05)


def test_english_and_korean_voices_take_turns_in_one_process(voice, korean):
    """An English speaker asked to say something in Korean, and back: each keeps its own voice."""
    en_reference = len(espeak(SHORT, "en-us+f3"))
    ko_reference = len(espeak(KOREAN[0], "ko+f3"))
    for _ in range(5):
        assert len(korean.synthesize(KOREAN[0])) == pytest.approx(ko_reference, rel=0.05)
        assert len(voice.synthesize(SHORT)) == pytest.approx(en_reference, rel=0.05)


def test_longer_text_takes_longer(voice):
    durations = [seconds(voice.synthesize(t)) for t in ("Hi.", "Hello there, my friend.",
                                                         "Hello there, my friend. How has your day been so far?")]
    assert durations == sorted(durations) and durations[-1] > 2 * durations[0]


def test_speak_yields_one_chunk_per_sentence(voice):
    text = "It's three o'clock. Hello!  How are you?\nFine"
    chunks = list(voice.speak(text))
    assert len(chunks) == 4
    for chunk, sentence in zip(chunks, ["It's three o'clock.", "Hello!", "How are you?", "Fine"]):
        assert rms(chunk) > 300
        assert len(chunk) == pytest.approx(len(voice.synthesize(sentence)), rel=0.1)


def test_speak_says_nothing_for_empty_text(voice):
    assert list(voice.speak("  \n ")) == []


@pytest.mark.parametrize("text, sentences", [
    ("Hello. How are you? Fine! Good", ["Hello.", "How are you?", "Fine!", "Good"]),
    ("It is 3.5 degrees.", ["It is 3.5 degrees."]),
    ("No punctuation at all", ["No punctuation at all"]),
    ("  Spaces.   Everywhere.  ", ["Spaces.", "Everywhere."]),
    ("안녕하세요. 반가워요! 오늘 어때요?", ["안녕하세요.", "반가워요!", "오늘 어때요?"]),
    ("", []),
])
def test_split_sentences(text, sentences):
    assert split_sentences(text) == sentences


def test_synthesising_prints_nothing(voice, capfd):
    voice.synthesize("Nothing on standard output, please.")
    list(voice.speak("One. Two."))
    out, _err = capfd.readouterr()
    assert out == ""


@pytest.mark.parametrize("settings, language, key, name", [
    (VoiceSettings(en_voice="xx-nobody"), "en", "voice.en_voice", "xx-nobody"),
    (VoiceSettings(en_voice="en-us+nobody"), "en", "voice.en_voice", "nobody"),
    (VoiceSettings(ko_voice="zz"), "ko", "voice.ko_voice", "zz"),
    (VoiceSettings(ko_voice="ko+q9"), "ko", "voice.ko_voice", "q9"),
])
def test_an_unknown_voice_or_variant_names_the_setting(settings, language, key, name):
    with pytest.raises(ModelMissing) as e:
        Voice(settings, language)
    assert str(e.value).startswith(f"{key}: ") and repr(name) in str(e.value)


# --- one process each (`speaker say`) ------------------------------------------------------------

def test_korean_is_spoken_and_longer_text_takes_longer(tmp_path):
    rate, short = say(tmp_path, "안녕하세요.", "--language", "ko")
    _, long = say(tmp_path, "안녕하세요. 오늘은 11월 27일 금요일이에요. 창밖을 한번 봐 주세요.", "--language", "ko")
    assert rate == VOICE_RATE
    assert rms(short) > 500 and rms(long) > 500
    assert 0.5 < seconds(short) and seconds(long) > 2.5 * seconds(short)


def test_english_through_say_matches_the_in_process_voice(tmp_path, voice):
    rate, samples = say(tmp_path, LONG)
    assert rate == VOICE_RATE
    expected = sum(len(c) for c in voice.speak(LONG))
    assert len(samples) == pytest.approx(expected, rel=0.05)


def test_a_faster_rate_makes_shorter_speech(tmp_path):
    _, slow = say(tmp_path, LONG, config="[voice]\nrate = 100\n")
    _, fast = say(tmp_path, LONG, config="[voice]\nrate = 300\n")
    assert seconds(fast) < 0.6 * seconds(slow)


def test_volume_setting_makes_it_quieter(tmp_path):
    _, quiet = say(tmp_path, SHORT, config="[voice]\nvolume = 0.2\n")
    _, loud = say(tmp_path, SHORT, config="[voice]\nvolume = 1.0\n")
    assert rms(quiet) < 0.4 * rms(loud)


def test_say_with_an_unknown_voice_fails_naming_the_setting(tmp_path):
    conf = tmp_path / "bad.toml"
    conf.write_text('[voice]\nko_voice = "xx-nobody"\n')
    result = run_speaker("say", "안녕", "--language", "ko", "--config", conf, "--output", tmp_path / "o.wav")
    assert result.returncode == 2
    assert "voice.ko_voice" in result.stderr.decode() and "Traceback" not in result.stderr.decode()
    assert not (tmp_path / "o.wav").exists()

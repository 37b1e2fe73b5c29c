"""The pipeline driven in-process, frame by frame, with the real stages: commands, mute, volume,
announcements, and speech that never holds up the pipeline's thread."""

import concurrent.futures
import dataclasses
import threading
import time

import numpy as np
import pytest

from conftest import RecordingSink, recording, speech
from speaker.audio import AudioClock, frames_of
from speaker.config import AnnounceSettings, ListenSettings, Settings
from speaker.events import Error, EventBus
from speaker.assembly import turn_settings
from speaker.dialogue.registry import ASKED_FIRST
from speaker.pipeline import Pipeline
from speaker.speech import cut
from speaker.voice import Voice, split_sentences


def driven(stages, clock=None, settings=Settings(language="ko")):
    """A pipeline on `stages`; yields (pipeline, events, feed) where feed(samples) plays audio in.
    Its sink is a RecordingSink (`pipeline.playback.sink`) that notes the pipeline's time of each call."""
    bus = EventBus("test")
    events = []
    bus.subscribe(events.append)
    sink = RecordingSink()
    pipeline = Pipeline(stages=stages, bus=bus, sink=sink, settings=turn_settings(settings, stages), clock=clock)
    sink.clock = lambda: pipeline.now
    pipeline.start()

    def feed(samples):
        for frame in frames_of(samples):
            pipeline.process(frame)

    yield pipeline, events, feed


@pytest.fixture
def run(korean_stages):
    yield from driven(korean_stages)


def responses(events):
    return [e["text"] for e in events if e["type"] == "response"]


def seconds_played(sink):
    return sum(len(samples) / call[2] for call, samples in zip(
        [c for c in sink.calls if c[0] == "play"], sink.played()))


def kinds(events):
    return [e["state"] if e["type"] == "state" else e["type"] for e in events
            if not (e["type"] == "transcript" and not e["final"])]


def test_a_wake_word_said_while_muted_wakes_nothing(run, hey_jarvis):
    pipeline, events, feed = run
    pipeline.submit("mute")
    feed(recording(1.0, hey_jarvis, 0.7, speech("지금 몇 시야", "ko+f3"), 3.0))
    assert "wake" not in kinds(events) and "transcript" not in kinds(events)
    assert pipeline.state.value == "muted" and events[-1]["state"] == "muted"
    pipeline.submit("unmute")
    feed(recording(1.0, hey_jarvis, 0.7, speech("지금 몇 시야", "ko+f3"), 4.0))
    assert [e["name"] for e in events if e["type"] == "intent"] == ["HassGetCurrentTime"]


def test_muting_mid_sentence_drops_the_turn_and_the_audio(run, hey_jarvis):
    pipeline, events, feed = run
    feed(recording(1.0, hey_jarvis, 0.5))
    assert pipeline.state.value == "listening"
    pipeline.submit("mute")
    feed(recording(0.2, speech("지금 몇 시야", "ko+f3"), 2.0))
    assert "thinking" not in kinds(events) and pipeline.state.value == "muted"


def test_say_speaks_an_announcement_in_either_language(run):
    pipeline, events, feed = run
    pipeline.submit("say", {"text": "Dinner is ready.", "language": "en"})
    feed(recording(0.2))
    assert kinds(events)[-2:] == ["response", "speaking"]
    assert events[-2]["text"] == "Dinner is ready."
    feed(recording(3.0))
    assert events[-1]["state"] == "idle"
    assert seconds_played(pipeline.playback.sink) > 0.5


def test_say_honours_its_language_and_volume(run):
    # "12:30" is read in English by the English voice, and (longer) in Korean by the Korean one.
    pipeline, events, feed = run
    settings = pipeline.stages.voice.settings
    english, korean = (len(Voice(settings, language).synthesize("12:30")) for language in ("en", "ko"))
    assert abs(english - korean) > 0.2 * english
    pipeline.submit("say", {"text": "12:30", "language": "en"})
    pipeline.submit("say", {"text": "12:30"})  # the speaker's own language
    pipeline.submit("say", {"text": "12:30", "language": "en", "volume": 30})
    feed(recording(12.0))
    en, ko, quiet = pipeline.playback.sink.played()
    assert abs(len(en) - english) < 0.05 * english and abs(len(ko) - korean) < 0.05 * korean
    assert 0.25 < np.abs(quiet).max() / np.abs(en).max() < 0.35
    assert pipeline.playback.volume == 100  # a say's volume is its own


def test_listen_starts_a_turn_without_the_wake_word(run):
    pipeline, events, feed = run
    pipeline.submit("listen")
    feed(recording(0.5, speech("이름이 뭐야", "ko+f3"), 6.0))
    assert kinds(events)[2:] == ["listening", "thinking", "transcript", "intent", "response", "speaking", "idle"]
    assert [e["name"] for e in events if e["type"] == "intent"] == ["SpeakerName"]


def test_stop_cuts_the_answer_short(run):
    pipeline, events, feed = run
    pipeline.submit("say", {"text": "이것은 아주 긴 안내 방송입니다. " * 5})
    feed(recording(0.5))
    assert pipeline.state.value == "speaking"
    pipeline.submit("stop")
    feed(recording(0.1))
    assert pipeline.state.value == "idle"
    told = pipeline.playback.sink.told()
    assert told[-1] == "stop" and 1 <= told.count("play") < 5  # the sink was cut, the rest never sent
    feed(recording(15.0))
    assert pipeline.playback.sink.told() == told


def test_volume_scales_the_answer_and_is_announced(run):
    pipeline, events, feed = run
    pipeline.submit("say", {"text": "안녕하세요."})
    feed(recording(3.0))
    pipeline.submit("volume", {"level": 25})
    pipeline.submit("say", {"text": "안녕하세요."})
    feed(recording(3.0))
    pipeline.submit("volume", {"step": -30})
    feed(recording(0.1))
    assert [e["level"] for e in events if e["type"] == "volume"] == [100, 25, 0]
    loud, quiet = (np.abs(samples).max() for samples in pipeline.playback.sink.played())
    assert 0.2 < quiet / loud < 0.3


@pytest.mark.parametrize("name, payload, problem", [
    ("sing", {}, "unknown command"),
    ("say", {}, "non-empty text"),
    ("say", {"text": 42}, "non-empty text"),
    ("say", {"text": "hi", "language": "fr"}, "language"),
    ("say", {"text": "hi", "interrupt": "yes"}, "interrupt"),
    ("volume", {"level": 150}, "between 0 and 100"),
    ("volume", {"level": "loud"}, "number"),
    ("volume", {}, "exactly one"),
    ("volume", {"level": 3, "step": 1}, "exactly one"),
    ("mute", {"now": True}, "does not take now"),
    ("listen", [1, 2], "JSON object"),
])
def test_bad_commands_are_answered_with_an_error_and_change_nothing(run, name, payload, problem):
    pipeline, events, feed = run
    assert pipeline.submit(name, payload) is False
    feed(recording(0.2))
    error = events[-1]
    assert error["type"] == "error" and error["code"] == "bad_command" and problem in error["message"]
    assert pipeline.state.value == "idle" and pipeline.playback.volume == 100


def test_commands_run_without_audio_through_tick(run):
    pipeline, events, feed = run
    pipeline.submit("volume", {"level": 40})
    pipeline.tick()
    assert pipeline.playback.volume == 40 and events[-1] == {**events[-1], "type": "volume", "level": 40}


# --- the dialogue in the pipeline: follow-up questions, timers, commands by voice ------------------

ASKS_BACK = '''language = "ko"
[lines]
SpeakerHowAreYou = ["잘 지내요. 당신은요?"]
feeling_happy = ["다행이에요."]
nudge = ["좋네요."]
nudge_person = ["좋네요."]
'''


def own_dialogue(korean_transcriber, tmp_path, listen=ListenSettings()):
    """A pipeline whose dialogue is its own (memory in tmp_path); yields (pipeline, events, feed)."""
    from speaker.config import Settings
    from speaker.dialogue import Dialogue
    from speaker.dialogue.persona import load
    from speaker.echo import EchoCanceller
    from speaker.endpoint import Endpointer
    from speaker.pipeline import Stages
    from speaker.voice import Voice
    from speaker.wake import WakeDetector

    persona_file = tmp_path / "asks-back.toml"
    persona_file.write_text(ASKS_BACK, encoding="utf-8")
    settings = Settings(language="ko")
    clock = AudioClock()  # timers go off at their time in the audio
    dialogue = Dialogue("ko", clock=clock.wall, seed=0, persona=load(persona_file), state_dir=tmp_path / "state")
    # the transcriber judges what it hears by this dialogue (the fixture puts its own back afterwards)
    korean_transcriber.understands, korean_transcriber.intent = dialogue.knows_word_for_word, dialogue.intent
    voice = Voice(settings.voice, "ko")
    stages = Stages(wake=WakeDetector(settings.wake), endpointer=Endpointer(listen), transcriber=korean_transcriber,
                    dialogue=dialogue, voice=voice, echo=EchoCanceller(settings.echo))
    yield from driven(stages, clock=clock, settings=dataclasses.replace(settings, listen=listen))
    voice.close()


@pytest.fixture
def companion(korean_transcriber, tmp_path):
    yield from own_dialogue(korean_transcriber, tmp_path)


def test_a_question_in_the_answer_is_answered_without_the_wake_word(companion, hey_jarvis):
    pipeline, events, feed = companion
    feed(recording(1.0, hey_jarvis, 0.7, speech("어떻게 지내", "ko+f3"), 4.0, speech("기분좋아", "ko+f3"), 6.0))
    assert [e["name"] for e in events if e["type"] == "intent"] == ["SpeakerHowAreYou", "SpeakerFeeling"]
    assert len([e for e in events if e["type"] == "wake"]) == 1
    follow = next(e for e in events if e.get("follow_up"))
    assert follow["state"] == "listening"
    first, second = [e["turn"] for e in events if e["type"] == "intent"]
    assert follow["turn"] == second != first  # a new request, heard without the wake word
    assert kinds(events)[-1] == "idle"


def test_silence_after_a_question_goes_back_to_idle_without_a_word(companion, hey_jarvis):
    pipeline, events, feed = companion
    at = {}
    pipeline.bus.subscribe(lambda e: at.setdefault(e.get("state"), []).append(pipeline.now))
    feed(recording(1.0, hey_jarvis, 0.7, speech("어떻게 지내", "ko+f3"), 10.0))
    assert kinds(events)[-3:] == ["speaking", "listening", "idle"]
    assert len([e for e in events if e["type"] == "response"]) == 1  # no "I'm here whenever you need me"
    assert 4.9 <= at["idle"][-1] - at["listening"][-1] <= 5.3  # listen.follow_up_seconds


def answer_when_asked(pipeline, events, feed, answer: str) -> None:
    """The speaker asked something: once it listens for the answer (no wake word), say `answer`."""
    for _ in range(20):
        if pipeline.state.value == "listening":
            break
        feed(recording(0.5))
    assert events[-1].get("follow_up"), "the speaker did not wait for an answer"
    feed(recording(0.3, speech(answer, "ko+f3"), 0.5))


def test_a_timer_set_by_voice_goes_off_on_time_while_idle(companion, hey_jarvis):
    """vosk-ko's free recognition hears nothing of espeak-ng's Korean: a command only the grammar pass
    heard is asked about first, and a yes sets it."""
    pipeline, events, feed = companion
    fired_at = []
    pipeline.bus.subscribe(lambda e: fired_at.append(pipeline.now) if e["type"] == "timer" else None)
    feed(recording(1.0, hey_jarvis, 0.7, speech("삼분 타이머", "ko+f3"), 0.5))
    answer_when_asked(pipeline, events, feed, "좋아")  # the end of the yes is heard: the timer starts
    started_at = pipeline.now
    assert [(e["name"], e["slots"]) for e in events if e["type"] == "intent"] == \
        [(ASKED_FIRST, {"heard": "삼분 타이머"}), ("HassStartTimer", {"minutes": 3})]
    feed(recording(185.0))
    timer = next(e for e in events if e["type"] == "timer")
    assert {k: timer[k] for k in ("kind", "name", "seconds")} == {"kind": "timer", "name": None, "seconds": 180}
    assert 179.5 <= fired_at[0] - started_at <= 180.5
    told = [e for e in events if e["turn"] == timer["turn"]]
    assert [e["state"] if e["type"] == "state" else e["type"] for e in told] == ["timer", "response", "speaking"]
    assert "3분 타이머" in told[1]["text"]
    assert kinds(events)[-1] == "idle"


def test_a_timer_goes_off_while_the_microphone_is_muted(companion):
    pipeline, events, feed = companion
    pipeline.stages.dialogue.reply("10초 타이머")
    pipeline.submit("mute")
    feed(recording(16.0))
    assert [e["type"] for e in events if e["type"] in ("timer", "response")] == ["timer", "response"]
    assert pipeline.state.value == "muted" and events[-1]["state"] == "muted"


def test_mute_and_volume_said_aloud_go_through_the_command_door(companion, hey_jarvis):
    """The volume after a yes to "볼륨 내려, 할까요?" (only the grammar pass heard it); the microphone after
    a yes to its own question (only the button or the bus turns it back on), asked once."""
    pipeline, events, feed = companion
    feed(recording(1.0, hey_jarvis, 0.7, speech("볼륨 내려", "ko+f3"), 0.5))
    assert pipeline.playback.volume == 100
    answer_when_asked(pipeline, events, feed, "좋아")
    feed(recording(10.0))  # the answer may ask back
    assert pipeline.playback.volume == 80 and [e["level"] for e in events if e["type"] == "volume"] == [100, 80]
    feed(recording(1.0, hey_jarvis, 0.7, speech("음소거", "ko+f3"), 0.5))
    assert not pipeline.muted
    answer_when_asked(pipeline, events, feed, "좋아")  # it asks first ("끌까요?")
    feed(recording(6.0))
    mute_turn = [e for e in events if e["type"] == "intent"][-1]["turn"]
    assert [e["name"] for e in events if e["type"] == "intent"] == \
        [ASKED_FIRST, "HassSetVolumeRelative", "SpeakerMute", "SpeakerYes"]
    said = [e for e in events if e["type"] == "response" and e["turn"] == mute_turn]
    assert said and pipeline.muted and events[-1]["state"] == "muted"
    feed(recording(1.0, hey_jarvis, 0.7, speech("지금 몇 시야", "ko+f3"), 3.0))
    assert len([e for e in events if e["type"] == "wake"]) == 2  # muted: the third wake word is not heard


def test_partial_transcripts_are_told_while_the_user_talks(run):
    pipeline, events, feed = run
    pipeline.submit("listen")
    feed(recording(0.5, speech("이름이 뭐야", "ko+f3"), 2.0))
    turn = [e for e in events if e["type"] == "intent"][0]["turn"]
    told = [e for e in events if e["turn"] == turn]
    partial = [i for i, e in enumerate(told) if e["type"] == "transcript" and not e["final"]]
    thinking = next(i for i, e in enumerate(told) if e.get("state") == "thinking")
    assert partial and all(told[i]["text"].strip() for i in partial)
    assert max(partial) < thinking  # while the user talks, before the speaker thinks


def test_no_follow_up_listening_when_follow_up_seconds_is_0(korean_transcriber, tmp_path, hey_jarvis):
    pipeline, events, feed = next(own_dialogue(korean_transcriber, tmp_path, ListenSettings(follow_up_seconds=0)))
    feed(recording(1.0, hey_jarvis, 0.7, speech("어떻게 지내", "ko+f3"), 4.0, speech("기분좋아", "ko+f3"), 6.0))
    assert responses(events)[0].endswith("?")  # the answer asked back...
    assert [e["name"] for e in events if e["type"] == "intent"] == ["SpeakerHowAreYou"]  # ...and was not listened to
    assert not [e for e in events if e.get("follow_up")] and kinds(events)[-1] == "idle"


# --- speech never holds up the pipeline -----------------------------------------------------------

class WatchedVoice:
    """The real voice, noting each sentence it is asked for and has made; `hold()` makes every
    sentence wait until `allow(n)` lets n more be made."""

    def __init__(self, voice):
        self.voice, self.rate, self.settings = voice, voice.rate, voice.settings
        self.asked: list[str] = []
        self.made: list[str] = []
        self._allowed = None

    def hold(self):
        self._allowed = threading.Semaphore(0)

    def allow(self, n=1000):
        for _ in range(n):
            self._allowed.release()

    def synthesize(self, sentence):
        self.asked.append(sentence)
        if self._allowed is not None:
            self._allowed.acquire()
        samples = self.voice.synthesize(sentence)
        self.made.append(sentence)
        return samples


def until(condition, step, timeout=20.0):
    """Call step() until condition() holds (False after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        step()
        time.sleep(0.01)
    return True


def promptly(step, timeout=10.0):
    """Run step() and fail (rather than hang) if it waits more than `timeout` seconds."""
    worker = threading.Thread(target=step, daemon=True)
    worker.start()
    worker.join(timeout)
    assert not worker.is_alive(), "the pipeline's thread waited"


QUIET = recording(0.08)[:1280]
THREE = "첫 번째 문장입니다. 두 번째 문장입니다. 세 번째 문장입니다."


def test_the_first_sentence_plays_while_the_next_is_made_and_a_live_microphone_never_waits(korean_stages):
    voice = WatchedVoice(korean_stages.voice)
    voice.hold()
    pipeline, events, feed = next(driven(dataclasses.replace(korean_stages, voice=voice), clock=time.monotonic))
    try:
        pipeline.submit("say", {"text": THREE})
        voice.allow(1)
        assert until(lambda: pipeline.playback.sink.told() == ["play"] and len(voice.asked) == 2,
                     lambda: promptly(pipeline.tick))
        assert pipeline.state.value == "speaking" and voice.made == split_sentences(THREE)[:1]
        # the second sentence is being made (held): frames and commands go on meanwhile
        promptly(lambda: [pipeline.process(QUIET) for _ in range(10)])
        pipeline.submit("volume", {"level": 60})
        promptly(pipeline.tick)
        assert pipeline.playback.volume == 60 and pipeline.playback.sink.told() == ["play"]
    finally:
        voice.allow()
    assert until(lambda: pipeline.state.value == "idle", pipeline.tick)
    assert voice.made == split_sentences(THREE) and pipeline.playback.sink.told() == ["play"] * 3


def test_a_wake_word_and_then_silence_is_answered_once_however_slow_the_voice(korean_stages, hey_jarvis):
    """Listening ends when nothing was said: the line that says so is not started again at every
    frame while the voice is still making it (on a busy machine it was, forever)."""
    voice = WatchedVoice(korean_stages.voice)
    pipeline, events, feed = next(driven(dataclasses.replace(korean_stages, voice=voice), clock=time.monotonic))
    live_feed(pipeline, recording(0.5, hey_jarvis, 0.3))
    assert pipeline.state.value == "listening"
    voice.hold()
    try:
        assert until(lambda: voice.asked, lambda: live_feed(pipeline, QUIET), timeout=30)
        live_feed(pipeline, recording(2.0))  # the voice is still making the line
    finally:
        voice.allow()
    assert until(lambda: pipeline.state.value == "idle", pipeline.tick)
    assert len(responses(events)) == 1 and len(voice.asked) == 1 and pipeline.playback.sink.told() == ["play"]


def test_a_command_or_a_sentence_ready_on_another_thread_has_a_live_pipeline_act_at_once(korean_stages):
    """Between frames of a live microphone (80 ms) the pipeline is nudged when a command comes or the
    answer's sentence is made, and one step then acts on it."""
    pipeline, events, feed = next(driven(korean_stages, clock=time.monotonic))
    nudged = threading.Event()
    pipeline.nudge = nudged.set
    pipeline.submit("say", {"text": "안녕하세요."})
    assert nudged.is_set()
    nudged.clear()
    promptly(pipeline.tick)
    assert nudged.wait(10)  # the sentence is made
    promptly(pipeline.tick)
    assert pipeline.state.value == "speaking" and pipeline.playback.sink.told() == ["play"]


def test_long_text_is_synthesised_as_playback_needs_it(korean_stages):
    voice = WatchedVoice(korean_stages.voice)
    pipeline, events, feed = next(driven(dataclasses.replace(korean_stages, voice=voice)))
    text = " ".join(f"안내 방송 {i}번 입니다." for i in range(20))
    pipeline.submit("say", {"text": text})
    feed(recording(3.0))
    played = pipeline.playback.sink.played()
    starts = np.cumsum([0] + [len(p) / voice.rate for p in played])
    started = sum(start <= 3.0 for start in starts[:-1])
    assert len(played) <= started + 1  # the one playing, and the next queued behind it
    assert len(voice.asked) <= len(played) + 1  # and one more being made
    feed(recording(60.0))
    assert voice.made == split_sentences(text) and len(pipeline.playback.sink.played()) == 20
    assert kinds(events)[-1] == "idle"


# --- announcements wait for the user's turn --------------------------------------------------------

@pytest.mark.parametrize("when", ["while the question is heard", "0.5 s after the question"])
def test_an_announcement_waits_until_the_question_is_answered(run, hey_jarvis, when):
    pipeline, events, feed = run
    question = speech("지금 몇 시야", "ko+f3")
    feed(recording(1.0, hey_jarvis, 0.7))
    if when == "while the question is heard":
        half = len(question) // 2 // 1280 * 1280  # whole frames
        feed(question[:half])
        pipeline.submit("say", {"text": "Dinner is ready.", "language": "en"})
        feed(question[half:])
    else:
        feed(recording(question, 0.5))
        pipeline.submit("say", {"text": "Dinner is ready.", "language": "en"})
    feed(recording(10.0))
    intent = next(e for e in events if e["type"] == "intent")
    assert intent["name"] == "HassGetCurrentTime"
    answered = [i for i, e in enumerate(events) if e["turn"] == intent["turn"]]
    said = [i for i, e in enumerate(events) if e["type"] == "response" and e["text"] == "Dinner is ready."]
    assert len(said) == 1 and said[0] > max(answered)  # after the whole answer, in a turn of its own
    assert events[said[0] - 1]["state"] == "idle" and kinds(events)[-1] == "idle"


def test_a_timer_that_goes_off_during_a_turn_is_told_after_the_answer(companion, hey_jarvis):
    pipeline, events, feed = companion
    pipeline.stages.dialogue.reply("10초 타이머")
    feed(recording(9.5 - len(hey_jarvis) / 16000))
    # the timer's time comes while listening; then time enough for the answer and any of the timer's lines
    feed(recording(hey_jarvis, 0.7, speech("지금 몇 시야", "ko+f3"), 15.0))
    intent = next(e for e in events if e["type"] == "intent")
    timer = next(i for i, e in enumerate(events) if e["type"] == "timer")
    assert intent["name"] == "HassGetCurrentTime"
    assert timer > max(i for i, e in enumerate(events) if e["turn"] == intent["turn"])
    assert kinds(events[timer:]) == ["timer", "response", "speaking", "idle"]


def test_a_full_queue_drops_the_oldest_announcement_and_says_so(korean_stages):
    pipeline, events, feed = next(driven(korean_stages, settings=Settings(language="ko", announce=AnnounceSettings(queue_limit=2))))
    pipeline.submit("listen")
    feed(recording(0.2))
    for text in ("하나.", "둘.", "셋.", "넷."):
        pipeline.submit("say", {"text": text})
    feed(recording(12.0))
    dropped = [e for e in events if e["type"] == "error"]
    assert [e["code"] for e in dropped] == ["announcement_dropped"] * 2 and "oldest" in dropped[0]["message"]
    assert responses(events)[1:] == ["셋.", "넷."]  # after the gentle word for the silence, in order


def test_interrupt_cuts_an_announcement_but_never_a_users_turn(run):
    pipeline, events, feed = run
    pipeline.submit("say", {"text": "이것은 아주 긴 안내 방송입니다. " * 4})
    feed(recording(0.5))
    pipeline.submit("say", {"text": "급한 안내입니다.", "interrupt": True})
    pipeline.submit("say", {"text": "그 다음 안내입니다."})
    feed(recording(0.2))
    assert pipeline.playback.sink.told()[:3] == ["play", "play", "stop"] and responses(events)[-1] == "급한 안내입니다."
    feed(recording(8.0))
    assert responses(events)[1:] == ["급한 안내입니다.", "그 다음 안내입니다."]
    pipeline.submit("listen")
    feed(recording(0.2))
    pipeline.submit("say", {"text": "또 다른 안내입니다.", "interrupt": True})
    feed(recording(0.5))
    assert pipeline.state.value == "listening"
    feed(recording(8.0))
    assert responses(events)[-1] == "또 다른 안내입니다."


def test_stop_cuts_everything_including_what_waits(run):
    pipeline, events, feed = run
    pipeline.submit("listen")
    feed(recording(0.2))
    pipeline.submit("say", {"text": "하나."})
    pipeline.submit("say", {"text": "둘."})
    pipeline.submit("stop")
    feed(recording(6.0))
    assert responses(events) == [] and pipeline.playback.sink.told() == [] and pipeline.state.value == "idle"


def test_a_long_say_is_cut_at_the_end_of_a_sentence(korean_stages):
    settings = Settings(language="ko", announce=AnnounceSettings(max_characters=60))
    pipeline, events, feed = next(driven(korean_stages, settings=settings))
    pipeline.submit("say", {"text": "This is the first sentence. This is the second one. And a third one.",
                            "language": "en"})
    feed(recording(0.2))
    assert responses(events) == ["This is the first sentence. This is the second one."]


def test_cut_keeps_whole_sentences_and_words():
    assert cut("One. Two. Three.", 100) == "One. Two. Three."
    assert cut("One. Two. Three.", 10) == "One. Two."
    assert cut("a very long sentence without an end", 12) == "a very long"
    assert cut("x" * 50, 20) == "x" * 20


def test_a_flood_of_says_does_not_freeze_the_pipeline(run, hey_jarvis):
    pipeline, events, feed = run
    long = ("오늘 저녁 여섯 시에 가족 모임이 있습니다. " * 50)[:1000]
    for _ in range(30):
        pipeline.submit("say", {"text": long})
    for i in range(2000):
        pipeline.submit("say", {"text": f"알림 {i}번."})
    feed(recording(3.0))
    dropped = [e for e in events if e["type"] == "error" and e["code"] == "announcement_dropped"]
    assert len(dropped) == 2030 - 10  # announce.queue_limit wait; the rest is dropped, and told
    assert seconds_played(pipeline.playback.sink) < 3.0 + 6.0  # what was heard, and a sentence or two ahead
    feed(recording(hey_jarvis, 0.7, speech("지금 몇 시야", "ko+f3"), 1.0))  # the user cuts in, and is answered
    assert [e["name"] for e in events if e["type"] == "intent"] == ["HassGetCurrentTime"]
    pipeline.submit("stop")
    feed(recording(1.0))
    assert pipeline.state.value == "idle" and pipeline.playback.sink.told()[-1] == "stop"


# --- streamed replies (Reply.stream, the SentenceStream contract) ----------------------------------

class SlowStream:
    """A reply that honours the SentenceStream contract: each sentence after its delay, `events`
    appended as they happen, and close() from any thread ends the iteration at once."""

    def __init__(self, *timed, event_after: int | None = None):
        self.timed = timed  # (seconds, sentence) pairs
        self.event_after = event_after
        self.events: list[Error] = []
        self.closed = threading.Event()
        self.ended = threading.Event()

    def __iter__(self):
        try:
            for i, (delay, sentence) in enumerate(self.timed):
                if self.closed.wait(delay):
                    return
                yield sentence
                if i == self.event_after:
                    self.events.append(Error(code="llm_bad_reply", message="a runaway reply was cut"))
        finally:
            self.ended.set()

    def close(self):
        self.closed.set()


@pytest.fixture
def streaming(korean_stages, tmp_path):
    """A live pipeline (wall clock) whose dialogue answers every sentence with `dialogue.stream`."""
    from speaker.dialogue import Dialogue, Reply

    class Streaming(Dialogue):
        stream = None

        def reply(self, text):
            return Reply(None, stream=self.stream)

    dialogue = Streaming("ko", seed=0, state_dir=tmp_path / "state")
    yield from driven(dataclasses.replace(korean_stages, dialogue=dialogue), clock=time.monotonic)


def ask(pipeline, feed):
    """Ask something without the wake word; returns once the speaker thinks."""
    pipeline.submit("listen")
    feed(recording(0.3, speech("이름이 뭐야", "ko+f3"), 0.6))
    assert pipeline.state.value == "thinking"


def test_a_streamed_reply_is_said_sentence_by_sentence_as_it_comes(streaming):
    pipeline, events, feed = streaming
    sentences = ["안녕하세요.", "저는 사만다예요.", "무엇을 도와드릴까요?"]
    stream = pipeline.stages.dialogue.stream = SlowStream(*[(0.6, s) for s in sentences], event_after=1)
    ask(pipeline, feed)
    pipeline.submit("volume", {"level": 70})  # commands and frames go on while the model thinks
    assert until(lambda: pipeline.playback.volume == 70, lambda: promptly(lambda: pipeline.process(QUIET)))
    assert pipeline.state.value == "thinking" and pipeline.playback.sink.told() == []
    assert until(lambda: any(e.get("follow_up") for e in events), lambda: promptly(lambda: pipeline.process(QUIET)))
    turn = next(e for e in events if e["type"] == "intent")["turn"]
    told = [e for e in events if e["turn"] == turn]
    said = [(e["text"], e["final"]) for e in told if e["type"] == "response"]
    assert said == [*[(s, False) for s in sentences], (" ".join(sentences), True)]
    speaking = next(e for e in told if e.get("state") == "speaking")
    assert speaking["latency_ms"] >= 600  # the first sentence's wait is counted
    order = [e["text"] if e["type"] == "response" else e["type"] for e in told]
    assert order.index(sentences[1]) < order.index("error") < order.index(sentences[2])  # told after its sentence
    assert pipeline.playback.sink.told() == ["play"] * 3 and stream.ended.is_set()
    assert pipeline.state.value == "listening"  # the reply asked something


@pytest.mark.parametrize("action, state", [("stop", "idle"), ("listen", "listening"), ("mute", "muted"),
                                           ("wake word", "listening")])
def test_stop_the_button_a_wake_word_or_mute_close_a_slow_stream_at_once(streaming, hey_jarvis, action, state):
    pipeline, events, feed = streaming
    stream = pipeline.stages.dialogue.stream = SlowStream((30.0, "너무 늦은 대답입니다."))
    ask(pipeline, feed)
    if action == "wake word":
        promptly(lambda: feed(recording(0.3, hey_jarvis, 0.3)))
        assert [e["type"] for e in events].count("wake") == 1
    else:
        pipeline.submit(action)
        promptly(pipeline.tick)
    assert pipeline.state.value == state and stream.closed.is_set()  # the turn ended at the next step
    assert stream.ended.wait(1.0)  # and the stream with it
    assert pipeline.playback.sink.told().count("play") == 0


class HeldDecoder:
    """The real free decoder, whose end of an utterance waits until released: free recognition as
    slow as it may be on a Pi, for as long as a test needs."""

    def __init__(self, decoder):
        self.decoder, self.released = decoder, threading.Event()

    def start(self):
        self.decoder.start()

    def accept(self, data):
        self.decoder.accept(data)

    def finish(self):
        self.released.wait(30)
        return self.decoder.finish()


@pytest.fixture
def slow_free(korean_stages):
    """A live pipeline (wall clock) whose free recognition does not finish until released."""
    free_pass = korean_stages.transcriber.free_pass
    held = free_pass._decoder = HeldDecoder(free_pass._decoder)
    try:
        yield from driven(korean_stages, clock=time.monotonic)
    finally:
        held.released.set()
        free_pass._decoder = held.decoder


def live_feed(pipeline, samples):
    """Frames in as a live microphone gives them (each step must return promptly)."""
    for frame in frames_of(samples):
        promptly(lambda: pipeline.process(frame), timeout=2.0)


def acts_at_once(pipeline, events, action, hey_jarvis):
    """Carries out a stop, a wake word or a volume command mid-turn: it acts at the next step; the wake
    word starts a new turn, the command leaves the turn where it was."""
    turn, state = pipeline.turn, pipeline.state.value
    if action == "wake word":
        live_feed(pipeline, recording(hey_jarvis, 0.2))  # straight after the words: no pause ends the sentence
        assert kinds(events).count("wake") == 1 and pipeline.state.value == "listening" and pipeline.turn != turn
    else:
        pipeline.submit(action, {"level": 40} if action == "volume" else None)
        promptly(pipeline.tick, timeout=2.0)
        if action == "stop":
            assert pipeline.state.value == "idle" and pipeline.turn is None
        else:
            assert pipeline.playback.volume == 40 and pipeline.state.value == state


@pytest.mark.parametrize("moment", ["listening", "recognising"])
@pytest.mark.parametrize("action", ["stop", "wake word", "volume"])
def test_a_stop_a_wake_word_or_a_command_acts_at_once_while_listening_or_recognising(slow_free, hey_jarvis,
                                                                                   moment, action):
    """Free recognition never holds the pipeline's thread: whether the user is still talking or has
    stopped and is waiting for recognition, the next step carries out a stop, a wake word (a new turn)
    or an MQTT command. (While the answer is being thought of: test_stop_the_button_... above.)"""
    pipeline, events, feed = slow_free
    said = speech("오늘 저녁에 친구를 만나기로 했어요", "ko+f3")
    pipeline.submit("listen")
    if moment == "listening":
        live_feed(pipeline, recording(0.3, said[: len(said) // 2]))
        assert pipeline.state.value == "listening"
    else:
        live_feed(pipeline, recording(0.3, said, 0.8))
        assert pipeline.state.value == "thinking" and "intent" not in kinds(events)  # recognition still runs
    acts_at_once(pipeline, events, action, hey_jarvis)
    slow_free[0].stages.transcriber.free_pass._decoder.released.set()
    for _ in range(10):
        promptly(lambda: pipeline.process(QUIET), timeout=2.0)
    assert "intent" not in kinds(events) or action == "volume"  # a cut turn's text is never answered


class HeldWhisper:
    """The real Whisper, whose hearing again ends only once released: Whisper as slow as it may be on
    a Pi, for as long as a test needs."""

    def __init__(self, whisper):
        self.whisper, self.released, self.asked = whisper, threading.Event(), 0
        self._waiting = concurrent.futures.ThreadPoolExecutor(1)

    def hear(self, samples):
        self.asked += 1
        return self._waiting.submit(lambda: self.released.wait(30) and self.whisper.hear(samples).result())


@pytest.fixture
def slow_whisper(hey_jarvis):
    """A live English pipeline (wall clock) whose Whisper does not finish hearing again until released."""
    from speaker.dialogue import Dialogue
    from speaker.echo import EchoCanceller
    from speaker.endpoint import Endpointer
    from speaker.pipeline import Stages
    from speaker.stt import Transcriber
    from speaker.wake import WakeDetector

    settings = Settings(language="en")
    dialogue = Dialogue("en", seed=0)
    transcriber = Transcriber.for_dialogue(settings, dialogue)
    held = transcriber.whisper = HeldWhisper(transcriber.whisper)
    voice = Voice(dataclasses.replace(settings.voice, engine="espeak", wake_chime=False, done_chime=False), "en")
    stages = Stages(wake=WakeDetector(settings.wake), endpointer=Endpointer(settings.listen), transcriber=transcriber,
                    dialogue=dialogue, voice=voice, echo=EchoCanceller(settings.echo))
    try:
        yield from driven(stages, clock=time.monotonic, settings=settings)
    finally:
        held.released.set()
        voice.close()


@pytest.mark.slow  # loads English speech to text with Whisper
@pytest.mark.parametrize("action", ["stop", "wake word", "volume"])
def test_a_stop_a_wake_word_or_a_command_acts_at_once_while_whisper_hears_again(slow_whisper, hey_jarvis, action):
    """Whisper hears an utterance the grammar-first passes did not understand on a worker of its own:
    while it does, the next step carries out a stop, a wake word (a new turn) or an MQTT command."""
    pipeline, events, feed = slow_whisper
    held = pipeline.stages.transcriber.whisper
    pipeline.submit("listen")
    live_feed(pipeline, recording(0.3, speech("I went to the shop to buy some bread"), 0.8))
    for _ in range(25):  # free recognition ends on its worker; then Whisper is asked
        promptly(lambda: pipeline.process(QUIET), timeout=2.0)
    assert held.asked == 1 and pipeline.state.value == "thinking" and "intent" not in kinds(events)  # it still hears
    acts_at_once(pipeline, events, action, hey_jarvis)
    held.released.set()
    for _ in range(40):
        promptly(lambda: pipeline.process(QUIET), timeout=2.0)
    assert "intent" not in kinds(events) or action == "volume"  # a cut turn's text is never answered


def test_a_wake_word_while_waiting_for_the_answer_to_a_question_starts_a_new_turn(companion, hey_jarvis):
    """After a question the speaker listens without the wake word; "hey jarvis, ..." then is a new
    request, not the answer (it was heard as a greeting, and the request lost)."""
    pipeline, events, feed = companion
    feed(recording(1.0, hey_jarvis, 0.7, speech("어떻게 지내", "ko+f3"), 4.0))
    assert pipeline.state.value == "listening" and events[-1].get("follow_up")
    feed(recording(0.3, hey_jarvis, 0.7, speech("지금 몇 시야", "ko+f3"), 4.0))
    assert [e["name"] for e in events if e["type"] == "intent"] == ["SpeakerHowAreYou", "HassGetCurrentTime"]
    assert kinds(events).count("wake") == 2

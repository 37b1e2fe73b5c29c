"""The pipeline driven in-process, frame by frame, with the real stages: commands, mute, volume,
announcements, and speech that never holds up the pipeline's thread."""

import dataclasses
import threading
import time

import numpy as np
import pytest

from conftest import RecordingSink, recording, speech
from speaker.audio import frames_of
from speaker.config import AnnounceSettings, ListenSettings, Settings
from speaker.endpoint import Endpointer
from speaker.events import EventBus
from speaker.pipeline import Pipeline
from speaker.speech import cut
from speaker.voice import Voice, split_sentences


def driven(stages, clock=None):
    """A pipeline on `stages`; yields (pipeline, events, feed) where feed(samples) plays audio in.
    Its sink is a RecordingSink (`pipeline.sink`) that notes the pipeline's time of each call."""
    bus = EventBus("test")
    events = []
    bus.subscribe(events.append)
    sink = RecordingSink()
    pipeline = Pipeline(stages, bus, sink, clock=clock)
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
    assert seconds_played(pipeline.sink) > 0.5


def test_say_honours_its_language_and_volume(run):
    # "12:30" is read in English by the English voice, and (longer) in Korean by the Korean one.
    pipeline, events, feed = run
    settings = Settings().voice
    english, korean = (len(Voice(settings, language).synthesize("12:30")) for language in ("en", "ko"))
    assert abs(english - korean) > 0.2 * english
    pipeline.submit("say", {"text": "12:30", "language": "en"})
    pipeline.submit("say", {"text": "12:30"})  # the speaker's own language
    pipeline.submit("say", {"text": "12:30", "language": "en", "volume": 30})
    feed(recording(12.0))
    en, ko, quiet = pipeline.sink.played()
    assert abs(len(en) - english) < 0.05 * english and abs(len(ko) - korean) < 0.05 * korean
    assert 0.25 < np.abs(quiet).max() / np.abs(en).max() < 0.35
    assert pipeline.volume == 100  # a say's volume is its own


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
    told = pipeline.sink.told()
    assert told[-1] == "stop" and 1 <= told.count("play") < 5  # the sink was cut, the rest never sent
    feed(recording(15.0))
    assert pipeline.sink.told() == told


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
    loud, quiet = (np.abs(samples).max() for samples in pipeline.sink.played())
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
    assert pipeline.state.value == "idle" and pipeline.volume == 100


def test_commands_run_without_audio_through_tick(run):
    pipeline, events, feed = run
    pipeline.submit("volume", {"level": 40})
    pipeline.tick()
    assert pipeline.volume == 40 and events[-1] == {**events[-1], "type": "volume", "level": 40}


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
    from speaker.endpoint import Endpointer
    from speaker.pipeline import Stages
    from speaker.voice import Voice
    from speaker.wake import WakeDetector

    persona_file = tmp_path / "asks-back.toml"
    persona_file.write_text(ASKS_BACK, encoding="utf-8")
    settings = Settings(language="ko")
    dialogue = Dialogue("ko", seed=0, persona=load(persona_file), state_dir=tmp_path / "state")
    voice = Voice(settings.voice, "ko")
    stages = Stages(WakeDetector(settings.wake), Endpointer(listen), korean_transcriber, dialogue, voice)
    yield from driven(stages)
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


def test_a_timer_set_by_voice_goes_off_on_time_while_idle(companion, hey_jarvis):
    pipeline, events, feed = companion
    fired_at = []
    pipeline.bus.subscribe(lambda e: fired_at.append(pipeline.now) if e["type"] == "timer" else None)
    feed(recording(1.0, hey_jarvis, 0.7, speech("삼분 타이머", "ko+f3")))
    feed(recording(0.5))  # the end of the sentence is heard: the timer starts
    started_at = pipeline.now
    assert [e["slots"] for e in events if e["type"] == "intent"] == [{"minutes": 3}]
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
    pipeline, events, feed = companion
    feed(recording(1.0, hey_jarvis, 0.7, speech("볼륨 내려", "ko+f3"), 10.0))  # the answer may ask back
    assert pipeline.volume == 80 and [e["level"] for e in events if e["type"] == "volume"] == [100, 80]
    feed(recording(1.0, hey_jarvis, 0.7, speech("음소거", "ko+f3"), 6.0))
    mute_turn = [e for e in events if e["type"] == "intent"][-1]["turn"]
    assert [e["name"] for e in events if e["type"] == "intent"] == ["HassSetVolumeRelative", "SpeakerMute"]
    said = [e for e in events if e["type"] == "response" and e["turn"] == mute_turn]
    assert said and pipeline.muted and events[-1]["state"] == "muted"
    feed(recording(1.0, hey_jarvis, 0.7, speech("지금 몇 시야", "ko+f3"), 3.0))
    assert len([e for e in events if e["type"] == "wake"]) == 2  # muted: the third wake word is not heard

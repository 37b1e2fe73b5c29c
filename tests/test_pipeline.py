"""The pipeline driven in-process, frame by frame, with the real stages: commands, mute, volume."""

import numpy as np
import pytest

from conftest import recording, speech
from speaker.audio import WavSink, frames_of, read_wav
from speaker.events import EventBus
from speaker.pipeline import Pipeline


@pytest.fixture
def run(korean_stages, tmp_path):
    """A pipeline on the Korean stages; returns (pipeline, events, feed) where feed(samples) plays audio in."""
    bus = EventBus("test")
    events = []
    bus.subscribe(events.append)
    sink = WavSink(tmp_path / "out.wav")
    pipeline = Pipeline(korean_stages, bus, sink)
    pipeline.start()

    def feed(samples):
        for frame in frames_of(samples):
            pipeline.process(frame)

    yield pipeline, events, feed
    sink.close()


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


def test_say_speaks_an_announcement_in_either_language(run, tmp_path):
    pipeline, events, feed = run
    pipeline.submit("say", {"text": "Dinner is ready.", "language": "en"})
    feed(recording(0.2))
    assert kinds(events)[-2:] == ["response", "speaking"]
    assert events[-2]["text"] == "Dinner is ready."
    feed(recording(3.0))
    assert events[-1]["state"] == "idle"
    pipeline.sink.close()
    assert len(read_wav(tmp_path / "out.wav")) > 0.5 * 16000


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


def test_volume_scales_the_answer_and_is_announced(run, tmp_path):
    pipeline, events, feed = run
    pipeline.submit("say", {"text": "안녕하세요."})
    feed(recording(3.0))
    pipeline.submit("volume", {"level": 25})
    pipeline.submit("say", {"text": "안녕하세요."})
    feed(recording(3.0))
    pipeline.submit("volume", {"step": -30})
    feed(recording(0.1))
    assert [e["level"] for e in events if e["type"] == "volume"] == [100, 25, 0]
    pipeline.sink.close()
    audio = read_wav(tmp_path / "out.wav").astype(np.float64)
    half = len(audio) // 2
    loud, quiet = np.abs(audio[:half]).max(), np.abs(audio[half:]).max()
    assert 0.15 < quiet / loud < 0.35


@pytest.mark.parametrize("name, payload, problem", [
    ("sing", {}, "unknown command"),
    ("say", {}, "non-empty text"),
    ("say", {"text": 42}, "non-empty text"),
    ("say", {"text": "hi", "language": "fr"}, "language"),
    ("say", {"text": "x" * 5000}, "too long"),
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

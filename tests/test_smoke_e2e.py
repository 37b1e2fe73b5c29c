"""End to end: synthesised speech through `speaker run`, events checked in order."""

import json

import pytest

from conftest import recording, run_speaker, speech, write_wav

pytestmark = pytest.mark.slow


def events_of(result):
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.decode().splitlines()]


def test_korean_turns_are_heard_understood_and_answered(tmp_path, hey_jarvis):
    session = recording(1.0, hey_jarvis, 0.8, speech("지금 몇 시야", "ko"), 5.0,
                        hey_jarvis, 0.8, speech("오늘 며칠이에요", "ko"), 5.0)
    wav = write_wav(tmp_path / "session.wav", session)
    out = tmp_path / "answers.wav"
    events = events_of(run_speaker("run", "--language", "ko", "--input", wav, "--output", out, "--events-jsonl", "-"))
    turns = [e for e in events if e["type"] == "wake"]
    assert len(turns) == 2
    for wake, intent in zip(turns, ["HassGetCurrentTime", "HassGetCurrentDate"]):
        mine = [e for e in events if e["turn"] == wake["turn"] and not (e["type"] == "transcript" and not e["final"])]
        kinds = [e["type"] if e["type"] != "state" else e["state"] for e in mine]
        assert kinds == ["wake", "listening", "thinking", "transcript", "intent", "response", "speaking"]
        assert mine[4]["name"] == intent
        assert mine[5]["text"]
    assert events[-1]["state"] == "idle"
    assert out.stat().st_size > 44 + 22050  # more than a second of answers

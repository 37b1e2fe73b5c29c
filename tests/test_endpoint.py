"""End of speech: the real Silero VAD on real espeak-ng speech."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import recording, room, speech
from speaker.audio import FRAME_SECONDS, SAMPLE_RATE, frames_of
from speaker.config import ListenSettings
from speaker.endpoint import Endpointer, Heard

SENTENCES = [("what time is it now", "en-us"), ("please turn off the lights in the kitchen", "en-gb"),
             ("지금 몇 시야", "ko+f3"), ("오늘 날씨 어때", "ko")]


def voiced(samples: np.ndarray) -> tuple[float, float]:
    """Seconds to the first and last audible sample of synthesised speech (espeak-ng pads with silence)."""
    loud = np.nonzero(np.abs(samples) > 300)[0]
    return loud[0] / SAMPLE_RATE, loud[-1] / SAMPLE_RATE


def states(endpointer: Endpointer, samples: np.ndarray) -> list[tuple[float, Heard, float]]:
    """(end time of the frame, state, silence heard) after each frame."""
    out = []
    for i, frame in enumerate(frames_of(samples)):
        state = endpointer.process(frame)
        out.append(((i + 1) * FRAME_SECONDS, state, endpointer.silence_heard))
    return out


def first(history, state: Heard) -> float | None:
    return next((t for t, s, _ in history if s is state), None)


@pytest.mark.parametrize("silence", [0.4, 1.0])
@pytest.mark.parametrize("text, voice", SENTENCES)
def test_waiting_then_speech_then_ended_silence_seconds_after_the_speech(text, voice, silence):
    said = speech(text, voice)
    begin, end = voiced(said)
    begin, end = 1.0 + begin, 1.0 + end
    history = states(Endpointer(ListenSettings(silence_seconds=silence)), recording(1.0, said, 3.0))

    assert all(s is Heard.WAITING for t, s, _ in history if t < begin)
    assert all(s is Heard.SPEECH for t, s, _ in history if begin + 0.15 <= t <= end)  # short gaps between words too
    ended = first(history, Heard.ENDED)
    assert ended is not None and abs(ended - end - silence) <= 0.2, (ended, end)
    assert all(s is Heard.ENDED for t, s, _ in history if t >= ended)  # and it stays ended


def test_nothing_after_no_speech_seconds_of_quiet():
    for wait in (1.5, 4.0):
        history = states(Endpointer(ListenSettings(no_speech_seconds=wait)), room(wait + 2))
        nothing = first(history, Heard.NOTHING)
        assert nothing is not None and wait <= nothing <= wait + FRAME_SECONDS
        assert all(s is Heard.WAITING for t, s, _ in history if t < nothing)


def test_long_continuous_speech_ends_at_max_seconds():
    talk = speech("this is a very long sentence that keeps on going and going without any pause at all "
                  "because the speaker has a lot to say about everything under the sun", "en-us")
    assert voiced(talk)[1] > 6
    history = states(Endpointer(ListenSettings(max_seconds=3.0)), recording(0.5, talk, 1.0))
    ended = first(history, Heard.ENDED)
    assert ended is not None and 3.0 <= ended <= 3.0 + FRAME_SECONDS
    assert all(s is Heard.SPEECH for t, s, _ in history if 1.0 <= t < ended)  # still talking when cut


def test_a_click_or_short_noise_burst_does_not_end_the_request():
    rng = np.random.default_rng(0)
    blip = speech("ah", "en-us")[800:800 + 1920]  # 0.12 s of a vowel: Silero calls it speech
    bursts = [np.repeat(np.array([20000, -20000], np.int16), 80),  # a 10 ms click
              (rng.standard_normal(1600) * 8000).astype(np.int16),  # 0.1 s of loud noise
              blip]
    for burst in bursts:
        history = states(Endpointer(ListenSettings()), recording(1.0, burst, 3.0))
        assert Heard.ENDED not in [s for _, s, _ in history]
        nothing = first(history, Heard.NOTHING)  # no request came: back to idle at the usual time
        assert nothing is not None and 4.0 <= nothing <= 4.0 + FRAME_SECONDS

    # the blip does count as speech for a moment, and the real request after it is still heard out
    said = speech("what time is it now", "en-us")
    history = states(Endpointer(ListenSettings()), recording(0.5, blip, 1.2, said, 2.0))
    assert first(history, Heard.SPEECH) < 1.0
    end = 0.5 + len(blip) / SAMPLE_RATE + 1.2 + voiced(said)[1]
    assert abs(first(history, Heard.ENDED) - end - 0.4) <= 0.2


def test_silence_heard_counts_the_quiet_since_the_last_speech():
    said = speech("what time is it now", "en-us")
    end = 1.0 + voiced(said)[1]
    history = states(Endpointer(ListenSettings(silence_seconds=1.0)), recording(1.0, said, 3.0))
    assert all(heard == 0 for t, s, heard in history if s is Heard.WAITING)
    ended = first(history, Heard.ENDED)
    trailing = [heard for t, s, heard in history if end + 0.2 < t <= ended]
    assert trailing == sorted(trailing) and trailing[0] < trailing[-1]  # grows while the user is quiet
    at_end = next(heard for t, s, heard in history if s is Heard.ENDED)
    assert 1.0 <= at_end < 1.1


def test_reset_starts_afresh():
    said = speech("지금 몇 시야", "ko+f3")
    end = 0.5 + voiced(said)[1]
    endpointer = Endpointer(ListenSettings())
    first_turn = states(endpointer, recording(0.5, said, 2.0))
    assert first_turn[-1][1] is Heard.ENDED

    endpointer.reset()
    assert endpointer.state is Heard.WAITING and endpointer.silence_heard == 0
    second_turn = states(endpointer, recording(0.5, said, 2.0))
    assert abs(first(second_turn, Heard.ENDED) - first(first_turn, Heard.ENDED)) <= FRAME_SECONDS
    assert abs(first(second_turn, Heard.ENDED) - end - 0.4) <= 0.2

    # reset in the middle of speech: the no-speech timeout counts again from the reset
    endpointer.reset()
    states(endpointer, said[: len(said) // 2])
    endpointer.reset()
    history = states(endpointer, room(6))
    nothing = first(history, Heard.NOTHING)
    assert nothing is not None and 4.0 <= nothing <= 4.0 + FRAME_SECONDS


def test_a_whole_known_sentence_ends_sooner_and_a_pause_inside_one_does_not_end_it(korean_transcriber):
    """Semantic end of turn, with the real grammar pass telling the endpointer what it has heard: a
    known sentence ends `complete_silence_seconds` after the speech; "오늘" then a pause is not one yet,
    so the pause does not end the turn, and the rest is heard."""

    def ended_after(samples: np.ndarray, settings=ListenSettings(silence_seconds=1.0, complete_silence_seconds=0.2)):
        endpointer, transcriber = Endpointer(settings), korean_transcriber
        transcriber.start()
        for i, frame in enumerate(frames_of(samples)):
            state = endpointer.process(frame)
            transcriber.accept(frame)
            endpointer.complete = transcriber.complete
            if state is Heard.ENDED:
                return (i + 1) * FRAME_SECONDS
        return float("inf")

    said = speech("지금 몇 시야", "ko+f3")
    end = 1.0 + voiced(said)[1]
    assert abs(ended_after(recording(1.0, said, 2.0)) - end - 0.2) <= 0.15
    first, rest = speech("오늘", "ko+f3"), speech("날씨 어때", "ko+f3")
    paused = recording(1.0, first, 0.3, rest, 2.0)
    pause = len(first) / SAMPLE_RATE - voiced(first)[1] + 0.3 + voiced(rest)[0]
    assert 0.4 < pause < 0.9  # longer than the short window, shorter than the full one
    end = 1.0 + len(first) / SAMPLE_RATE + 0.3 + voiced(rest)[1]
    assert ended_after(paused) >= end  # not cut at the pause
    assert not Endpointer(ListenSettings()).complete  # a fresh endpointer waits the full window

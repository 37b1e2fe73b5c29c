"""The echo canceller and the simulated room, on real speech: what is played is taken out of the
microphone, the user's voice is kept, and nothing is done while nothing plays."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import Samples, at_level, natural_speech, recording, speech
from speaker.audio import FRAME_SAMPLES, SAMPLE_RATE, WavSink, frames_of
from speaker.config import ConfigError, EchoSettings, WakeSettings, parse
from speaker.echo import RING_FRAMES, EchoCanceller, EchoTap
from speaker.testing.room import Room, speech_rms
from speaker.wake import WakeDetector

VOICE_RMS = 1000.0



class Sink:
    def __init__(self):
        self.played, self.stopped = [], 0

    def play(self, samples, rate):
        self.played.append((samples, rate))

    def stop(self):
        self.stopped += 1

    def close(self):
        pass


def energy(samples: np.ndarray) -> float:
    return float(np.mean(samples.astype(np.float64) ** 2))


@pytest.fixture(scope="module")
def answer():
    return speech("The weather today is mild with a light breeze from the west, and later this evening the clouds "
                  "will gather over the hills. Tomorrow looks brighter, with sunshine in the morning.")


def through_room(canceller: EchoCanceller, user: np.ndarray, played: np.ndarray, echo_db: float):
    """The microphone's frames and the canceller's output, with `played` going out at the start."""
    room = Room(Samples(user), Sink(), echo_db=echo_db, voice_rms=VOICE_RMS)
    tap = EchoTap(room.sink, lambda: canceller)
    tap.play(played, SAMPLE_RATE)
    mic, out = [], []
    for frame in room.source:
        mic.append(frame)
        out.append(canceller.process(frame))
    return np.concatenate(mic), np.concatenate(out)


def test_frames_pass_untouched_and_unprocessed_while_nothing_plays():
    canceller = EchoCanceller(EchoSettings())
    frames = list(frames_of(recording(2.0, speech("hello there"), 1.0)))
    assert all(canceller.process(f) is f for f in frames)
    assert canceller.frames_processed == 0 and not canceller.playing


def test_the_reference_follows_the_queue_and_stop_cuts_it(answer):
    canceller = EchoCanceller(EchoSettings())
    sink = Sink()
    tap = EchoTap(sink, lambda: canceller)
    tap.play(answer[:FRAME_SAMPLES * 3], SAMPLE_RATE)
    tap.play(answer[FRAME_SAMPLES * 3 : FRAME_SAMPLES * 6], SAMPLE_RATE)  # queued after the first chunk
    quiet = np.zeros(FRAME_SAMPLES, np.int16)
    references = []
    for _ in range(4):
        canceller.process(quiet)
        references.append(canceller.reference)
    assert np.array_equal(np.concatenate(references), answer[: FRAME_SAMPLES * 4])
    tap.stop()
    assert sink.stopped == 1 and len(sink.played) == 2
    for _ in range(RING_FRAMES):  # the room rings a little longer, with nothing more played
        assert canceller.playing
        canceller.process(quiet)
        assert not canceller.reference.any()
    assert not canceller.playing


def test_the_room_brings_the_answer_back_late_and_louder_than_the_user():
    room = Room(Samples(np.zeros(SAMPLE_RATE, np.int16)), Sink(), echo_db=6.0, delay_ms=50, voice_rms=VOICE_RMS)
    click = np.zeros(SAMPLE_RATE // 2, np.int16)
    click[:800] = 8000  # 50 ms of a loud block
    room.sink.play(click, SAMPLE_RATE)
    heard = np.concatenate(list(room.source))
    first = int(np.argmax(np.abs(heard) > 100))
    assert first == 50 * SAMPLE_RATE // 1000
    assert speech_rms(heard[first : first + 800]) == pytest.approx(VOICE_RMS * 10 ** (6 / 20), rel=0.1)  # the tail adds a little
    assert np.abs(heard[first + 800 + 3200 :]).max() > 0  # a reverberant tail after the direct sound


@pytest.mark.parametrize("echo_db", [0.0, 10.0])
def test_speex_takes_the_echo_down_and_keeps_the_users_wake_word(answer, echo_db):
    hey = natural_speech("hey jarvis")
    hey = at_level(hey, VOICE_RMS)
    user = recording(6.0, hey, len(answer) / SAMPLE_RATE - 6.0)
    canceller = EchoCanceller(EchoSettings())
    mic, out = through_room(canceller, user, answer, echo_db)
    late = slice(int(8 * SAMPLE_RATE), len(answer))  # echo only, once the filter has adapted
    assert 10 * np.log10(energy(mic[late]) / energy(out[late])) > 15
    assert canceller.erle_db > 12  # it knows it has learnt the room
    wake = WakeDetector(WakeSettings())
    assert any(wake.process(f) is not None for f in frames_of(out))


def test_with_the_canceller_off_frames_pass_but_the_reference_is_kept(answer):
    canceller = EchoCanceller(EchoSettings(canceller="off"))
    canceller.played(answer, SAMPLE_RATE)
    frame = next(frames_of(recording(0.1)))
    assert canceller.process(frame) is frame
    assert np.array_equal(canceller.reference, answer[:FRAME_SAMPLES])
    assert canceller.playing


def test_echo_settings_are_checked():
    assert parse({"echo": {"canceller": "webrtc", "barge_in": False}}).echo == EchoSettings(
        canceller="webrtc", device_delay_ms=0, barge_in=False, stop_words=True)
    with pytest.raises(ConfigError, match="echo.canceller"):
        parse({"echo": {"canceller": "hardware"}})
    with pytest.raises(ConfigError, match="echo.device_delay_ms"):
        parse({"echo": {"device_delay_ms": 2000}})


def test_webrtc_engine_cancels_too(answer):
    mic, out = through_room(EchoCanceller(EchoSettings(canceller="webrtc")), recording(len(answer) / SAMPLE_RATE),
                            answer, 6.0)
    late = slice(int(4 * SAMPLE_RATE), len(answer))
    assert 10 * np.log10(energy(mic[late]) / energy(out[late])) > 15


def test_wav_sink_wrapped_by_tap_still_writes_the_answer(answer, tmp_path):
    canceller = EchoCanceller(EchoSettings())
    tap = EchoTap(WavSink(tmp_path / "out.wav"), lambda: canceller)
    tap.play(answer, SAMPLE_RATE)
    tap.close()
    from speaker.audio import read_wav

    assert len(read_wav(tmp_path / "out.wav")) == len(answer)


def test_the_pipeline_lines_the_reference_up_with_the_echo():
    """Whatever starts an answer (a command between frames, or a wake word heard in one), it is heard
    from the next frame on, and the canceller's reference starts there too: so the canceller keeps
    what it learnt of the room from one answer to the next."""
    from speaker.dialogue import Dialogue
    from speaker.endpoint import Endpointer
    from speaker.events import EventBus
    from speaker.pipeline import Pipeline, Stages
    from speaker.voice import Voice

    settings = parse({"echo": {"barge_in": False, "stop_words": False}})
    stages = Stages(wake=WakeDetector(settings.wake), endpointer=Endpointer(settings.listen), transcriber=None,
                    dialogue=Dialogue("en", seed=0), voice=Voice(settings.voice, "en"),
                    missing_model="no speech model here", echo=EchoCanceller(settings.echo))
    user = recording(11.0, at_level(natural_speech("hey jarvis"), VOICE_RMS), 9.0)  # the answer: "I need my model"
    room = Room(Samples(user), Sink(), echo_db=6.0, voice_rms=VOICE_RMS)
    pipeline = Pipeline(stages=stages, bus=EventBus("test"), sink=room.sink)
    pipeline.start()
    pipeline.submit("say", {"text": "The weather today is mild with a light breeze from the west, and later this "
                                    "evening the clouds will gather over the hills. Tomorrow looks brighter."})
    for frame in room.source:
        pipeline.process(frame)
    assert stages.echo.erle_db > 20, stages.echo.erle_db  # it was 15 when answers began a frame apart


def test_a_voice_over_the_answer_does_not_make_the_canceller_think_it_lost_the_room(answer):
    hey = at_level(natural_speech("hey jarvis"), VOICE_RMS)
    canceller = EchoCanceller(EchoSettings())
    through_room(canceller, recording(len(answer) / SAMPLE_RATE), answer, 10.0)  # it learns the room
    learnt = canceller.erle_db
    through_room(canceller, recording(1.0, hey, 1.0), answer[: 4 * SAMPLE_RATE], 10.0)  # the user talks over it
    assert learnt > 25 and canceller.erle_db > 12, (learnt, canceller.erle_db)


@pytest.mark.parametrize("behind", [0.25, 0.6])
def test_a_pipeline_running_behind_its_microphone_keeps_the_echo_it_learnt(answer, behind):
    """On a busy machine the microphone runs ahead of the pipeline: an answer played now is heard
    after the frames captured meanwhile. The second answer, said once the pipeline fell `behind`,
    is cancelled from its first second on, as well as the first answer was once learnt."""
    canceller = EchoCanceller(EchoSettings())
    first, second = answer[: 6 * SAMPLE_RATE], answer[6 * SAMPLE_RATE : 10 * SAMPLE_RATE]
    second_at = len(first) // FRAME_SAMPLES + 25  # the frame after which it is said: 2 s of quiet between
    total = len(first) + len(second) + int((3 + behind) * SAMPLE_RATE)
    room = Room(Samples(np.zeros(total, np.int16)), Sink(), echo_db=6.0, voice_rms=VOICE_RMS)
    tap = EchoTap(room.sink, lambda: canceller)
    mic, out = [], []
    for i, frame in enumerate(room.source):
        if i == second_at - 3:
            room.behind = behind  # the machine got busy
        mic.append(frame)
        out.append(canceller.process(frame, room.source.behind))
        if i in (0, second_at):
            tap.play(first if i == 0 else second, SAMPLE_RATE)
    mic, out = np.concatenate(mic), np.concatenate(out)
    learnt = slice(4 * SAMPLE_RATE, 6 * SAMPLE_RATE)
    heard_from = (second_at + 1) * FRAME_SAMPLES + int(behind * SAMPLE_RATE)  # the second answer's echo
    early = slice(heard_from, heard_from + SAMPLE_RATE)
    reduction = [10 * np.log10(energy(mic[part]) / energy(out[part])) for part in (learnt, early)]
    assert min(reduction) > 15, reduction  # the second answer's first second: 0-10 dB when its reference was placed now


def test_a_stop_while_running_behind_keeps_the_reference_of_what_the_microphone_already_caught(answer):
    canceller = EchoCanceller(EchoSettings())
    quiet = np.zeros(FRAME_SAMPLES, np.int16)
    two_frames = 2 * FRAME_SAMPLES / SAMPLE_RATE  # captured after each frame processed
    canceller.process(quiet, two_frames)
    canceller.played(answer[: FRAME_SAMPLES * 6], SAMPLE_RATE)  # heard from two frames on
    references = []
    for _ in range(3):
        canceller.process(quiet, two_frames)
        references.append(canceller.reference)
    assert not np.concatenate(references[:2]).any() and np.array_equal(references[2], answer[:FRAME_SAMPLES])
    canceller.stopped()  # it played on while the two frames after the last one were captured
    for expected in (answer[FRAME_SAMPLES : 2 * FRAME_SAMPLES], answer[2 * FRAME_SAMPLES : 3 * FRAME_SAMPLES], quiet):
        canceller.process(quiet)
        assert np.array_equal(canceller.reference, expected)


@pytest.mark.parametrize("echo_db", [0.0, 10.0])
def test_through_a_distorting_loudspeaker_the_residual_suppressor_takes_out_more_and_keeps_the_wake_word(answer, echo_db):
    """A small loudspeaker soft-clips (the sound-server tests' room): a linear filter leaves more of
    that echo, and the suppressor behind it lowers what is left, while the user's wake word over
    the answer is still heard."""
    from sound_room import FileTimeRoom

    user = recording(6.0, at_level(natural_speech("hey jarvis"), VOICE_RMS), len(answer) / SAMPLE_RATE - 6.0)
    user = user[: len(user) // FRAME_SAMPLES * FRAME_SAMPLES]
    late = slice(int(8 * SAMPLE_RATE), len(answer))  # echo only, once the filter has adapted
    reduction = {}
    for suppress in (False, True):
        room = FileTimeRoom(user=user, speaker_rms=speech_rms(answer), echo_db=echo_db, voice_rms=VOICE_RMS)
        canceller = EchoCanceller(EchoSettings(suppress_residual=suppress))
        room.sink.play(answer, SAMPLE_RATE)
        canceller.played(answer, SAMPLE_RATE)
        mic = list(room.source)
        out = np.concatenate([canceller.process(frame) for frame in mic])
        reduction[suppress] = 10 * np.log10(energy(np.concatenate(mic)[late]) / energy(out[late]))
        wake = WakeDetector(WakeSettings())
        assert any(wake.process(f) is not None for f in frames_of(out))
    assert reduction[True] > reduction[False] + 3 and reduction[True] > 15, reduction  # 5-6 dB more here


def test_the_residual_suppressor_passes_a_voice_with_no_echo_and_says_it_is_not_echo():
    """Where the canceller estimated no echo, the suppressor leaves the frame as it was (16 ms
    later) and tells that a voice is there."""
    from speaker.residual_echo import HOP, ResidualEchoSuppressor

    voice = at_level(natural_speech("hey jarvis"), VOICE_RMS)
    voice = voice[: len(voice) // FRAME_SAMPLES * FRAME_SAMPLES]
    suppressor = ResidualEchoSuppressor()
    suppressor.restart(np.zeros(FRAME_SAMPLES, np.int16))
    out, loudest = [], 0.0
    for frame in frames_of(voice):
        out.append(suppressor.process(frame, frame))  # the canceller took nothing out: no echo estimated
        loudest = max(loudest, suppressor.voice_rms)
    out = np.concatenate(out)
    assert np.abs(out[HOP:].astype(np.int32) - voice[:-HOP]).max() <= 2
    assert loudest > 1000


def test_a_band_the_canceller_fails_in_does_not_hide_a_voice_over_the_answer():
    """Where the linear filter leaves all of the echo (1000-2500 Hz here, as a distorting loudspeaker
    can make it), the voice is judged in the other bands: the user's wake word over the answer
    still stands above the echo, and the answer alone does not."""
    from scipy.signal import butter, sosfilt

    from speaker.barge_in import VOICE_RMS as VOICED
    from speaker.residual_echo import ResidualEchoSuppressor

    said = speech("Here is the news from the village. The market opens at eight tomorrow. " * 3)
    blocks = said[: len(said) // 320 * 320].reshape(-1, 320).astype(np.float64)
    loud = np.sqrt((blocks**2).mean(axis=1)) > 0.3 * np.sqrt((blocks**2).mean())
    estimate = at_level(blocks[loud].reshape(-1).astype(np.int16), 3000.0)  # no pause for the voice to slip into
    failing = sosfilt(butter(6, (1000, 2500), "bandpass", fs=SAMPLE_RATE, output="sos"), estimate)
    left = failing + 0.03 * (estimate - failing)  # the echo the filter left: all of it in that band, -30 dB elsewhere
    user = recording(6.0, at_level(natural_speech("hey jarvis"), VOICE_RMS), len(estimate) / SAMPLE_RATE)[: len(estimate)]
    heard = {}
    for name, voice in (("answer alone", np.zeros_like(user)), ("wake word over it", user)):
        cleaned = np.clip(left + voice, -32768, 32767).astype(np.int16)
        microphone = np.clip(cleaned.astype(np.float64) + estimate, -32768, 32767).astype(np.int16)
        suppressor = ResidualEchoSuppressor()
        loudest = []
        for near, out in zip(frames_of(microphone), frames_of(cleaned)):
            suppressor.process(near, out)
            loudest.append(suppressor.voice_rms)
        heard[name] = max(loudest[int(5.5 * SAMPLE_RATE) // FRAME_SAMPLES:])  # once it has learnt the room
    assert heard["wake word over it"] >= VOICED > heard["answer alone"], heard


def echo_of(played: np.ndarray, drive: float) -> np.ndarray:
    """What a microphone 45 ms away hears of `played`: half as loud, or soft-clipped as a small
    loudspeaker driven `drive` times too hard does (drive 0: not at all)."""
    x = np.concatenate([np.zeros(720), played[:-720]]).astype(np.float64)
    return (8000 * np.tanh(drive * x / 8000) / np.tanh(drive) if drive else 0.5 * x).astype(np.int16)


def test_once_an_echo_was_found_the_suppressor_goes_on_when_the_filter_follows_it_less_well(answer):
    """A louder answer makes the small loudspeaker clip: the linear filter then takes less than
    10 dB out, but an echo reaches the microphone all the same, and the residual suppressor goes on
    taking out what the filter left (it stopped whenever the filter's reduction dipped below 10 dB)."""
    answer = answer[: len(answer) // FRAME_SAMPLES * FRAME_SAMPLES]
    out = {}
    for suppress in (True, False):
        canceller = EchoCanceller(EchoSettings(suppress_residual=suppress))
        for drive in (0.0, 3.0):
            canceller.played(answer, SAMPLE_RATE)
            out[suppress] = np.concatenate([canceller.process(frame) for frame in frames_of(echo_of(answer, drive))])
            for frame in frames_of(recording(1.0)):
                canceller.process(frame)
        assert canceller._filter_db < 10
    late = slice(2 * len(answer) // 3, len(answer))
    assert 10 * np.log10(energy(out[False][late]) / energy(out[True][late])) > 2.0


@pytest.mark.parametrize("before", ["nothing", "answers through a loudspeaker"])
def test_with_no_echo_the_chime_over_the_users_request_leaves_it_as_it_was(answer, before):
    """Answers into a file or headphones: no echo reaches the microphone, and the wake chime plays
    while the user starts the request. What the linear filter takes out then is no echo, and the
    residual suppressor must not learn it as such: turn after turn, every frame of the request
    keeps its loudness (it lost up to 10 dB, and the recogniser then heard another sentence). So
    too with headphones plugged in after answers through a loudspeaker, once an answer was heard in
    them (until then the room's echo is still believed in)."""
    from speaker import chimes
    from speaker.residual_echo import HOP

    request = recording(0.2, speech("지금 몇 시야", "ko+f3", 165), 0.8)
    request = request[: len(request) // FRAME_SAMPLES * FRAME_SAMPLES]
    canceller = EchoCanceller(EchoSettings())
    if before != "nothing":
        played = answer[: len(answer) // FRAME_SAMPLES * FRAME_SAMPLES]
        canceller.played(played, SAMPLE_RATE)
        for frame in frames_of(np.concatenate([echo_of(played, 0.0), recording(1.0)])):
            canceller.process(frame)
        canceller.played(played, SAMPLE_RATE)  # then one into the headphones
        for frame in frames_of(recording(len(played) / SAMPLE_RATE + 1.0)):
            canceller.process(frame)
    answer = speech("지금 오후 아홉 시 이십오분이에요.", "ko+f3", 165)
    kept = []
    for turn in range(3):
        canceller.played(chimes.listening(SAMPLE_RATE), SAMPLE_RATE)
        out = np.concatenate([canceller.process(frame) for frame in frames_of(request)])
        canceller.played(answer, SAMPLE_RATE)  # into the file: the microphone hears the room
        for frame in frames_of(recording(len(answer) / SAMPLE_RATE + 1.0)):
            canceller.process(frame)
        lag = max((0, HOP), key=lambda d: float(np.dot(request[: len(request) - d].astype(np.float64), out[d:])))
        whole = (len(request) - HOP) // FRAME_SAMPLES * FRAME_SAMPLES
        heard, passed = (x[:whole].astype(np.float64).reshape(-1, FRAME_SAMPLES) for x in (request, out[lag:]))
        loud = (heard**2).mean(axis=1) > 1e5
        kept.append(float(np.min(10 * np.log10((passed[loud] ** 2).mean(axis=1) / (heard[loud] ** 2).mean(axis=1)))))
    assert not canceller.playing
    assert min(kept) > -1.0, kept


@pytest.mark.parametrize("drive", [0.0, 3.0], ids=["a clean loudspeaker", "a clipping loudspeaker"])
def test_answers_heard_as_quiet_need_not_show_it_again_until_an_echo_comes(answer, drive):
    """Answers into headphones: once 2 s of them were heard as quiet, no echo reaches the microphone,
    for the chime and the answers after too, with the user's voice over them (each had to show it
    again, 2 s long: a wake word said then was lost). When the headphones come out, the filter
    takes some of the echo out (a clipping loudspeaker's never 10 dB), and the reduction it
    measures counts again."""
    from speaker import chimes

    answer = answer[: len(answer) // FRAME_SAMPLES * FRAME_SAMPLES]
    canceller = EchoCanceller(EchoSettings())
    canceller.played(answer, SAMPLE_RATE)
    for frame in frames_of(recording(len(answer) / SAMPLE_RATE + 1.0)):
        canceller.process(frame)
    assert not canceller.playing and canceller.echo_below_db == 40.0
    canceller.played(chimes.listening(SAMPLE_RATE), SAMPLE_RATE)
    canceller.played(answer, SAMPLE_RATE)
    below = []
    for frame in frames_of(recording(0.2, speech("hey jarvis"), 1.0)):
        canceller.process(frame)
        below.append(canceller.echo_below_db)
    assert min(below) == 40.0, below
    for frame in frames_of(recording(len(answer) / SAMPLE_RATE)):
        canceller.process(frame)
    canceller.played(answer, SAMPLE_RATE)  # through a loudspeaker now
    for frame in frames_of(np.concatenate([echo_of(answer, drive), recording(1.0)])):
        canceller.process(frame)
    assert canceller.echo_below_db < 40.0

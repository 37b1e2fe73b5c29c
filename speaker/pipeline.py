"""The pipeline: the one place that knows the order of a turn.

    idle ──wake word──▶ listening ──end of speech──▶ thinking ──answer──▶ speaking ──done──▶ idle

It takes 80 ms frames from any audio source and drives the stages; everything it does is told as
events on the bus. Time is counted in frames of input for a file (`AudioClock`), so a WAV file runs
exactly as a live microphone would: while an answer plays, the frames that arrive are the ones heard
during it, and the speaker's own voice never reaches the wake word.

Beside it: `Playback` (playback.py) hands the sink each sentence as the one before it starts;
`Announcements` (announcements.py) holds what waits to be said; the `Interpreter` (interpreter.py)
carries out commands. The pipeline's thread only hands frames to the recognisers: free recognition
runs on its own worker (stt.py `FreePass`) while the user speaks, and the pipeline asks whether its
result is ready without waiting for it, so a stop, a wake word or a command acts at any moment.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import chimes
from .announcements import Announcements
from .audio import FRAME_SECONDS, AudioClock
from .barge_in import BargeIn, Interruption
from .config import AnnounceSettings, EchoSettings
from .dialogue import FOLLOW_UP, Dialogue
from .echo import EchoCanceller
from .endpoint import Endpointer, Heard
from .hearing import Hearing
from .events import ErrorCode, EventBus, EventType, State
from .interpreter import Interpreter
from .playback import Playback
from .speech import Recording, Sentence, Speech
from .stt import Transcriber
from .voice import Voice, Voices
from .wake import WakeDetector

log = logging.getLogger(__name__)

RESTING = (State.IDLE, State.MUTED, State.ERROR)  # between turns: where a reload may switch


@dataclass(kw_only=True)
class Stages:
    """The models and engines a pipeline drives (built by assembly.py); `transcriber` is None when
    its model is missing (`missing_model` says why), `barge_in` when the speaker is not to be
    interrupted by voice."""

    wake: WakeDetector
    endpointer: Endpointer
    transcriber: Transcriber | None
    dialogue: Dialogue
    voice: Voice
    missing_model: str = ""
    echo: EchoCanceller = field(default_factory=lambda: EchoCanceller(EchoSettings()))
    barge_in: BargeIn | None = None


@dataclass(frozen=True, kw_only=True)
class TurnSettings:
    """What the pipeline itself is told: how long a question's answer is waited for, the chimes, the announcements."""

    follow_up_seconds: float = 5.0  # 0: never listen for an answer without the wake word
    wake_chime: bool = True
    done_chime: bool = True
    announce: AnnounceSettings = field(default_factory=AnnounceSettings)


class Pipeline:
    """Drives one turn at a time from frames of audio to a spoken answer.

    Commands may come from any thread through `submit`; they run on the pipeline's own thread,
    between frames (or on `tick` when no audio flows). `clock` is an `AudioClock` for file input,
    else the wall clock's seconds (`time.monotonic`)."""

    def __init__(self, *, stages: Stages, bus: EventBus, sink, settings: TurnSettings = TurnSettings(),
                 clock: Callable[[], float] | None = None, on_reload: Callable[[], None] | None = None):
        self.stages = stages
        self.settings = settings
        self.bus = bus
        self.state = State.IDLE
        self.turn: str | None = None
        self.muted = False
        self.fault = ""  # why the speaker cannot hear (no microphone): it rests in the error state meanwhile
        self._clock = clock or AudioClock()
        self._file_time = isinstance(self._clock, AudioClock)
        self.playback = Playback(sink=sink, echo=lambda: self.stages.echo, clock=self._clock, waits=self._file_time,
                                 bus=bus, turn=lambda: self.turn)
        self.announcements = Announcements(settings.announce, lambda message: bus.emit(
            EventType.ERROR, code=ErrorCode.ANNOUNCEMENT_DROPPED, message=message))
        self.interpreter = Interpreter(self, on_reload)
        self.submit, self.call_soon, self.yield_turn = (  # from any thread
            self.interpreter.submit, self.interpreter.call_soon, self.interpreter.yield_turn)
        self._voices = Voices(stages.voice, stages.dialogue.language)
        self._heard_end_at: float | None = None  # wall time the end of speech was detected, until answered
        self._hearing: Hearing | None = None  # while listening
        self._follow_up = False  # the answer being spoken asked a question
        self._following_up = False  # listening for the reply to it
        self._recognising = False  # the user stopped talking; what they said is not known yet
        self.assist = None  # Home Assistant's pipeline, when the speaker is its satellite (wyoming/satellite.py)
        if stages.missing_model:
            log.error(stages.missing_model)
            bus.emit(EventType.ERROR, code=ErrorCode.MODEL_MISSING, message=stages.missing_model)

    @property
    def now(self) -> float:
        """Seconds since start: of audio heard (files), or of the wall clock (live microphone)."""
        return self._clock()

    def start(self) -> None:
        self.set_state(self.resting())
        self.bus.emit(EventType.VOLUME, level=self.playback.volume)

    def replace_stages(self, stages: Stages, settings: TurnSettings | None = None) -> None:
        """Switch to newly loaded stages (a reload switches between turns; a turn going on is cut)."""
        self.cut_turn()
        self.stages = stages
        if settings is not None:
            self.settings = settings
            self.announcements.settings = settings.announce
        self._voices = Voices(stages.voice, stages.dialogue.language)
        if self.state not in RESTING:
            self.end_turn()

    def set_fault(self, fault: str) -> None:
        """The microphone is missing or silent (`fault` says how), or back ("")."""
        self.fault = fault
        if self.state in (State.IDLE, State.ERROR):
            self.set_state(self.resting())

    def tick(self) -> None:
        """Run queued commands and timers when no audio arrives (no microphone, or a gap)."""
        self._guarded(self._housekeeping)

    def process(self, frame: np.ndarray) -> None:
        """Feed one 80 ms frame of 16 kHz mono int16 audio."""
        if self._file_time:
            self._clock.advance(FRAME_SECONDS)
        if not self.muted:  # muted: the audio goes no further than this line
            self._guarded(self._hear, frame)
        # After the frame: this frame was heard before anything played now, so the echo canceller's
        # reference (what is played) starts with the next one, as the echo does.
        self._guarded(self._housekeeping)

    def finish(self) -> None:
        """The input ended: finish the turn (answering what was said), say what is left, and rest."""
        self._housekeeping()
        if self.state is State.LISTENING:
            if self._hearing is not None and self._hearing.recognizing:
                self._guarded(self._think)
            else:
                self.end_turn()
        if self._recognising and self.state is State.THINKING:
            self._guarded(self._recognised, True)
        while self.playback.speech is not None or self.announcements:
            if self.playback.speech is None:
                self._guarded(self._say_next_announcement)
            else:
                self._guarded(self._keep_speaking, True)

    # -- the turn's moves (also the interpreter's) ------------------------------------------------

    def resting(self) -> State:
        """The state between turns: muted, error (cannot hear) or idle."""
        return State.MUTED if self.muted else State.ERROR if self.fault else State.IDLE

    def new_turn(self) -> None:
        self.turn = uuid.uuid4().hex[:12]

    def cut_turn(self) -> None:
        """Stop whatever the speaker is saying (a streamed reply is closed) or hearing now."""
        self.playback.stop()

    def start_listening(self, follow_up: bool = False) -> None:
        self._following_up = follow_up
        self._recognising = False
        if self.assist is not None and self.assist.take_turn(self.turn):  # Home Assistant hears it
            self._hearing = self._heard_end_at = None
            self.set_state(State.LISTENING)
            return
        self._hearing = Hearing(self.stages.endpointer, self.stages.transcriber)
        self._hearing.start(self.settings.follow_up_seconds if follow_up else None)
        self.set_state(State.LISTENING, **({"follow_up": True} if follow_up else {}))

    def end_turn(self) -> None:
        self._recognising = False
        self.playback.drop()
        self._follow_up = False
        self.stages.wake.resume()
        self.turn = None
        self.set_state(self.resting())

    def set_state(self, state: State, **extra) -> None:
        self.state = state
        if state is State.ERROR:
            extra["reason"] = self.fault
        self.bus.emit(EventType.STATE, self.turn, state=state.value, muted=self.muted, **extra)

    # -- inside -----------------------------------------------------------------------------------

    def _guarded(self, step, *args) -> None:
        try:
            step(*args)
        except Exception as e:  # a failing stage costs one turn, never the daemon
            log.exception("turn failed")
            self.bus.emit(EventType.ERROR, self.turn, code=ErrorCode.TURN_FAILED, message=f"{type(e).__name__}: {e}")
            self.end_turn()

    def _housekeeping(self) -> None:
        self.interpreter.run_waiting()
        if self._recognising and self.state is State.THINKING:
            self._recognised()
        if self.playback.speech is not None:
            self._keep_speaking()
        self.announcements.add_due_timers(self.stages.dialogue, self.now)
        if self.announcements and self.playback.speech is None and self.state in RESTING:
            self._say_next_announcement()

    def _say_next_announcement(self) -> None:
        announcement = self.announcements.next()
        self.new_turn()
        self._emit(announcement.events)
        self._answer(announcement.text, language=announcement.language, volume=announcement.volume,
                     announcement=True, recording=announcement.recording)

    def _hear(self, frame: np.ndarray) -> None:
        # The wake word hears every frame, the speaker's own voice taken out, so its context is always
        # fresh. While the speaker talks it counts only through barge-in, which tells the user's voice apart.
        echo = self.stages.echo
        frame = echo.process(frame)
        detection = self.stages.wake.process(frame)
        barge_in = self.stages.barge_in
        speaking = self.state is State.SPEAKING
        if barge_in is not None and (speaking or (echo.playing and self.state in RESTING)):
            # Its guards hold until the echo of the last sample played has come (a sound server's buffer).
            interruption = barge_in.hear(frame, echo.reference, detection, echo.echo_below_db if echo.measures else None)
            if interruption is not None and speaking:
                self._interrupt(interruption)
            elif interruption is not None and interruption.wake is not None:
                self._wake(interruption.wake)
            return
        if barge_in is not None:
            barge_in.rest()
        if detection is not None and self._may_wake():
            self._wake(detection)
        elif self.state is State.LISTENING:
            self._listen(frame)

    def _may_wake(self) -> bool:
        """Without barge-in, a wake word counts when idle, while listening (it starts over, also for the
        answer to a question), thinking, and during an announcement (it cuts it: never in the user's way)."""
        return self.state in (State.IDLE, State.LISTENING, State.THINKING) or self.playback.announcing

    def _interrupt(self, interruption: Interruption) -> None:
        """The user talked over the answer: the wake word cuts it and listens at once; a stop word stops it."""
        self.bus.emit(EventType.BARGE_IN, self.turn, word=interruption.word)
        self.cut_turn()
        if interruption.wake is not None:
            self._follow_up = False
            self._wake(interruption.wake)
        else:
            self.end_turn()

    def _wake(self, detection) -> None:
        self.cut_turn()
        self.new_turn()
        self.bus.emit(EventType.WAKE, self.turn, wake_word=detection.wake_word, score=detection.score)
        if self.settings.wake_chime:
            self.playback.chime(chimes.listening(self.stages.voice.rate), self.stages.voice.rate)
        if self.stages.transcriber is None:
            self.bus.emit(EventType.ERROR, self.turn, code=ErrorCode.MODEL_MISSING, message=self.stages.missing_model)
            self._answer(self.stages.dialogue.line("needs_model"))
            return
        self.start_listening()

    def _listen_again(self) -> None:
        """The answer asked something: listen for the reply without the wake word, briefly."""
        self._follow_up = False
        self.stages.wake.resume()
        self.new_turn()
        self.start_listening(follow_up=True)

    def _listen(self, frame: np.ndarray) -> None:
        if self._hearing is None:
            self.assist.hear(frame)
            return
        heard, partial = self._hearing.hear(frame)
        if partial:
            self.bus.emit(EventType.TRANSCRIPT, self.turn, text=partial, final=False)
        if heard is Heard.ENDED:
            self._think()
        elif heard is Heard.NOTHING and self._following_up:
            self.end_turn()  # no answer to the question: fine, back to waiting for the wake word
        elif heard is Heard.NOTHING:
            self._answer(self.stages.dialogue.line("no_speech"))

    def _think(self) -> None:
        """The user stopped talking. Free recognition finishes on its worker while the pipeline goes on
        hearing (a wake word, a stop, a command act at once); the answer starts once the text is known.
        With a file for input no time passes meanwhile: it waits."""
        self._heard_end_at = time.monotonic()
        self.set_state(State.THINKING)
        self._hearing.end()
        self._recognising = True
        self._recognised(wait=self._file_time)

    def _recognised(self, wait: bool = False) -> None:
        """Answer what was said, if recognition has finished (or, `wait`, once it has)."""
        text = self._hearing.text(None if wait else 0.0)
        if text is None:
            return
        self._recognising = False
        self.bus.emit(EventType.TRANSCRIPT, self.turn, text=text, final=True)
        reply = self.stages.dialogue.reply(text)
        self.bus.emit(EventType.INTENT, self.turn, name=reply.intent, slots=reply.slots)
        self._emit(reply.events)
        if reply.command is not None:  # before the answer: heard at the new volume; a mute stops the microphone now
            self.interpreter.run(reply.command, keep_turn=True)
        if reply.stream is not None:  # thinking goes on until its first sentence comes
            self._follow_up = False  # known once its last sentence is said
            self._speak(Speech(reply.stream, self._voices.get(None), streamed=True), after_speech=True)
        else:
            self._follow_up = reply.follow_up and self.settings.follow_up_seconds > 0
            self._answer(reply.text, after_speech=True)

    def _emit(self, events) -> None:
        for kind, fields in events:
            self.bus.emit(kind, self.turn, **fields)

    def answer_with(self, text: str, recording: Recording | None = None) -> None:
        """Answer the turn with what was made elsewhere (Home Assistant's pipeline): `text` in the
        speaker's voice, or its `recording`."""
        self._answer(text, after_speech=True, recording=recording)

    def _answer(self, text: str, after_speech: bool = False, language: str | None = None,
                volume: int | None = None, announcement: bool = False, recording: Recording | None = None) -> None:
        """Say `text` (or play its `recording`): the first sentence plays while the next one is synthesised.
        After speech, the `speaking` event tells how long the user waited since they stopped talking."""
        self.bus.emit(EventType.RESPONSE, self.turn, text=text, final=True)
        speech = (Speech([text], recording, announcement=announcement, volume=volume) if recording is not None else
                  Speech.of_text(text, self._voices.get(language), announcement=announcement, volume=volume))
        self._speak(speech, after_speech)

    def _speak(self, speech: Speech, after_speech: bool = False) -> None:
        self.playback.start(speech)
        if not after_speech:
            self._heard_end_at = None
        self._keep_speaking()

    def _keep_speaking(self, to_the_end: bool = False) -> None:
        """Hand the sink the sentences whose time has come; when everything has been said and heard,
        the turn goes on. `to_the_end` (the input ended): say all of it now."""
        speech = self.playback.speech
        self.playback.play_due(on_play=self._playing, interrupted=self.interpreter.waiting, to_the_end=to_the_end)
        if self.playback.heard(to_the_end):
            self._done_speaking(speech, to_the_end)

    def _playing(self, sentence: Sentence) -> None:
        """A sentence went to the sink; the first one starts the `speaking` state."""
        if len(self.playback.speech.said) == 1:
            extra = {}
            if self._heard_end_at is not None:
                waited = self.stages.endpointer.silence_heard + time.monotonic() - self._heard_end_at
                extra["latency_ms"] = round(waited * 1000)
                self._heard_end_at = None
            self.set_state(State.SPEAKING, **extra)
        if self.stages.barge_in is not None:
            self.stages.barge_in.saying(sentence.text, self.playback.remaining)

    def _done_speaking(self, speech: Speech, to_the_end: bool) -> None:
        """Everything was said and heard: listen for the answer to a question, or end the turn."""
        self.playback.drop()
        if speech.streamed and speech.said:
            self._follow_up = speech.said[-1].endswith(FOLLOW_UP) and self.settings.follow_up_seconds > 0
        if self._follow_up and not self.muted and not to_the_end:
            self._listen_again()
        else:
            if not to_the_end and self.settings.done_chime:
                self.playback.chime(chimes.done(self.stages.voice.rate), self.stages.voice.rate)
            self.end_turn()

"""The pipeline: the one place that knows the order of a turn.

    idle ──wake word──▶ listening ──end of speech──▶ thinking ──answer──▶ speaking ──done──▶ idle

It takes 80 ms frames from any audio source and drives the stages; everything it does is told as
events on the bus. Time is counted in frames of input for a file (`AudioClock`), so a WAV file runs
exactly as a live microphone would: while an answer plays, the frames that arrive are the ones heard
during it, and the speaker's own voice never reaches the wake word.

Beside it: `ears.py` takes the speaker's own voice out of each frame and tells the wake word from
barge-in; `Playback` (playback.py) hands the sink each sentence as the one before it starts;
`Announcements` (announcements.py) holds what waits to be said; the `Interpreter` (interpreter.py)
carries out commands; the stages it drives and its settings (stages.py) are built by assembly.py.
The pipeline's thread only hands frames to the recognisers: free recognition runs on its own worker
(stt.py `FreePass`) while the user speaks, and the pipeline asks whether its result is ready without
waiting for it, so a stop, a wake word or a command acts at any moment.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Callable

import numpy as np

from . import chimes, ears
from .announcements import Announcements
from .audio import FRAME_SECONDS, AudioClock
from .barge_in import Interruption
from .dialogue import FOLLOW_UP
from .endpoint import Heard
from .hearing import Hearing
from .events import BargedIn, Error, ErrorCode, EventBus, Intent, State, StateChanged, Transcript, Volume, Wake
from .interpreter import Interpreter
from .playback import Playback
from .speech import Recording, Speech
from .stages import Stages, TurnSettings
from .voice import Voices

log = logging.getLogger(__name__)

RESTING = (State.IDLE, State.MUTED, State.ERROR)  # between turns: where a reload may switch


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
        self.playback = Playback(sink=sink, stages=lambda: self.stages, clock=self._clock, waits=self._file_time,
                                 bus=bus, turn=lambda: self.turn, voices=Voices(stages.voice, stages.dialogue.language),
                                 on_ready=lambda: self.nudge())
        self.announcements = Announcements(settings.announce, lambda message: bus.emit(
            Error(code=ErrorCode.ANNOUNCEMENT_DROPPED, message=message)))
        self.interpreter = Interpreter(self, on_reload)
        self.submit, self.call_soon, self.yield_turn = (  # from any thread
            self.interpreter.submit, self.interpreter.call_soon, self.interpreter.yield_turn)
        self._stopped_talking_at = 0.0  # when the user stopped talking (monotonic): how long they wait is told
        self._hearing: Hearing | None = None  # from listening until what was said is known
        self._following_up = False  # listening for the reply to a question the speaker asked
        self.assist = None  # Home Assistant's pipeline, when the speaker is its satellite (wyoming/satellite.py)
        # Set by whoever feeds a live microphone's frames: called from any thread when something is
        # ready to act on (a sentence, the text of what was said, a command), it has the pipeline
        # `tick` at once rather than with the next frame, up to 80 ms later.
        self.nudge: Callable[[], None] = lambda: None
        if stages.missing_model:
            log.error(stages.missing_model)
            bus.emit(Error(code=ErrorCode.MODEL_MISSING, message=stages.missing_model))

    @property
    def now(self) -> float:
        """Seconds since start: of audio heard (files), or of the wall clock (live microphone)."""
        return self._clock()

    def start(self) -> None:
        self.set_state(self.resting())
        self.bus.emit(Volume(level=self.playback.volume))

    def replace_stages(self, stages: Stages, settings: TurnSettings | None = None) -> None:
        """Switch to newly loaded stages (a reload switches between turns; a turn going on is cut)."""
        self.cut_turn()
        self.stages = stages
        if settings is not None:
            self.settings = settings
            self.announcements.settings = settings.announce
        self.playback.voices = Voices(stages.voice, stages.dialogue.language)
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

    def process(self, frame: np.ndarray, *, behind: float = 0.0) -> None:
        """Feed one 80 ms frame of 16 kHz mono int16 audio; `behind`: seconds of audio the microphone
        has captured after it (this pipeline running behind on a busy machine)."""
        if self._file_time:
            self._clock.advance(FRAME_SECONDS)
        if not self.muted:  # muted: the audio goes no further than this line
            self._guarded(self._hear, frame, behind)
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
        if self._hearing is not None and self.state is State.THINKING:
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
        if self.assist is not None and self.assist.take_turn(self.turn):  # Home Assistant hears it
            self._hearing = None
            self.set_state(State.LISTENING)
            return
        self._hearing = Hearing(self.stages.endpointer, self.stages.transcriber)
        self._hearing.start(self.settings.follow_up_seconds if follow_up else None,
                            self.stages.dialogue.expected_phrases() if follow_up else None)
        self.set_state(State.LISTENING, follow_up=follow_up or None)

    def end_turn(self) -> None:
        self._hearing = None
        self.playback.drop()
        self.stages.wake.resume()
        self.turn = None
        self.set_state(self.resting())

    def set_state(self, state: State, **extra) -> None:
        self.state = state
        if state is State.ERROR:
            extra["reason"] = self.fault
        self.bus.emit(StateChanged(state=state.value, muted=self.muted, **extra), self.turn)

    # -- inside -----------------------------------------------------------------------------------

    def _guarded(self, step, *args) -> None:
        try:
            step(*args)
        except Exception as e:  # a failing stage costs one turn, never the daemon
            log.exception("turn failed")
            self.bus.emit(Error(code=ErrorCode.TURN_FAILED, message=f"{type(e).__name__}: {e}"), self.turn)
            self.end_turn()

    def _housekeeping(self) -> None:
        self.interpreter.run_waiting()
        if self._hearing is not None and self.state is State.THINKING:  # what was said may be known now
            self._recognised()
        if self.playback.speech is not None:
            self._keep_speaking()
        self.announcements.add_due_timers(self.stages.dialogue, self.now)
        if self.announcements and self.playback.speech is None and self.state in RESTING:
            self._say_next_announcement()

    def _say_next_announcement(self) -> None:
        announcement = self.announcements.next()
        self.new_turn()
        self.bus.emit_all(announcement.events, self.turn)
        self._answer(announcement.text, language=announcement.language, volume=announcement.volume,
                     announcement=True, recording=announcement.recording)

    def _hear(self, frame: np.ndarray, behind: float) -> None:
        speaking = self.state is State.SPEAKING
        sound = ears.hear(self.stages, frame, speaking=speaking, resting=self.state in RESTING, behind=behind)
        if sound.interruption is not None and speaking:
            self._interrupt(sound.interruption)
        elif sound.interruption is not None and sound.interruption.wake is not None:
            self._wake(sound.interruption.wake)  # the echo of an answer still coming: barge-in told them apart
        elif sound.wake is not None and self._may_wake():
            self._wake(sound.wake)
        elif self.state is State.LISTENING:
            self._listen(sound.frame)

    def _may_wake(self) -> bool:
        """Without barge-in, a wake word counts when idle, while listening (it starts over, also for the
        answer to a question), thinking, and during an announcement (it cuts it: never in the user's way)."""
        return self.state in (State.IDLE, State.LISTENING, State.THINKING) or self.playback.announcing

    def _interrupt(self, interruption: Interruption) -> None:
        """The user talked over the answer: the wake word cuts it and listens at once; a stop word stops it."""
        self.bus.emit(BargedIn(word=interruption.word), self.turn)
        self.cut_turn()
        if interruption.wake is not None:
            self._wake(interruption.wake)
        else:
            self.end_turn()

    def _wake(self, detection) -> None:
        self.cut_turn()
        self.new_turn()
        self.bus.emit(Wake(wake_word=detection.wake_word, score=detection.score), self.turn)
        if self.settings.wake_chime:
            self.playback.chime(chimes.listening)
        if self.stages.transcriber is None:
            self.bus.emit(Error(code=ErrorCode.MODEL_MISSING, message=self.stages.missing_model), self.turn)
            self._answer(self.stages.dialogue.line("needs_model"))
            return
        self.start_listening()

    def _listen_again(self) -> None:
        """The answer asked something: listen for the reply without the wake word, briefly."""
        self.stages.wake.resume()
        self.new_turn()
        self.start_listening(follow_up=True)

    def _listen(self, frame: np.ndarray) -> None:
        if self._hearing is None:
            self.assist.hear(frame)
            return
        heard, partial = self._hearing.hear(frame)
        if partial:
            self.bus.emit(Transcript(text=partial, final=False), self.turn)
        if heard is Heard.ENDED:
            self._think()
        elif heard is Heard.NOTHING and self._following_up:
            self.end_turn()  # no answer to the question: fine, back to waiting for the wake word
        elif heard is Heard.NOTHING:  # no longer listening while the line is made
            self._hearing = None
            self.set_state(State.THINKING)
            self._answer(self.stages.dialogue.line("no_speech"))

    def _think(self) -> None:
        """The user stopped talking. Free recognition finishes on its worker while the pipeline goes on
        hearing (a wake word, a stop, a command act at once); the answer starts once the text is known.
        With a file for input no time passes meanwhile: it waits."""
        self._stopped_talking_at = time.monotonic() - self.stages.endpointer.silence_heard
        self.set_state(State.THINKING)
        self._hearing.end(on_ready=lambda: self.nudge())
        self._recognised(wait=self._file_time)

    def _recognised(self, wait: bool = False) -> None:
        """Answer what was said, if recognition has finished (or, `wait`, once it has)."""
        text = self._hearing.text(None if wait else 0.0)
        if text is None:
            return
        self._hearing = None
        self.bus.emit(Transcript(text=text, final=True), self.turn)
        reply = self.stages.dialogue.reply(text)
        self.bus.emit(Intent(name=reply.intent, slots=reply.slots), self.turn)
        self.bus.emit_all(reply.events, self.turn)
        if reply.command is not None:  # before the answer: heard at the new volume; a mute stops the microphone now
            self.interpreter.run(reply.command, keep_turn=True)
        if reply.stream is not None:  # thinking goes on until its first sentence comes
            self.playback.say_stream(reply.stream, self._stopped_talking_at)
            self._keep_speaking()
        else:
            self._answer(reply.text, waited_since=self._stopped_talking_at, asks=reply.follow_up)

    def answer_with(self, text: str, recording: Recording | None = None) -> None:
        """Answer the turn with what was made elsewhere (Home Assistant's pipeline): `text` in the
        speaker's voice, or its `recording`."""
        self._answer(text, recording=recording)

    def _answer(self, text: str, **how) -> None:
        """Say `text` (`how`: Playback.say's language, volume, announcement, asks, waited_since)."""
        self.playback.say(text, **how)
        self._keep_speaking()

    def _keep_speaking(self, to_the_end: bool = False) -> None:
        """Hand the sink the sentences whose time has come; when everything has been said and heard,
        the turn goes on. `to_the_end` (the input ended): say all of it now."""
        speech = self.playback.speech
        self.playback.play_due(on_start=lambda waited_ms: self.set_state(State.SPEAKING, latency_ms=waited_ms),
                               interrupted=self.interpreter.waiting, to_the_end=to_the_end)
        if self.playback.heard(to_the_end):
            self._done_speaking(speech, to_the_end)

    def _done_speaking(self, speech: Speech, to_the_end: bool) -> None:
        """Everything was said and heard: listen for the answer to a question, or end the turn."""
        self.playback.drop()
        asks = speech.said[-1].endswith(FOLLOW_UP) if speech.streamed and speech.said else speech.asks
        if asks and self.settings.follow_up_seconds > 0 and not self.muted and not to_the_end:
            self._listen_again()
        else:
            if not to_the_end and self.settings.done_chime:
                self.playback.chime(chimes.done)
            self.end_turn()

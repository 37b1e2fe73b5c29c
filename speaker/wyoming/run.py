"""One turn heard by Home Assistant's pipeline while the speaker is its satellite.

What Home Assistant tells about the run (end of speech, transcript, the text and sound of its
answer, an error) moves the speaker's own turn, on the pipeline's thread, as a local turn would
move: `thinking`, `transcript`, `response`, `speaking`, the answer played, `idle`. A run whose turn
the speaker left (a stop, a new wake word, a mute) is over: what comes for it after is ignored."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ..events import Error, ErrorCode, State, Transcript
from ..speech import Recording

if TYPE_CHECKING:
    from ..pipeline import Pipeline

VIA = "home_assistant"  # the `via` of the events of a turn Home Assistant's pipeline heard


class Run:
    """The pipeline run of `turn`; `send(event)` writes to Home Assistant (any thread)."""

    def __init__(self, *, turn: str, pipeline: Pipeline, send: Callable):
        self.turn = turn
        self.streaming = True  # the microphone goes to Home Assistant until it heard the end of speech
        self.heard = False  # Home Assistant told the end of speech: the next sound is its answer (its loop's)
        self.sounded = False  # its answer's sound (or its error) came (its loop's)
        self.answered = False  # its answer began to play
        self.over = False
        self._pipeline = pipeline
        self._send = send
        self._text = ""  # what its voice says (`synthesize`), until the sound of it comes

    # -- on the pipeline's thread ----------------------------------------------------------------------

    def current(self) -> bool:
        """Still the speaker's turn (a stop or a new wake word ended it)."""
        return not self.over and self._pipeline.turn == self.turn

    def speech_ended(self) -> None:
        """Home Assistant heard the end of speech: think until its answer comes."""
        self.streaming = False
        if self.current() and self._pipeline.state is State.LISTENING:
            self._pipeline.set_state(State.THINKING)

    def transcript(self, text: str) -> None:
        self.speech_ended()
        if self.current():
            self._pipeline.bus.emit(Transcript(text=text, final=True, via=VIA), self.turn)

    def will_say(self, text: str) -> None:
        self._text = text

    def answer(self, recording: Recording) -> None:
        """The sound of its answer came: said as a local answer is (barge-in, stop, volume)."""
        self.streaming = False
        if self.current():
            self.answered = True
            self._pipeline.answer_with(self._text, recording)

    def failed(self, code: str, message: str) -> None:
        """Its pipeline failed (nothing heard, no intent, ...): told, and answered in the speaker's own words."""
        self.streaming = False
        if not self.current():
            return
        self.over = True
        self._pipeline.bus.emit(Error(code=ErrorCode.HOME_ASSISTANT_FAILED,
                                      message=f"Home Assistant's pipeline: {code}: {message}"[:500]), self.turn)
        self._pipeline.answer_with(self._pipeline.stages.dialogue.line("not_understood"))

    def lost(self) -> None:
        """Home Assistant went away in the middle: the speaker listens itself (still listening), or
        asks again (it was thinking)."""
        if not self.current() or self.answered:
            return
        self.over = True
        if self._pipeline.state is State.LISTENING:
            self._pipeline.start_listening()
        else:
            self._pipeline.answer_with(self._pipeline.stages.dialogue.line("not_understood"))

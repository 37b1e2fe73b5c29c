"""The pipeline: the one place that knows the order of a turn.

    idle ──wake word──▶ listening ──end of speech──▶ thinking ──answer──▶ speaking ──done──▶ idle

It takes 80 ms frames from any audio source and drives the stages; everything it does is told as
events on the bus. Time is counted in frames of input, so a WAV file runs exactly as a live
microphone would: while an answer plays, the frames that arrive are the ones heard during it, and
the speaker's own voice never reaches the wake word.
"""

from __future__ import annotations

import collections
import logging
import queue
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

import numpy as np

from . import commands
from .audio import FRAME_SECONDS
from .barge_in import BargeIn, Interruption
from .commands import Command
from .config import EchoSettings, ModelMissing, Settings
from .dialogue import Dialogue
from .echo import EchoCanceller, EchoTap
from .endpoint import Endpointer, Heard
from .events import EventBus, State
from .stop_words import StopWords
from .stt import Transcriber
from .voice import VOICE_RATE, Voice
from .wake import WakeDetector

log = logging.getLogger(__name__)

PREROLL_FRAMES = 4  # ~0.3 s of audio before the speech starts goes to the recogniser too


@dataclass
class Stages:
    """The models and engines a pipeline drives; `transcriber` is None when its model is missing,
    `barge_in` when the speaker is not to be interrupted by voice."""

    wake: WakeDetector
    endpointer: Endpointer
    transcriber: Transcriber | None
    dialogue: Dialogue
    voice: Voice
    missing_model: str = ""
    echo: EchoCanceller = field(default_factory=lambda: EchoCanceller(EchoSettings()))
    barge_in: BargeIn | None = None

    @classmethod
    def load(cls, settings: Settings, language: str, reuse: "Stages | None" = None) -> "Stages":
        """Load and warm every model once. A missing wake-word or voice model raises ModelMissing;
        a missing speech model leaves the speaker able to wake and say what is missing.
        `reuse` lends its speech model (same language and speech settings)."""
        wake = WakeDetector(settings.wake)
        dialogue = Dialogue.from_settings(settings, language)
        voice = Voice(dialogue.persona.voice_settings(settings.voice), language)
        if reuse is not None:
            transcriber, missing = reuse.transcriber, reuse.missing_model
        else:
            try:
                transcriber = Transcriber(settings, language, dialogue.phrases(), dialogue.knows_word_for_word)
                missing = ""
            except ModelMissing as e:
                transcriber, missing = None, str(e)
        return cls(wake, Endpointer(settings.listen), transcriber, dialogue, voice, missing,
                   EchoCanceller(settings.echo), cls._barge_in(settings, language, wake, transcriber))

    @staticmethod
    def _barge_in(settings: Settings, language: str, wake: WakeDetector,
                  transcriber: Transcriber | None) -> BargeIn | None:
        """The wake word and stop words heard over the answer; Korean stop words share the speech model."""
        if not (settings.echo.barge_in or settings.echo.stop_words):
            return None
        wake = wake if settings.echo.barge_in else None
        if not settings.echo.stop_words or (language == "ko" and transcriber is None):
            return BargeIn(wake, settings.wake, None, None)
        model = getattr(transcriber, "_model", None)  # the loaded vosk model (Korean stop words use it too)
        other_words = transcriber.grammar if transcriber is not None else []
        heard, own = (StopWords(language, model, other_words, eager=eager) for eager in (False, True))
        return BargeIn(wake, settings.wake, heard, own)


class Pipeline:
    """Drives one turn at a time from frames of audio to a spoken answer.

    Commands (say, listen, stop, volume, mute, unmute) may come from any thread through `submit`;
    they run on the pipeline's own thread, between frames (or on `tick` when no audio flows).
    """

    def __init__(self, stages: Stages, bus: EventBus, sink, clock: Callable[[], float] | None = None,
                 on_reload: Callable[[], None] | None = None):
        self.stages = stages
        self.on_reload = on_reload
        self.bus = bus
        self.sink = EchoTap(sink, lambda: self.stages.echo)  # the echo canceller hears what is played
        self.state = State.IDLE
        self.turn: str | None = None
        self.muted = False
        self.volume = 100  # percent, applied to every answer
        self._frames = 0
        self._clock = clock or (lambda: self._frames * FRAME_SECONDS)  # files: time is audio heard
        self._commands: queue.SimpleQueue[Command | Callable[[], None]] = queue.SimpleQueue()
        self._speaking_until = 0.0
        self._heard_end_at = 0.0  # wall time when the end of speech was detected
        self._before_speech: collections.deque[np.ndarray] = collections.deque(maxlen=PREROLL_FRAMES)
        self._recognizing = False
        self._follow_up = False  # the answer being spoken asked a question
        self._following_up = False  # listening for the reply to it
        self._file_time = clock is None
        self._started = datetime.now()
        self._due_checked = -1
        self._voices = {stages.dialogue.language: stages.voice}
        self._keep_time(stages.dialogue)
        if stages.missing_model:
            log.error(stages.missing_model)
            bus.emit("error", code="model_missing", message=stages.missing_model)

    def _keep_time(self, dialogue: Dialogue) -> None:
        """With a file for input, the dialogue's clock runs with the audio too: a timer set in the
        file goes off at its time in the file."""
        if self._file_time:
            dialogue.clock = lambda: self._started + timedelta(seconds=self.now)

    @property
    def now(self) -> float:
        """Seconds since start: of audio heard (files), or of the wall clock (live microphone)."""
        return self._clock()

    def start(self) -> None:
        self._set_state(State.IDLE)
        self.bus.emit("volume", level=self.volume)

    def submit(self, name: str, payload: dict | None = None) -> bool:
        """Queue a command from any thread. A bad one is answered with an error event, and dropped."""
        try:
            self._commands.put(commands.parse(name, payload))
            return True
        except commands.CommandError as e:
            log.warning("refused command %s: %s", name, e)
            self.bus.emit("error", self.turn, code="bad_command", message=f"{name}: {e}")
            return False

    def call_soon(self, action: Callable[[], None]) -> None:
        """Run `action` on the pipeline's thread between frames (from any thread)."""
        self._commands.put(action)

    def replace_stages(self, stages: Stages) -> None:
        """Switch to newly loaded stages (after a reload); the current turn is cut."""
        self._cut_turn()
        self.stages = stages
        self._voices = {stages.dialogue.language: stages.voice}
        self._keep_time(stages.dialogue)
        if self.state not in (State.IDLE, State.MUTED):
            self._end_turn()

    def tick(self) -> None:
        """Run queued commands and timers when no audio arrives (no microphone, or a gap)."""
        self._guarded(self._housekeeping)

    def process(self, frame: np.ndarray) -> None:
        """Feed one 80 ms frame of 16 kHz mono int16 audio."""
        self._frames += 1
        self._guarded(self._housekeeping)
        if not self.muted:  # muted: the audio goes no further than this line
            self._guarded(self._hear, frame)

    def finish(self) -> None:
        """The input ended: finish the current turn (answering what was said) and return to idle."""
        self._housekeeping()
        if self.state is State.LISTENING:
            if self._recognizing:
                self._think()
            else:
                self._end_turn()
        if self.state is State.SPEAKING:
            self._end_turn()

    def _guarded(self, step, *args) -> None:
        try:
            step(*args)
        except Exception as e:  # a failing stage costs one turn, never the daemon
            log.exception("turn failed")
            self.bus.emit("error", self.turn, code="turn_failed", message=f"{type(e).__name__}: {e}")
            self._end_turn()

    def _housekeeping(self) -> None:
        while not self._commands.empty():
            command = self._commands.get()
            if isinstance(command, Command):
                self._run(command)
            else:
                command()
        if self.state is State.SPEAKING and self.now >= self._speaking_until:
            if self._follow_up and not self.muted:
                self._listen_again()
            else:
                self._end_turn()
        if self.state in (State.IDLE, State.MUTED) and int(self.now) != self._due_checked:
            self._due_checked = int(self.now)  # once a second is on time for a timer, and off the audio path
            self._announce_due()

    def _announce_due(self) -> None:
        """A timer or alarm went off: say so, even when nobody spoke (and while muted)."""
        reply = self.stages.dialogue.due()
        if reply is not None:
            self.turn = _new_turn()
            self._emit(reply.events)
            self._answer(reply.text)

    def _hear(self, frame: np.ndarray) -> None:
        # The wake word runs on every frame, on the microphone with the speaker's own voice taken
        # out, so its context is always fresh. While the speaker talks it counts only through
        # barge-in, which tells the user's voice from the speaker's own.
        echo = self.stages.echo
        frame = echo.process(frame)
        detection = self.stages.wake.process(frame)
        barge_in = self.stages.barge_in
        if self.state is State.SPEAKING and barge_in is not None:
            interruption = barge_in.hear(frame, echo.reference, detection, echo.erle_db if echo.measures else None)
            if interruption is not None:
                self._interrupt(interruption)
            return
        if barge_in is not None:
            barge_in.rest()
        if self.state is State.IDLE and detection is not None:
            self._wake(detection)
        elif self.state is State.LISTENING:
            self._listen(frame)

    def _interrupt(self, interruption: Interruption) -> None:
        """The user talked over the answer: the wake word cuts it and listens at once; a stop word stops it."""
        self.bus.emit("barge_in", self.turn, word=interruption.word)
        self._cut_turn()
        if interruption.wake is not None:
            self._follow_up = False
            self._wake(interruption.wake)
        else:
            self._end_turn()

    def _run(self, command: Command) -> None:
        name, args = command.name, command.args
        if name == "say":
            self._cut_turn()
            self.turn = _new_turn()
            self._answer(args["text"], language=args.get("language"), volume=args.get("volume"))
        elif name == "listen":
            if self.muted:
                self.bus.emit("error", code="muted", message="listen: the microphone is muted; unmute first")
                return
            self._cut_turn()
            self.turn = _new_turn()
            self._start_listening()
        elif name == "stop":
            if self.state in (State.LISTENING, State.THINKING, State.SPEAKING):
                self._cut_turn()
                self._end_turn()
        elif name == "volume":
            self.volume = max(0, min(100, args.get("level", self.volume + args.get("step", 0))))
            self.bus.emit("volume", self.turn, level=self.volume)
        elif name == "mute" and args["on"] and not self.muted:
            self._cut_turn()
            self.muted = True
            self._end_turn()
        elif name == "reload" and self.on_reload is not None:
            self.on_reload()
        elif name in ("unmute", "mute") and self.muted and not args.get("on", False):
            self.muted = False
            self.stages.wake.resume(after_silence=True)
            if self.state is State.MUTED:
                self._set_state(State.IDLE)

    def yield_turn(self, turn: str) -> None:
        """Another speaker answers this wake word: drop the turn quietly (from any thread)."""

        def drop() -> None:
            if self.turn == turn:
                self._cut_turn()
                self._end_turn()

        self.call_soon(drop)

    def _cut_turn(self) -> None:
        """Stop whatever the speaker is saying or hearing now."""
        if self.state is State.SPEAKING:
            self.sink.stop()

    def _wake(self, detection) -> None:
        self.turn = _new_turn()
        self.bus.emit("wake", self.turn, wake_word=detection.wake_word, score=detection.score)
        if self.stages.transcriber is None:
            self.bus.emit("error", self.turn, code="model_missing", message=self.stages.missing_model)
            self._answer(self.stages.dialogue.line("needs_model"))
            return
        self._start_listening()

    def _start_listening(self, follow_up: bool = False) -> None:
        self._following_up = follow_up
        self.stages.endpointer.reset(self.stages.endpointer.settings.follow_up_seconds if follow_up else None)
        self._before_speech.clear()
        self._recognizing = False
        self._set_state(State.LISTENING, **({"follow_up": True} if follow_up else {}))

    def _listen_again(self) -> None:
        """The answer asked something: listen for the reply without the wake word, briefly."""
        self._follow_up = False
        self.stages.wake.resume()
        self.turn = _new_turn()
        self._start_listening(follow_up=True)

    def _listen(self, frame: np.ndarray) -> None:
        heard = self.stages.endpointer.process(frame)
        if self._recognizing:
            partial = self.stages.transcriber.accept(frame)
            if partial:
                self.bus.emit("transcript", self.turn, text=partial, final=False)
        else:
            # Recognition starts a moment before the speech does: leading silence only confuses it.
            self._before_speech.append(frame)
            if heard is not Heard.WAITING:
                self.stages.transcriber.start(list(self._before_speech))
                self._recognizing = True
        if heard is Heard.ENDED:
            self._think()
        elif heard is Heard.NOTHING and self._following_up:
            self._end_turn()  # no answer to the question: fine, back to waiting for the wake word
        elif heard is Heard.NOTHING:
            self._answer(self.stages.dialogue.line("no_speech"))

    def _think(self) -> None:
        self._heard_end_at = time.monotonic()
        self._set_state(State.THINKING)
        text = self.stages.transcriber.finish()
        self.bus.emit("transcript", self.turn, text=text, final=True)
        reply = self.stages.dialogue.reply(text)
        self.bus.emit("intent", self.turn, name=reply.intent, slots=reply.slots)
        self._emit(reply.events)
        if reply.command is not None:
            self._obey(*reply.command)
        self._follow_up = reply.follow_up and self.stages.endpointer.settings.follow_up_seconds > 0
        self._answer(reply.text, after_speech=True)

    def _obey(self, name: str, payload: dict) -> None:
        """Run a command the user gave by voice before answering: the answer is heard at the new
        volume, and a mute stops the microphone at once (the answer is still spoken)."""
        turn = self.turn
        self._run(commands.parse(name, payload))
        self.turn = turn

    def _emit(self, events) -> None:
        for kind, fields in events:
            self.bus.emit(kind, self.turn, **fields)

    def _answer(self, text: str, after_speech: bool = False, language: str | None = None,
                volume: int | None = None) -> None:
        """Say `text`: the first sentence plays while the next ones are synthesised.
        After speech, the `speaking` event tells how long the user waited since they stopped talking."""
        self.bus.emit("response", self.turn, text=text)
        gain = (self.volume if volume is None else volume) / 100
        seconds = 0.0
        for i, samples in enumerate(self._voice(language).speak(text)):
            self.sink.play(samples if gain == 1 else (samples * gain).astype(np.int16), VOICE_RATE)
            if i == 0:
                extra = {}
                if after_speech:
                    waited = self.stages.endpointer.silence_heard + time.monotonic() - self._heard_end_at
                    extra["latency_ms"] = round(waited * 1000)
                self._set_state(State.SPEAKING, **extra)
            seconds += len(samples) / VOICE_RATE
        self._speaking_until = self.now + seconds
        if seconds == 0.0:
            self._end_turn()

    def _voice(self, language: str | None) -> Voice:
        """The voice for `language` (another language's voice is made the first time it is asked for)."""
        language = language or self.stages.dialogue.language
        if language not in self._voices:
            self._voices[language] = Voice(self.stages.voice.settings, language)
        return self._voices[language]

    def _end_turn(self) -> None:
        self._follow_up = False
        self.stages.wake.resume()
        self.turn = None
        self._set_state(State.MUTED if self.muted else State.IDLE)

    def _set_state(self, state: State, **extra) -> None:
        self.state = state
        self.bus.emit("state", self.turn, state=state.value, **extra)


def _new_turn() -> str:
    return uuid.uuid4().hex[:12]

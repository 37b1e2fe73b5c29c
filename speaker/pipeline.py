"""The pipeline: the one place that knows the order of a turn.

    idle ──wake word──▶ listening ──end of speech──▶ thinking ──answer──▶ speaking ──done──▶ idle

It takes 80 ms frames from any audio source and drives the stages; everything it does is told as
events on the bus. Time is counted in frames of input, so a WAV file runs exactly as a live
microphone would: while an answer plays, the frames that arrive are the ones heard during it, and
the speaker's own voice never reaches the wake word.

Nothing slow runs on the pipeline's thread: a speech job (speech.py) synthesises the sentences, or
reads a streamed reply, on a worker thread one sentence ahead of playback, and the pipeline hands
each one to the sink when the one before it starts playing. With a live microphone it never waits
for a sentence; with a file it does (no time passes in a file while nothing is heard).
Announcements (a `say`, a timer going off) never cut a user's turn: they wait in a bounded queue
and are said once the user has been answered, in order.
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

from . import chimes, commands
from .audio import FRAME_SECONDS
from .barge_in import BargeIn, Interruption
from .commands import Command
from .config import AnnounceSettings, EchoSettings, ModelMissing, Settings
from .dialogue import FOLLOW_UP, Dialogue
from .echo import EchoCanceller, EchoTap
from .endpoint import Endpointer, Heard
from .events import ErrorCode, EventBus, EventType, State
from .speech import Sentence, Speech, cut
from .stop_words import StopWords
from .stt import Transcriber
from .voice import Voice
from .wake import WakeDetector

log = logging.getLogger(__name__)

RESTING = (State.IDLE, State.MUTED, State.ERROR)  # between turns: where a reload may switch
PREROLL_FRAMES = 4  # ~0.3 s of audio before the speech starts goes to the recogniser too


@dataclass(frozen=True)
class Announcement:
    """Something to say that the user did not just ask for: an MQTT `say`, a timer going off."""

    text: str
    language: str | None = None
    volume: int | None = None
    interrupt: bool = False  # may cut another announcement (never a user's turn)
    events: tuple = ()  # emitted when it is said, e.g. the timer that went off


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
    announce: AnnounceSettings = field(default_factory=AnnounceSettings)
    echo: EchoCanceller = field(default_factory=lambda: EchoCanceller(EchoSettings()))
    barge_in: BargeIn | None = None

    @classmethod
    def load(cls, settings: Settings, language: str) -> "Stages":
        """Load and warm every model once. A missing wake-word or voice model raises ModelMissing;
        a missing speech model leaves the speaker able to wake and say what is missing."""
        wake = WakeDetector(settings.wake)
        dialogue = Dialogue.from_settings(settings, language)
        voice = Voice(dialogue.persona.voice_settings(settings.voice), language)
        try:
            transcriber = Transcriber(settings, language, dialogue.phrases(), dialogue.knows_word_for_word,
                                      acts=dialogue.matcher.acts)
            missing = ""
        except ModelMissing as e:
            transcriber, missing = None, str(e)
        return cls(wake, Endpointer(settings.listen), transcriber, dialogue, voice, missing, settings.announce,
                   EchoCanceller(settings.echo), cls.barge_in_for(settings, language, wake, transcriber))

    @staticmethod
    def barge_in_for(settings: Settings, language: str, wake: WakeDetector,
                     transcriber: Transcriber | None) -> BargeIn | None:
        """The wake word and stop words heard over the answer; Korean stop words share the speech model."""
        if not (settings.echo.barge_in or settings.echo.stop_words):
            return None
        wake = wake if settings.echo.barge_in else None
        if not settings.echo.stop_words or (language == "ko" and transcriber is None):
            return BargeIn(wake, settings.wake, None)
        model = transcriber.vosk_model if transcriber is not None else None
        other_words = transcriber.grammar if transcriber is not None else []
        return BargeIn(wake, settings.wake, StopWords(language, model, other_words))


class Pipeline:
    """Drives one turn at a time from frames of audio to a spoken answer.

    Commands (say, listen, stop, volume, mute, unmute) may come from any thread through `submit`;
    they run on the pipeline's own thread, between frames (or on `tick` when no audio flows).
    A `switch` (a device to turn on or off) goes to `on_switch`, the MQTT link's.
    """

    def __init__(self, stages: Stages, bus: EventBus, sink, clock: Callable[[], float] | None = None,
                 on_reload: Callable[[], None] | None = None, on_switch: Callable[[Command], None] | None = None):
        self.stages = stages
        self.on_reload = on_reload
        self.on_switch = on_switch
        self.bus = bus
        self.use_sink(sink)
        self.state = State.IDLE
        self.turn: str | None = None
        self.muted = False
        self.fault = ""  # why the speaker cannot hear (no microphone): it rests in the error state meanwhile
        self.volume = 100  # percent, applied to every answer
        self._frames = 0
        self._clock = clock or (lambda: self._frames * FRAME_SECONDS)  # files: time is audio heard
        self._commands: queue.SimpleQueue[Command | Callable[[], None]] = queue.SimpleQueue()
        self._speech: Speech | None = None  # what is being said, until it has been heard
        self._announcements: collections.deque[Announcement] = collections.deque()
        self._next_starts_at = 0.0  # when the last sentence handed to the sink starts playing
        self._speaking_until = 0.0  # ... and when it ends
        self._heard_end_at: float | None = None  # wall time the end of speech was detected, until answered
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
            bus.emit(EventType.ERROR, code=ErrorCode.MODEL_MISSING, message=stages.missing_model)

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
        self._set_state(self._resting())
        self.bus.emit(EventType.VOLUME, level=self.volume)

    def submit(self, name: str, payload: dict | None = None) -> bool:
        """Queue a command from any thread. A bad one is answered with an error event, and dropped."""
        try:
            self._commands.put(commands.parse(name, payload))
            return True
        except commands.CommandError as e:
            log.warning("refused command %s: %s", name, e)
            self.bus.emit(EventType.ERROR, self.turn, code=ErrorCode.BAD_COMMAND, message=f"{name}: {e}")
            return False

    def call_soon(self, action: Callable[[], None]) -> None:
        """Run `action` on the pipeline's thread between frames (from any thread)."""
        self._commands.put(action)

    def use_sink(self, sink) -> None:
        """Play answers on `sink` from now on (at start, or after a reload changed the sound output)."""
        self.sink = sink
        self._output = EchoTap(sink, lambda: self.stages.echo)  # all that is played: the echo canceller hears it

    def replace_stages(self, stages: Stages) -> None:
        """Switch to newly loaded stages (a reload switches between turns; a turn going on is cut)."""
        self._cut_turn()
        self.stages = stages
        self._voices = {stages.dialogue.language: stages.voice}
        self._keep_time(stages.dialogue)
        if self.state not in RESTING:
            self._end_turn()

    def set_fault(self, fault: str) -> None:
        """The microphone is missing or silent (`fault` says how), or back (""); on the pipeline's thread."""
        self.fault = fault
        if self.state in (State.IDLE, State.ERROR):
            self._set_state(self._resting())

    def _resting(self) -> State:
        """The state between turns: muted, error (cannot hear) or idle."""
        return State.MUTED if self.muted else State.ERROR if self.fault else State.IDLE

    def tick(self) -> None:
        """Run queued commands and timers when no audio arrives (no microphone, or a gap)."""
        self._guarded(self._housekeeping)

    def process(self, frame: np.ndarray) -> None:
        """Feed one 80 ms frame of 16 kHz mono int16 audio."""
        self._frames += 1
        if not self.muted:  # muted: the audio goes no further than this line
            self._guarded(self._hear, frame)
        # After the frame: this frame was heard before anything played now, so the echo canceller's
        # reference (what is played) starts with the next one, as the echo does.
        self._guarded(self._housekeeping)

    def finish(self) -> None:
        """The input ended: finish the current turn (answering what was said), say what is still
        to be said, and return to idle."""
        self._housekeeping()
        if self.state is State.LISTENING:
            if self._recognizing:
                self._guarded(self._think)
            else:
                self._end_turn()
        while self._speech is not None or self._announcements:
            if self._speech is None:
                self._guarded(self._say_next_announcement)
            else:
                self._guarded(self._keep_speaking, True)

    def _guarded(self, step, *args) -> None:
        try:
            step(*args)
        except Exception as e:  # a failing stage costs one turn, never the daemon
            log.exception("turn failed")
            self.bus.emit(EventType.ERROR, self.turn, code=ErrorCode.TURN_FAILED, message=f"{type(e).__name__}: {e}")
            self._end_turn()

    def _housekeeping(self) -> None:
        while not self._commands.empty():
            command = self._commands.get()
            if isinstance(command, Command):
                self._run(command)
            else:
                command()
        if self._speech is not None:
            self._keep_speaking()
        if int(self.now) != self._due_checked:
            self._due_checked = int(self.now)  # once a second is on time for a timer, and off the audio path
            self._check_timers()
        if self._announcements and self._speech is None and self.state in RESTING:
            self._say_next_announcement()

    def _check_timers(self) -> None:
        """A timer or alarm went off: announce it, even when nobody spoke (and while muted)."""
        reply = self.stages.dialogue.due()
        if reply is not None:
            self._announce(Announcement(reply.text, events=reply.events))

    def _announce(self, announcement: Announcement) -> None:
        """Queue an announcement: it is said once no user is being heard or answered, after those
        that came before it. `interrupt` cuts an announcement being said (and goes first)."""
        waiting = self._announcements
        if len(waiting) >= self.stages.announce.queue_limit:
            dropped = waiting.popleft()
            message = (f"{len(waiting) + 1} announcements were already waiting (announce.queue_limit): "
                       f"dropped the oldest ({len(dropped.text)} characters)")
            log.warning(message)
            self.bus.emit(EventType.ERROR, code=ErrorCode.ANNOUNCEMENT_DROPPED, message=message)
        if announcement.interrupt and self._speech is not None and self._speech.announcement:
            waiting.appendleft(announcement)
            self._cut_turn()
            self._end_turn()
        else:
            waiting.append(announcement)

    def _say_next_announcement(self) -> None:
        announcement = self._announcements.popleft()
        self.turn = _new_turn()
        self._emit(announcement.events)
        self._answer(announcement.text, language=announcement.language, volume=announcement.volume,
                     announcement=True)

    def _hear(self, frame: np.ndarray) -> None:
        # The wake word runs on every frame, on the microphone with the speaker's own voice taken
        # out, so its context is always fresh. While the speaker talks it counts only through
        # barge-in, which tells the user's voice from the speaker's own.
        echo = self.stages.echo
        frame = echo.process(frame)
        detection = self.stages.wake.process(frame)
        barge_in = self.stages.barge_in
        if self.state is State.SPEAKING and barge_in is not None:
            interruption = barge_in.hear(frame, echo.reference, detection, echo.echo_below_db if echo.measures else None)
            if interruption is not None:
                self._interrupt(interruption)
            return
        if barge_in is not None:
            barge_in.rest()
        if detection is not None and self._may_wake():
            self._wake(detection)
        elif self.state is State.LISTENING:
            self._listen(frame)

    def _may_wake(self) -> bool:
        """Without barge-in, a wake word counts when idle, while a reply is awaited, and during an
        announcement (which it cuts): announcements never keep the user from their turn."""
        announcing = self._speech is not None and self._speech.announcement
        return self.state in (State.IDLE, State.THINKING) or announcing

    def _interrupt(self, interruption: Interruption) -> None:
        """The user talked over the answer: the wake word cuts it and listens at once; a stop word stops it."""
        self.bus.emit(EventType.BARGE_IN, self.turn, word=interruption.word)
        self._cut_turn()
        if interruption.wake is not None:
            self._follow_up = False
            self._wake(interruption.wake)
        else:
            self._end_turn()

    def _run(self, command: Command) -> None:
        name, args = command.name, command.args
        if name == "say":
            text = cut(args["text"], self.stages.announce.max_characters)
            if text != args["text"]:
                log.info("say cut from %d to %d characters (announce.max_characters)", len(args["text"]), len(text))
            self._announce(Announcement(text, args.get("language"), args.get("volume"), args.get("interrupt", False)))
        elif name == "listen":
            if self.muted:
                self.bus.emit(EventType.ERROR, code=ErrorCode.MUTED, message="listen: the microphone is muted; unmute first")
                return
            self._cut_turn()
            self.turn = _new_turn()
            self._start_listening()
        elif name == "stop":
            self._announcements.clear()  # stop cuts everything, what waits too
            if self.state in (State.LISTENING, State.THINKING, State.SPEAKING) or self._speech is not None:
                self._cut_turn()
                self._end_turn()
        elif name == "volume":
            self.volume = max(0, min(100, args.get("level", self.volume + args.get("step", 0))))
            self.bus.emit(EventType.VOLUME, self.turn, level=self.volume)
        elif name == "mute" and args["on"] and not self.muted:
            self._cut_turn()
            self.muted = True
            self._end_turn()
        elif name == "reload" and self.on_reload is not None:
            self.on_reload()
        elif name == "switch" and self.on_switch is not None:
            self.on_switch(command)
        elif name in ("unmute", "mute") and self.muted and not args.get("on", False):
            self.muted = False
            self.stages.wake.resume(after_silence=True)
            if self.state is State.MUTED:
                self._set_state(self._resting())

    def yield_turn(self, turn: str) -> None:
        """Another speaker answers this wake word: drop the turn quietly (from any thread)."""

        def drop() -> None:
            if self.turn == turn:
                self._cut_turn()
                self._end_turn()

        self.call_soon(drop)

    def _cut_turn(self) -> None:
        """Stop whatever the speaker is saying (a streamed reply is closed) or hearing now."""
        if self._speech is not None:
            self._drop_speech()
            self._output.stop()

    def _wake(self, detection) -> None:
        self._cut_turn()
        self.turn = _new_turn()
        self.bus.emit(EventType.WAKE, self.turn, wake_word=detection.wake_word, score=detection.score)
        self._chime(chimes.listening, self.stages.voice.settings.wake_chime)
        if self.stages.transcriber is None:
            self.bus.emit(EventType.ERROR, self.turn, code=ErrorCode.MODEL_MISSING, message=self.stages.missing_model)
            self._answer(self.stages.dialogue.line("needs_model"))
            return
        self._start_listening()

    def _chime(self, sound, wanted: bool) -> None:
        """A soft sound (see chimes.py), if the settings want it."""
        if wanted:
            rate = self.stages.voice.rate
            self._output.play(sound(rate), rate)

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
                self.bus.emit(EventType.TRANSCRIPT, self.turn, text=partial, final=False)
            self.stages.endpointer.complete = self.stages.transcriber.complete  # a known sentence ends sooner
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
        self.bus.emit(EventType.TRANSCRIPT, self.turn, text=text, final=True)
        reply = self.stages.dialogue.reply(text)
        self.bus.emit(EventType.INTENT, self.turn, name=reply.intent, slots=reply.slots)
        self._emit(reply.events)
        if reply.command is not None:
            self._obey(*reply.command)
        if reply.stream is not None:  # thinking goes on until its first sentence comes
            self._follow_up = False  # known once its last sentence is said
            self._speak(Speech(reply.stream, self._voice(None), streamed=True), after_speech=True)
        else:
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
                volume: int | None = None, announcement: bool = False) -> None:
        """Say `text`: the first sentence plays while the next one is synthesised.
        After speech, the `speaking` event tells how long the user waited since they stopped talking."""
        self.bus.emit(EventType.RESPONSE, self.turn, text=text, final=True)
        self._speak(Speech.of_text(text, self._voice(language), announcement=announcement, volume=volume),
                    after_speech)

    def _speak(self, speech: Speech, after_speech: bool = False) -> None:
        self._drop_speech()
        self._speech = speech
        self._next_starts_at = self._speaking_until = self.now
        if not after_speech:
            self._heard_end_at = None
        self._keep_speaking()

    def _keep_speaking(self, to_the_end: bool = False) -> None:
        """Hand the sink the next sentence once the one before it plays; when everything has been
        said and heard, the turn goes on. `to_the_end` (the input ended): say all of it now."""
        speech = self._speech
        while to_the_end or self.now >= self._next_starts_at:
            sentence = self._next_sentence(speech, wait=self._file_time or to_the_end, to_the_end=to_the_end)
            if sentence is None:
                break
            self._play(speech, sentence)
        self._emit(speech.new_events())
        if speech.finished and (to_the_end or self.now >= self._speaking_until):
            self._done_speaking(speech, to_the_end)

    def _next_sentence(self, speech: Speech, wait: bool, to_the_end: bool) -> Sentence | None:
        """The next sentence if it is ready. Waiting for it (a file) ends early when a command comes."""
        while True:
            sentence = speech.next(timeout=0.05 if wait else 0)
            if sentence is not None or not wait or speech.finished or (self._commands.qsize() and not to_the_end):
                return sentence

    def _play(self, speech: Speech, sentence: Sentence) -> None:
        if speech.streamed:
            self.bus.emit(EventType.RESPONSE, self.turn, text=sentence.text, final=False)
        volume = self.volume if speech.volume is None else speech.volume
        samples = sentence.samples if volume == 100 else (sentence.samples * (volume / 100)).astype(np.int16)
        self._output.play(samples, sentence.rate)
        if len(speech.said) == 1:
            extra = {}
            if self._heard_end_at is not None:
                waited = self.stages.endpointer.silence_heard + time.monotonic() - self._heard_end_at
                extra["latency_ms"] = round(waited * 1000)
                self._heard_end_at = None
            self._set_state(State.SPEAKING, **extra)
        self._next_starts_at = max(self._speaking_until, self.now)
        self._speaking_until = self._next_starts_at + len(sentence.samples) / sentence.rate
        if self.stages.barge_in is not None:
            self.stages.barge_in.saying(sentence.text, self._speaking_until - self.now)

    def _done_speaking(self, speech: Speech, to_the_end: bool) -> None:
        """Everything was said and heard: listen for the answer to a question, or end the turn."""
        self._drop_speech()
        if speech.streamed and speech.said:
            self._follow_up = (speech.said[-1].endswith(FOLLOW_UP)
                               and self.stages.endpointer.settings.follow_up_seconds > 0)
        if self._follow_up and not self.muted and not to_the_end:
            self._listen_again()
        else:
            if not to_the_end:
                self._chime(chimes.done, self.stages.voice.settings.done_chime)
            self._end_turn()

    def _drop_speech(self) -> None:
        """Forget the speech job (closing a streamed reply); a streamed reply's whole text is told."""
        speech, self._speech = self._speech, None
        if speech is None:
            return
        speech.cancel()
        self._emit(speech.new_events())
        if speech.streamed and speech.said:
            self.bus.emit(EventType.RESPONSE, self.turn, text=" ".join(speech.said), final=True)

    def _voice(self, language: str | None) -> Voice:
        """The voice for `language` (another language's voice is made the first time it is asked for)."""
        language = language or self.stages.dialogue.language
        if language not in self._voices:
            self._voices[language] = Voice(self.stages.voice.settings, language)
        return self._voices[language]

    def _end_turn(self) -> None:
        self._drop_speech()
        self._follow_up = False
        self.stages.wake.resume()
        self.turn = None
        self._set_state(self._resting())

    def _set_state(self, state: State, **extra) -> None:
        self.state = state
        if state is State.ERROR:
            extra["reason"] = self.fault
        self.bus.emit(EventType.STATE, self.turn, state=state.value, muted=self.muted, **extra)


def _new_turn() -> str:
    return uuid.uuid4().hex[:12]

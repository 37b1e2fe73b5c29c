"""Playback: what is being said, handed to the sink a sentence at a time.

A speech job (speech.py) synthesises sentences on a worker thread one ahead of playback; each
sentence goes to the sink when the one before it starts playing, so the sink never holds more than
a sentence to come, and a stop cuts at once. Everything played also reaches the echo canceller
(`EchoTap`), and the text of each sentence barge-in. The voice of each language is made once
(`Voices`). With a live microphone playback never waits for a sentence; with a file it does (no time
passes in a file while nothing is heard).
"""

from __future__ import annotations

import time
from typing import Callable, Iterable

import numpy as np

from .echo import EchoTap
from .events import EventBus, Response
from .speech import Recording, Sentence, Speech
from .stages import Stages
from .voice import Voices


class Playback:
    """Schedules the sentences of one `Speech` on a sink, at `volume` percent, in the `voices` of
    its language. A streamed reply is told on the bus as it is said (each sentence, then its whole
    text), with its own events. `on_ready` is called (on a worker) when a sentence is ready to play."""

    def __init__(self, *, sink, stages: Callable[[], Stages], clock: Callable[[], float], waits: bool,
                 bus: EventBus, turn: Callable[[], str | None], voices: Voices, on_ready: Callable[[], None]):
        self.volume = 100
        self.voices = voices
        self.speech: Speech | None = None  # being said, until it has been heard
        self._waited_since: float | None = None  # when the user stopped talking (monotonic), until answered
        self._bus = bus
        self._turn = turn
        self._stages = stages
        self._clock = clock
        self._waits = waits  # file input: wait for each sentence (no time passes meanwhile)
        self._on_ready = on_ready
        self._next_starts_at = 0.0  # when the last sentence handed to the sink starts playing
        self._speaking_until = 0.0  # ... and when it ends
        self.use_sink(sink)

    def use_sink(self, sink) -> None:
        """Play on `sink` from now on (at start, or after a reload changed the sound output)."""
        self.sink = sink
        self._output = EchoTap(sink, lambda: self._stages().echo)

    @property
    def announcing(self) -> bool:
        return self.speech is not None and self.speech.announcement

    @property
    def remaining(self) -> float:
        """Seconds until what was handed to the sink has played."""
        return self._speaking_until - self._clock()

    def say(self, text: str, *, language: str | None = None, waited_since: float | None = None,
            recording: Recording | None = None, **how) -> None:
        """Say `text` (told as the response), or play its `recording`; `waited_since`: when the user
        stopped talking (monotonic); `how`: the Speech's announcement, volume, asks."""
        self._bus.emit(Response(text=text, final=True), self._turn())
        speech = (Speech([text], recording, on_ready=self._on_ready, **how) if recording is not None else
                  Speech.of_text(text, self.voices.get(language), on_ready=self._on_ready, **how))
        self.start(speech, waited_since)

    def say_stream(self, stream: Iterable[str], waited_since: float | None = None) -> None:
        """Say a reply that is still being written, in the language's own voice."""
        self.start(Speech(stream, self.voices.get(None), streamed=True, on_ready=self._on_ready), waited_since)

    def start(self, speech: Speech, waited_since: float | None = None) -> Speech | None:
        """Say `speech` from now; returns the speech it replaced (already cancelled), if any."""
        dropped = self.drop()
        self.speech, self._waited_since = speech, waited_since
        self._next_starts_at = self._speaking_until = self._clock()
        return dropped

    def play_due(self, *, on_start: Callable[[int | None], None], interrupted: Callable[[], bool],
                 to_the_end: bool = False) -> None:
        """Hand the sink every sentence whose time has come (`to_the_end`: all of them, now); the first
        one calls `on_start` with how many ms the user waited for it (None: not an answer to speech).
        Waiting for a sentence (file input) ends early when `interrupted()`."""
        speech = self.speech
        while to_the_end or self._clock() >= self._next_starts_at:
            sentence = self._next_sentence(wait=self._waits or to_the_end, to_the_end=to_the_end, interrupted=interrupted)
            if sentence is None:
                break
            if speech.streamed:
                self._bus.emit(Response(text=sentence.text, final=False), self._turn())
            self._play(sentence)
            if self._stages().barge_in is not None:
                self._stages().barge_in.saying(sentence.text, self.remaining)
            if len(speech.said) == 1:
                waited = self._waited_since
                on_start(None if waited is None else round((time.monotonic() - waited) * 1000))
        self._bus.emit_all(speech.new_events(), self._turn())

    def heard(self, to_the_end: bool = False) -> bool:
        """Every sentence was taken and has played (`to_the_end`: taken is enough)."""
        return self.speech.finished and (to_the_end or self._clock() >= self._speaking_until)

    def chime(self, make: Callable[[int], np.ndarray]) -> None:
        """Play a chime (chimes.py) at the rate of the speaker's voice."""
        rate = self.voices.get(None).rate
        self._output.play(make(rate), rate)

    def drop(self) -> Speech | None:
        """Forget the speech job (closing a streamed reply); what was handed to the sink plays on.
        A streamed reply's whole text is told."""
        speech, self.speech = self.speech, None
        if speech is not None:
            speech.cancel()
            self._bus.emit_all(speech.new_events(), self._turn())
            if speech.streamed and speech.said:
                self._bus.emit(Response(text=" ".join(speech.said), final=True), self._turn())
        return speech

    def stop(self) -> Speech | None:
        """Cut what is being said, the sound too; returns the speech cut, if any."""
        speech = self.drop()
        if speech is not None:
            self._output.stop()
        return speech

    def _next_sentence(self, *, wait: bool, to_the_end: bool, interrupted: Callable[[], bool]) -> Sentence | None:
        speech = self.speech
        while True:
            sentence = speech.next(timeout=0.05 if wait else 0)
            if sentence is not None or not wait or speech.finished or (interrupted() and not to_the_end):
                return sentence

    def _play(self, sentence: Sentence) -> None:
        volume = self.volume if self.speech.volume is None else self.speech.volume
        samples = sentence.samples if volume == 100 else (sentence.samples * (volume / 100)).astype(np.int16)
        self._output.play(samples, sentence.rate)
        self._next_starts_at = max(self._speaking_until, self._clock())
        self._speaking_until = self._next_starts_at + len(sentence.samples) / sentence.rate

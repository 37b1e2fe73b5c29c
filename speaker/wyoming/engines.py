"""The speaker's stages as the Wyoming services use them, from the services' worker threads.

The voice is thread-safe and shared with the pipeline. Speech to text has its own `Transcriber`
(same model, grammar and free recognition as the pipeline's; its state is one utterance at a time,
so it is not the pipeline's), rebuilt when a reload replaces the pipeline's. The companion is the
pipeline's own `Dialogue`: its replies run on the pipeline's thread, between frames, so memory has
one writer, and what it answers is told on the bus like a local turn (intent, response, commands)."""

from __future__ import annotations

import concurrent.futures
import threading
from typing import TYPE_CHECKING, Iterator

import numpy as np
from wyoming.info import (AsrModel, AsrProgram, Attribution, HandleModel, HandleProgram, Info, TtsProgram,
                          TtsVoice)

from .. import __version__
from ..events import Intent, Response, Transcript
from ..stt import Transcriber, describe_engine

if TYPE_CHECKING:
    from ..assembly import Assembly

ATTRIBUTION = Attribution(name="speaker", url="")  # the project has no public address yet
REPLY_SECONDS = 60.0  # longest wait for the companion's answer (a language model's included)
VIA = "wyoming"  # the `via` of the events a Wyoming request causes


class Unavailable(Exception):
    """The service cannot do it now (no speech model, the pipeline is not answering): the message says why."""


class Engines:
    """What the running `assembly` can do for a Wyoming client."""

    def __init__(self, assembly: Assembly):
        self._assembly = assembly
        self._lock = threading.Lock()  # one utterance at a time through the transcriber
        self._transcriber: Transcriber | None = None
        self._built_for: object = None  # the pipeline's transcriber ours was made beside

    @property
    def language(self) -> str:
        return self._assembly.pipeline.stages.dialogue.language

    def info(self) -> Info:
        """What the services offer: the recogniser, the voice and the companion, in the speaker's language."""
        stages, settings = self._assembly.pipeline.stages, self._assembly.settings
        language = self.language
        asr_models = []
        if stages.transcriber is not None:
            asr_models.append(AsrModel(name=stages.transcriber.engine.name, attribution=ATTRIBUTION, installed=True,
                                       description=describe_engine(settings, language), version=None,
                                       languages=[language]))
        persona = stages.dialogue.persona.name
        return Info(
            asr=[AsrProgram(name="speaker-stt", attribution=ATTRIBUTION, installed=bool(asr_models),
                            description="speaker's offline speech to text (its sentences, then free recognition)",
                            version=__version__, models=asr_models)],
            tts=[TtsProgram(name="speaker-tts", attribution=ATTRIBUTION, installed=True,
                            description="speaker's voice", version=__version__,
                            voices=[TtsVoice(name=stages.voice.name, attribution=ATTRIBUTION, installed=True,
                                             description=stages.voice.name, version=None, languages=[language])])],
            handle=[HandleProgram(name="speaker-companion", attribution=ATTRIBUTION, installed=True,
                                  description=f"{persona}, speaker's companion", version=__version__,
                                  models=[HandleModel(name=persona, attribution=ATTRIBUTION, installed=True,
                                                      description=f"{persona}, who remembers what she is told", version=None,
                                                      languages=[language])])])

    def warm_up(self) -> None:
        """Load the recogniser before the first request needs it (any thread)."""
        try:
            with self._lock:
                self._current_transcriber()
        except Unavailable:
            pass

    def transcribe(self, samples: np.ndarray) -> str:
        """What is said in 16 kHz mono int16 `samples` ('' if nothing known). Blocks: a worker's thread."""
        with self._lock:
            return self._current_transcriber().transcribe(samples)

    def _current_transcriber(self) -> Transcriber:
        stages = self._assembly.pipeline.stages
        if stages.transcriber is None:
            raise Unavailable(stages.missing_model or "no speech model")
        if self._built_for is not stages.transcriber:
            self._transcriber = Transcriber.for_dialogue(self._assembly.settings, stages.dialogue)
            self._built_for = stages.transcriber
        return self._transcriber

    def voice_rate(self) -> int:
        return self._assembly.pipeline.stages.voice.rate

    def speak(self, text: str) -> Iterator[np.ndarray]:
        """The voice's audio of `text`, sentence by sentence (int16 at `voice_rate()`). Blocks."""
        return self._assembly.pipeline.stages.voice.speak(text)

    def reply(self, text: str) -> tuple[bool, str]:
        """The companion's answer to `text` (understood?, what it says), memory and all. Blocks."""
        done: concurrent.futures.Future = concurrent.futures.Future()
        pipeline = self._assembly.pipeline

        def on_the_pipelines_thread() -> None:
            try:
                reply = pipeline.stages.dialogue.reply(text)
                bus = self._assembly.bus
                bus.emit(Transcript(text=text, final=True, via=VIA))
                bus.emit(Intent(name=reply.intent, slots=reply.slots, via=VIA))
                bus.emit_all(reply.events)
                if reply.command is not None:
                    pipeline.interpreter.run(reply.command)
                done.set_result(reply)
            except Exception as e:  # told to the client; the pipeline goes on
                done.set_exception(e)

        pipeline.call_soon(on_the_pipelines_thread)
        try:
            reply = done.result(timeout=REPLY_SECONDS)
        except concurrent.futures.TimeoutError:
            raise Unavailable("the speaker did not answer in time") from None
        answer = " ".join(reply.stream) if reply.stream is not None else reply.text
        self._assembly.bus.emit(Response(text=answer, final=True, via=VIA))
        return reply.intent is not None or reply.stream is not None, answer

"""One Wyoming connection: describe, transcribe (audio in, transcript out), synthesize (text in,
audio out) and handle (a transcript in, the companion's answer out). A bad event is answered with
an `error` event; the connection reads on."""

from __future__ import annotations

import asyncio
import logging

import numpy as np
from wyoming.asr import Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event, async_write_event
from wyoming.handle import Handled, NotHandled
from wyoming.info import Describe
from wyoming.ping import Ping, Pong

from ..audio import SAMPLE_RATE, resample
from .engines import Engines, Unavailable
from .framing import BadEvent, read_event

log = logging.getLogger(__name__)

MAX_AUDIO_SECONDS = 60  # one request's audio; Home Assistant ends a request long before
MAX_TEXT = 2000  # characters of a text to say or to answer
CHUNK_SAMPLES = 1024  # samples per audio-chunk sent back
RATES = (8000, 96000)  # sample rates accepted, inclusive


class Session:
    """Answers the events of one client, in order."""

    def __init__(self, engines: Engines, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.engines = engines
        self.reader, self.writer = reader, writer
        self._format: tuple[int, int] | None = None  # (rate, channels) of the audio being received
        self._audio: list[bytes] = []
        self._audio_bytes = 0
        self._language: str | None = None

    async def run(self) -> None:
        try:
            while True:
                try:
                    event = await read_event(self.reader)
                except BadEvent as e:
                    await self._error(e.code, str(e))
                    continue
                if event is None:
                    break
                try:
                    await self._handle(event)
                except BadEvent as e:
                    await self._error(e.code, str(e))
                except Unavailable as e:
                    await self._error("unavailable", str(e))
                except (ConnectionError, asyncio.IncompleteReadError):
                    raise
                except Exception as e:  # a failing request costs that request, not the connection
                    log.exception("wyoming: %s failed", event.type[:100])
                    await self._error("failed", f"{type(e).__name__}: {e}")
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away
        finally:
            self.writer.close()

    async def _handle(self, event: Event) -> None:
        kind, data = event.type, event.data
        if Describe.is_type(kind):
            await self._send(self.engines.info().event())
        elif Ping.is_type(kind):
            await self._send(Pong(text=_text(data, "text", required=False)).event())
        elif kind == "transcribe":
            self._language = self._known_language(data)
        elif AudioStart.is_type(kind):
            self._format = audio_format(data)
            self._audio, self._audio_bytes = [], 0
        elif AudioChunk.is_type(kind):
            self._take(event.payload or b"")
        elif AudioStop.is_type(kind):
            await self._transcribe()
        elif kind == "synthesize":
            await self._synthesize(data)
        elif Transcript.is_type(kind):
            await self._answer(data)
        else:
            raise BadEvent("unsupported", f"{kind[:100]!r} is not an event this service answers")

    def _known_language(self, data: dict) -> str:
        language = data.get("language")
        if language is not None and (not isinstance(language, str) or language.split("-")[0] != self.engines.language):
            raise BadEvent("unsupported", f"this speaker speaks {self.engines.language} only")
        return self.engines.language

    def _take(self, payload: bytes) -> None:
        if self._format is None:
            raise BadEvent("bad_event", "audio-chunk before audio-start")
        rate, channels = self._format
        self._audio_bytes += len(payload)
        if self._audio_bytes > MAX_AUDIO_SECONDS * rate * channels * 2:
            self._format, self._audio = None, []
            raise BadEvent("too_large", f"over {MAX_AUDIO_SECONDS} seconds of audio")
        self._audio.append(payload)

    async def _transcribe(self) -> None:
        if self._format is None:
            raise BadEvent("bad_event", "audio-stop before audio-start")
        (rate, channels), audio = self._format, b"".join(self._audio)
        self._format, self._audio, self._language = None, [], None
        samples = np.frombuffer(audio[:len(audio) - len(audio) % (2 * channels)], "<i2")
        if channels > 1:
            samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
        samples = resample(samples.astype(np.int16), rate, SAMPLE_RATE)
        text = await asyncio.get_running_loop().run_in_executor(None, self.engines.transcribe, samples)
        await self._send(Transcript(text=text, language=self.engines.language).event())

    async def _synthesize(self, data: dict) -> None:
        text = _text(data, "text")
        voice = data.get("voice")
        if voice is not None and not isinstance(voice, dict):
            raise BadEvent("bad_event", "voice must be a JSON object")
        if voice and voice.get("language") is not None:
            self._known_language(voice)
        loop, rate = asyncio.get_running_loop(), self.engines.voice_rate()
        sentences = self.engines.speak(text)  # each one made on a worker's thread
        await self._send(AudioStart(rate=rate, width=2, channels=1).event())
        while (samples := await loop.run_in_executor(None, next, sentences, None)) is not None:
            audio = samples.astype("<i2").tobytes()
            for start in range(0, len(audio), CHUNK_SAMPLES * 2):
                await self._send(AudioChunk(rate=rate, width=2, channels=1,
                                            audio=audio[start:start + CHUNK_SAMPLES * 2]).event())
        await self._send(AudioStop().event())

    async def _answer(self, data: dict) -> None:
        text = _text(data, "text")
        self._known_language(data)
        understood, answer = await asyncio.get_running_loop().run_in_executor(None, self.engines.reply, text)
        await self._send((Handled if understood else NotHandled)(text=answer).event())

    async def _error(self, code: str, message: str) -> None:
        log.warning("wyoming: refused an event (%s): %s", code, message)
        await self._send(Error(text=message, code=code).event())

    async def _send(self, event: Event) -> None:
        await async_write_event(event, self.writer)


def _text(data: dict, key: str, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise BadEvent("bad_event", f"{key} must be text")
    if len(value) > MAX_TEXT:
        raise BadEvent("too_large", f"{key} is over {MAX_TEXT} characters")
    return value


def audio_format(data: dict) -> tuple[int, int]:
    rate, width, channels = data.get("rate"), data.get("width"), data.get("channels")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (rate, width, channels)):
        raise BadEvent("bad_event", "audio-start needs whole numbers rate, width and channels")
    if width != 2 or not 1 <= channels <= 8 or not RATES[0] <= rate <= RATES[1]:
        raise BadEvent("unsupported", f"audio must be 16-bit, 1-8 channels, {RATES[0]}-{RATES[1]} Hz")
    return rate, channels

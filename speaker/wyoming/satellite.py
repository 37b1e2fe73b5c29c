"""The speaker as a satellite of Home Assistant's Assist (`[wyoming] satellite`).

Home Assistant's `wyoming` integration connects to the satellite's port and says `run-satellite`.
The wake word stays local: only after it (or a button's `listen`) does the microphone stream to
Home Assistant's pipeline (`run-pipeline`, speech to text to its voice), whose events drive the turn
(run.py). `assist_satellite.announce` (its sound) is queued and said like a local announcement;
its timers ring like local ones. Without Home Assistant (not connected, gone, paused) the speaker
hears and answers on its own, says so once (`error` home_assistant_lost), and goes back when it
returns (`home_assistant_restored`)."""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import TYPE_CHECKING, Callable

import numpy as np
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event, async_write_event
from wyoming.info import Attribution, Describe, Info, Satellite as SatelliteInfo, WakeModel, WakeProgram
from wyoming.ping import Ping, Pong
from wyoming.pipeline import PipelineStage, RunPipeline
from wyoming.satellite import PauseSatellite, RunSatellite
from wyoming.snd import Played

from .. import __version__
from ..announcements import Announcement
from ..audio import SAMPLE_RATE
from ..config import WyomingSettings
from ..events import (Error as ErrorEvent, ErrorCode, Event as BusEvent, HomeAssistantRestored, State, StateChanged,
                      Timer)
from ..speech import Recording
from .framing import MAX_LINE, BadEvent, read_event
from .run import Run
from .session import audio_format

if TYPE_CHECKING:
    from ..pipeline import Pipeline

log = logging.getLogger(__name__)

ATTRIBUTION = Attribution(name="speaker", url="")
PATIENCE = 15.0  # seconds without a word from Home Assistant (it pings every 2-5 s) before it counts as gone
LISTEN_SECONDS = 15.0  # the longest the microphone streams in one run
ANSWER_SECONDS = 30.0  # the longest a run waits for Home Assistant's answer
MAX_SOUND_SECONDS = 120  # of an answer's or an announcement's sound
RESTING = {State.IDLE.value, State.MUTED.value, State.ERROR.value}


class Satellite:
    """Serves Home Assistant's satellite connection on `settings.host`:`settings.satellite_port`;
    `pipeline` asks it to take each turn (`take_turn`, `hear`) and tells it how turns go (as a
    listener of the bus)."""

    def __init__(self, *, settings: WyomingSettings, name: str, pipeline: Pipeline):
        self.settings = settings
        self.name = name
        self._pipeline = pipeline
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._outbox: asyncio.Queue | None = None  # to Home Assistant, while it runs the satellite
        self._run: Run | None = None  # the latest run: what Home Assistant tells is about it, even once it is over
        self._lost_told = False  # the fallback was reported, once until Home Assistant returns (the pipeline's
        # thread's alone: a loss and a return are told in the order the connections went and came)
        self._timers: dict[str, tuple[str, int]] = {}  # Home Assistant's timers: id -> (name, seconds)

    @property
    def linked(self) -> bool:
        return self._outbox is not None

    @property
    def serving(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        return self._server.sockets[0].getsockname()[1] if self._server else self.settings.satellite_port

    async def serve(self) -> None:
        """Listen (on the service's loop); OSError if the port cannot be had."""
        self._loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._connected, self.settings.host, self.settings.satellite_port,
                                                  limit=MAX_LINE)
        log.info("wyoming: a satellite of Home Assistant's Assist on %s:%d", self.settings.host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._outbox is not None:
            self._outbox.put_nowait(None)

    # -- from the pipeline's thread ------------------------------------------------------------------

    def take_turn(self, turn: str) -> bool:
        """Stream this turn to Home Assistant's pipeline; False when it is not there (the speaker hears it)."""
        if self._run is not None and not self._run.over:
            self._end_run(self._run)
        if not self.linked:
            self._tell_lost("is not connected")
            return False
        self._run = run = Run(turn=turn, pipeline=self._pipeline, send=self._send)
        self._send(RunPipeline(start_stage=PipelineStage.ASR, end_stage=PipelineStage.TTS).event())
        self._loop.call_soon_threadsafe(self._watch, run)
        return True

    def hear(self, frame: np.ndarray) -> None:
        """A frame of the turn's microphone (16 kHz mono int16), streamed until the end of speech."""
        if self._run is not None and self._run.streaming:
            self._send(AudioChunk(rate=SAMPLE_RATE, width=2, channels=1, audio=frame.astype("<i2").tobytes()).event())

    def __call__(self, event: BusEvent) -> None:
        """The bus: a run is over when its turn rests or another begins (its answer played: `played`)."""
        run = self._run
        if run is None or run.over or not isinstance(event, StateChanged):
            return
        if event.turn == run.turn and event.state not in RESTING:
            return
        self._end_run(run)

    def _end_run(self, run: Run) -> None:
        if run.answered:
            self._send(Played().event())
        elif run.streaming:
            self._send(AudioStop().event())
        run.over, run.streaming = True, False

    def _tell_lost(self, why: str) -> None:
        if not self._lost_told:
            self._lost_told = True
            message = f"Home Assistant {why}: the speaker hears and answers on its own until it returns"
            log.warning(message)
            self._pipeline.bus.emit(ErrorEvent(code=ErrorCode.HOME_ASSISTANT_LOST, message=message))

    def _on_pipeline(self, action: Callable, *args) -> None:
        """`action(*args)` on the pipeline's thread, between frames (any thread)."""
        self._pipeline.call_soon(functools.partial(action, *args))

    def _send(self, event: Event) -> None:
        """Queue `event` for Home Assistant (any thread); dropped when it is not there."""
        outbox, loop = self._outbox, self._loop
        if outbox is not None and loop is not None:
            loop.call_soon_threadsafe(outbox.put_nowait, event)

    # -- on the service's loop -----------------------------------------------------------------------

    def _watch(self, run: Run) -> None:
        def stop_streaming() -> None:
            if run.streaming and not run.over:
                run.streaming = False
                self._send(AudioStop().event())

        def give_up() -> None:
            if not run.answered and not run.over:
                run.failed("timeout", f"no answer within {ANSWER_SECONDS:.0f} s")

        self._loop.call_later(LISTEN_SECONDS, stop_streaming)
        self._loop.call_later(ANSWER_SECONDS, self._pipeline.call_soon, give_up)

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        outbox: asyncio.Queue = asyncio.Queue()
        sending = asyncio.create_task(self._write(outbox, writer))
        sound: list | None = None  # an answer's or an announcement's sound: [rate, channels, bytes...]
        try:
            while True:
                try:
                    timeout = PATIENCE if self._outbox is outbox else None
                    event = await asyncio.wait_for(read_event(reader), timeout)
                except BadEvent as e:
                    outbox.put_nowait(Error(text=str(e), code=e.code).event())
                    continue
                except TimeoutError:
                    log.warning("wyoming: Home Assistant said nothing for %.0f s", PATIENCE)
                    break
                if event is None:
                    break
                try:
                    sound = self._handle(event, outbox, sound)
                except BadEvent as e:
                    outbox.put_nowait(Error(text=str(e), code=e.code).event())
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:  # one connection's failure is never the speaker's
            log.exception("wyoming: the satellite's connection failed")
        finally:
            if self._outbox is outbox:
                self._unlink("went away")
            outbox.put_nowait(None)
            await sending
            writer.close()

    async def _write(self, outbox: asyncio.Queue, writer: asyncio.StreamWriter) -> None:
        while (event := await outbox.get()) is not None:
            try:
                await async_write_event(event, writer)
            except (ConnectionError, RuntimeError):
                return

    def _handle(self, event: Event, outbox: asyncio.Queue, sound: list | None) -> list | None:
        """One event from Home Assistant; returns the sound being received, if any."""
        kind, data, run = event.type, event.data, self._run
        log.debug("wyoming: Home Assistant says %s (a run: %s)", kind[:100], run is not None)
        call = self._on_pipeline
        if Describe.is_type(kind):
            outbox.put_nowait(self.info().event())
        elif Ping.is_type(kind):
            outbox.put_nowait(Pong(text=data.get("text") if isinstance(data.get("text"), str) else None).event())
        elif RunSatellite.is_type(kind):
            self._link(outbox)
        elif self._outbox is not outbox:  # what follows is for the connection that runs the satellite
            raise BadEvent("bad_event", f"{kind[:100]!r} before run-satellite")
        elif PauseSatellite.is_type(kind):
            self._unlink("paused the satellite (muted in Home Assistant, or shutting down)")
        elif kind == "voice-stopped" and run is not None:
            run.heard = True
            call(run.speech_ended)
        elif kind == "transcript" and run is not None:
            run.heard = True
            call(run.transcript, _text(data))
        elif kind == "synthesize" and run is not None:
            run.heard = True
            call(run.will_say, _text(data))
        elif kind == "error" and run is not None:
            run.sounded = True  # its run is over at Home Assistant
            call(run.failed, str(data.get("code"))[:100], _text(data))
        elif AudioStart.is_type(kind):
            return [*audio_format(data), 0]
        elif AudioChunk.is_type(kind) and sound is not None:
            sound.append(event.payload or b"")
            sound[2] += len(event.payload or b"")
            if sound[2] > MAX_SOUND_SECONDS * sound[0] * sound[1] * 2:
                raise BadEvent("too_large", f"over {MAX_SOUND_SECONDS} seconds of sound")
        elif AudioStop.is_type(kind) and sound is not None:
            self._heard_sound(_recording(sound), run)
            return None
        elif kind.startswith("timer-"):
            self._timer(kind, data)
        elif kind not in ("transcribe", "voice-started", "voice-stopped", "transcript", "synthesize", "error",
                          "audio-chunk", "audio-stop"):
            raise BadEvent("unsupported", f"{kind[:100]!r} is not an event the satellite answers")
        return sound

    def _heard_sound(self, recording: Recording, run: Run | None) -> None:
        """The sound of the run's answer (once it heard the end of speech: dropped if the user stopped
        it meanwhile), else an announcement of Home Assistant's (queued as a local one: after the user's turn)."""
        if run is not None and run.heard and not run.sounded:
            run.sounded = True
            self._on_pipeline(run.answer, recording)
        else:
            self._on_pipeline(self._pipeline.announcements.add, Announcement("", recording=recording))

    def _timer(self, kind: str, data: dict) -> None:
        """Home Assistant's timers: one that finishes rings as a local one does (an announcement, a `timer` event)."""
        timer = str(data.get("id"))[:100]
        if kind == "timer-started":
            seconds = data.get("total_seconds")
            name = data.get("name") if isinstance(data.get("name"), str) else ""
            self._timers[timer] = (name[:100], seconds if isinstance(seconds, int) and seconds >= 0 else 0)
            if len(self._timers) > 100:  # a bounded memory of a stranger's timers
                self._timers.pop(next(iter(self._timers)))
        elif kind == "timer-cancelled":
            self._timers.pop(timer, None)
        elif kind == "timer-finished":
            name, seconds = self._timers.pop(timer, ("", 0))

            def ring() -> None:
                dialogue = self._pipeline.stages.dialogue
                text = dialogue.line("timer_done", timer=dialogue.lang.describe_timer(name, seconds))
                self._pipeline.announcements.add(Announcement(text, events=(
                    Timer(kind="timer", name=name or None, seconds=seconds),)))

            self._pipeline.call_soon(ring)

    def _link(self, outbox: asyncio.Queue) -> None:
        """Home Assistant runs the satellite (again): the next turn goes to its pipeline."""
        if self._outbox is not None and self._outbox is not outbox:
            self._outbox.put_nowait(None)  # an older connection: Home Assistant came back
        self._outbox = outbox
        log.info("wyoming: Home Assistant runs the satellite")
        self._on_pipeline(self._tell_restored)  # after the loss an older connection's end queued, if any

    def _tell_restored(self) -> None:
        if self._lost_told:
            self._lost_told = False
            self._pipeline.bus.emit(HomeAssistantRestored(message="Home Assistant is back: its pipeline hears the next turn"))

    def _unlink(self, why: str) -> None:
        self._outbox = None
        run = self._run
        self._on_pipeline(self._tell_lost, why)
        if run is not None:
            self._pipeline.call_soon(run.lost)

    def info(self) -> Info:
        """A satellite with the speaker's own wake words (Home Assistant's integration adds it as one)."""
        names = list(self._pipeline.stages.wake.names)
        language = self._pipeline.stages.dialogue.language
        return Info(
            satellite=SatelliteInfo(name=self.name, attribution=ATTRIBUTION, installed=True,
                                    description="speaker: a satellite with its own wake word, offline when alone",
                                    version=__version__, area=None, has_vad=False, active_wake_words=names,
                                    max_active_wake_words=len(names), supports_trigger=False),
            wake=[WakeProgram(name="speaker-wake", attribution=ATTRIBUTION, installed=True,
                              description="the speaker's own wake words", version=__version__,
                              models=[WakeModel(name=n, attribution=ATTRIBUTION, installed=True, description=n,
                                                version=None, languages=[language], phrase=n.replace("_", " "))
                                      for n in names])])


def _text(data: dict) -> str:
    value = data.get("text")
    return value[:2000] if isinstance(value, str) else ""


def _recording(sound: list) -> Recording:
    """Received 16-bit sound ([rate, channels, length, bytes...]) as mono samples."""
    rate, channels, _, *pieces = sound
    audio = b"".join(pieces)
    samples = np.frombuffer(audio[:len(audio) - len(audio) % (2 * channels)], "<i2")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return Recording(samples=samples.astype(np.int16), rate=rate)

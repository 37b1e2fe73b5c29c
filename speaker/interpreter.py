"""The command interpreter: what each command (commands.py) does to the pipeline, one method each.

Commands run on the pipeline's thread, between frames, whichever door they came through (MQTT, a
button, the command line, the user's own voice)."""

from __future__ import annotations

import logging
import queue
from typing import TYPE_CHECKING, Callable

from .announcements import Announcement
from .commands import Command, CommandError, CommandName, parse
from .events import Device, Error, ErrorCode, State, Volume

if TYPE_CHECKING:
    from .pipeline import Pipeline

log = logging.getLogger(__name__)
BUSY = (State.LISTENING, State.THINKING, State.SPEAKING)


class Interpreter:
    """Carries out commands on `pipeline`, queued from any thread; `on_reload` re-reads the settings."""

    def __init__(self, pipeline: Pipeline, on_reload: Callable[[], None] | None = None):
        self._pipeline = pipeline
        self._on_reload = on_reload
        self._waiting: queue.SimpleQueue[Command | Callable[[], None]] = queue.SimpleQueue()

    def submit(self, name: str, payload: dict | None = None) -> bool:
        """Queue a command (any thread). A bad one is answered with an error event, and dropped."""
        try:
            self._waiting.put(parse(name, payload))
            self._pipeline.nudge()
            return True
        except CommandError as e:
            log.warning("refused command %s: %s", name, e)
            p = self._pipeline
            p.bus.emit(Error(code=ErrorCode.BAD_COMMAND, message=f"{name}: {e}"), p.turn)
            return False

    def call_soon(self, action: Callable[[], None]) -> None:
        """Run `action` on the pipeline's thread between frames (any thread)."""
        self._waiting.put(action)
        self._pipeline.nudge()

    def waiting(self) -> int:
        return self._waiting.qsize()

    def run_waiting(self) -> None:
        """Everything queued, in order (on the pipeline's thread)."""
        while not self._waiting.empty():
            command = self._waiting.get()
            if isinstance(command, Command):
                self.run(command)
            else:
                command()

    def run(self, command: Command, *, keep_turn: bool = False) -> None:
        """Carry out `command`; `keep_turn`: the user's own, said in a turn that goes on to answer."""
        turn, args = self._pipeline.turn, command.args
        match command.name:
            case CommandName.SAY:
                self.say(args)
            case CommandName.LISTEN:
                self.listen()
            case CommandName.STOP:
                self.stop()
            case CommandName.VOLUME:
                self.volume(args.get("level"), args.get("step", 0))
            case CommandName.MUTE if args["on"]:
                self.mute()
            case CommandName.MUTE | CommandName.UNMUTE:
                self.unmute()
            case CommandName.RELOAD:
                self.reload()
            case CommandName.SWITCH:
                self.switch(args["device"], args["on"])
        if keep_turn:
            self._pipeline.turn = turn

    def yield_turn(self, turn: str) -> None:
        """Another speaker answers this wake word: drop the turn quietly (any thread)."""

        def drop() -> None:
            p = self._pipeline
            if p.turn == turn:
                p.cut_turn()
                p.end_turn()

        self.call_soon(drop)

    def say(self, args: dict) -> None:
        """An announcement, said once no user is being heard or answered, after those that came
        before it; `interrupt` cuts an announcement being said (and goes first)."""
        p = self._pipeline
        cuts = args.get("interrupt", False) and p.playback.announcing
        p.announcements.add(Announcement.of_say(args, p.settings.announce.max_characters), first=cuts)
        if cuts:
            p.cut_turn()
            p.end_turn()

    def listen(self) -> None:
        p = self._pipeline
        if p.muted:
            p.bus.emit(Error(code=ErrorCode.MUTED, message="listen: the microphone is muted; unmute first"))
            return
        p.cut_turn()
        p.new_turn()
        p.start_listening()

    def stop(self) -> None:
        """Stop cuts everything: what is heard or said, and what waits to be said."""
        p = self._pipeline
        p.announcements.clear()
        if p.state in BUSY or p.playback.speech is not None:
            p.cut_turn()
            p.end_turn()

    def volume(self, level: int | None, step: int) -> None:
        p = self._pipeline
        p.playback.volume = max(0, min(100, p.playback.volume + step if level is None else level))
        p.bus.emit(Volume(level=p.playback.volume), p.turn)

    def mute(self) -> None:
        p = self._pipeline
        if not p.muted:
            p.cut_turn()
            p.muted = True
            p.end_turn()

    def unmute(self) -> None:
        p = self._pipeline
        if p.muted:
            p.muted = False
            p.stages.wake.resume(after_silence=True)
            if p.state is State.MUTED:
                p.set_state(p.resting())

    def reload(self) -> None:
        if self._on_reload is not None:
            self._on_reload()

    def switch(self, device: str, on: bool) -> None:
        """A device of the home to turn on or off: told as an event (the MQTT link carries it out)."""
        p = self._pipeline
        p.bus.emit(Device(name=device, on=on), p.turn)

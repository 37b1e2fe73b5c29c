"""Announcements: what the speaker says that the user did not just ask for (an MQTT `say`, a timer
going off). They never cut a user's turn: they wait in a bounded queue, in order, and are said once
the user has been answered."""

from __future__ import annotations

import collections
import logging
from dataclasses import KW_ONLY, dataclass
from typing import Callable

from .config import AnnounceSettings
from .events import Event
from .speech import Recording, cut

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Announcement:
    """One thing to announce; `events` are emitted when it is said (e.g. the timer that went off)."""

    text: str
    _: KW_ONLY
    language: str | None = None
    volume: int | None = None
    interrupt: bool = False  # may cut another announcement (never a user's turn)
    events: tuple[Event, ...] = ()
    recording: Recording | None = None  # its sound, already made (Home Assistant's announce): said as is

    @classmethod
    def of_say(cls, args: dict, max_characters: int) -> "Announcement":
        """A validated `say` command's announcement, its text cut at a sentence to `max_characters`."""
        text = cut(args["text"], max_characters)
        if text != args["text"]:
            log.info("say cut from %d to %d characters (announce.max_characters)", len(args["text"]), len(text))
        return cls(text, language=args.get("language"), volume=args.get("volume"), interrupt=args.get("interrupt", False))


class Announcements:
    """The waiting announcements, oldest first; beyond `settings.queue_limit` the oldest is dropped
    and `on_dropped(message)` says so."""

    def __init__(self, settings: AnnounceSettings, on_dropped: Callable[[str], None]):
        self.settings = settings
        self._waiting: collections.deque[Announcement] = collections.deque()
        self._on_dropped = on_dropped
        self._timers_checked = -1  # the second they were last checked

    def __bool__(self) -> bool:
        return bool(self._waiting)

    def add(self, announcement: Announcement, first: bool = False) -> None:
        """Queue `announcement` last, or `first` (one that cuts the announcement being said)."""
        if len(self._waiting) >= self.settings.queue_limit:
            dropped = self._waiting.popleft()
            message = (f"{len(self._waiting) + 1} announcements were already waiting (announce.queue_limit): "
                       f"dropped the oldest ({len(dropped.text)} characters)")
            log.warning(message)
            self._on_dropped(message)
        if first:
            self._waiting.appendleft(announcement)
        else:
            self._waiting.append(announcement)

    def add_due_timers(self, dialogue, now: float) -> None:
        """Once a second (on time for a timer, and off the audio path): the timers and alarms that
        went off become announcements, said even when nobody spoke (and while muted)."""
        if int(now) != self._timers_checked:
            self._timers_checked = int(now)
            reply = dialogue.due()
            if reply is not None:
                self.add(Announcement(reply.text, events=reply.events))

    def next(self) -> Announcement:
        return self._waiting.popleft()

    def clear(self) -> None:
        self._waiting.clear()

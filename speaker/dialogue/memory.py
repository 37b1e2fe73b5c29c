"""What the speaker keeps across restarts: your name, the facts you told it, the people in your life,
timers and alarms.

One small JSON file (`dialogue.json` in the state directory), written whole to a temporary file
and renamed over the old one after every change (0600, in a 0700 folder), and read again whenever
another process (`speaker chat`, `speaker ask`) changed it. A damaged file is never overwritten: it
is kept aside under a name with the time, the entries that still make sense are kept, and the
damage is reported in `problems`. When the folder cannot be written, everything stays in memory
and the save is tried again later. Without a state directory everything is kept in memory only.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import time
from dataclasses import KW_ONLY, asdict, dataclass
from datetime import datetime
from pathlib import Path

log = logging.getLogger(__name__)

FILE = "dialogue.json"
RETRY_SECONDS = 30.0  # how often a failed save is tried again
FILE_MODE, FOLDER_MODE = 0o600, 0o700


@dataclass
class Fact:
    subject: str  # as said, without "my": "friend amy's birthday", "동생 생일"
    text: str  # how to say it back: "your friend Amy's birthday is on Saturday"
    who: str = ""  # the person it is about, as named when told ("Tom", "brother", "형"); "" if not one
    _: KW_ONLY
    about: str = ""  # what about them: works, lives, moving, likes, studies
    value: str = ""  # where or what: "Daegu", "strawberries"
    when: str = ""  # "next month", "다음 달"


@dataclass
class Person:
    name: str  # "Amy"; "" when only the relation is known
    relation: str  # "friend", "동생"; "" when only the name is known


@dataclass
class Timer:
    name: str  # "" when unnamed
    seconds: int  # as asked for
    due: datetime


@dataclass
class Alarm:
    due: datetime


@dataclass(frozen=True)
class Problem:
    """Something wrong with the state file, for an `error` event."""

    code: str  # state_damaged, state_unreadable, state_unwritable
    message: str


def _text(value) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__}")
    return value


def _fact(entry) -> Fact:
    return Fact(_text(entry["subject"]), _text(entry["text"]),
                **{key: _text(entry.get(key, "")) for key in ("who", "about", "value", "when")})


def _person(entry) -> Person:
    return Person(_text(entry.get("name", "")), _text(entry.get("relation", "")))


def _timer(entry) -> Timer:
    seconds = entry["seconds"]
    if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds <= 0:
        raise ValueError(f"seconds must be a positive whole number, got {seconds!r}")
    return Timer(_text(entry["name"]), seconds, datetime.fromisoformat(_text(entry["due"])))


def _alarm(entry) -> Alarm:
    return Alarm(datetime.fromisoformat(_text(entry["due"])))


ENTRIES = {"facts": _fact, "people": _person, "timers": _timer, "alarms": _alarm}


class Memory:
    def __init__(self, state_dir: Path | None):
        self.path = state_dir / FILE if state_dir else None
        self.user_name = ""
        self.facts: list[Fact] = []
        self.people: list[Person] = []
        self.timers: list[Timer] = []
        self.alarms: list[Alarm] = []
        self.last: str | None = None  # what was remembered last: a fact's subject, or "" for the name
        self.problems: list[Problem] = []  # not yet reported; `take_problems` empties it
        self._seen: tuple | None = None
        self._unsaved = False  # a change that could not be written yet
        self._retry_at = 0.0
        self._protected = False  # the file exists but could not be read: never write over it
        self.refresh()

    def take_problems(self) -> list[Problem]:
        problems, self.problems = self.problems, []
        return problems

    def _problem(self, code: str, message: str) -> None:
        log.warning("%s", message)
        self.problems.append(Problem(code, message))

    def refresh(self) -> None:
        """Read the file again if someone else changed it since; retry a save that failed."""
        if self.path is None:
            return
        if self._unsaved:  # what is in memory is newer than the file
            if time.monotonic() >= self._retry_at:
                self.save()
            return
        try:
            seen = os.stat(self.path)
        except (FileNotFoundError, NotADirectoryError):  # no file yet (saving will say if it cannot make one)
            return
        except OSError as e:
            self._unreadable(e)
            return
        if (seen.st_mtime_ns, seen.st_size, seen.st_mode) == self._seen:
            return
        self._seen = (seen.st_mtime_ns, seen.st_size, seen.st_mode)
        if stat.S_ISDIR(seen.st_mode):
            self._damaged("it is a folder, not a file")
            return
        try:
            raw = self.path.read_bytes()
        except OSError as e:
            self._unreadable(e)
            return
        self._protected = False
        try:
            data = json.loads(raw.decode("utf-8"))
        except ValueError as e:  # not UTF-8, not JSON, cut short
            self._damaged(f"it is not readable JSON ({e})")
            return
        if not isinstance(data, dict):
            self._damaged(f"it holds {type(data).__name__ if data is not None else 'null'}, not an object")
            return
        self._load(data)

    def _load(self, data: dict) -> None:
        """Take every entry that makes sense; if any did not, keep the file aside and save the rest."""
        bad = []
        self.user_name, self.last = data.get("user_name", ""), data.get("last")
        if not isinstance(self.user_name, str):
            bad.append("user_name")
            self.user_name = ""
        if not (self.last is None or isinstance(self.last, str)):
            bad.append("last")
            self.last = None
        for key, read in ENTRIES.items():
            entries = data.get(key, [])
            if not isinstance(entries, list):
                bad.append(key)
                entries = []
            kept = []
            for n, entry in enumerate(entries):
                try:
                    kept.append(read(entry))
                except (ValueError, KeyError, TypeError, AttributeError):
                    bad.append(f"{key}[{n}]")  # where, not what: the entry may hold what the user said
            setattr(self, key, kept)
        if bad:
            self._damaged(f"some entries make no sense: {', '.join(bad)}; kept the others")
            self.save()

    def _damaged(self, why: str) -> None:
        """Move the damaged file aside (never overwrite what the user might want back)."""
        aside = self.path.with_name(f"{self.path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        n = 1
        while aside.exists():
            aside = aside.with_name(f"{aside.name.split('~')[0]}~{n}")
            n += 1
        try:
            os.replace(self.path, aside)
        except OSError as e:
            self._protected = True
            self._problem("state_damaged", f"{self.path} is damaged ({why}) and could not be moved aside ({e}); "
                                           "keeping everything in memory and leaving the file as it is")
            return
        self._seen = None
        self._problem("state_damaged", f"{self.path} was damaged ({why}); kept it as {aside.name}")

    def _unreadable(self, error: OSError) -> None:
        self._protected = True
        self._problem("state_unreadable", f"{self.path} could not be read ({error}); "
                                          "keeping everything in memory and leaving the file as it is")

    def save(self) -> None:
        """Write everything (atomically); if that fails, keep it in memory and try again later."""
        if self.path is None:
            return
        if self._protected:
            self._unsaved = True
            return
        data = {
            "user_name": self.user_name,
            "facts": [asdict(f) for f in self.facts],
            "people": [asdict(p) for p in self.people],
            "timers": [{**asdict(t), "due": t.due.isoformat()} for t in self.timers],
            "alarms": [{"due": a.due.isoformat()} for a in self.alarms],
            "last": self.last,
        }
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            _make_folder(self.path.parent)
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
            with os.fdopen(descriptor, "w", encoding="utf-8") as f:
                f.write(json.dumps(data, ensure_ascii=False, indent=1))
                f.flush()
                os.fsync(f.fileno())
            os.chmod(temporary, FILE_MODE)
            os.replace(temporary, self.path)
        except OSError as e:
            try:
                temporary.unlink(missing_ok=True)
            except OSError:
                pass
            if not self._unsaved:  # once per failure, not at every retry
                self._problem("state_unwritable", f"could not save {self.path} ({e}); keeping everything in memory "
                                                  f"and trying again every {RETRY_SECONDS:g} s")
            self._unsaved = True
            self._retry_at = time.monotonic() + RETRY_SECONDS
            return
        if self._unsaved:
            log.warning("saved %s again", self.path)
        self._unsaved = False
        seen = os.stat(self.path)
        self._seen = (seen.st_mtime_ns, seen.st_size, seen.st_mode)

    def next_due(self) -> datetime | None:
        return min([t.due for t in self.timers] + [a.due for a in self.alarms], default=None)


def _make_folder(folder: Path) -> None:
    """The state folder, private to the user the speaker runs as."""
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    if stat.S_IMODE(folder.stat().st_mode) & 0o077 and folder.stat().st_uid == os.getuid():
        os.chmod(folder, FOLDER_MODE)

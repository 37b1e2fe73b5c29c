"""What the speaker keeps across restarts: your name, the facts you told it, timers and alarms.

One small JSON file (`dialogue.json` in the state directory), written whole and atomically after
every change, and read again whenever another process (`speaker chat`, `speaker ask`) changed it.
Without a state directory everything is kept in memory only.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

log = logging.getLogger(__name__)

FILE = "dialogue.json"


@dataclass
class Fact:
    subject: str  # as said, without "my": "sister's birthday", "동생 생일"
    text: str  # how to say it back: "your sister's birthday is on Friday"


@dataclass
class Timer:
    name: str  # "" when unnamed
    seconds: int  # as asked for
    due: datetime


@dataclass
class Alarm:
    due: datetime


class Memory:
    def __init__(self, state_dir: Path | None):
        self.path = state_dir / FILE if state_dir else None
        self.user_name = ""
        self.facts: list[Fact] = []
        self.timers: list[Timer] = []
        self.alarms: list[Alarm] = []
        self.last: str | None = None  # what was remembered last: a fact's subject, or "" for the name
        self._seen: tuple | None = None
        self.refresh()

    def refresh(self) -> None:
        """Read the file again if someone else changed it since."""
        if self.path is None:
            return
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return
        if (stat.st_mtime_ns, stat.st_size) == self._seen:
            return
        self._seen = (stat.st_mtime_ns, stat.st_size)
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self.user_name = data.get("user_name", "")
            self.facts = [Fact(**f) for f in data.get("facts", [])]
            self.timers = [Timer(t["name"], t["seconds"], datetime.fromisoformat(t["due"])) for t in data.get("timers", [])]
            self.alarms = [Alarm(datetime.fromisoformat(a["due"])) for a in data.get("alarms", [])]
            self.last = data.get("last")
        except (ValueError, KeyError, TypeError) as e:
            log.warning("%s is damaged (%s); starting with an empty memory", self.path, e)

    def save(self) -> None:
        if self.path is None:
            return
        data = {
            "user_name": self.user_name,
            "facts": [asdict(f) for f in self.facts],
            "timers": [{**asdict(t), "due": t.due.isoformat()} for t in self.timers],
            "alarms": [{"due": a.due.isoformat()} for a in self.alarms],
            "last": self.last,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(temporary, self.path)
        stat = self.path.stat()
        self._seen = (stat.st_mtime_ns, stat.st_size)

    def next_due(self) -> datetime | None:
        return min([t.due for t in self.timers] + [a.due for a in self.alarms], default=None)

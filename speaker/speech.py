"""Speech: one thing being said, its sentences synthesised on a worker thread one ahead of playback.

The pipeline takes each sentence when the one before it starts playing, so the first sentence
plays while the next is made and long text is synthesised only as playback needs it. The
sentences may be a list or a reply streamed from a language model (anything iterable; a
`close()` of it is called on cancel). The pipeline's thread never waits here unless it asks to.
"""

from __future__ import annotations

import collections
import logging
import threading
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

from .events import Event
from .voice import Voice, split_sentences

log = logging.getLogger(__name__)
_workers: set[threading.Thread] = set()  # synthesising now: waited for before the process exits


def wait_for_workers(timeout: float) -> None:
    """Let sentences being synthesised finish (within `timeout` seconds): a thread left inside the
    neural voice's native code when Python exits aborts the process (Python 3.13)."""
    for worker in list(_workers):
        worker.join(timeout)


@dataclass(frozen=True)
class Sentence:
    text: str
    samples: np.ndarray  # int16 mono at `rate`
    rate: int


class Recording:
    """Audio already made (Home Assistant's voice, an announcement's sound), said as one sentence in
    place of a voice's synthesis: `Speech([text], Recording(samples=..., rate=...))`."""

    def __init__(self, *, samples: np.ndarray, rate: int):
        self.samples = samples
        self.rate = rate

    def synthesize(self, text: str) -> np.ndarray:
        return self.samples


class Speech:
    """Sentences made ready on a worker thread, one ahead of what the pipeline has taken."""

    def __init__(self, sentences: Iterable[str], voice: Voice | Recording, *, announcement: bool = False,
                 volume: int | None = None, streamed: bool = False, asks: bool = False,
                 on_ready: Callable[[], None] = lambda: None):
        """`on_ready` is called (on the worker) as each sentence becomes ready."""
        self.asks = asks  # the answer asks the user something: listen for the reply without the wake word
        self.announcement = announcement  # not a user's turn: another announcement may cut it
        self.streamed = streamed  # a reply that comes sentence by sentence (told as it is said)
        self.volume = volume  # percent for this speech alone (None: the speaker's volume)
        self.said: list[str] = []  # sentences taken for playback so far
        self._sentences = sentences
        self._voice = voice
        self._on_ready = on_ready
        self._events_seen = 0
        self._ready: collections.deque[Sentence] = collections.deque()
        self._wanted = 1
        self._done = False
        self._failure: Exception | None = None
        self._cancelled = False
        self._lock = threading.Condition()
        worker = threading.Thread(target=self._work, name="speech", daemon=True)
        _workers.add(worker)
        worker.start()

    @classmethod
    def of_text(cls, text: str, voice: Voice, **kwargs) -> "Speech":
        return cls(split_sentences(text), voice, **kwargs)

    def next(self, timeout: float = 0.0) -> Sentence | None:
        """The next sentence, waiting up to `timeout` seconds for it; None if it is not ready yet
        or there is none left (see `finished`). A failure of the voice is raised here."""
        with self._lock:
            if timeout > 0:
                self._lock.wait_for(lambda: self._ready or self._done, timeout)
            if self._ready:
                sentence = self._ready.popleft()
                self._wanted += 1  # make the one after it while this one plays
                self._lock.notify_all()
                self.said.append(sentence.text)
                return sentence
            if self._done and self._failure is not None:
                failure, self._failure = self._failure, None
                raise failure
            return None

    @property
    def finished(self) -> bool:
        """Every sentence has been taken."""
        with self._lock:
            return self._done and not self._ready

    def new_events(self) -> list[Event]:
        """Events the streamed reply added since the last call."""
        events = list(getattr(self._sentences, "events", ()))
        new, self._events_seen = events[self._events_seen:], len(events)
        return new

    def cancel(self) -> None:
        """Stop making sentences and close a streamed reply; returns at once."""
        with self._lock:
            self._cancelled = True
            self._lock.notify_all()
        close = getattr(self._sentences, "close", None)
        if close is not None:
            close()

    def _work(self) -> None:
        try:
            sentences = iter(self._sentences)
            while True:
                with self._lock:
                    self._lock.wait_for(lambda: self._wanted > 0 or self._cancelled)
                    if self._cancelled:
                        return
                text = next(sentences, None)  # a streamed reply blocks here until its next sentence
                if text is None or self._cancelled:
                    return
                samples = self._voice.synthesize(text)
                with self._lock:
                    self._ready.append(Sentence(text, samples, self._voice.rate))
                    self._wanted -= 1
                    self._lock.notify_all()
                self._on_ready()
        except Exception as e:  # handed to the pipeline's thread, which reports it
            if not self._cancelled:
                log.debug("speech failed", exc_info=True)
                self._failure = e
        finally:
            with self._lock:
                self._done = True
                self._lock.notify_all()
            _workers.discard(threading.current_thread())


def cut(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters at the end of a sentence (inside the first
    sentence at a space, if even that one is too long)."""
    if len(text) <= limit:
        return text
    kept = ""
    for sentence in split_sentences(text):
        longer = f"{kept} {sentence}" if kept else sentence
        if len(longer) > limit:
            break
        kept = longer
    if kept:
        return kept
    head = text[:limit]
    return head.rsplit(" ", 1)[0] if " " in head.strip() else head

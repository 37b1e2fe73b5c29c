"""Dialogue: from the text the user said to the answer the speaker gives.

Sentences live in `sentences/<language>.yaml` (Home Assistant's hassil format, partly reused from
home-assistant-intents) and are matched with hassil; the lines the speaker says live in a persona
file (`personas/<language>.toml` by default). Skills do what only code can (the clock, timers,
alarms, remembering, volume); what no sentence matches may go to a local language model.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import random
import threading
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from hassil import TextSlotList

from ..commands import Command, parse
from ..events import Error, Event, Timer
from . import companion, intents, languages, memory_people, memory_thread, registry, skills
from .matcher import Heard, Matcher, Unsure, through_free_text
from .meaning import meanings_for
from .memory import Memory
from .persona import Persona, builtin, find

if TYPE_CHECKING:  # the language model's client (and the HTTP and TLS modules under it) loads only if one is set
    from .llm import Chat, SentenceStream

HERE = Path(__file__).parent
HISTORY = 6  # turns of the conversation a language model is shown
HISTORY_CHARACTERS = 300  # of each thing said in them
MEMORY_ITEMS = 8  # the newest facts and people the model is shown: the whole prompt stays under ~600
# tokens, well inside the 2048 of the installed server's context, leaving room for the answer
FOLLOW_UP = "?"  # a reply ending with a question is answered without the wake word


@dataclass(frozen=True)
class Reply:
    """The outcome of one turn: what was understood, what to say, and what else to do."""

    intent: str | None
    slots: dict = field(default_factory=dict)
    text: str = ""
    _: KW_ONLY
    command: Command | None = None  # what the user asked by voice, e.g. a volume of 50
    follow_up: bool = False  # the reply asked a question: listen again without the wake word
    events: tuple[Event, ...] = ()  # to emit: a timer that fired, an error
    stream: SentenceStream | None = None  # the language model's answer, sentence by sentence (then text is "")


class Dialogue:
    """Understands sentences in one language and answers them in the persona's words."""

    def __init__(self, language: str, *, clock: Callable[[], datetime] = datetime.now, seed: int | None = None,
                 persona: Persona | None = None, state_dir: Path | None = None, chat: Chat | None = None,
                 devices: tuple[str, ...] = ()):
        self.language = language
        self.lang = languages.get(language)  # what is specific to the language: numbers, times, dates
        self.clock = clock
        self.matcher = matcher_for(language, tuple(devices))
        self.intents = self.matcher.intents
        self.meanings = meanings_for(language, tuple(devices))
        self.persona = persona or builtin(language)
        self.memory = Memory(state_dir)
        self.chat = chat
        self.random = random.Random(seed)
        self.last_said = ""
        self._last_line: dict[str, str] = {}
        self._history: collections.deque[tuple[str, str]] = collections.deque(maxlen=HISTORY)
        self.awaiting: skills.Awaiting | None = None  # the speaker asked before doing something
        self.thread = memory_thread.Thread()  # this conversation: what was shared, the user's name now and then

    @classmethod
    def from_settings(cls, settings, language: str | None = None,
                      clock: Callable[[], datetime] = datetime.now) -> "Dialogue":
        """The dialogue the settings describe: persona, state directory, language model."""
        language = language or settings.language
        llm = settings.llm
        chat = None
        if llm.url:
            from .llm import Chat

            chat = Chat(llm)
        devices = tuple(name for device in settings.mqtt.devices for name in device.names)
        return cls(language, clock=clock, persona=find(settings.persona, language), state_dir=settings.state_dir(),
                   chat=chat, devices=devices)

    def now(self) -> datetime:
        return self.clock()

    def phrases(self) -> list[str]:
        """Every sentence meant for speech, written out in words (to teach the speech recogniser)."""
        return intents.phrases(self.intents, said_numbers=self.lang.said_numbers)

    def expected_phrases(self) -> list[str] | None:
        """The sentences the speaker expects for an answer now (after "Shall I turn it off?": yes, no,
        never mind), to be listened for alone; None when any sentence may come. A no or a never mind
        in all its forms (heard wrongly, it changes nothing); a yes, which carries out the command, only
        as the whole speech grammar has it (a small grammar heard "싫어" as "꺼 줘" and "좋아요")."""
        if not self._asked():
            return None
        yes = [p for p in self.phrases() if self.matcher.recognize(p) and self.intent(p) == "SpeakerYes"]
        return yes + intents.phrases(self.intents, only=frozenset({"SpeakerNo", "HassNevermind"}))

    def _asked(self) -> bool:
        """Whether the speaker asked a yes / no question that is still open."""
        return self.awaiting is not None and self.now() <= self.awaiting.until

    def knows_word_for_word(self, text: str) -> Heard | None:
        """Whether the speech recogniser's grammar could have meant `text`: Heard.ACTS (a sentence that
        changes something), Heard.ANSWERS (one that only answers), or None (free text does not count).
        A yes to the speaker's question changes something (a yes to "Shall I turn it off?" mutes)."""
        heard = self.matcher.heard(text)
        if heard is Heard.ANSWERS and self._asked() and self.intent(text) == "SpeakerYes":
            return Heard.ACTS
        return heard

    def understand(self, text: str) -> tuple[str, dict] | None:
        """The intent of `text` and its slots: a known sentence (or a question about what it was told);
        else its meaning (a known sentence with free text in it says less than the meaning layer, but
        may add slots to the same intent: a timer's name); else that sentence with free text. None if
        none, or if the text is only the beginning of sentences of several intents ("what time")."""
        match = self.matcher.recognize(text)
        slots = {e.name: _plain(e.value) for e in match.entities_list} if match is not None else {}
        if match is not None and (not through_free_text(match) or companion.recalls(self, match.intent.name, slots)):
            return match.intent.name, slots  # (a question about what it was told, in free text, is one)
        meant = self.meanings.understand(text)
        if meant is not None and not self.matcher.unfinished(text):
            same = match is not None and match.intent.name == meant.intent
            return meant.intent, {**slots, **meant.slots} if same else meant.slots
        return (match.intent.name, slots) if match is not None else None

    def intent(self, text: str) -> str | None:
        """The intent `text` means, however it is understood (free text, its meaning); None if none."""
        understood = self.understand(text)
        return understood[0] if understood is not None else None

    def reply(self, text: str) -> Reply:
        """Answer one sentence."""
        self.memory.refresh()
        name, said = memory_people.understand(self, text) or (None, None)  # about a person, in any shape
        slots: dict = {}
        if said is None:
            name, slots = self.understand(text) or (None, {})
        if name == "SpeakerYes" and self._asked() and isinstance(self.awaiting.yes, str):
            text = self.awaiting.yes  # a yes to a command heard unsure: that command, said now
            name, slots = self.understand(text) or (None, {})
        if name not in registry.ANSWERS:
            self.awaiting = None  # anything else said drops the question
        if said is None and isinstance(text, Unsure) and name in registry.ACTS - registry.ASKS_FIRST:
            name, slots, said = registry.ASKED_FIRST, {"heard": str(text)}, skills.ask_first(self, text)
        if said is None and name is not None:
            said = registry.run(self, name, slots, text)
        if said is None and (tone := self.meanings.tone(text)) is not None:  # a feeling no intent claims
            name, slots = companion.TONE, {"tone": tone}
            said = registry.run(self, name, slots, text)
        if said is None:  # nothing matched, or the companion found it was not for it after all
            reply = self._converse(text)
        else:
            said = self.thread.follow(self.lang, name, slots, text, said)
            spoken = self.line(said.key, **said.values)
            if said.then is not None:
                spoken += " " + self.line(said.then.key, **said.then.values)
            command = parse(*said.command) if said.command else None
            reply = Reply(name, slots, spoken, command=command, follow_up=spoken.endswith(FOLLOW_UP))
        if self.memory.problems:
            reply = dataclasses.replace(reply, events=reply.events + self.problems())
        if reply.stream is None:  # a stream records what it said when it ends
            self._said(text, reply.text, repeat=reply.intent == "SpeakerRepeat")
        self.thread.said(reply.text, self.memory.user_name, self.memory.people[-1] if self.memory.people else None)
        return reply

    def answered(self, yes: bool) -> skills.Said | None:
        """A yes or a no to the question the speaker asked (None: it asked nothing, or too long ago)."""
        awaiting, self.awaiting = self.awaiting, None
        if awaiting is None or self.now() > awaiting.until:
            return None
        return awaiting.yes if yes else awaiting.no

    def _said(self, text: str, answer: str, repeat: bool = False) -> None:
        if not repeat:
            self.last_said = answer
        if text.strip() and answer:
            self._history.append((text, answer))

    def due(self) -> Reply | None:
        """The timers and alarms whose time has come, told (and forgotten); None if none has."""
        memory = self.memory
        memory.refresh()
        next_due = memory.next_due()
        now = self.now()
        if next_due is None or next_due > now:
            return None
        said, events = [], []
        for timer in [t for t in memory.timers if t.due <= now]:
            memory.timers.remove(timer)
            said.append(self.line("timer_done", timer=skills.describe_timer(timer, self.language)))
            events.append(Timer(kind="timer", name=timer.name or None, seconds=timer.seconds))
        for alarm in [a for a in memory.alarms if a.due <= now]:
            memory.alarms.remove(alarm)
            time = self.lang.spoken_time(alarm.due)
            said.append(self.line("alarm_done", time=time, **{"is": self.lang.copula(time)}))
            events.append(Timer(kind="alarm", name=None, at=alarm.due.isoformat(timespec="minutes")))
        memory.save()  # if it fails, the memory keeps trying: what was due is still told now
        self.last_said = " ".join(said)
        return Reply(None, {}, self.last_said, events=tuple(events) + self.problems())

    def problems(self) -> tuple[Error, ...]:
        """`error` events for what went wrong with the state file since last asked (each told once)."""
        return tuple(Error(code=p.code, message=p.message) for p in self.memory.take_problems())

    def line(self, key: str, **values) -> str:
        """One of the persona's lines for `key` at this time of day, not the same as last time.
        Lines that use your name are only chosen when the speaker knows it."""
        user = self.memory.user_name
        lines = self.persona.choices(key, part_of_day(self.now()))
        usable = self.thread.lines_for_name(key, lines, user)
        choices = [line for line in usable if line != self._last_line.get(key)] or usable
        chosen = self.random.choice(choices)
        self._last_line[key] = chosen
        text = chosen.format(**{"name": self.persona.name, "user": user, **values})
        return self.lang.sentence_case(text)

    def _converse(self, text: str) -> Reply:
        """Nothing matched: the language model answers, if there is one, else the persona admits it.
        The model's answer is a stream: it starts now and is said sentence by sentence."""
        if self.chat is None or not text.strip():
            spoken = self.line("not_understood")
            return Reply(None, {}, spoken, follow_up=spoken.endswith(FOLLOW_UP))
        stream = self.chat.stream(self._messages(text), self.line("llm_failed"), lambda said: self._said(text, said),
                                  self.persona.name, language=self.language, cut_line=self.line("llm_cut"),
                                  seed=self.random.getrandbits(31))  # a dialogue made with a seed answers the same
        return Reply(None, {}, "", stream=stream)

    def read_ahead(self) -> threading.Thread | None:
        """Has the language model, if there is one, read the persona and the examples already."""
        return self.chat.read_ahead(self._messages("")) if self.chat is not None else None

    def _messages(self, text: str) -> list[dict]:
        """The persona and what the speaker knows, a few example turns, the recent turns, and what was
        just said. What changes least comes first: the server reuses what it has read of the same
        beginning, and reads only the rest. No clock: the small model told it back, or another time."""
        user_line, facts_line, language_line, people_line = self.lang.LLM_CONTEXT
        system = [self.persona.prompt.format(name=self.persona.name), language_line]
        if self.memory.user_name:
            system.append(user_line.format(user=self.memory.user_name))
        if self.memory.people:
            people = [" ".join(filter(None, (p.name, p.relation and f"({p.relation})"))) for p in self.memory.people]
            system.append(people_line.format(people=", ".join(people[-MEMORY_ITEMS:])))
        if self.memory.facts:
            system.append(facts_line.format(facts="; ".join(f.text for f in self.memory.facts[-MEMORY_ITEMS:])))
        messages = [{"role": "system", "content": " ".join(system)}]
        for said, answered in (*self.lang.CHAT_EXAMPLES, *self._history):
            messages += [{"role": "user", "content": said[:HISTORY_CHARACTERS]},
                         {"role": "assistant", "content": answered[:HISTORY_CHARACTERS]}]
        return [*messages, {"role": "user", "content": text}]


@functools.lru_cache(maxsize=8)
def matcher_for(language: str, devices: tuple[str, ...] = ()) -> Matcher:
    """The sentences of `language` with the [[mqtt.devices]] names, loaded once per process."""
    known = intents.load([HERE / "sentences" / f"{language}.yaml", HERE / "sentences" / "companion" / f"{language}.yaml"])
    known.slot_lists["device"] = TextSlotList.from_strings(list(devices))  # [[mqtt.devices]] names
    for name, words in languages.get(language).WORD_LISTS.items():  # relations, things people keep dates of
        known.slot_lists[name] = TextSlotList.from_strings(sorted(words))
    meanings = meanings_for(language, devices)

    def meant(text: str) -> str | None:
        found = meanings.understand(text)
        return found.intent if found is not None else None

    return Matcher(known, language, tone=meanings.tone, meant=meant)


def part_of_day(now: datetime) -> str:
    """morning 5-12, afternoon 12-17, evening 17-22, night 22-5."""
    return ("night", "morning", "afternoon", "evening", "night")[sum(now.hour >= h for h in (5, 12, 17, 22))]


def _plain(value):
    """Slot values as JSON shows them best: 5, not 5.0."""
    return int(value) if isinstance(value, float) and value.is_integer() else value

"""The thread of one conversation: what the user shared (come back to once, at a fitting moment, never
as a nag), whether the speaker already pointed a lonely or sad user to someone they know, and when it
last said the user's name (now and then, not in every line).

It lasts as long as the dialogue (a restart begins a new conversation); what outlasts it is `memory`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .skills import Said

if TYPE_CHECKING:
    from .languages import Language

FITTING = {"SpeakerGreet", "SpeakerHowAreYou", "SpeakerGoodNight", "SpeakerSmallTalk:talk", "SpeakerSmallTalk:doing",
           "SpeakerSmallTalk:day", "SpeakerSmallTalk:listening"}  # turns where coming back to what was shared fits
POINT_TO_SOMEONE = {"lonely", "sad"}  # feelings answered, the first time, with someone the user knows, by name
NAME_GAP = 2  # answers after one with the user's name before another may have it
NAME_DUE = 3  # answers without it after which a line with it is chosen where there is one
NAME_MOMENTS = {"SpeakerGreet", "SpeakerGoodNight", "SpeakerGoodMorning"}  # where a name is most natural
RECENT = 3  # turns after someone was talked about in which a question without a subject is about them


@dataclass(frozen=True)
class Shared:
    """What the user said lay behind a feeling, said back as the speaker would: a noun phrase ("your job
    interview tomorrow", "내일 면접") or a clause ("you broke up with your girlfriend", "여자친구랑 헤어져서")."""

    words: str
    clause: bool
    turn: int


class Thread:
    def __init__(self):
        self.turn = 0
        self.shared: Shared | None = None
        self.returned = False
        self.pointed = False  # pointed the user to someone they know, in this conversation
        self.since_name = NAME_DUE
        self.person_turn = -RECENT  # when someone the user knows was last talked about
        self._last_person = None

    def follow(self, lang: Language, intent: str, slots: dict, text: str, said: Said) -> Said:
        """`said`, with a question about what the user shared earlier when this turn is the moment for it."""
        reason = str(slots.get("reason", "")).strip(" .!?,")
        if intent == "SpeakerFeeling" and (reason or slots.get("about")):  # why, as said; or what it is about
            words, clause = lang.say_back(reason, text) if reason else (slots["about"], False)
            self.shared, self.returned = Shared(words, clause, self.turn), False
            return said
        moment = intent if intent != "SpeakerSmallTalk" else f"{intent}:{slots.get('topic', '')}"
        if self.shared is None or self.returned or moment not in FITTING or said.then is not None:
            return said
        self.returned = True
        back = Said("thread_since", {"clause": self.shared.words}) if self.shared.clause else \
            Said("thread_about", {"topic": self.shared.words})
        return Said(said.key, said.values, command=said.command, then=back)

    def point_to_someone(self, feeling: str, known: bool, chance: bool) -> bool:
        """Whether to turn the user towards the people in their life: the first time they are lonely or sad
        and it knows someone, always; else by `chance`."""
        if known and feeling in POINT_TO_SOMEONE and not self.pointed:
            self.pointed = True
            return True
        return chance

    def lines_for_name(self, key: str, lines: list[str], user: str) -> list[str]:
        """The lines fitting now: with the user's name when it has not been said for a while (or at a
        greeting or a good night, unless it was just said), without it just after it was."""
        plain = [line for line in lines if "{user}" not in line]
        named = [line for line in lines if "{user}" in line]
        if not user:
            return plain
        if self.since_name < NAME_GAP and plain:
            return plain
        if (self.since_name >= NAME_DUE or key in NAME_MOMENTS) and named:
            return named
        return lines

    def mentioned(self) -> None:
        """Someone the user knows was talked about in this turn."""
        self.person_turn = self.turn

    def recently_mentioned(self) -> bool:
        """Whether a question without a subject ("어디서 일한다고 했지?") can be about the person last talked about."""
        return self.turn - self.person_turn <= RECENT

    def said(self, answer: str, user: str, last_person) -> None:
        """The turn is over: `answer` was said; `last_person` is the one last talked about."""
        if last_person != self._last_person:
            self._last_person = last_person
            self.mentioned()
        self.turn += 1
        self.since_name = 0 if user and user in answer else self.since_name + 1

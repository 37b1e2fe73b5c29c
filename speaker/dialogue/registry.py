"""Every intent the speaker understands, declared once: what answers it, and whether it acts.

The sentence files (sentences/, the matcher's), the meaning tables (sentences/meaning/, the meaning
layer's) and the persona's lines name intents; this registry is where each one is: its skill (the
code that answers it, `skill(dialogue, slots, text)`, None when the persona's lines for the intent
are the answer), whether it changes something (a timer, the volume, what it remembers: from speech it
is taken only as the recogniser's best guess), and whether it answers the speaker's own question.
A skill may answer None: the sentence fitted a loose template but was not for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from . import companion, skills
from .skills import Said

if TYPE_CHECKING:
    from . import Dialogue

Skill = Callable[["Dialogue", dict, str], "Said | None"]


@dataclass(frozen=True, kw_only=True)
class Intent:
    name: str
    skill: Skill | None = None  # None: answered with the persona's lines for the intent
    acts: bool = False  # changes something
    answers: bool = False  # a yes or a no to the speaker's question
    asks: bool = False  # its skill asks before it acts, however sure the hearing was


INTENTS: dict[str, Intent] = {intent.name: intent for intent in (
    # the clock, timers and alarms
    Intent(name="HassGetCurrentTime", skill=skills.tell_time),
    Intent(name="HassGetCurrentDate", skill=skills.tell_date),
    Intent(name="HassStartTimer", skill=skills.start_timer, acts=True),
    Intent(name="HassCancelTimer", skill=skills.cancel_timer, acts=True),
    Intent(name="HassCancelAllTimers", skill=skills.cancel_all_timers, acts=True),
    Intent(name="HassTimerStatus", skill=skills.timer_status),
    Intent(name="SpeakerSetAlarm", skill=skills.set_alarm, acts=True),
    Intent(name="SpeakerCancelAlarm", skill=skills.cancel_alarm, acts=True),
    Intent(name="SpeakerAlarmStatus", skill=skills.alarm_status),
    # the speaker itself and the home
    Intent(name="HassSetVolume", skill=skills.set_volume, acts=True),
    Intent(name="HassSetVolumeRelative", skill=skills.change_volume, acts=True),
    Intent(name="SpeakerMute", skill=skills.mute, acts=True, asks=True),
    Intent(name="HassTurnOn", skill=skills.switch(True), acts=True),
    Intent(name="HassTurnOff", skill=skills.switch(False), acts=True),
    Intent(name="SpeakerYes", skill=skills.yes, answers=True),
    Intent(name="SpeakerNo", skill=skills.no, answers=True),
    Intent(name="SpeakerRepeat", skill=skills.repeat),
    Intent(name="HassNevermind"),
    Intent(name="HassGetWeather"),  # the persona says it cannot know: the speaker is offline
    Intent(name="SpeakerGoodMorning", skill=skills.greet_morning),
    # the companion
    Intent(name="SpeakerGreet"),
    Intent(name="SpeakerGoodNight"),
    Intent(name="SpeakerHowAreYou"),
    Intent(name="SpeakerThank"),
    Intent(name="SpeakerName"),
    Intent(name="SpeakerFeeling", skill=companion.feeling),
    Intent(name=companion.TONE, skill=companion.tone),  # a feeling no other intent claims (the meaning layer's tone)
    Intent(name="SpeakerSmallTalk", skill=companion.small_talk),
    Intent(name="SpeakerRemember", skill=companion.remember, acts=True),
    Intent(name="SpeakerRememberName", skill=companion.remember_name, acts=True),
    Intent(name="SpeakerRecall", skill=companion.recall),
    Intent(name="SpeakerListFacts", skill=companion.list_facts),
    Intent(name="SpeakerForget", skill=companion.forget, acts=True),
    Intent(name="SpeakerForgetAll", skill=companion.forget_all, acts=True),
    Intent(name="SpeakerAffection"),
    Intent(name="SpeakerIdentity"),
    Intent(name="SpeakerCapabilities"),
)}
ACTS = frozenset(name for name, intent in INTENTS.items() if intent.acts)
ANSWERS = frozenset(name for name, intent in INTENTS.items() if intent.answers)
ASKS_FIRST = frozenset(name for name, intent in INTENTS.items() if intent.asks)
ASKED_FIRST = "SpeakerAskFirst"  # the reply to a command heard unsure: what was heard, asked about


def run(d: Dialogue, name: str, slots: dict, text: str) -> Said | None:
    """What the speaker answers to the intent `name`; None when the sentence was not for it after all."""
    intent = INTENTS[name]
    return intent.skill(d, slots, text) if intent.skill else Said(name)

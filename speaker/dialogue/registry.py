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


@dataclass(frozen=True)
class Intent:
    name: str
    skill: Skill | None = None  # None: answered with the persona's lines for the intent
    acts: bool = False  # changes something
    answers: bool = False  # a yes or a no to the speaker's question


INTENTS: dict[str, Intent] = {intent.name: intent for intent in (
    # the clock, timers and alarms
    Intent("HassGetCurrentTime", skills.tell_time),
    Intent("HassGetCurrentDate", skills.tell_date),
    Intent("HassStartTimer", skills.start_timer, acts=True),
    Intent("HassCancelTimer", skills.cancel_timer, acts=True),
    Intent("HassCancelAllTimers", skills.cancel_all_timers, acts=True),
    Intent("HassTimerStatus", skills.timer_status),
    Intent("SpeakerSetAlarm", skills.set_alarm, acts=True),
    Intent("SpeakerCancelAlarm", skills.cancel_alarm, acts=True),
    Intent("SpeakerAlarmStatus", skills.alarm_status),
    # the speaker itself and the home
    Intent("HassSetVolume", skills.set_volume, acts=True),
    Intent("HassSetVolumeRelative", skills.change_volume, acts=True),
    Intent("SpeakerMute", skills.mute, acts=True),
    Intent("HassTurnOn", skills.switch(True), acts=True),
    Intent("HassTurnOff", skills.switch(False), acts=True),
    Intent("SpeakerYes", skills.yes, answers=True),
    Intent("SpeakerNo", skills.no, answers=True),
    Intent("SpeakerRepeat", skills.repeat),
    Intent("HassNevermind"),
    Intent("HassGetWeather"),  # the persona says it cannot know: the speaker is offline
    Intent("SpeakerGoodMorning", skills.greet_morning),
    # the companion
    Intent("SpeakerGreet"),
    Intent("SpeakerGoodNight"),
    Intent("SpeakerHowAreYou"),
    Intent("SpeakerThank"),
    Intent("SpeakerName"),
    Intent("SpeakerFeeling", companion.feeling),
    Intent(companion.TONE, companion.tone),  # a feeling no other intent claims (the meaning layer's tone)
    Intent("SpeakerSmallTalk", companion.small_talk),
    Intent("SpeakerRemember", companion.remember, acts=True),
    Intent("SpeakerRememberName", companion.remember_name, acts=True),
    Intent("SpeakerRecall", companion.recall),
    Intent("SpeakerListFacts", companion.list_facts),
    Intent("SpeakerForget", companion.forget, acts=True),
    Intent("SpeakerForgetAll", companion.forget_all, acts=True),
    Intent("SpeakerAffection"),
    Intent("SpeakerIdentity"),
    Intent("SpeakerCapabilities"),
)}
ACTS = frozenset(name for name, intent in INTENTS.items() if intent.acts)
ANSWERS = frozenset(name for name, intent in INTENTS.items() if intent.answers)


def run(d: Dialogue, name: str, slots: dict, text: str) -> Said | None:
    """What the speaker answers to the intent `name`; None when the sentence was not for it after all."""
    intent = INTENTS[name]
    return intent.skill(d, slots, text) if intent.skill else Said(name)

"""Skills: what only code can do for an intent (read the clock, keep timers, remember), and which
persona line to answer with, filled with which values."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Callable

from . import languages
from .languages import ko
from .memory import Alarm, Fact, Timer

if TYPE_CHECKING:
    from . import Dialogue

VOLUME_STEP = 20  # percent, for "louder" and "quieter"
NUDGE_CHANCE = 0.4  # how often a feeling is answered with a nudge towards the people in your life
PEOPLE = {
    "en": ("grandmother", "grandfather", "grandma", "grandpa", "mother", "father", "mom", "mum", "dad", "sister",
           "brother", "daughter", "son", "wife", "husband", "partner", "girlfriend", "boyfriend", "friend", "aunt",
           "uncle", "cousin", "niece", "nephew", "neighbor", "neighbour"),
    "ko": ("할머니", "할아버지", "어머니", "아버지", "엄마", "아빠", "여동생", "남동생", "동생", "언니", "누나", "오빠", "형",
           "아들", "딸", "아내", "남편", "여자친구", "남자친구", "친구", "이모", "고모", "삼촌", "손자", "손녀", "이웃"),
}


@dataclass(frozen=True)
class Said:
    """A skill's answer: the persona line to say, its values, and what else should happen."""

    key: str
    values: dict = field(default_factory=dict)
    command: tuple[str, dict] | None = None  # for the pipeline's command door, e.g. ("volume", {"step": 20})
    then: "Said | None" = None  # a second line said right after
    event: tuple[str, dict] | None = None  # an event to emit, e.g. ("device", {"name": "lamp", "on": True})


def describe_timer(timer: Timer, language: str) -> str:
    return languages.get(language).describe_timer(timer.name, timer.seconds)


def _number(value) -> int:
    return int(round(float(value)))


# --- the skills ----------------------------------------------------------------------------------

def tell_time(d: Dialogue, slots: dict) -> Said:
    time = d.lang.spoken_time(d.now())
    return Said("HassGetCurrentTime", {"time": time, "is": d.lang.copula(time)})


def tell_date(d: Dialogue, slots: dict) -> Said:
    """Today's date, or tomorrow's when asked about tomorrow."""
    tomorrow = slots.get("day") == "tomorrow"
    date = d.lang.spoken_date(d.now() + timedelta(days=1 if tomorrow else 0))
    return Said("date_tomorrow" if tomorrow else "HassGetCurrentDate", {"date": date, "is": d.lang.copula(date)})


def start_timer(d: Dialogue, slots: dict) -> Said:
    seconds = sum(_number(slots.get(unit, 0)) * size for unit, size in (("hours", 3600), ("minutes", 60), ("seconds", 1)))
    if seconds <= 0:
        return Said("not_understood")
    timer = Timer(_clean_name(slots.get("name", ""), d), seconds, d.now() + timedelta(seconds=seconds))
    d.memory.timers.append(timer)
    d.memory.save()
    return Said("timer_started", {"duration": d.lang.spoken_duration(seconds),
                                  "timer": describe_timer(timer, d.language)})


def _clean_name(name: str, d: Dialogue) -> str:
    return d.lang.clean_name(re.sub(r"[^\w\s'-]", "", str(name)).strip())


def _matching_timers(d: Dialogue, slots: dict) -> list[Timer] | None:
    """The timers `slots` point at (by name or by their length), or None if they point at none in particular."""
    if "name" in slots:
        name = _clean_name(slots["name"], d)
        return [t for t in d.memory.timers if t.name == name]
    asked = sum(_number(slots.get(f"start_{unit}", 0)) * size
                for unit, size in (("hours", 3600), ("minutes", 60), ("seconds", 1)))
    if asked:
        return [t for t in d.memory.timers if t.seconds == asked]
    return None


def cancel_timer(d: Dialogue, slots: dict) -> Said:
    timers = _matching_timers(d, slots)
    candidates = d.memory.timers if timers is None else timers
    if not candidates:
        return Said("no_timer")
    timer = candidates[-1]  # the latest one asked for
    d.memory.timers.remove(timer)
    d.memory.save()
    return Said("timer_cancelled", {"timer": describe_timer(timer, d.language)})


def _cancel_all(d: Dialogue, kept: list, none_key: str, done_key: str) -> Said:
    """Forget every timer (or alarm) in `kept` and say how many there were."""
    count = len(kept)
    if not count:
        return Said(none_key)
    kept.clear()
    d.memory.save()
    return Said(done_key, {"count": count})


def cancel_all_timers(d: Dialogue, slots: dict) -> Said:
    return _cancel_all(d, d.memory.timers, "no_timer", "timers_cancelled")


def timer_status(d: Dialogue, slots: dict) -> Said:
    timers = _matching_timers(d, slots)
    timers = sorted(d.memory.timers if timers is None else timers, key=lambda t: t.due)
    if not timers:
        return Said("no_timer")
    now = d.now()

    def left(timer: Timer) -> str:
        return d.lang.spoken_duration(max(0, round((timer.due - now).total_seconds())))

    if len(timers) == 1:
        return Said("timer_status", {"timer": describe_timer(timers[0], d.language), "left": left(timers[0])})
    items = [d.lang.time_left(describe_timer(t, d.language), left(t)) for t in timers]
    return Said("timers_status", {"list": d.lang.join(items)})


def set_alarm(d: Dialogue, slots: dict) -> Said:
    hour, minute, part = _number(slots["hour"]), _number(slots.get("minute", 0)), slots.get("day_part")
    if not (0 <= hour <= 24 and 0 <= minute <= 59):
        return Said("not_understood")
    if part in ("am", "pm") and hour <= 12:
        hours = [hour % 12 + (12 if part == "pm" else 0)]
    elif hour > 12 or hour == 0:
        hours = [hour % 24]
    else:  # "at 7": whichever 7 o'clock comes first
        hours = [hour % 12, hour % 12 + 12]
    now = d.now()
    due = min(_next(now, h, minute) for h in hours)
    d.memory.alarms.append(Alarm(due))
    d.memory.save()
    return Said("alarm_set", {"time": d.lang.spoken_time(due), "when": d.lang.day_word(due.date() == now.date())})


def _next(now: datetime, hour: int, minute: int) -> datetime:
    at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return at if at > now else at + timedelta(days=1)


def cancel_alarm(d: Dialogue, slots: dict) -> Said:
    return _cancel_all(d, d.memory.alarms, "no_alarm", "alarm_cancelled")


def alarm_status(d: Dialogue, slots: dict) -> Said:
    if not d.memory.alarms:
        return Said("no_alarm")
    now = d.now()
    items = []
    for alarm in sorted(d.memory.alarms, key=lambda a: a.due):
        items.append(d.lang.time_on_day(d.lang.spoken_time(alarm.due), d.lang.day_word(alarm.due.date() == now.date())))
    return Said("alarm_status", {"list": d.lang.join(items)})


def set_volume(d: Dialogue, slots: dict) -> Said:
    level = max(0, min(100, _number(slots["volume_level"])))
    return Said("HassSetVolume", {"level": level}, command=("volume", {"level": level}))


def change_volume(d: Dialogue, slots: dict) -> Said:
    step = slots.get("volume_step", "up")
    step = VOLUME_STEP if step == "up" else -VOLUME_STEP if step == "down" else max(-100, min(100, _number(step)))
    return Said("volume_up" if step > 0 else "volume_down", command=("volume", {"step": step}))


def mute(d: Dialogue, slots: dict) -> Said:
    return Said("SpeakerMute", command=("mute", {}))


def repeat(d: Dialogue, slots: dict) -> Said:
    return Said("SpeakerRepeat", {"said": d.last_said}) if d.last_said else Said("nothing_to_repeat")


def greet_morning(d: Dialogue, slots: dict) -> Said:
    return Said("SpeakerGoodMorning", {"time": d.lang.spoken_time(d.now())})


def feeling(d: Dialogue, slots: dict) -> Said:
    said = Said(f"feeling_{slots.get('feeling', 'sad')}")
    if d.random.random() >= NUDGE_CHANCE:
        return said
    person = person_in_life(d)
    nudge = Said("nudge_person", {"person": person}) if person else Said("nudge")
    return Said(said.key, then=nudge)


def person_in_life(d: Dialogue) -> str:
    """Someone the user told the speaker about ("sister"), most recent first; "" if nobody."""
    for fact in reversed(d.memory.facts):
        for person in PEOPLE[d.language]:
            if d.language == "ko" and person in fact.subject:
                return person
            if d.language == "en" and re.search(rf"\b{person}(s|'s|s')?\b", fact.subject):
                return person
    return ""


def remember_name(d: Dialogue, slots: dict) -> Said:
    name = re.sub(r"[^\w\s'-]", "", str(slots.get("user_name", ""))).strip()
    if not name:
        return Said("not_understood")
    d.memory.user_name = name[:1].upper() + name[1:] if d.language == "en" else name
    d.memory.last = ""
    d.memory.save()
    return Said("SpeakerRememberName")


def remember(d: Dialogue, slots: dict, text: str) -> Said:
    subject, value = _subject(slots["subject"], d.language), str(slots["value"]).strip(" .!?")
    if subject in ("name", "이름"):
        return remember_name(d, {"user_name": value})
    if d.language == "en":
        verb = re.search(rf"{re.escape(slots['subject'])}\s+(is|are|was|were)\b", text, re.IGNORECASE)
        fact = f"your {subject} {verb.group(1) if verb else 'is'} {_your(value)}"
    else:
        fact = f"{subject}{ko.topic(subject)} {_ko_polite(value)}"
    d.memory.facts = [f for f in d.memory.facts if not _same(f.subject, subject, d.language)] + [Fact(subject, fact)]
    d.memory.last = subject
    d.memory.save()
    return Said("remembered", {"fact": fact})


def _subject(subject: str, language: str) -> str:
    subject = str(subject).strip(" .!?")
    if language == "en":
        return re.sub(r"^(my|your)\s+", "", subject.lower())
    return re.sub(r"^(내|제|우리)\s+", "", subject)


def _your(text: str) -> str:
    """What the user said about themselves, said back to them: "my mom's house" → "your mom's house"."""
    swaps = {"my": "your", "i": "you", "me": "you", "mine": "yours", "i'm": "you're", "am": "are"}
    return " ".join(swaps.get(w.lower(), w) for w in text.split())


def _ko_polite(value: str) -> str:
    """"금요일" → "금요일이에요", "서랍에 있어" → "서랍에 있어요"."""
    for ending in ("이야", "야", "이다", "다", "예요", "이에요", "입니다"):
        if value.endswith(ending) and len(value) > len(ending) and not value.endswith(("있다", "없다")):
            value = value[: -len(ending)]
            break
    if value.endswith(("어", "아", "해", "지")):
        return value + "요"
    return value + ko.copula(value)


def _same(a: str, b: str, language: str) -> bool:
    """The same subject, give or take a Korean particle ("동생 생일이" is "동생 생일")."""
    def forms(s: str) -> set[str]:
        s = s.strip().lower()
        return {s, s[:-1].strip()} if language == "ko" and s[-1:] in "은는이가을를" else {s}
    return bool(forms(a) & forms(b))


def recall(d: Dialogue, slots: dict) -> Said:
    subject = _subject(slots.get("subject", "name"), d.language)
    if subject in ("name", "이름"):
        if d.memory.user_name:
            return Said("recall_name")
        return Said("recall_unknown", {"subject": "your name" if d.language == "en" else "이름"})
    for fact in reversed(d.memory.facts):
        if _same(fact.subject, subject, d.language):
            return Said("recall", {"fact": fact.text})
    return Said("recall_unknown", {"subject": f"your {subject}" if d.language == "en" else subject})


def forget(d: Dialogue, slots: dict) -> Said:
    memory = d.memory
    if slots.get("everything"):
        if not (memory.user_name or memory.facts):
            return Said("nothing_to_forget")
        memory.user_name, memory.facts, memory.last = "", [], None
        memory.save()
        return Said("forgot_everything")
    subject = _subject(slots["subject"], d.language) if "subject" in slots else memory.last
    if subject is None:
        return Said("nothing_to_forget")
    if subject in ("", "name", "이름"):
        if not memory.user_name:
            return Said("nothing_to_forget")
        memory.user_name, memory.last = "", None
        memory.save()
        return Said("forgot_name")
    fact = next((f for f in reversed(memory.facts) if _same(f.subject, subject, d.language)), None)
    if fact is None:
        return Said("recall_unknown", {"subject": f"your {subject}" if d.language == "en" else subject})
    memory.facts.remove(fact)
    memory.last = None
    memory.save()
    return Said("forgot", {"fact": fact.text})


def switch(on: bool) -> Callable[..., Said]:
    """Turn a configured device on or off (MQTT publishes the `device` event to its topic)."""

    def skill(d: Dialogue, slots: dict) -> Said:
        device = slots.get("device")
        if not device:  # heard as free text: not one of the devices in the settings
            return Said("unknown_device", {"device": slots.get("unknown_device", "")})
        return Said("device_on" if on else "device_off", {"device": device}, event=("device", {"name": device, "on": on}))

    return skill


SKILLS: dict[str, Callable[..., Said]] = {
    "HassTurnOn": switch(True),
    "HassTurnOff": switch(False),
    "HassGetCurrentTime": tell_time,
    "HassGetCurrentDate": tell_date,
    "HassStartTimer": start_timer,
    "HassCancelTimer": cancel_timer,
    "HassCancelAllTimers": cancel_all_timers,
    "HassTimerStatus": timer_status,
    "SpeakerSetAlarm": set_alarm,
    "SpeakerCancelAlarm": cancel_alarm,
    "SpeakerAlarmStatus": alarm_status,
    "HassSetVolume": set_volume,
    "HassSetVolumeRelative": change_volume,
    "SpeakerMute": mute,
    "SpeakerRepeat": repeat,
    "SpeakerGoodMorning": greet_morning,
    "SpeakerFeeling": feeling,
    "SpeakerRememberName": remember_name,
    "SpeakerRecall": recall,
    "SpeakerForget": forget,
}


def run(d: Dialogue, intent: str, slots: dict, text: str) -> Said:
    """What to answer to `intent`; an intent without a skill is answered with its own lines."""
    if intent == "SpeakerRemember":
        return remember(d, slots, text)
    skill = SKILLS.get(intent)
    return skill(d, slots) if skill else Said(intent)

"""Skills: what only code can do for an intent (read the clock, keep timers, remember), and which
persona line to answer with, filled with which values."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Callable

from .memory import Alarm, Fact, Timer

if TYPE_CHECKING:
    from . import Dialogue

EN_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
             "October", "November", "December")
KO_WEEKDAYS = ("월요일", "화요일", "수요일", "목요일", "금요일", "토요일", "일요일")
KO_HOURS = ("열두", "한", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉", "열", "열한")  # hours count natively
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


# --- Korean grammar and spoken forms -------------------------------------------------------------

def _final_consonant(word: str) -> bool:
    last = word.rstrip()[-1:]
    if "0" <= last <= "9":
        return last in "013678"  # 영, 일, 삼, 육, 칠, 팔
    return "가" <= last <= "힣" and (ord(last) - ord("가")) % 28 != 0


def ko_copula(word: str) -> str:
    """"이에요" after a final consonant, "예요" after a vowel (시 → 시예요, 분 → 분이에요)."""
    return "이에요" if _final_consonant(word) else "예요"


def ko_topic(word: str) -> str:
    """은 or 는: 생일은, 열쇠는."""
    return "은" if _final_consonant(word) else "는"


def spoken_time(now: datetime, language: str) -> str:
    """The time as people say it: "3:05 PM", "오후 세 시 5분"."""
    hour12 = now.hour % 12 or 12
    if language == "ko":
        half = "오전" if now.hour < 12 else "오후"
        return f"{half} {KO_HOURS[hour12 % 12]} 시" + (f" {now.minute}분" if now.minute else "")
    if now.minute == 0:
        return f"{hour12} o'clock" + (" in the morning" if now.hour < 12 else "")
    return f"{hour12}:{now.minute:02d} {'AM' if now.hour < 12 else 'PM'}"


def spoken_date(now: datetime, language: str) -> str:
    """The date as people say it: "Friday, November 27", "11월 27일 금요일"."""
    if language == "ko":
        return f"{now.month}월 {now.day}일 {KO_WEEKDAYS[now.weekday()]}"
    return f"{EN_WEEKDAYS[now.weekday()]}, {EN_MONTHS[now.month - 1]} {now.day}"


def _units(seconds: int) -> list[tuple[int, str]]:
    """(count, unit) with a count: seconds only under an hour, and "0 seconds" for nothing."""
    hours, rest = divmod(max(0, int(seconds)), 3600)
    minutes, seconds = divmod(rest, 60)
    units = [(hours, "hour"), (minutes, "minute"), (0 if hours else seconds, "second")]
    return [(n, unit) for n, unit in units if n] or [(0, "second")]


def spoken_duration(seconds: int, language: str) -> str:
    """"1 hour and 5 minutes", "4 minutes and 30 seconds"; "한 시간 5분", "4분 30초"."""
    if language == "ko":
        return " ".join(f"{KO_HOURS[n] if n < 12 else n} 시간" if unit == "hour" else
                        f"{n}{'분' if unit == 'minute' else '초'}" for n, unit in _units(seconds))
    return " and ".join(f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in _units(seconds))


def describe_timer(timer: Timer, language: str) -> str:
    """"the pasta timer", "the 5 minute timer"; "라면 타이머", "5분 타이머"."""
    if language == "ko":
        return f"{timer.name or spoken_duration(timer.seconds, 'ko')} 타이머"
    length = " ".join(f"{n} {unit}" for n, unit in _units(timer.seconds))
    return f"the {timer.name or length} timer"


def _join(items: list[str], language: str) -> str:
    if language == "ko" or len(items) < 2:
        return ", ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _number(value) -> int:
    return int(round(float(value)))


# --- the skills ----------------------------------------------------------------------------------

def tell_time(d: Dialogue, slots: dict) -> Said:
    time = spoken_time(d.now(), d.language)
    return Said("HassGetCurrentTime", {"time": time, "is": ko_copula(time)})


def tell_date(d: Dialogue, slots: dict) -> Said:
    date = spoken_date(d.now(), d.language)
    return Said("HassGetCurrentDate", {"date": date, "is": ko_copula(date)})


def start_timer(d: Dialogue, slots: dict) -> Said:
    seconds = sum(_number(slots.get(unit, 0)) * size for unit, size in (("hours", 3600), ("minutes", 60), ("seconds", 1)))
    if seconds <= 0:
        return Said("not_understood")
    timer = Timer(_clean_name(slots.get("name", ""), d.language), seconds, d.now() + timedelta(seconds=seconds))
    d.memory.timers.append(timer)
    d.memory.save()
    return Said("timer_started", {"duration": spoken_duration(seconds, d.language),
                                  "timer": describe_timer(timer, d.language)})


def _clean_name(name: str, language: str) -> str:
    name = re.sub(r"[^\w\s'-]", "", str(name)).strip()
    if language == "en":
        name = re.sub(r"^(the|my|a|an)\s+", "", name.lower())
    return name


def _matching_timers(d: Dialogue, slots: dict) -> list[Timer] | None:
    """The timers `slots` point at (by name or by their length), or None if they point at none in particular."""
    if "name" in slots:
        name = _clean_name(slots["name"], d.language)
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
        return spoken_duration(max(0, round((timer.due - now).total_seconds())), d.language)

    if len(timers) == 1:
        return Said("timer_status", {"timer": describe_timer(timers[0], d.language), "left": left(timers[0])})
    if d.language == "ko":
        items = [f"{describe_timer(t, 'ko')} {left(t)}" for t in timers]
    else:
        items = [f"{left(t)} on {describe_timer(t, 'en')}" for t in timers]
    return Said("timers_status", {"list": _join(items, d.language)})


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
    return Said("alarm_set", {"time": spoken_time(due, d.language), "when": _day(due, now, d.language)})


def _next(now: datetime, hour: int, minute: int) -> datetime:
    at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return at if at > now else at + timedelta(days=1)


def _day(when: datetime, now: datetime, language: str) -> str:
    today = when.date() == now.date()
    if language == "ko":
        return "오늘" if today else "내일"
    return "today" if today else "tomorrow"


def cancel_alarm(d: Dialogue, slots: dict) -> Said:
    return _cancel_all(d, d.memory.alarms, "no_alarm", "alarm_cancelled")


def alarm_status(d: Dialogue, slots: dict) -> Said:
    if not d.memory.alarms:
        return Said("no_alarm")
    now = d.now()
    items = []
    for alarm in sorted(d.memory.alarms, key=lambda a: a.due):
        day, time = _day(alarm.due, now, d.language), spoken_time(alarm.due, d.language)
        items.append(f"{day} {time}" if d.language == "ko" else f"{time} {day}")
    return Said("alarm_status", {"list": _join(items, d.language)})


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
    return Said("SpeakerGoodMorning", {"time": spoken_time(d.now(), d.language)})


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
        fact = f"{subject}{ko_topic(subject)} {_ko_polite(value)}"
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
    return value + ko_copula(value)


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
    """Turn a configured device on or off (the `switch` command: the MQTT link publishes it to its topic)."""

    def skill(d: Dialogue, slots: dict) -> Said:
        device = slots.get("device")
        if not device:  # heard as free text: not one of the devices in the settings
            return Said("unknown_device", {"device": slots.get("unknown_device", "")})
        return Said("device_on" if on else "device_off", {"device": device},
                    command=("switch", {"device": device, "on": on}))

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

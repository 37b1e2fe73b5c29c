"""Skills: what only code can do for an intent (read the clock, keep timers and alarms, change the
volume), and which persona line to answer with, filled with which values. The companion's own
(feelings, small talk, memory) are in `companion.py`."""

from __future__ import annotations

import re
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Callable

from . import languages
from .memory import Alarm, Timer

if TYPE_CHECKING:
    from . import Dialogue

VOLUME_STEP = 20  # percent, for "louder" and "quieter"
CONFIRM_SECONDS = 30  # a yes to the speaker's question counts this long after it was asked


@dataclass(frozen=True)
class Said:
    """A skill's answer: the persona line to say, its values, and what else should happen."""

    key: str
    values: dict = field(default_factory=dict)
    _: KW_ONLY
    command: tuple[str, dict] | None = None  # for the pipeline's command door, e.g. ("volume", {"step": 20})
    then: "Said | None" = None  # a second line said right after


@dataclass(frozen=True)
class Awaiting:
    """What a yes and a no to the speaker's question answer, until when (a yes that is a sentence
    heard unsure: the dialogue takes the yes as that sentence, said now)."""

    yes: Said | str
    no: Said
    until: datetime


def describe_timer(timer: Timer, language: str) -> str:
    return languages.get(language).describe_timer(timer.name, timer.seconds)


def _number(value) -> int:
    return int(round(float(value)))


# --- the skills ----------------------------------------------------------------------------------

def tell_time(d: Dialogue, slots: dict, text: str) -> Said:
    time = d.lang.spoken_time(d.now())
    return Said("HassGetCurrentTime", {"time": time, "is": d.lang.copula(time)})


def tell_date(d: Dialogue, slots: dict, text: str) -> Said:
    """Today's date, or tomorrow's when asked about tomorrow."""
    tomorrow = slots.get("day") == "tomorrow"
    date = d.lang.spoken_date(d.now() + timedelta(days=1 if tomorrow else 0))
    return Said("date_tomorrow" if tomorrow else "HassGetCurrentDate", {"date": date, "is": d.lang.copula(date)})


def start_timer(d: Dialogue, slots: dict, text: str) -> Said:
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


def cancel_timer(d: Dialogue, slots: dict, text: str) -> Said:
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


def cancel_all_timers(d: Dialogue, slots: dict, text: str) -> Said:
    return _cancel_all(d, d.memory.timers, "no_timer", "timers_cancelled")


def timer_status(d: Dialogue, slots: dict, text: str) -> Said:
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


def set_alarm(d: Dialogue, slots: dict, text: str) -> Said:
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


def cancel_alarm(d: Dialogue, slots: dict, text: str) -> Said:
    return _cancel_all(d, d.memory.alarms, "no_alarm", "alarm_cancelled")


def alarm_status(d: Dialogue, slots: dict, text: str) -> Said:
    if not d.memory.alarms:
        return Said("no_alarm")
    now = d.now()
    items = []
    for alarm in sorted(d.memory.alarms, key=lambda a: a.due):
        items.append(d.lang.time_on_day(d.lang.spoken_time(alarm.due), d.lang.day_word(alarm.due.date() == now.date())))
    return Said("alarm_status", {"list": d.lang.join(items)})


def set_volume(d: Dialogue, slots: dict, text: str) -> Said:
    level = max(0, min(100, _number(slots["volume_level"])))
    return Said("HassSetVolume", {"level": level}, command=("volume", {"level": level}))


def change_volume(d: Dialogue, slots: dict, text: str) -> Said:
    step = slots.get("volume_step", "up")
    step = VOLUME_STEP if step == "up" else -VOLUME_STEP if step == "down" else max(-100, min(100, _number(step)))
    return Said("volume_up" if step > 0 else "volume_down", command=("volume", {"step": step}))


def mute(d: Dialogue, slots: dict, text: str) -> Said:
    """Once off, the microphone comes back on by the button or the bus, never by voice: so it asks first
    (a misheard "mute" would leave the person unheard)."""
    d.awaiting = Awaiting(Said("SpeakerMute", command=("mute", {})), Said("mute_declined"),
                          d.now() + timedelta(seconds=CONFIRM_SECONDS))
    return Said("confirm_mute")


def ask_first(d: Dialogue, heard: str) -> Said:
    """A command only half heard: the speaker asks whether it heard it right; a yes does it."""
    d.awaiting = Awaiting(str(heard), Said("heard_declined"), d.now() + timedelta(seconds=CONFIRM_SECONDS))
    return Said("confirm_heard", {"heard": heard})


def yes(d: Dialogue, slots: dict, text: str) -> Said | None:
    """The answer to a question the speaker asked; None: it asked nothing (the conversation goes on)."""
    return d.answered(True)


def no(d: Dialogue, slots: dict, text: str) -> Said | None:
    return d.answered(False)


def repeat(d: Dialogue, slots: dict, text: str) -> Said:
    return Said("SpeakerRepeat", {"said": d.last_said}) if d.last_said else Said("nothing_to_repeat")


def greet_morning(d: Dialogue, slots: dict, text: str) -> Said:
    return Said("SpeakerGoodMorning", {"time": d.lang.spoken_time(d.now())})


def switch(on: bool) -> Callable[[Dialogue, dict, str], Said]:
    """Turn a configured device on or off (the `switch` command: the MQTT link publishes it to its topic)."""

    def skill(d: Dialogue, slots: dict, text: str) -> Said:
        device = slots.get("device")
        if not device:  # heard as free text: not one of the devices in the settings
            return Said("unknown_device", {"device": slots.get("unknown_device", "")})
        return Said("device_on" if on else "device_off", {"device": device},
                    command=("switch", {"device": device, "on": on}))

    return skill

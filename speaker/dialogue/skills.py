"""Skills: the values only code can know, by intent name, ready to be put into a persona's line."""

from __future__ import annotations

from datetime import datetime

EN_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
             "October", "November", "December")
KO_WEEKDAYS = ("월요일", "화요일", "수요일", "목요일", "금요일", "토요일", "일요일")


def spoken_time(now: datetime, language: str) -> str:
    """The time as people say it: "3:05 PM", "오후 3시 5분"."""
    hour12 = now.hour % 12 or 12
    if language == "ko":
        half = "오전" if now.hour < 12 else "오후"
        return f"{half} {hour12}시" + (f" {now.minute}분" if now.minute else "")
    if now.minute == 0:
        return f"{hour12} o'clock" + (" in the morning" if now.hour < 12 else "")
    return f"{hour12}:{now.minute:02d} {'AM' if now.hour < 12 else 'PM'}"


def spoken_date(now: datetime, language: str) -> str:
    """The date as people say it: "Friday, November 27", "11월 27일 금요일"."""
    if language == "ko":
        return f"{now.month}월 {now.day}일 {KO_WEEKDAYS[now.weekday()]}"
    return f"{EN_WEEKDAYS[now.weekday()]}, {EN_MONTHS[now.month - 1]} {now.day}"


def run(intent: str, language: str, now: datetime) -> dict:
    """The values a line for `intent` may use."""
    if intent == "HassGetCurrentTime":
        return {"time": spoken_time(now, language)}
    if intent == "HassGetCurrentDate":
        return {"date": spoken_date(now, language)}
    return {}

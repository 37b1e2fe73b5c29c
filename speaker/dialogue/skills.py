"""Skills: the values only code can know, by intent name, ready to be put into a persona's line."""

from __future__ import annotations

from datetime import datetime

EN_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
             "October", "November", "December")
KO_WEEKDAYS = ("월요일", "화요일", "수요일", "목요일", "금요일", "토요일", "일요일")
KO_HOURS = ("열두", "한", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉", "열", "열한")  # hours count natively


def ko_copula(word: str) -> str:
    """"이에요" after a final consonant, "예요" after a vowel (시 → 시예요, 분 → 분이에요)."""
    last = word.rstrip()[-1:]
    if "가" <= last <= "힣" and (ord(last) - ord("가")) % 28 == 0:
        return "예요"
    return "이에요"


def spoken_time(now: datetime, language: str) -> str:
    """The time as people say it: "3:05 PM", "오후 3시 5분"."""
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


def run(intent: str, language: str, now: datetime) -> dict:
    """The values a line for `intent` may use."""
    if intent == "HassGetCurrentTime":
        values = {"time": spoken_time(now, language)}
    elif intent == "HassGetCurrentDate":
        values = {"date": spoken_date(now, language)}
    else:
        return {}
    if language == "ko":  # the ending that fits the last syllable: "세 시예요", "오 분이에요"
        values["is"] = ko_copula(next(iter(values.values())))
    return values

"""How well the speaker understands the way people talk, typed and spoken (issue 11).

Typed: three sets of phrasings written as people type them (tests/data/understanding/): the tuning
set, written while the sentences and the meaning layer were tuned; the frozen set, written before the
tuning of issue 19 and never edited, but in view while the meaning tables were written; and the
held-out set, written before any further tuning and never tuned on (the fair measure). For each, per
language and category (commands, feelings, affection, small talk, memory, context across turns,
nonsense): how many are understood right, each said to a new dialogue with no language model; for
feelings also how many were answered by the tone fallback (no intent claimed them). Then, for the fuzzy matcher, how many near
misses and how much nonsense each threshold would let through.

Spoken (`--spoken`): Korean requests rendered by espeak-ng in several voices and rates, through the
real vosk-ko transcriber and the dialogue: how often the right intent is reached, and how often a
wrong command is chosen (worse than "say that again"): one that changes something on a speaker that
has a timer running and remembers a few things, or one that finds nothing to act on (it says so).

    python benchmarks/understanding.py [--verbose] [--spoken]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from speaker.dialogue import matcher_for  # noqa: E402
from speaker.dialogue.languages import NAMES  # noqa: E402
from speaker.dialogue.matcher import ACTS, CLEAR_LEAD, NEAR_ENOUGH  # noqa: E402
from speaker.testing.understanding import CATEGORIES, SETS, judge, load  # noqa: E402


def typed(name: str, language: str, verbose: bool) -> dict:
    """Every row of one set in one language, each said to a new dialogue: right per category."""
    data = load(name)
    devices = tuple(data["devices"])
    counts, misses, by_tone = {}, [], 0
    for category in CATEGORIES:
        rows = data[language].get(category, [])
        if not rows:
            continue
        verdicts = [judge(language, category, row, devices) for row in rows]
        counts[category] = (sum(v.right for v in verdicts), len(verdicts))
        misses += [(category, v) for v in verdicts if not v.right]
        if category == "feelings":
            by_tone = sum(v.right and v.got.startswith("SpeakerTone") for v in verdicts)
    print(f"[{language}] {name} set:")
    for category, (right, of) in counts.items():
        what = "understood (should be 0)" if category == "nonsense" else "right"
        shown = of - right if category == "nonsense" else right
        tone = f", {by_tone} of them by the tone fallback" if category == "feelings" else ""
        print(f"    {category:<11} {what:<25} {shown}/{of} ({100 * shown / of:.0f}%){tone}")
    acted = [v for _, v in misses if v.got.split()[0] in ACTS]
    print(f"    a wrong command (changes something; worse than asking again): {len(acted)}")
    companion = [counts[c] for c in ("feelings", "affection", "small_talk") if c in counts]
    right, of = sum(r for r, _ in companion), sum(n for _, n in companion)
    print(f"    companion lines (feelings, affection, small talk) right {right}/{of} ({100 * right / of:.0f}%)")
    if verbose:
        for category, v in misses:
            print(f"    miss ({category}): {v.said!r} → {v.got}")
    return counts


def near_misses(language: str) -> None:
    """For the fuzzy matcher (on the tuning set): how many near misses and how much nonsense each
    threshold would let through."""
    data = load("tuning")
    matcher = matcher_for(language, tuple(data["devices"]))
    near = []
    for category in ("commands", "affection", "small_talk", "memory"):
        for text, intent, *_ in data[language][category]:
            nearest = matcher.nearest(text)
            if nearest is not None and nearest.score < 100:
                near.append((nearest, nearest.intent in (intent if isinstance(intent, list) else [intent])))
    for text in data[language]["nonsense"]:
        nearest = matcher.nearest(text)
        if nearest is not None:
            near.append((nearest, None))
    print(f"[{language}] near misses (fuzzy, tuning set), by threshold (lead >= {CLEAR_LEAD}): right / wrong / nonsense")
    for threshold in (70, 75, 80, 82, 85, 90):
        taken = [(n, ok) for n, ok in near if n.score >= threshold and n.lead >= CLEAR_LEAD]
        mark = " <- NEAR_ENOUGH" if threshold == NEAR_ENOUGH else ""
        print(f"      {threshold}: {sum(ok is True for _, ok in taken)} / {sum(ok is False for _, ok in taken)} / "
              f"{sum(ok is None for _, ok in taken)}{mark}")


# Korean requests for the spoken path: (what is said, the intent meant; None: no command is right).
SPOKEN = [
    ("지금 몇 시야", "HassGetCurrentTime"), ("몇 시야", "HassGetCurrentTime"), ("지금 시간 알려줘", "HassGetCurrentTime"),
    ("지금 몇 시인지 알려 줘", "HassGetCurrentTime"), ("오늘 무슨 요일 이에요", "HassGetCurrentDate"),
    ("오늘 며칠 이에요", "HassGetCurrentDate"), ("오늘 날짜 알려줘", "HassGetCurrentDate"),
    ("오늘 무슨 요일이야", "HassGetCurrentDate"), ("내일 무슨 요일이야", "HassGetCurrentDate"),
    ("오분 타이머", "HassStartTimer"), ("삼분 타이머", "HassStartTimer"), ("십분 타이머", "HassStartTimer"),
    ("라면 타이머 삼분", "HassStartTimer"), ("타이머 5분 맞춰 줘", "HassStartTimer"), ("5분 타이머 맞춰 줘", "HassStartTimer"),
    ("타이머 취소", "HassCancelTimer"), ("타이머 취소해 줘", "HassCancelTimer"), ("타이머 남은 시간", "HassTimerStatus"),
    ("타이머 얼마나 남았어", "HassTimerStatus"), ("타이머 전부 취소", "HassCancelAllTimers"),
    ("알람 취소", "SpeakerCancelAlarm"), ("알람 7시에 맞춰 줘", "SpeakerSetAlarm"), ("알람 확인", "SpeakerAlarmStatus"),
    ("볼륨 내려", "HassSetVolumeRelative"), ("소리 좀 키워 줘", "HassSetVolumeRelative"),
    ("볼륨 올려", "HassSetVolumeRelative"), ("볼륨 30으로 해 줘", "HassSetVolume"), ("볼륨 오십", "HassSetVolume"),
    ("음소거", "SpeakerMute"), ("음소거 해 줘", "SpeakerMute"), ("그만", "HassNevermind"), ("멈춰", "HassNevermind"),
    ("됐어", "HassNevermind"), ("다시 말해줘", "SpeakerRepeat"), ("뭐라고", "SpeakerRepeat"), ("안녕", "SpeakerGreet"),
    ("안녕하세요", "SpeakerGreet"), ("고마워", "SpeakerThank"), ("잘자", "SpeakerGoodNight"), ("이름이 뭐야", "SpeakerName"),
    ("오늘 날씨 어때", "HassGetWeather"), ("좋은 아침", "SpeakerGoodMorning"), ("타이머 맞춰 줘", None),
]
RENDITIONS = [("ko+f3", 165), ("ko", 165), ("ko+m3", 140), ("ko+f3", 190)]  # espeak-ng voice, words per minute


def _espeak(text: str, voice: str, rate: int):
    """`text` said by espeak-ng, with half a second of a quiet room on each side, as 16 kHz int16."""
    import subprocess

    import numpy as np

    from speaker.audio import SAMPLE_RATE, resample

    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "--stdout", text], check=True,
                         capture_output=True).stdout
    said = resample(np.frombuffer(wav[44:], "<i2"), 22050, SAMPLE_RATE)
    rng = np.random.default_rng(0)
    quiet = (rng.standard_normal(SAMPLE_RATE // 2) * 20).astype(np.int16)
    return np.concatenate([quiet, said, quiet])


KNOWN_KO = ["내 이름은 민수야", "내 생일은 3월 5일이야", "내 친구 지민 생일은 토요일이야", "라면 타이머 삼분"]  # what the speaker
# has been told before a misheard request: a wrong command can only undo what exists


def _changes_something(heard: str) -> bool:
    """Whether answering `heard` changes something on a speaker that was told KNOWN_KO: a timer, an
    alarm or what it remembers, or a command to the device (volume, the microphone, a switch)."""
    from speaker.dialogue import Dialogue

    dialogue = Dialogue("ko", seed=0)
    for said in KNOWN_KO:
        dialogue.reply(said)
    memory = dialogue.memory
    state = lambda: repr((memory.user_name, memory.facts, memory.people, memory.timers, memory.alarms))  # noqa: E731
    before = state()
    reply = dialogue.reply(heard)
    return reply.command is not None or state() != before


def spoken(verbose: bool) -> dict:
    """Every request of SPOKEN in every rendition, through the real transcriber and the dialogue."""
    from speaker.config import Settings
    from speaker.dialogue import Dialogue
    from speaker.stt import Transcriber

    dialogue = Dialogue("ko", seed=0)
    transcriber = Transcriber.for_dialogue(Settings(), dialogue)  # as the daemon builds it
    right = wrong = acted_wrongly = acted_on_nothing = 0
    seconds = []
    for text, intent in SPOKEN:
        for voice, rate in RENDITIONS:
            audio = _espeak(text, voice, rate)
            start = time.perf_counter()
            heard = transcriber.transcribe(audio)
            seconds.append(time.perf_counter() - start)
            found = dialogue.matcher.recognize(heard)
            got = found.intent.name if found else None
            right += got == intent
            if got is not None and got != intent:
                wrong += 1
                changed = got in ACTS and _changes_something(heard)
                acted_wrongly += changed
                acted_on_nothing += got in ACTS and not changed
                if verbose:
                    effect = " (changes something)" if changed else " (a command, on nothing)" if got in ACTS else ""
                    print(f"    {text!r} ({voice}, {rate}) heard {heard!r}: {got}{effect}")
    total = len(SPOKEN) * len(RENDITIONS)
    print(f"[ko] spoken, {len(SPOKEN)} requests x {len(RENDITIONS)} espeak-ng renditions = {total}:")
    print(f"    right intent        {right}/{total} ({100 * right / total:.1f}%)")
    print(f"    wrong intent        {wrong}/{total}, of which a wrong command that changes something: {acted_wrongly}, "
          f"a command that finds nothing to act on: {acted_on_nothing}")
    print(f"    say that again      {total - right - wrong}/{total}")
    print(f"    transcription time  median {1000 * statistics.median(seconds):.0f} ms")
    return {"right": right, "wrong": wrong, "acted_wrongly": acted_wrongly, "acted_on_nothing": acted_on_nothing,
            "of": total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="list every miss")
    parser.add_argument("--spoken", action="store_true", help="also the spoken Korean requests (a few minutes)")
    args = parser.parse_args()
    for name in SETS:
        for language in NAMES:
            typed(name, language, args.verbose)
    for language in NAMES:
        near_misses(language)
    if args.spoken:
        spoken(args.verbose)


if __name__ == "__main__":
    main()

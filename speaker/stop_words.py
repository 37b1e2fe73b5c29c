"""Stop words: the few words that stop the speaker while it talks ("stop", "never mind", "그만", "멈춰").

A small recogniser that runs only while the speaker talks: pocketsphinx's keyword spotting for
English (its US English model ships in the wheel), vosk with a grammar of the stop words among the
speech grammar's other words for Korean (so that other speech is heard as other words, not forced
into a stop word). It shares the Korean model the transcriber already loaded.
"""

from __future__ import annotations

import json
import os
import tempfile

import numpy as np

from .audio import SAMPLE_RATE

STOP_PHRASES = {"en": ("stop", "never mind"), "ko": ("그만", "멈춰")}
KEYWORD_THRESHOLD = 1e-20  # pocketsphinx's keyword threshold: lower hears more, and more wrongly
EAGER_THRESHOLD = 1e-40  # for what the speaker itself plays: anything like a stop word counts


class StopWords:
    """Takes frames; returns the stop phrase when one was just said."""

    def __init__(self, language: str, vosk_model=None, other_words: list[str] = (), eager: bool = False):
        """`eager`: hear anything that sounds like a stop word (to know what the speaker itself said)."""
        self.phrases = STOP_PHRASES[language]
        if language == "ko":
            self._engine = _VoskSpotter(self.phrases, vosk_model, other_words)
        else:
            self._engine = _KeywordSpotter(self.phrases, EAGER_THRESHOLD if eager else KEYWORD_THRESHOLD)

    def reset(self) -> None:
        """Forget what was heard (a new answer starts)."""
        self._engine.reset()

    def process(self, frame: np.ndarray) -> str | None:
        return self._engine.process(frame)


class _KeywordSpotter:
    def __init__(self, phrases: tuple[str, ...], threshold: float):
        from pocketsphinx import Decoder, get_model_path

        model = get_model_path("en-us")
        with tempfile.NamedTemporaryFile("w", suffix=".kws", delete=False) as f:
            f.writelines(f"{phrase} /{threshold:g}/\n" for phrase in phrases)
        try:
            self._decoder = Decoder(hmm=os.path.join(model, "en-us"), dict=os.path.join(model, "cmudict-en-us.dict"),
                                    kws=f.name, loglevel="FATAL")
        finally:
            os.unlink(f.name)
        self._decoder.start_utt()

    def reset(self) -> None:
        self._decoder.end_utt()
        self._decoder.start_utt()

    def process(self, frame: np.ndarray) -> str | None:
        self._decoder.process_raw(frame.tobytes(), False, False)
        hypothesis = self._decoder.hyp()
        if hypothesis is None:
            return None
        self.reset()
        return hypothesis.hypstr.strip()


class _VoskSpotter:
    def __init__(self, phrases: tuple[str, ...], model, other_words: list[str]):
        import vosk

        if model is None:
            raise ValueError("Korean stop words need the Korean speech model")
        self._phrases = phrases
        words = sorted({*phrases, *(w for p in other_words for w in p.split() if w != "[unk]")})
        self._new = lambda: vosk.KaldiRecognizer(model, SAMPLE_RATE, json.dumps(words, ensure_ascii=False))
        self.reset()

    def reset(self) -> None:
        self._recognizer = self._new()

    def process(self, frame: np.ndarray) -> str | None:
        if self._recognizer.AcceptWaveform(frame.tobytes()):
            text = json.loads(self._recognizer.Result()).get("text", "")
        else:
            text = json.loads(self._recognizer.PartialResult()).get("partial", "")
        words = text.split()
        said = next((p for p in self._phrases if p in words), None)
        if said is not None:
            self.reset()
        return said

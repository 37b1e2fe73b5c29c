"""What the pipeline is given: the stages it drives (built by assembly.py, the one place that builds
them) and its own settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from .barge_in import BargeIn
from .config import AnnounceSettings
from .dialogue import Dialogue
from .echo import EchoCanceller
from .endpoint import Endpointer
from .stt import Transcriber
from .voice import Voice
from .wake import WakeDetector


@dataclass(kw_only=True)
class Stages:
    """The models and engines a pipeline drives; `transcriber` is None when its model is missing
    (`missing_model` says why), `barge_in` when the speaker is not to be interrupted by voice."""

    wake: WakeDetector
    endpointer: Endpointer
    transcriber: Transcriber | None
    dialogue: Dialogue
    voice: Voice
    echo: EchoCanceller
    missing_model: str = ""
    barge_in: BargeIn | None = None


@dataclass(frozen=True, kw_only=True)
class TurnSettings:
    """What the pipeline itself is told: how long a question's answer is waited for, the chimes, the announcements."""

    follow_up_seconds: float = 5.0  # 0: never listen for an answer without the wake word
    wake_chime: bool = True
    done_chime: bool = True
    announce: AnnounceSettings = field(default_factory=AnnounceSettings)

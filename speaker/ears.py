"""Ears: what one frame of the microphone means, before the turn's state machine hears of it.

The speaker's own voice is taken out (echo.py), and the wake word hears every cleaned frame so its
context is always fresh. While the speaker talks, or the echo of what it played is still coming (a
sound server's buffer), a wake word or stop word counts only through barge-in (barge_in.py), which
tells the user's voice from the speaker's own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .barge_in import Interruption
from .stages import Stages
from .wake import Detection


@dataclass(frozen=True)
class Sound:
    """What one frame brought."""

    frame: np.ndarray  # the microphone, the speaker's own voice taken out
    wake: Detection | None = None  # the wake word, heard while the speaker is silent
    interruption: Interruption | None = None  # the user talked over the speaker (barge-in)


def hear(stages: Stages, frame: np.ndarray, *, speaking: bool, resting: bool, behind: float = 0.0) -> Sound:
    """One 80 ms frame; `speaking`: an answer is being said, `resting`: no turn goes on, `behind`:
    seconds the microphone has captured after this frame."""
    echo, barge_in = stages.echo, stages.barge_in
    frame = echo.process(frame, behind)
    detection = stages.wake.process(frame)
    if barge_in is not None and (speaking or (echo.playing and resting)):
        below = echo.echo_below_db if echo.measures else None
        return Sound(frame, interruption=barge_in.hear(frame, echo.sent, detection, below, echo.voice_rms))
    if barge_in is not None:
        barge_in.rest()
    return Sound(frame, wake=detection)

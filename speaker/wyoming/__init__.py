"""The speaker as Wyoming services for Home Assistant's Assist: its speech to text, its voice and its
companion (a conversation agent), on their own thread and asyncio loop beside the pipeline.

framing.py reads events from a stranger's bytes (bounded, malformed ones answered with an error);
engines.py reaches the speaker's stages without disturbing the pipeline; session.py answers one
connection; service.py listens, and advertises the service over zeroconf. satellite.py makes the
speaker a satellite of Home Assistant's Assist (its turns heard by Home Assistant's pipeline, run.py)."""

from .service import WyomingService

__all__ = ["WyomingService"]

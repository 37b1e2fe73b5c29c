"""What each event becomes on MQTT: the event itself, and the retained values it changes."""

from __future__ import annotations

from typing import NamedTuple

from ..events import Event, EventType, Response, State, StateChanged, Transcript, Volume, to_json
from ..payload import shorten

HOME_ASSISTANT_STATE = 255  # characters Home Assistant accepts as a sensor's state
RETAINED_TEXT = {EventType.TRANSCRIPT: "transcript", EventType.RESPONSE: "response"}  # event -> topic


class Publication(NamedTuple):
    """One message: `name` is a topic under the speaker's base; `retained` ones are kept by the broker."""

    name: str
    payload: str
    retained: bool = False


def publications(event: Event, retain_transcripts: bool) -> list[Publication]:
    """The messages one event makes: always event/<type>; the state, muted flag and volume as
    retained values; the last transcript and answer (retained only with `retain_transcripts`)."""
    out = [Publication(f"event/{event.type}", to_json(event))]
    if isinstance(event, StateChanged):
        out.append(Publication("state", str(event.state), True))
        muted = event.muted
        if muted is None and event.state in (State.MUTED, State.IDLE):  # from a pipeline without the field
            muted = event.state == State.MUTED
        if muted is not None:
            out.append(Publication("muted", "ON" if muted else "OFF", True))
    elif isinstance(event, Volume):
        out.append(Publication("volume", str(event.level), True))
    elif isinstance(event, Response) or (isinstance(event, Transcript) and event.final):
        text = shorten(str(event.text or ""), HOME_ASSISTANT_STATE)
        out.append(Publication(RETAINED_TEXT[event.type], text, retain_transcripts))  # else live only
    return out

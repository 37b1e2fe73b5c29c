"""Home Assistant's MQTT device discovery: the speaker as one device with its entities."""

from __future__ import annotations

from .. import __version__


def discovery(base: str, device: str, wake_words: list[str]) -> dict:
    """Home Assistant device discovery: one device, its entities in `cmps` (each with QoS 1:
    Home Assistant does not take the top-level `qos` down to the components)."""
    uid = f"speaker_{device}"

    def entity(key: str, platform: str, name: str, **fields) -> tuple[str, dict]:
        return key, {"p": platform, "name": name, "unique_id": f"{uid}_{key}", "qos": 1, **fields}

    components = dict([
        entity("state", "sensor", "State", state_topic=f"{base}/state", icon="mdi:account-voice"),
        entity("transcript", "sensor", "Last heard", state_topic=f"{base}/transcript", icon="mdi:ear-hearing"),
        entity("response", "sensor", "Last answer", state_topic=f"{base}/response", icon="mdi:message-text"),
        entity("mute", "switch", "Mute microphone", command_topic=f"{base}/cmd/mute", state_topic=f"{base}/muted",
               payload_on='{"mute": true}', payload_off='{"mute": false}', state_on="ON", state_off="OFF",
               icon="mdi:microphone-off"),
        entity("volume", "number", "Volume", command_topic=f"{base}/cmd/volume", state_topic=f"{base}/volume",
               command_template='{"level": {{ value | int }}}', min=0, max=100, step=1, unit_of_measurement="%"),
        entity("listen", "button", "Start listening", command_topic=f"{base}/cmd/listen", payload_press="{}"),
        entity("stop", "button", "Stop", command_topic=f"{base}/cmd/stop", payload_press="{}"),
        entity("say", "notify", "Say", command_topic=f"{base}/cmd/say", command_template='{"text": {{ value | tojson }}}'),
        entity("wake", "event", "Wake word", state_topic=f"{base}/event/wake", event_types=wake_words,
               value_template='{"event_type": "{{ value_json.wake_word }}"}'),
        entity("timer", "event", "Timer", state_topic=f"{base}/event/timer", event_types=["timer", "alarm"],
               value_template='{"event_type": "{{ value_json.kind }}"}'),
    ])
    return {
        "dev": {"ids": [uid], "name": f"Speaker {device}", "mf": "speaker", "mdl": "speaker", "sw": __version__},
        "o": {"name": "speaker", "sw": __version__},
        "availability_topic": f"{base}/availability",
        "qos": 1,
        "cmps": components,
    }

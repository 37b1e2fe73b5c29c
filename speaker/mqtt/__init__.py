"""The speaker on the home bus: every event out, commands in, Home Assistant discovery, and
arbitration when several speakers hear one wake word.

Topics (prefix "speaker" by default, <base> = <prefix>/<device_id>):
  <base>/event/<type>              every event, JSON, QoS 1
  <base>/state                     current state, retained (also volume, muted; transcript and
                                   response only with mqtt.retain_transcripts)
  <base>/availability              online / offline (retained; offline is the last will)
  <base>/cmd/<name>                commands, JSON (also <prefix>/all/cmd/<name>, <prefix>/room/<room>/cmd/<name>)
  <prefix>/arbitration             wake claims shared by the speakers of one home

One job a module: `link` (the connection, its backlog, commands in), `publishing` (what an event
becomes), `arbitration`, `discovery` (Home Assistant); payload hardening is `speaker.payload`,
shared with the Wyoming door.
"""

from ..payload import MAX_PAYLOAD, PayloadError, read_payload
from .link import MqttLink

__all__ = ["MAX_PAYLOAD", "MqttLink", "PayloadError", "read_payload"]

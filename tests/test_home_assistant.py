"""The speaker in a real Home Assistant core's Assist (2026.2.3, in the Debian 13 root that
scripts/home-assistant builds once under build/home-assistant): onboarded through its HTTP API; the
`wyoming` integration added through its config-flow API for each speaker's services and its
satellite; an Assist pipeline per language made of the speaker's speech to text, its companion as
the conversation agent and its voice. A spoken request goes through the satellite and comes back
in the speaker's voice (English and Korean); `assist_satellite.announce` is spoken; Home Assistant is
stopped and started in the middle, and the speaker answers on its own meanwhile.

Home Assistant runs in its own mount and PID namespaces (scripts/home-assistant run): its /proc and
its processes end with it; each start is stopped by its whole process group."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import uuid

import pytest
import requests

from conftest import ROOT, free_port, natural_speech, recording, speech
from test_wyoming import WyomingSpeaker

pytestmark = pytest.mark.slow

SCRIPT = ROOT / "scripts" / "home-assistant"
HA_ROOT = ROOT / "build" / "home-assistant"
QUIET = 2.5  # seconds of room after a request: Home Assistant's own VAD hears its end


@pytest.fixture(scope="module")
def built():
    """The root with Home Assistant in it (built on first use: about 10 minutes, once per checkout)."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("Home Assistant's Debian root needs root (debootstrap, chroot, unshare)")
    subprocess.run([SCRIPT, "build"], check=True, timeout=3600)  # prints its progress


class HomeAssistant:
    """`hass` on a free loopback port, its configuration in the root's /tmp; `stop` ends its process group."""

    def __init__(self, folder):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.inside = f"/tmp/speaker-test-{uuid.uuid4().hex[:8]}"
        self.config = HA_ROOT / self.inside.lstrip("/")
        self.config.mkdir(parents=True)
        (self.config / "configuration.yaml").write_text(
            f"homeassistant:\n  name: Home\n  time_zone: UTC\n  internal_url: {self.url}\n"
            f"http:\n  server_host: 127.0.0.1\n  server_port: {self.port}\n"
            "assist_pipeline:\nconversation:\nlogger:\n  default: warning\n  logs:\n"
            "    homeassistant.components.wyoming: debug\n")
        self.log = folder / "home-assistant.log"
        self.proc: subprocess.Popen | None = None
        self.token = ""

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([SCRIPT, "run", "/srv/hass/bin/hass", "--config", self.inside, "--skip-pip"],
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.tail()
            try:
                if requests.get(f"{self.url}/api/", timeout=2).status_code in (200, 401):  # 401: before onboarding
                    return
            except requests.ConnectionError:
                pass
            time.sleep(1)
        raise AssertionError(f"Home Assistant did not answer in 240 s\n{self.tail()}")

    def stop(self) -> None:
        """Its whole process group: politely, then not."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.config, ignore_errors=True)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    # -- its APIs --------------------------------------------------------------------------------------

    def onboard(self) -> None:
        """The first user, as the onboarding page makes it; then the token the API takes."""
        client = f"{self.url}/"
        answer = requests.post(f"{self.url}/api/onboarding/users", timeout=30, json={
            "client_id": client, "name": "Tester", "username": "tester", "password": "a long test password",
            "language": "en"})
        assert answer.status_code == 200, answer.text
        token = requests.post(f"{self.url}/auth/token", timeout=30, data={
            "grant_type": "authorization_code", "code": answer.json()["auth_code"], "client_id": client})
        assert token.status_code == 200, token.text
        self.token = token.json()["access_token"]
        for step, body in (("core_config", {}), ("analytics", {}),
                           ("integration", {"client_id": client, "redirect_uri": f"{client}?auth_callback=1"})):
            assert self.post(f"/api/onboarding/{step}", body).status_code == 200

    def post(self, path: str, body: dict) -> requests.Response:
        return requests.post(f"{self.url}{path}", json=body, timeout=120,
                             headers={"Authorization": f"Bearer {self.token}"})

    def add_wyoming(self, port: int) -> str:
        """The `wyoming` integration for the service at 127.0.0.1:`port`, through the config-flow API
        as the UI's "Add integration" does; its entry's id."""
        form = self.post("/api/config/config_entries/flow", {"handler": "wyoming", "show_advanced_options": False})
        assert form.status_code == 200 and form.json()["step_id"] == "user", form.text
        done = self.post(f"/api/config/config_entries/flow/{form.json()['flow_id']}", {"host": "127.0.0.1", "port": port})
        assert done.status_code == 200 and done.json()["type"] == "create_entry", done.text
        return done.json()["result"]["entry_id"]

    def command(self, **message) -> dict:
        """One websocket API command's result."""
        from websockets.sync.client import connect

        with connect(f"ws://127.0.0.1:{self.port}/api/websocket", open_timeout=30) as ws:
            assert json.loads(ws.recv(30))["type"] == "auth_required"
            ws.send(json.dumps({"type": "auth", "access_token": self.token}))
            assert json.loads(ws.recv(30))["type"] == "auth_ok"
            ws.send(json.dumps({"id": 1, **message}))
            answer = json.loads(ws.recv(120))
        assert answer["success"], answer
        return answer["result"]

    def entities(self, entry_id: str) -> dict[str, str]:
        """The entry's entities by domain (stt, tts, conversation, assist_satellite, select ...)."""
        found: dict[str, str] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for entity in self.command(type="config/entity_registry/list"):
                if entity["config_entry_id"] == entry_id:
                    domain = entity["entity_id"].split(".")[0]
                    if domain != "select" or entity["entity_id"].endswith("_assistant"):
                        found.setdefault(domain, entity["entity_id"])
            if found:
                return found
            time.sleep(1)
        raise AssertionError(f"no entities for {entry_id}")


@pytest.fixture(scope="module")
def home(built, tmp_path_factory):
    """Home Assistant with an English and a Korean speaker, each added as services and as a satellite."""
    folder = tmp_path_factory.mktemp("home-assistant")
    speakers = {}
    assist = HomeAssistant(folder)
    try:
        for language, device, phrase in (("en", "kitchen", "assist-en"), ("ko", "geosil", "assist-ko")):
            port = free_port()
            speaker = WyomingSpeaker(tmp_path_factory.mktemp(device), language, device,
                                     more=f"satellite = true\nsatellite_port = {port}\nadvertise = false\n")
            speaker.satellite_port, speaker.pipeline = port, phrase
            speakers[language] = speaker
        assist.start()
        assist.onboard()
        for language, speaker in speakers.items():
            services = assist.entities(assist.add_wyoming(speaker.port))
            satellite = assist.entities(assist.add_wyoming(speaker.satellite_port))
            assert {"stt", "tts", "conversation"} <= services.keys(), services
            assert {"assist_satellite", "select"} <= satellite.keys(), satellite
            assist.command(type="assist_pipeline/pipeline/create", name=speaker.pipeline, language=language,
                           stt_engine=services["stt"], stt_language=language, tts_engine=services["tts"],
                           tts_language=language, tts_voice=None, conversation_engine=services["conversation"],
                           conversation_language=language, wake_word_entity=None, wake_word_id=None)
            chosen = assist.post("/api/services/select/select_option",
                                 {"entity_id": satellite["select"], "option": speaker.pipeline})
            assert chosen.status_code == 200, chosen.text
            speaker.satellite_entity = satellite["assist_satellite"]
        yield assist, speakers
    finally:
        assist.remove()
        for speaker in speakers.values():
            speaker.close()


def ask(speaker: WyomingSpeaker, said, timeout: float = 120) -> dict[str, list[dict]]:
    """Say `said` after the wake word; the events of that turn by type, once it is over."""
    seen = len(speaker.speaker.events)
    speaker.feeder.say(said)
    wake = speaker.speaker.wait_event(lambda e: e["type"] == "wake", after=seen, timeout=timeout)
    speaker.speaker.wait_event(lambda e: e["type"] == "state" and e["state"] == "idle" and e["turn"] is None,
                               after=speaker.speaker.events.index(wake) + 1, timeout=timeout)
    turn: dict[str, list[dict]] = {}
    for event in speaker.speaker.events[seen:]:
        if event.get("turn") == wake["turn"] or event.get("via") == "wyoming":
            turn.setdefault(event["type"] if event.get("via") != "wyoming" else f"{event['type']} via wyoming",
                            []).append(event)
    return turn


def question(hey_jarvis, language: str):
    words = natural_speech("what time is it") if language == "en" else speech("지금 몇 시야", "ko+f3", 165)
    return recording(0.5, hey_jarvis, 0.3, words, QUIET)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_request_goes_through_home_assistants_pipeline_with_the_speakers_engines(home, hey_jarvis, language):
    assist, speakers = home
    speaker = speakers[language]
    turn = ask(speaker, question(hey_jarvis, language))
    said = "what time is it" if language == "en" else "지금 몇 시야"
    assert [e["state"] for e in turn["state"]] == ["listening", "thinking", "speaking"], assist.tail()
    assert [e["text"] for e in turn["transcript"]] == [said]  # Home Assistant's transcript, told by the satellite
    assert turn["transcript"][0]["via"] == "home_assistant"
    assert [e["text"] for e in turn["transcript via wyoming"]] == [said]  # ... made by the speaker's speech to text
    assert [e["name"] for e in turn["intent via wyoming"]] == ["HassGetCurrentTime"]  # ... and its companion
    answer = turn["response via wyoming"][0]["text"]
    assert [e["text"] for e in turn["response"]] == [answer]  # its voice, through Home Assistant, said here


def test_an_announcement_from_home_assistant_is_spoken(home):
    assist, speakers = home
    speaker = speakers["en"]
    seen = len(speaker.speaker.events)
    done = assist.post("/api/services/assist_satellite/announce",
                       {"entity_id": speaker.satellite_entity, "message": "Dinner is ready", "preannounce": False})
    assert done.status_code == 200, done.text + assist.tail()
    said = speaker.speaker.wait_event(lambda e: e["type"] == "response", after=seen)
    speaker.speaker.wait_event(lambda e: e["type"] == "state" and e["state"] == "speaking" and e["turn"] == said["turn"],
                               after=seen)
    speaker.speaker.wait_event(lambda e: e["type"] == "state" and e["state"] == "idle", after=seen)


def test_without_home_assistant_the_speaker_answers_on_its_own_and_goes_back(home, hey_jarvis):
    assist, speakers = home
    speaker = speakers["en"]
    seen = len(speaker.speaker.events)
    assist.stop()
    lost = speaker.speaker.wait_event(lambda e: e["type"] == "error" and e["code"] == "home_assistant_lost",
                                      after=seen, timeout=60)
    turn = ask(speaker, question(hey_jarvis, "en"))
    assert [e["name"] for e in turn["intent"]] == ["HassGetCurrentTime"]  # the speaker's own pipeline
    assert "transcript via wyoming" not in turn and turn["transcript"][-1].get("via") is None
    assert [e for e in speaker.speaker.events[seen:] if e["type"] == "error"] == [lost]  # said once
    assist.start()
    speaker.speaker.wait_event(lambda e: e["type"] == "home_assistant_restored", after=seen, timeout=120)
    turn = ask(speaker, question(hey_jarvis, "en"))
    assert [e["text"] for e in turn["transcript"]] == ["what time is it"]
    assert turn["transcript"][0]["via"] == "home_assistant"

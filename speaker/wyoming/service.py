"""The Wyoming services' server and the satellite's (`[wyoming] satellite`): their own thread and
asyncio loop, never the pipeline's; and their advertisement over zeroconf (`_wyoming._tcp.local.`)
for Home Assistant to discover."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import socket
import threading
from typing import TYPE_CHECKING

from ..config import WyomingSettings
from ..events import ErrorCode
from .engines import Engines
from .framing import MAX_LINE
from .satellite import Satellite
from .session import Session

if TYPE_CHECKING:
    from ..assembly import Assembly

log = logging.getLogger(__name__)

SERVICE_TYPE = "_wyoming._tcp.local."
WORKERS = 2  # recognising and speaking for clients, beside the pipeline


def advertisement(name: str, address: str, port: int, host_name: str | None = None):
    """The zeroconf record of a service: `name`._wyoming._tcp.local. at `address`:`port`."""
    from zeroconf import ServiceInfo

    return ServiceInfo(SERVICE_TYPE, f"{name}.{SERVICE_TYPE}", port=port,
                       addresses=[socket.inet_aton(address)], server=f"{host_name or name}.local.")


def advertised_address(host: str) -> str:
    """The address to advertise: the one listened on, or for 0.0.0.0 the one the home network reaches."""
    if host != "0.0.0.0":
        return host
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("224.0.0.251", 5353))  # no packet is sent: it picks the interface for mDNS
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


class WyomingService:
    """Serves `assembly`'s engines and companion on `[wyoming]` host:port, and the satellite on
    host:satellite_port when it is one, from `start` to `close`."""

    def __init__(self, assembly: Assembly):
        self.settings = assembly.settings.wyoming
        self.name = assembly.settings.device_id
        self.engines = Engines(assembly)
        self.satellite = None
        if self.settings.satellite:
            self.satellite = Satellite(settings=self.settings, name=self.name, pipeline=assembly.pipeline)
            assembly.pipeline.assist = self.satellite
            assembly.bus.subscribe(self.satellite)
        self._report = assembly.report
        self._loop = asyncio.new_event_loop()
        self._loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(WORKERS, "wyoming"))
        self._thread = threading.Thread(target=self._loop.run_forever, name="wyoming", daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._zeroconf = None
        self.ready = threading.Event()  # listening (or failed to, and said so)

    @property
    def port(self) -> int:
        """The port listened on (the settings' one; a test's 0 becomes the one chosen)."""
        return self._server.sockets[0].getsockname()[1] if self._server else self.settings.port

    def start(self) -> None:
        """Listen (returns once listening, or once the failure was reported); then advertise and warm up."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop)
        self.ready.wait(timeout=5)

    async def _serve(self) -> None:
        try:
            self._server = await asyncio.start_server(self._connected, self.settings.host, self.settings.port,
                                                      limit=MAX_LINE)
        except OSError as e:
            self._report(ErrorCode.WYOMING_UNAVAILABLE,
                         f"cannot listen on {self.settings.host}:{self.settings.port} for Wyoming: {e.strerror or e}")
            self.ready.set()
            return
        log.info("wyoming: serving speech to text, voice and companion on %s:%d", self.settings.host, self.port)
        if self.satellite is not None:
            try:
                await self.satellite.serve()
            except OSError as e:  # the speaker answers on its own
                self._report(ErrorCode.WYOMING_UNAVAILABLE, f"cannot listen on {self.settings.host}:"
                             f"{self.settings.satellite_port} for the satellite: {e.strerror or e}")
        self.ready.set()
        if self.settings.advertise:
            await self._advertise()
        await self._loop.run_in_executor(None, self.engines.warm_up)

    async def _advertise(self) -> None:
        from zeroconf import InterfaceChoice
        from zeroconf.asyncio import AsyncZeroconf

        host = self.settings.host
        try:
            self._zeroconf = AsyncZeroconf(interfaces=InterfaceChoice.All if host == "0.0.0.0" else [host])
            address = advertised_address(host)
            records = [advertisement(self.name, address, self.port)]
            if self.satellite is not None and self.satellite.serving:
                records.append(advertisement(f"{self.name}-satellite", address, self.satellite.port, self.name))
            for info in records:
                await self._zeroconf.async_register_service(info, allow_name_change=True)
                log.info("wyoming: advertised as %s", info.name)
        except Exception as e:  # the service still answers at its address
            self._report(ErrorCode.WYOMING_UNAVAILABLE, f"cannot advertise the Wyoming service over zeroconf: {e}")

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await Session(self.engines, reader, writer).run()
        except Exception:  # one client's failure is never the server's
            log.exception("wyoming: a connection failed")
            writer.close()

    async def _stop(self) -> None:
        if self._zeroconf is not None:
            await self._zeroconf.async_unregister_all_services()
            await self._zeroconf.async_close()
        if self._server is not None:
            self._server.close()
        if self.satellite is not None:
            await self.satellite.close()

    def close(self) -> None:
        """Stop advertising and listening; let the loop's thread end."""
        if not self._thread.is_alive():
            return
        try:
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=5)
        except Exception:
            log.exception("wyoming: stopping failed")
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

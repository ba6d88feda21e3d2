"""pyserial URL handler for ``sim://``: a simulated modem in this process.

Form::

    sim://[PROFILE][?scenario=NAME_OR_FILE][&seed=N][&control=SOCKET_PATH][&name=NAME]

* ``PROFILE``: a persona (``quectel-ec25``, ``simcom-sim7600``…); empty means the
  scenario's ``persona`` key.
* ``scenario``: a shipped scenario name (``demo``) or a path to a TOML file; default
  ``default``.
* ``seed``: an integer; same seed, same IMEI, message references and random faults.
* ``control``: a unix socket path where the modem takes JSON control lines
  (see :mod:`modem.sim.control`).
* ``name``: the registry name; default is the whole URL. Opening a URL whose modem is
  already live attaches to it, which is how a port reopened after an unplug finds the
  same modem again.

Any other key, a repeated key or a malformed value is refused with a message that
restates this form. While the simulated port is unplugged every read and write raises
``SerialException`` and opening it fails, as with a real USB modem.

pyserial finds this module through ``serial.protocol_handler_packages`` (the transport
adds ``modem.sim.urlhandler`` on first use) and instantiates the class named ``Serial``.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

from serial.serialutil import PortNotOpenError, SerialBase, SerialException

from modem.sim.engine import create_modem
from modem.sim.errors import SimulatorError
from modem.sim.live import LiveModem, open_registered, release_registered

__all__ = ["EXPECTED_FORM", "Serial", "SimUrl", "parse_sim_url"]

EXPECTED_FORM = "sim://[PROFILE][?scenario=NAME_OR_FILE][&seed=N][&control=SOCKET_PATH][&name=NAME]"
_OPTIONS = ("scenario", "seed", "control", "name")


class SimUrl:
    """A parsed ``sim://`` URL.

    Attributes:
        profile: the persona name, or ``None`` for the scenario's own.
        scenario: scenario name or path, or ``None`` for the default.
        seed: the seed.
        control: the control socket path, or ``None``.
        name: the registry name.
    """

    def __init__(
        self,
        profile: str | None,
        scenario: str | None,
        seed: int,
        control: Path | None,
        name: str,
    ) -> None:
        self.profile = profile
        self.scenario = scenario
        self.seed = seed
        self.control = control
        self.name = name


def parse_sim_url(url: str) -> SimUrl:
    """Parse and validate a ``sim://`` URL.

    Raises:
        SerialException: anything but the documented form; the message restates it.
    """

    def refuse(reason: str) -> SerialException:
        return SerialException(f"expected {EXPECTED_FORM}: {reason} (got {url!r})")

    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "sim":
        raise refuse(f"the scheme must be sim://, not {parts.scheme!r}")
    if parts.path not in ("", "/"):
        raise refuse(f"unexpected path {parts.path!r} after the profile")
    if parts.fragment:
        raise refuse("a #fragment is not allowed")
    try:
        pairs = urllib.parse.parse_qsl(
            parts.query, keep_blank_values=True, strict_parsing=bool(parts.query)
        )
    except ValueError as exc:
        raise refuse(f"malformed query: {exc}") from None
    options: dict[str, str] = {}
    for key, value in pairs:
        if key not in _OPTIONS:
            raise refuse(f"unknown option {key!r}")
        if key in options:
            raise refuse(f"option {key!r} given twice")
        if not value:
            raise refuse(f"option {key!r} needs a value")
        options[key] = value
    seed_text = options.get("seed", "0")
    try:
        seed = int(seed_text, 10)
    except ValueError:
        raise refuse(f"seed must be an integer, not {seed_text!r}") from None
    control = options.get("control")
    return SimUrl(
        profile=parts.netloc or None,
        scenario=options.get("scenario"),
        seed=seed,
        control=Path(control) if control else None,
        name=options.get("name", url),
    )


class Serial(SerialBase):
    """A serial port whose other end is a simulated modem (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._modem: LiveModem | None = None
        self._generation = 0
        self._name = ""
        super().__init__(*args, **kwargs)

    def open(self) -> None:
        """Attach to (or create) the simulated modem the URL names.

        Raises:
            SerialException: bad URL, unknown profile, bad scenario, unusable control
                path, the port is already open, or the simulated port is unplugged.
        """
        if self.is_open:
            raise SerialException("Port is already open.")
        url = self.portstr
        if url is None:
            raise SerialException("Port must be configured before it can be used.")
        spec = parse_sim_url(url)

        def build() -> LiveModem:
            return LiveModem(
                lambda now: create_modem(spec.profile, spec.scenario, seed=spec.seed, now=now),
                name=spec.name,
                control_path=spec.control,
            )

        try:
            modem, generation = open_registered(spec.name, build)
        except SimulatorError as exc:
            raise SerialException(f"{self.portstr}: {exc}") from exc
        except ConnectionError as exc:
            raise SerialException(f"{self.portstr}: {exc}") from exc
        self._modem = modem
        self._generation = generation
        self._name = spec.name
        self.is_open = True
        self.reset_input_buffer()

    def close(self) -> None:
        """Detach from the simulated modem (it lives on while unplugged or in use)."""
        if self._modem is not None:
            modem, self._modem = self._modem, None
            release_registered(self._name, modem)
        self.is_open = False

    def _live(self) -> LiveModem:
        if not self.is_open or self._modem is None:
            raise PortNotOpenError()
        return self._modem

    def _reconfigure_port(self, force_update: bool = False) -> None:
        """Line settings mean nothing to a simulated modem; accepted as given."""

    @property
    def in_waiting(self) -> int:
        """Bytes ready to read."""
        try:
            return self._live().in_waiting(self._generation)
        except ConnectionError as exc:
            raise SerialException(f"device disconnected: {exc}") from exc

    def read(self, size: int = 1) -> bytes:
        """Read up to ``size`` bytes within the port's timeout.

        Raises:
            SerialException: the simulated port was unplugged.
        """
        modem = self._live()
        if size <= 0:
            return b""
        try:
            return modem.read(size, self.timeout, self._generation)
        except ConnectionError as exc:
            raise SerialException(
                f"device reports readiness to read but returned no data ({exc})"
            ) from exc

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        """Send bytes to the simulated modem.

        Raises:
            SerialException: the simulated port was unplugged.
        """
        modem = self._live()
        payload = bytes(data)
        try:
            modem.write(payload, self._generation)
        except ConnectionError as exc:
            raise SerialException(f"write failed: device disconnected ({exc})") from exc
        return len(payload)

    def flush(self) -> None:
        """Writes are delivered at once; nothing to wait for."""
        self._live()

    def reset_input_buffer(self) -> None:
        """Drop unread output of the modem."""
        self._live().reset_input()

    def reset_output_buffer(self) -> None:
        """Nothing is ever buffered on the way out."""
        self._live()

    @property
    def out_waiting(self) -> int:
        """Always 0: writes are delivered at once."""
        self._live()
        return 0

    def cancel_read(self) -> None:
        """Wake a blocked reader."""
        if self._modem is not None:
            self._modem.wake()

    def cancel_write(self) -> None:
        """Writes never block."""

    def _update_break_state(self) -> None:
        self._live()

    def _update_rts_state(self) -> None:
        """RTS is not wired in the simulation."""

    def _update_dtr_state(self) -> None:
        """DTR is not wired in the simulation."""

    @property
    def cts(self) -> bool:
        """Always asserted."""
        self._live()
        return True

    @property
    def dsr(self) -> bool:
        """Always asserted."""
        self._live()
        return True

    @property
    def ri(self) -> bool:
        """Never ringing."""
        self._live()
        return False

    @property
    def cd(self) -> bool:
        """No data call, so no carrier."""
        self._live()
        return False

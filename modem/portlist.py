"""Which ports on this machine could be a modem's AT port (``salve-modem list``).

Read from sysfs, the kernel's own description of its devices, which tells everything
pyserial's ``list_ports`` tells (USB vendor and product ids and strings, serial number)
plus what an operator choosing a port needs and pyserial leaves out: the USB interface
number (a Quectel EC25 has four ttyUSB ports, and only interface 02 is for AT), the
driver, and the WWAN AT ports of PCIe modules (``/dev/wwan0at0``), which are not TTYs.
Reading sysfs under a root directory also lets a test build a machine in a temporary
directory: sysfs is the outermost edge.

For each candidate the listing adds:

* the stable ``/dev/serial/by-id/…`` name and the ``/dev/salve-modem`` name (the
  project's udev rule) when they point at the port;
* the processes that hold it open (ModemManager, typically), from ``/proc``;
* whether udev told ModemManager to leave it alone (``ID_MM_DEVICE_IGNORE=1`` in the
  udev database under ``/run/udev/data``).
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["SerialPortInfo", "list_ports", "render_ports"]

#: Kernel names of the ports worth listing: USB serial, CDC-ACM, and WWAN AT channels.
_TTY_NAMES = re.compile(r"tty(USB|ACM)\d+")
_WWAN_AT_NAMES = re.compile(r"wwan\d+at\d+")
#: How far up from the port's device directory its USB or PCI device may be.
_MAX_DEPTH = 6
#: The names of ModemManager's process.
_MODEM_MANAGER = "ModemManager"


@dataclass(frozen=True, slots=True)
class SerialPortInfo:
    """One candidate port.

    Attributes:
        device: the device path, ``/dev/ttyUSB2``.
        bus: ``usb`` or ``pci`` (``None`` when sysfs does not say).
        vendor_id: four hex digits, ``2c7c``.
        product_id: four hex digits, ``0125``.
        manufacturer: the USB manufacturer string.
        product: the USB product string (the model, usually).
        serial_number: the USB serial number.
        interface: the USB interface number, two hex digits (``02``).
        interface_name: the interface's own description, when the device gives one.
        driver: the kernel driver (``option``, ``cdc_acm``, ``mhi_wwan_ctrl`` …).
        by_id: the ``/dev/serial/by-id`` path that points at the port.
        salve_link: ``/dev/salve-modem`` when the project's udev rule chose this port.
        holders: processes that have the port open, ``NAME (pid N)``.
        modem_manager_ignores: udev's ``ID_MM_DEVICE_IGNORE`` (None when unknown).
    """

    device: str
    bus: str | None = None
    vendor_id: str | None = None
    product_id: str | None = None
    manufacturer: str | None = None
    product: str | None = None
    serial_number: str | None = None
    interface: str | None = None
    interface_name: str | None = None
    driver: str | None = None
    by_id: str | None = None
    salve_link: str | None = None
    holders: tuple[str, ...] = ()
    modem_manager_ignores: bool | None = None

    @property
    def held_by_modem_manager(self) -> bool:
        """True when ModemManager has the port open (and would garble our AT traffic)."""
        return any(holder.startswith(_MODEM_MANAGER + " ") for holder in self.holders)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["holders"] = list(self.holders)
        data["held_by_modem_manager"] = self.held_by_modem_manager
        return data


def _read(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    return text or None


def _link_name(path: Path) -> str | None:
    try:
        return Path(os.readlink(path)).name
    except OSError:
        return None


def _hex4(text: str | None) -> str | None:
    if text is None:
        return None
    return text.lower().removeprefix("0x").zfill(4)


def _describe(name: str, device_dir: Path, dev: Path) -> SerialPortInfo:
    """What sysfs says about one port, walking up from its device directory."""
    fields: dict[str, Any] = {"device": str(dev / name)}
    try:
        current = device_dir.resolve(strict=True)
    except OSError:
        return SerialPortInfo(**fields)
    fields["driver"] = _link_name(current / "driver")
    for _ in range(_MAX_DEPTH):
        if "interface" not in fields and (current / "bInterfaceNumber").exists():
            fields["interface"] = _read(current / "bInterfaceNumber")
            fields["interface_name"] = _read(current / "interface")
            fields["driver"] = fields["driver"] or _link_name(current / "driver")
        if (current / "idVendor").exists():
            fields.update(
                bus="usb",
                vendor_id=_hex4(_read(current / "idVendor")),
                product_id=_hex4(_read(current / "idProduct")),
                manufacturer=_read(current / "manufacturer"),
                product=_read(current / "product"),
                serial_number=_read(current / "serial"),
            )
            break
        if (current / "vendor").exists() and (current / "device").is_file():
            fields.update(
                bus="pci",
                vendor_id=_hex4(_read(current / "vendor")),
                product_id=_hex4(_read(current / "device")),
            )
            break
        if current.parent == current:
            break
        current = current.parent
    return SerialPortInfo(**fields)


def _links_to(directory: Path) -> dict[str, str]:
    """Kernel name -> the symlink in ``directory`` that points at it."""
    links: dict[str, str] = {}
    try:
        entries = sorted(directory.iterdir())
    except OSError:
        return links
    for entry in entries:
        target = _link_name(entry)
        if target is not None:
            links.setdefault(target, str(entry))
    return links


def _holders(proc: Path, dev: Path) -> dict[str, list[str]]:
    """Kernel name -> ``NAME (pid N)`` of each process with ``dev/NAME`` open."""
    holders: dict[str, list[str]] = {}
    prefix = str(dev) + "/"
    try:
        entries = list(proc.iterdir())
    except OSError:
        return holders
    for entry in entries:
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:
            # Other users' processes are hidden from unprivileged users.
            continue
        seen: set[str] = set()
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith(prefix):
                seen.add(target[len(prefix) :])
        if seen:
            comm = _read(entry / "comm") or "?"
            for name in seen:
                holders.setdefault(name, []).append(f"{comm} (pid {entry.name})")
    return holders


def _modem_manager_ignores(name: str, class_dir: Path, run: Path) -> bool | None:
    numbers = _read(class_dir / name / "dev")
    if numbers is None:
        return None
    record = _read(run / "udev" / "data" / f"c{numbers}")
    if record is None:
        return None
    return "E:ID_MM_DEVICE_IGNORE=1" in record.splitlines()


def list_ports(
    *,
    sys_root: Path = Path("/sys"),
    dev_root: Path = Path("/dev"),
    proc_root: Path = Path("/proc"),
    run_root: Path = Path("/run"),
) -> list[SerialPortInfo]:
    """Lists the candidate AT ports of this machine, USB before PCIe, in name order.

    Args:
        sys_root: where sysfs is mounted.
        dev_root: the device directory (for ``serial/by-id`` and ``salve-modem``).
        proc_root: where procfs is mounted (for the processes holding a port).
        run_root: the runtime directory (for udev's database).

    Returns:
        One entry per ttyUSB/ttyACM port and WWAN AT channel; empty when there are none.
    """
    by_id = _links_to(dev_root / "serial" / "by-id")
    salve = _link_name(dev_root / "salve-modem")
    holders = _holders(proc_root, dev_root)
    ports: list[SerialPortInfo] = []
    for class_name, pattern in (("tty", _TTY_NAMES), ("wwan", _WWAN_AT_NAMES)):
        class_dir = sys_root / "class" / class_name
        try:
            names = sorted(
                (entry.name for entry in class_dir.iterdir() if pattern.fullmatch(entry.name)),
                key=_natural,
            )
        except OSError:
            continue
        for name in names:
            info = _describe(name, class_dir / name / "device", dev_root)
            ports.append(
                SerialPortInfo(
                    **{
                        **asdict(info),
                        "by_id": by_id.get(name),
                        "salve_link": str(dev_root / "salve-modem") if salve == name else None,
                        "holders": tuple(sorted(holders.get(name, ()))),
                        "modem_manager_ignores": _modem_manager_ignores(name, class_dir, run_root),
                    }
                )
            )
    return ports


def _natural(name: str) -> tuple[str, int]:
    match = re.fullmatch(r"(\D+?)(\d+)", name)
    return (match.group(1), int(match.group(2))) if match else (name, -1)


def render_ports(ports: list[SerialPortInfo]) -> str:
    """The readable listing (what ``salve-modem list`` prints)."""
    if not ports:
        return (
            "no candidate AT ports (no ttyUSB, ttyACM or WWAN AT device): is the modem "
            "plugged in, and is its driver (option, cdc_acm, mhi_wwan_ctrl) loaded?\n"
        )
    lines: list[str] = []
    for port in ports:
        ids = f"{port.vendor_id or '?'}:{port.product_id or '?'}"
        model = " ".join(p for p in (port.manufacturer, port.product) if p) or "unknown model"
        where = f"{port.bus or '?'} {ids}"
        if port.interface is not None:
            where += f" interface {port.interface}"
        if port.driver:
            where += f", driver {port.driver}"
        lines.append(f"{port.device}  {model} ({where})")
        for label, value in (
            ("stable name", port.by_id),
            ("udev rule", port.salve_link and f"{port.salve_link} points here"),
            ("interface", port.interface_name),
        ):
            if value:
                lines.append(f"    {label:<12} {value}")
        if port.held_by_modem_manager:
            held = (
                "ModemManager HOLDS this port: stop it or install the udev rule "
                "77-salve-modem-mm-ignore.rules"
            )
        elif port.holders:
            held = "held by " + ", ".join(port.holders)
        else:
            held = "free"
        lines.append(f"    {'in use':<12} {held}")
        if port.modem_manager_ignores is not None:
            words = "ignores it" if port.modem_manager_ignores else "may take it"
            lines.append(f"    {'ModemManager':<12} {words}")
    return "\n".join(lines) + "\n"

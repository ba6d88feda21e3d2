"""``salve-modem list`` against a machine built in a temporary directory.

sysfs, /dev, /proc and udev's database are the outermost edge: the tree below has the
shapes the kernel gives a Quectel EG25-G (option driver, four ttyUSB ports), a u-blox
module on cdc_acm held by ModemManager, and a PCIe module's WWAN AT channel.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from modem.portlist import list_ports, render_ports


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


def link(path: Path, target: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


def build_machine(root: Path) -> dict[str, Path]:
    sys_root, dev, proc, run = root / "sys", root / "dev", root / "proc", root / "run"
    usb = sys_root / "devices/pci0000:00/0000:00:14.0/usb1"
    # Quectel EG25-G: USB device 1-1, interfaces 00..03, each with one ttyUSB port.
    quectel = usb / "1-1"
    for name, value in (
        ("idVendor", "2c7c"),
        ("idProduct", "0125"),
        ("manufacturer", "Quectel"),
        ("product", "EG25-G"),
        ("serial", "0123456789ABCDEF"),
    ):
        write(quectel / name, value)
    for number in range(4):
        interface = quectel / f"1-1:1.{number}"
        write(interface / "bInterfaceNumber", f"{number:02d}")
        link(interface / "driver", "../../../../../../bus/usb/drivers/option")
        port = interface / f"ttyUSB{number}"
        link(port / "driver", "../../../../../../../bus/usb-serial/drivers/option1")
        tty = port / "tty" / f"ttyUSB{number}"
        write(tty / "dev", f"188:{number}")
        link(tty / "device", f"../../../ttyUSB{number}")
        link(
            sys_root / "class/tty" / f"ttyUSB{number}", os.path.relpath(tty, sys_root / "class/tty")
        )
    # u-blox SARA-R5 on cdc_acm: the tty sits right under its interface.
    ublox = usb / "1-2"
    for name, value in (("idVendor", "1546"), ("idProduct", "1102"), ("product", "SARA-R5")):
        write(ublox / name, value)
    interface = ublox / "1-2:1.0"
    write(interface / "bInterfaceNumber", "00")
    write(interface / "interface", "CDC Abstract Control Model (ACM)")
    link(interface / "driver", "../../../../../../bus/usb/drivers/cdc_acm")
    acm = interface / "tty/ttyACM0"
    write(acm / "dev", "166:0")
    link(acm / "device", "../../../1-2:1.0")
    link(sys_root / "class/tty/ttyACM0", os.path.relpath(acm, sys_root / "class/tty"))
    # A PCIe module's WWAN AT channel, and a port that is not a modem's.
    pci = sys_root / "devices/pci0000:00/0000:00:1c.0/0000:01:00.0"
    write(pci / "vendor", "0x17cb")
    write(pci / "device", "0x0306")
    wwan = pci / "wwan/wwan0at0"
    write(wwan / "dev", "234:0")
    link(wwan / "device", "../../../0000:01:00.0")
    link(sys_root / "class/wwan/wwan0at0", os.path.relpath(wwan, sys_root / "class/wwan"))
    mbim = pci / "wwan/wwan0mbim0"
    write(mbim / "dev", "234:1")
    link(sys_root / "class/wwan/wwan0mbim0", os.path.relpath(mbim, sys_root / "class/wwan"))
    serial8250 = sys_root / "devices/platform/serial8250/tty/ttyS0"
    write(serial8250 / "dev", "4:64")
    link(sys_root / "class/tty/ttyS0", os.path.relpath(serial8250, sys_root / "class/tty"))
    # /dev: the stable names; /proc: ModemManager holds the u-blox port; udev's database.
    link(dev / "serial/by-id/usb-Quectel_EG25-G_0123456789ABCDEF-if02-port0", "../../ttyUSB2")
    link(dev / "serial/by-id/usb-u-blox_SARA-R5-if00", "../../ttyACM0")
    link(dev / "salve-modem", "ttyUSB2")
    write(proc / "4242/comm", "ModemManager")
    link(proc / "4242/fd/7", str(dev / "ttyACM0"))
    write(proc / "4343/comm", "minicom")
    link(proc / "4343/fd/3", str(dev / "ttyUSB3"))
    write(run / "udev/data/c188:2", "E:ID_MM_DEVICE_IGNORE=1\nE:ID_USB_INTERFACE_NUM=02")
    write(run / "udev/data/c166:0", "E:ID_USB_INTERFACE_NUM=00")
    return {"sys_root": sys_root, "dev_root": dev, "proc_root": proc, "run_root": run}


def test_lists_usb_and_pcie_ports_with_what_an_operator_needs(tmp_path: Path) -> None:
    ports = list_ports(**build_machine(tmp_path))
    dev = tmp_path / "dev"
    assert [p.device for p in ports] == [
        str(dev / name)
        for name in ("ttyACM0", "ttyUSB0", "ttyUSB1", "ttyUSB2", "ttyUSB3", "wwan0at0")
    ]
    by_name = {Path(p.device).name: p for p in ports}
    at = by_name["ttyUSB2"]
    assert (at.bus, at.vendor_id, at.product_id) == ("usb", "2c7c", "0125")
    assert (at.manufacturer, at.product, at.serial_number) == (
        "Quectel",
        "EG25-G",
        "0123456789ABCDEF",
    )
    assert (at.interface, at.driver) == ("02", "option1")
    assert at.by_id == str(dev / "serial/by-id/usb-Quectel_EG25-G_0123456789ABCDEF-if02-port0")
    assert at.salve_link == str(dev / "salve-modem")
    assert at.modem_manager_ignores is True
    assert at.holders == ()
    acm = by_name["ttyACM0"]
    assert (acm.vendor_id, acm.product, acm.interface, acm.driver) == (
        "1546",
        "SARA-R5",
        "00",
        "cdc_acm",
    )
    assert acm.interface_name == "CDC Abstract Control Model (ACM)"
    assert acm.held_by_modem_manager
    assert acm.modem_manager_ignores is False
    assert by_name["ttyUSB3"].holders == ("minicom (pid 4343)",)
    assert not by_name["ttyUSB3"].held_by_modem_manager
    wwan = by_name["wwan0at0"]
    assert (wwan.bus, wwan.vendor_id, wwan.product_id, wwan.interface) == (
        "pci",
        "17cb",
        "0306",
        None,
    )


def test_rendering_marks_modem_manager_and_the_udev_name(tmp_path: Path) -> None:
    text = render_ports(list_ports(**build_machine(tmp_path)))
    assert "Quectel EG25-G (usb 2c7c:0125 interface 02, driver option1)" in text
    assert "ModemManager HOLDS this port" in text
    assert f"{tmp_path / 'dev' / 'salve-modem'} points here" in text
    assert "held by minicom (pid 4343)" in text
    assert "ModemManager ignores it" in text


def test_json_form_and_an_empty_machine(tmp_path: Path) -> None:
    ports = list_ports(**build_machine(tmp_path / "full"))
    data = json.loads(json.dumps([p.to_dict() for p in ports]))
    assert data[0]["held_by_modem_manager"] is True
    assert data[0]["holders"] == ["ModemManager (pid 4242)"]
    empty = tmp_path / "empty"
    assert (
        list_ports(
            sys_root=empty / "sys", dev_root=empty / "dev", proc_root=empty / "proc", run_root=empty
        )
        == []
    )
    assert render_ports([]).startswith("no candidate AT ports")

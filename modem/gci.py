"""Global cell identity helpers (3GPP TS 23.003 §4.3, §19.6; TS 38.413).

* E-UTRAN: ECI (28 bits) = eNB id (20 bits) · 256 + cell id (8 bits) for macro eNBs.
* NR: NCI (36 bits) = gNB id (``gnb_bits`` = 22..32 bits, an operator's choice that
  AT output never states) · 2^(36 - gnb_bits) + cell id. Store the full NCI; split only
  for display or for matching against a database that keys on the split.
* UTRAN: UC-Id (28 bits) = RNC id (12 bits) · 65536 + C-Id (16 bits); with an extended
  RNC id (16 bits) the UC-Id has 32 bits.

Wrong argument values raise ``ValueError``.
"""

from __future__ import annotations

from modem.models import Cell

__all__ = ["eutran_split", "global_cell_id_str", "nr_split", "utran_split"]

_ECI_BITS = 28
_NCI_BITS = 36


def eutran_split(eci: int) -> tuple[int, int]:
    """Split an E-UTRAN cell identity into (eNB id, cell id).

    >>> eutran_split(50896642)
    (198815, 2)

    Raises:
        ValueError: ``eci`` is outside 0 .. 2^28 - 1.
    """
    if not 0 <= eci < 1 << _ECI_BITS:
        raise ValueError(f"ECI {eci} is not a 28-bit value")
    return eci >> 8, eci & 0xFF


def nr_split(nci: int, gnb_bits: int = 24) -> tuple[int, int]:
    """Split an NR cell identity into (gNB id, cell id) for a gNB id length.

    >>> nr_split(7621693752, 24)
    (1860765, 312)

    Raises:
        ValueError: ``nci`` is outside 0 .. 2^36 - 1 or ``gnb_bits`` is outside 22 .. 32.
    """
    if not 22 <= gnb_bits <= 32:
        raise ValueError(f"gNB id length {gnb_bits} is not within 22..32 bits")
    if not 0 <= nci < 1 << _NCI_BITS:
        raise ValueError(f"NCI {nci} is not a 36-bit value")
    cell_bits = _NCI_BITS - gnb_bits
    return nci >> cell_bits, nci & ((1 << cell_bits) - 1)


def utran_split(uc_id: int) -> tuple[int, int]:
    """Split a UTRAN cell id (UC-Id) into (RNC id, C-Id).

    >>> utran_split(0xB55EEFF)
    (2901, 61183)

    Raises:
        ValueError: ``uc_id`` is outside 0 .. 2^32 - 1.
    """
    if not 0 <= uc_id < 1 << 32:
        raise ValueError(f"UC-Id {uc_id} is not a 32-bit value")
    return uc_id >> 16, uc_id & 0xFFFF


def global_cell_id_str(cell: Cell) -> str:
    """The cell's global identity as ``MCC-MNC-AREA-CI`` in decimal (``228-01-1234-27440068``).

    The MNC keeps its width (``01`` and ``001`` are different networks); AREA is the TAC
    for LTE/NR and the LAC for GSM/UMTS; CI is the full cell identity (ECI, NCI, UC-Id or
    GSM CI).

    Raises:
        ValueError: the cell lacks its MCC, MNC, area code or cell id.
    """
    if not cell.is_identified:
        raise ValueError("the cell has no global identity (MCC, MNC, area and cell id)")
    return f"{cell.mcc}-{cell.mnc}-{cell.area}-{cell.ci}"

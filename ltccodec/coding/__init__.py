"""Entropy coding: lattice points to range-coder words and back, against integer tables stored with the model.

One interface (`Coder`: encode, decode, code length, least cost of a vector) and two coders behind it: the box
code (`box`: coordinate by coordinate against the prior's frozen tables) and the distance code (`distance`: the
candidate points near the prior's mode priced by their place, the box code for the rest). A model card names its
coder (`coder_for`); `frame` codes a frame's words; `rangecoder` is the coder itself, `tables` the integer pmfs.
"""

from __future__ import annotations

from ltccodec.coding.base import DECODE_ERRORS, ESCAPE_RANGE_ERROR, Coder, FrameDither
from ltccodec.coding.box import BoxCoder
from ltccodec.coding.distance import DistanceCoder, DistanceTable
from ltccodec.coding.tables import CodingTables
from ltccodec.errors import LtcError
from ltccodec.lattice import Lattice

CODERS = ("box", "distance")  # what a model card's "coder" may name

__all__ = ["CODERS", "DECODE_ERRORS", "ESCAPE_RANGE_ERROR", "BoxCoder", "Coder", "DistanceCoder", "DistanceTable",
           "FrameDither", "coder_for"]


def coder_for(name: str, tables: CodingTables, lattice: Lattice, distance: DistanceTable | None = None) -> Coder:
    """The coder a model card names, built on the model's tables; `LtcError` for a name or table that does not fit."""
    box = BoxCoder(tables, lattice)
    if name == "box":
        return box
    if name == "distance":
        if distance is None:
            raise LtcError("a distance-coded model without a distance table")
        try:
            return DistanceCoder(distance, box)
        except ValueError as error:
            raise LtcError(str(error)) from None
    raise LtcError(f"unknown coder {name!r} (this ltc has {', '.join(CODERS)})")

"""Lattice quantizers: exact closest point, integer coordinates, Voronoi and nested-lattice dither.

``by_name("E8")`` returns a unit-volume `Lattice`; see `registry` for the names. Pure numpy; torch tensors
are accepted by `Lattice.nearest`. Nothing here imports model code.
"""

from .base import Block, Lattice, product
from .dither import (
    coset_coords,
    coset_dither,
    digits_to_index,
    index_to_digits,
    qsd_dither,
    qsd_set,
    uniform_dither,
)
from .measure import NsmEstimate, measure_nsm
from .registry import BUILT_IN, by_name, covering

__all__ = [
    "BUILT_IN",
    "Block",
    "Lattice",
    "NsmEstimate",
    "by_name",
    "covering",
    "coset_coords",
    "coset_dither",
    "digits_to_index",
    "index_to_digits",
    "measure_nsm",
    "product",
    "qsd_dither",
    "qsd_set",
    "uniform_dither",
]

"""ltccodec: a lossy codec built on lattice transform coding with dithering."""

__version__ = "0.1.0"

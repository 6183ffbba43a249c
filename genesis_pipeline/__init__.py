"""Genesis: raw footage in, a reviewed rough cut out."""

__version__ = "0.1.0"

"""The version of lamina (a module of its own: saving records it, and nothing below the
top package may import the package itself)."""

__version__ = "0.1.0"

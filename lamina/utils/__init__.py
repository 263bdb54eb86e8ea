"""Small helpers shared across lamina (nested structures, naming, conversion)."""

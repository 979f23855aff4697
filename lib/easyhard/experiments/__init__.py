"""The experiments behind the book's figures.

One frozen config dataclass per figure, with ``ci``/``laptop``/``paper`` presets, and the
functions that run (and save) them.
"""

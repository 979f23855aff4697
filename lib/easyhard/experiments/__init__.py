"""One frozen config per figure of the book, with ``ci``/``laptop``/``paper`` presets."""

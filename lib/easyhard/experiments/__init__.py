"""The book's experiments: one frozen config per figure, with ``ci``/``laptop``/``paper`` presets."""

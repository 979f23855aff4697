"""The preset mixin of the experiment configs: ``Config.preset(scale, **overrides)``."""

from __future__ import annotations

from typing import Any, ClassVar

from easyhard.config import SCALES, check_scale
from easyhard.config import scale as current_scale


class ScalePreset:
    """Mixin for a frozen config dataclass: ``Config.preset(scale)`` is ``Config(**PRESETS[scale])``.

    ``PRESETS`` maps each of the scales ``ci``, ``laptop``, ``paper`` to the
    fields that differ from the defaults; ``scale`` defaults to
    ``$EASYHARD_SCALE`` and ``overrides`` replace fields, e.g.
    ``Config.preset("ci", walkers=64)``.
    """

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {}

    @classmethod
    def preset(cls, scale: str | None = None, **overrides: Any):  # noqa: ANN206 - returns cls
        """The config at ``scale`` (default: the current scale) with ``overrides`` applied."""
        name = check_scale(scale) if scale is not None else current_scale()
        missing = [s for s in SCALES if s not in cls.PRESETS]
        if missing:
            raise ValueError(f"{cls.__name__}.PRESETS lacks scales {missing}; it needs all of {SCALES}")
        return cls(**{**cls.PRESETS[name], **overrides})

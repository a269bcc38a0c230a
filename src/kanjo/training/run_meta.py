"""The ``kanjo.json`` fields every training run records, whatever it trains."""

from __future__ import annotations

import time
from typing import Any


def run_metadata(base_model: str, config: dict[str, Any], data: dict[str, Any],
                 **fields: Any) -> dict[str, Any]:
    """kanjo version, creation time, base model, the full config and the input data's
    description (files, sha256, rows), then ``fields`` (e.g. ``kind="masked-lm"``)."""
    from kanjo import __version__

    return {**fields, "kanjo_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "base_model": base_model,
            "config": config, "data": data}

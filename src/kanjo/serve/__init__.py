"""Serve: the HTTP API (``create_app``), its settings and micro-batcher; ``kanjo serve``."""

from kanjo.serve.app import create_app, from_env
from kanjo.serve.settings import Settings

__all__ = ["Settings", "create_app", "from_env"]

"""A minimal Keragon-like workflow engine. It reaches vendors only by base URL."""

from .app import create_app
from .core import Engine

__all__ = ["Engine", "create_app"]

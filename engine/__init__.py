"""A minimal Keragon-like workflow engine. It reaches vendors only by base URL."""

from .app import create_app

__all__ = ["create_app"]

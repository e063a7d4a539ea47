"""The composition root: the stack, scenarios, the ``careflow`` CLI and the pytest plugin."""

from .stack import InProcessStack, Stack, fakes, services

__all__ = ["InProcessStack", "Stack", "fakes", "services"]

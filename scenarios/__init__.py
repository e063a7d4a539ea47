"""The composition root: the stack, scenarios, the ``careflow`` CLI and the pytest plugin."""

from .stack import FAKES, SERVICES, InProcessStack, Stack

__all__ = ["FAKES", "SERVICES", "InProcessStack", "Stack"]

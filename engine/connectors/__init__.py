"""Connectors: the apps a workflow can use. Importing this package registers every one."""

from .base import (
    ACTIONS,
    TRIGGERS,
    Action,
    ConfigProblem,
    Context,
    Params,
    StepError,
    Trigger,
    action,
    trigger,
)

__all__ = [
    "ACTIONS",
    "TRIGGERS",
    "Action",
    "ConfigProblem",
    "Context",
    "Params",
    "StepError",
    "Trigger",
    "action",
    "trigger",
]

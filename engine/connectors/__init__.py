"""Connectors: the apps a workflow can use. Importing this package registers every one."""

import importlib

from .base import (
    ACTIONS,
    TRIGGERS,
    Action,
    ConfigProblem,
    Context,
    Directed,
    Directive,
    InsertSteps,
    Params,
    SkipRest,
    StepError,
    Trigger,
    WakeAt,
    action,
    directed,
    trigger,
)

__all__ = [
    "ACTIONS",
    "TRIGGERS",
    "Action",
    "ConfigProblem",
    "Context",
    "Directed",
    "Directive",
    "InsertSteps",
    "Params",
    "SkipRest",
    "StepError",
    "Trigger",
    "WakeAt",
    "action",
    "directed",
    "trigger",
]

# Importing the connector modules registers their actions and triggers.
for _module in ("logic", "http", "whatconverts", "caspio", "ours", "schedule"):
    importlib.import_module(f"{__name__}.{_module}")

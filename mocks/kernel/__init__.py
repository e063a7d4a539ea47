"""What every fake shares. Public surface (imported lazily: ``careflow.mocks.kernel.vendor`` and
the registry load without FastAPI):

- ``VirtualClock`` — the stack's one clock (from ``careflow.clock``);
- ``Kernel`` — clock + journal + faults + webhook sender for one fake;
- ``Backend`` — base of a vendor's model layer (tenants, seed, export/import, persistence);
- ``build_fake_app`` — vendor routers + middleware + ``/__sandbox/`` admin router;
- ``Vendor`` — what the rest of careflow knows about a fake (``careflow.mocks.VENDORS``);
- ``Synthetic`` — seeded, obviously fake identities; ``Masker`` — secret/PHI masking.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_WHERE = {
    "FakeOptions": ".app",
    "build_fake_app": ".app",
    "received_url": ".app",
    "DEFAULT_TENANT": ".backend",
    "Backend": ".backend",
    "CredentialRefused": ".backend",
    "VirtualClock": "careflow.clock",
    "format_instant": "careflow.clock",
    "next_order": "careflow.clock",
    "parse_instant": "careflow.clock",
    "Kernel": ".core",
    "correlation_id": ".core",
    "FaultSpec": ".faults",
    "FaultStore": ".faults",
    "RemoteTargetRefused": ".guard",
    "is_loopback_host": ".guard",
    "is_loopback_url": ".guard",
    "production_credential_reason": ".guard",
    "Journal": ".journal",
    "MASK": ".masking",
    "Masker": ".masking",
    "Synthetic": ".synthetic",
    "Credential": ".vendor",
    "Vendor": ".vendor",
    "WebhookSender": ".webhooks",
}
__all__ = [
    "DEFAULT_TENANT",
    "MASK",
    "Backend",
    "Credential",
    "CredentialRefused",
    "FakeOptions",
    "FaultSpec",
    "FaultStore",
    "Journal",
    "Kernel",
    "Masker",
    "RemoteTargetRefused",
    "Synthetic",
    "Vendor",
    "VirtualClock",
    "WebhookSender",
    "build_fake_app",
    "correlation_id",
    "format_instant",
    "is_loopback_host",
    "is_loopback_url",
    "next_order",
    "parse_instant",
    "production_credential_reason",
    "received_url",
]

if TYPE_CHECKING:
    from careflow.clock import VirtualClock, format_instant, next_order, parse_instant

    from .app import FakeOptions, build_fake_app, received_url
    from .backend import DEFAULT_TENANT, Backend, CredentialRefused
    from .core import Kernel, correlation_id
    from .faults import FaultSpec, FaultStore
    from .guard import (
        RemoteTargetRefused,
        is_loopback_host,
        is_loopback_url,
        production_credential_reason,
    )
    from .journal import Journal
    from .masking import MASK, Masker
    from .synthetic import Synthetic
    from .vendor import Credential, Vendor
    from .webhooks import WebhookSender


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

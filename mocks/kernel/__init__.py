"""What every fake shares. Public surface:

- ``VirtualClock`` — the stack's one clock;
- ``Kernel`` — clock + journal + faults + webhook sender for one fake;
- ``Backend`` — base of a vendor's model layer (tenants, seed, export/import, persistence);
- ``build_fake_app`` — vendor routers + middleware + ``/__sandbox/`` admin router;
- ``Synthetic`` — seeded, obviously fake identities; ``Masker`` — secret/PHI masking.
"""

from careflow.clock import VirtualClock, format_instant, next_order, parse_instant

from .app import FakeOptions, build_fake_app
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
from .webhooks import WebhookSender

__all__ = [
    "DEFAULT_TENANT",
    "MASK",
    "Backend",
    "CredentialRefused",
    "FakeOptions",
    "FaultSpec",
    "FaultStore",
    "Journal",
    "Kernel",
    "Masker",
    "RemoteTargetRefused",
    "Synthetic",
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
]

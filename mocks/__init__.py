"""Faithful fake vendor servers on a shared kernel, and their registry.

``VENDORS`` maps each vendor's name to its descriptor (``careflow.mocks.kernel.vendor.Vendor``).
A new vendor is a package under ``mocks/`` that exports ``VENDOR`` and ``create_app``, plus one
line below.
"""

from __future__ import annotations

from .kernel.vendor import Vendor, VendorRegistry

VENDORS = VendorRegistry(
    {
        "whatconverts": "careflow.mocks.whatconverts",
        "caspio": "careflow.mocks.caspio",
        "ours": "careflow.mocks.ours",
    }
)

__all__ = ["VENDORS", "Vendor", "VendorRegistry"]

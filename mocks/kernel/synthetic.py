"""Deterministic, obviously fake identities (Faker's en_US providers with a fixed seed).

Phones come from the 555-0100..555-0199 range reserved for fiction, emails from the
``example.com`` / ``example.org`` domains reserved by RFC 2606, so nothing generated here can
reach or identify a real person. Same seed and namespace → same data.
"""

from __future__ import annotations

import hashlib
import random
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from faker.generator import Generator

RESERVED_EMAIL_DOMAINS = ("example.com", "example.org")
SANDBOX_MARK = "sbx"


def derive(seed: int | str, *parts: object) -> int:
    digest = hashlib.sha256(":".join(str(p) for p in (seed, *parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


class Synthetic:
    """A seeded generator; ``for_(namespace)`` gives independent, reproducible streams."""

    def __init__(self, seed: int = 0, namespace: str = "") -> None:
        self.seed = seed
        self.namespace = namespace
        self.random = random.Random(derive(seed, namespace))

    @cached_property
    def faker(self) -> Generator:
        """Faker's en_US person and address providers, the only ones drawn from, built on first
        use: the values are those of ``Faker("en_US")`` seeded the same way (same providers,
        same order, same weighting), without importing and instantiating its 26 providers
        (the first ``Faker()`` lists every locale folder of each)."""
        from faker.generator import Generator
        from faker.providers.address.en_US import Provider as Address
        from faker.providers.person.en_US import Provider as Person

        generator = Generator()
        for provider_class, name in (
            (Address, "faker.providers.address"),
            (Person, "faker.providers.person"),
        ):  # as faker.Factory.create adds them
            provider = provider_class(generator)
            provider.__use_weighting__ = True
            provider.__provider__ = name
            provider.__lang__ = "en_US"
            generator.add_provider(provider)
        generator.seed_instance(derive(self.seed, self.namespace, "faker"))
        return generator

    def for_(self, namespace: str) -> Synthetic:
        return Synthetic(self.seed, f"{self.namespace}/{namespace}")

    def phone(self) -> str:
        """A US number in the fictional 555-01XX range, e.g. ``+1 (312) 555-0142``."""
        area = self.random.choice(["212", "312", "415", "512", "617", "702", "808", "919"])
        return f"+1 ({area}) 555-01{self.random.randint(0, 99):02d}"

    def email(self, first: str | None = None, last: str | None = None) -> str:
        first = (first or self.faker.first_name()).lower()
        last = (last or self.faker.last_name()).lower()
        domain = self.random.choice(RESERVED_EMAIL_DOMAINS)
        return f"{first}.{last}{self.random.randint(1, 999)}@{domain}"

    def person(self) -> dict[str, Any]:
        first, last = self.faker.first_name(), self.faker.last_name()
        return {
            "first_name": first,
            "last_name": last,
            "name": f"{first} {last}",
            "email": self.email(first, last),
            "phone": self.phone(),
            "city": self.faker.city(),
            "state": self.faker.state_abbr(),
            "zip": self.faker.zipcode(),
            "address": self.faker.street_address(),
        }

    def token(self, *parts: object, length: int = 32) -> str:
        """A deterministic credential marked as issued by the sandbox (``sbx_…``)."""
        digest = hashlib.sha256(
            ":".join(str(p) for p in (self.seed, self.namespace, *parts)).encode()
        ).hexdigest()
        return f"{SANDBOX_MARK}_{digest[: max(8, length - 4)]}"


def is_reserved_email(value: str) -> bool:
    return value.lower().rsplit("@", 1)[-1] in RESERVED_EMAIL_DOMAINS


def is_reserved_phone(value: str) -> bool:
    digits = "".join(ch for ch in value if ch.isdigit())
    return len(digits) >= 7 and digits[-7:-2] == "55501"

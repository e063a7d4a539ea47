"""What the rest of careflow knows about one fake vendor: its ``Vendor`` descriptor.

Each vendor package (``careflow.mocks.<name>``) exports ``VENDOR``; ``careflow.mocks.VENDORS``
lists them. The stack, ``careflow up``, the pytest plugin, the contract harness, the bench,
interception and the dashboard iterate that registry instead of naming vendors. This module is
cheap to import (no FastAPI): the app is built only when ``create_app`` is called.
"""

from __future__ import annotations

import base64
import fnmatch
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib import import_module, resources
from typing import Any


@dataclass
class Credential:
    """What to add to a request to authenticate it: headers, and fields merged into a JSON
    body (Ours Privacy carries its key in the body)."""

    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)


# (kind, client, credentials) → the credential of that kind. ``client`` is an ``httpx.Client``
# on the vendor's base URL (Caspio exchanges its client credentials for a token). Every vendor
# knows the kinds ``none`` and ``bad``; ``Vendor.default_auth`` names the usual one.
Authenticate = Callable[[str, Any, dict[str, Any]], Credential]


def basic_auth(user: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


@dataclass(frozen=True, eq=False)
class Vendor:
    """One fake vendor, as every other part of careflow sees it."""

    name: str  # registry key, service name, CLI/fixture name: whatconverts, caspio, ours
    title: str  # for people: "WhatConverts"
    package: str  # the vendor package: its ``create_app(**FakeOptions)`` builds the fake
    prefix: str  # the vendor API's paths (as in its spec) sit under {url}{prefix}
    port_offset: int  # ``careflow up --port P`` serves it on P + offset (the engine is on P)
    # the vendor's real hosts (fnmatch patterns): interception routes them to the fake
    real_hosts: tuple[str, ...]
    credential_keys: tuple[str, ...]  # the info file's credential keys for this vendor
    required_keys: tuple[str, ...]  # what a contract check against a real URL must be given
    authenticate: Authenticate
    default_auth: str = "default"
    spec_file: str = "openapi.yaml"  # in the vendor package (OpenAPI 3.1 YAML)
    cases_file: str | None = "cases.yaml"  # behavioural contract cases, in the vendor package
    # other spellings of the spec's paths that the vendor serves: (prefix, spec prefix)
    path_aliases: tuple[tuple[str, str], ...] = ()
    # paths whose bare ``Name`` keys are data (a person), when the vendor also names structure
    # with ``Name``; None: every bare ``Name`` is treated as a person's (fail closed)
    record_paths: str | None = None
    # answer values a contract verify compares (besides the spec's ``const`` properties)
    value_keys: tuple[str, ...] = ()
    # a cheap authenticated GET (under the prefix) that tells good credentials from bad
    probe_path: str | None = None

    # the app ---------------------------------------------------------------------------------
    def create_app(self, **options: Any) -> Any:
        """The fake's FastAPI app (``options``: ``careflow.mocks.kernel.FakeOptions``)."""
        return import_module(self.package).create_app(**options)

    # the spec --------------------------------------------------------------------------------
    def spec_text(self) -> str:
        return resources.files(self.package).joinpath(self.spec_file).read_text()

    def spec(self) -> dict[str, Any]:
        """The vendor's OpenAPI document (parsed once; treat it as read-only)."""
        return self._spec

    @cached_property
    def _spec(self) -> dict[str, Any]:
        import yaml

        return yaml.safe_load(self.spec_text())  # type: ignore[no-any-return]

    def cases_text(self) -> str | None:
        if self.cases_file is None:
            return None
        return resources.files(self.package).joinpath(self.cases_file).read_text()

    def spec_path(self, path: str) -> str:
        """``path`` as the spec spells it (a ``path_aliases`` spelling mapped back)."""
        for alias, canonical in self.path_aliases:
            if path.startswith(alias):
                return canonical + path[len(alias) :]
        return path

    def routes(self) -> list[str]:
        """The documented operations as ``METHOD {prefix}{path}``."""
        return [
            f"{method.upper()} {self.prefix}{path}"
            for path, item in self.spec()["paths"].items()
            for method in item
            if method != "parameters"
        ]

    # hosts and data --------------------------------------------------------------------------
    def serves_host(self, host: str) -> bool:
        """Is ``host`` one of the vendor's real hosts?"""
        host = host.lower().rstrip(".")
        return any(fnmatch.fnmatchcase(host, pattern) for pattern in self.real_hosts)

    def bare_name_is_person(self, path: str) -> bool:
        return self.record_paths is None or bool(re.search(self.record_paths, path))


class VendorRegistry(Mapping[str, Vendor]):
    """Vendor name → descriptor. Names are known without importing anything; a vendor's package
    is imported the first time its descriptor is asked for."""

    def __init__(self, packages: Mapping[str, str]) -> None:
        self._packages = dict(packages)
        self._loaded: dict[str, Vendor] = {}

    def __getitem__(self, name: str) -> Vendor:
        if name not in self._loaded:
            if name not in self._packages:
                raise KeyError(name)
            vendor = import_module(self._packages[name]).VENDOR
            if not isinstance(vendor, Vendor) or vendor.name != name:
                raise TypeError(f"{self._packages[name]}.VENDOR must be a Vendor named {name!r}")
            self._loaded[name] = vendor
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._packages)

    def __len__(self) -> int:
        return len(self._packages)

    def __contains__(self, name: object) -> bool:
        return name in self._packages

    def get_vendor(self, name: str) -> Vendor:
        """Like ``[name]``, but an unknown name is a ValueError listing the known ones."""
        if name not in self._packages:
            raise ValueError(f"unknown vendor {name!r}: one of {', '.join(self._packages)}")
        return self[name]

    def register(self, name: str, package: str) -> None:
        """Add a vendor at run time (a plugin, or a test's throwaway vendor)."""
        self._packages[name] = package
        self._loaded.pop(name, None)

    def unregister(self, name: str) -> None:
        self._packages.pop(name, None)
        self._loaded.pop(name, None)

    def for_host(self, host: str) -> Vendor | None:
        """The vendor whose real hosts include ``host``."""
        for name in self._packages:
            if self[name].serves_host(host):
                return self[name]
        return None

"""Strict YAML for untrusted request bodies (admin seeds and state, engine workflows).

PyYAML's safe loader, with the limits ``careflow.strictjson`` applies to JSON enforced *while the
document is composed*, so a hostile document is refused before it costs anything:

- nesting deeper than ``MAX_DEPTH`` (aliases count with the depth of what they name; a run of
  more than ``MAX_DEPTH`` flow openers is refused before parsing, as PyYAML is slow on it);
- more than ``MAX_VALUES`` values once aliases are expanded (a "billion laughs" document is a
  few hundred bytes that expand to 10^9 values: refused at its first 250,000);
- then the constructed document is checked like JSON (``strictjson.check_value``): finite numbers,
  integers of at most 40 digits, encodable strings, string keys; dates become ISO strings.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from .strictjson import MAX_DEPTH, TOO_DEEP, JSONRefused, check_value

MAX_VALUES = 250_000
# PyYAML looks up to 1,024 characters ahead of each flow opener for a simple key, so a run of
# openers costs it ~0.5 s before the first node is composed: such a run is refused first.
_DEEP_FLOW = re.compile(rb"(?:[\[{][^\[\]{}\n]{0,16}){%d}" % (MAX_DEPTH + 1))


class _Loader(yaml.SafeLoader):
    """A safe loader that measures each node (values after alias expansion, height)."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0
        self._measures: dict[int, tuple[int, int]] = {}  # id(node) → (values, height)

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise JSONRefused(TOO_DEEP)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        known = self._measures.get(id(node))
        if known is None:  # a new node (an alias returns the node it names, already measured)
            children: list[Any] = []
            if isinstance(node, yaml.SequenceNode):
                children = node.value
            elif isinstance(node, yaml.MappingNode):
                children = [part for pair in node.value for part in pair]
            measured = [self._measures.get(id(c), (1, 1)) for c in children]
            known = (1 + sum(m[0] for m in measured), 1 + max((m[1] for m in measured), default=0))
            self._measures[id(node)] = known
        if known[0] > MAX_VALUES:
            raise JSONRefused(f"the document expands to more than {MAX_VALUES} values")
        if self._depth + known[1] > MAX_DEPTH + 1:
            raise JSONRefused(TOO_DEEP)
        return node


def load(raw: bytes | str) -> Any:
    """Parse and check; raises ``JSONRefused`` (a limit) or ``yaml.YAMLError``/``ValueError``
    (not YAML, e.g. an integer Python will not parse)."""
    if _DEEP_FLOW.search(raw if isinstance(raw, bytes) else raw.encode("utf-8", "replace")):
        raise JSONRefused(TOO_DEEP)
    loader = _Loader(raw)
    try:
        doc = loader.get_single_data()
    except RecursionError:
        raise JSONRefused(TOO_DEEP) from None
    finally:
        loader.dispose()
    return check_value(doc, convert=True)

"""A destination's mappings compiled once, applied per event (pipeline.build_payload's fast path).

``build_payload`` renders every mapping, then walks the whole payload to give PHI the
destination's default treatment, deciding at every key whether an explicit modification, a PHI
variable read by a template, or the key's own name protects what is below it. When no mapping's
property is a prefix of another's (every default mapping, and most configured ones), those
decisions depend on the mapping alone: the treatment of each mapping's place is worked out here,
once, and per event only the rendered values themselves are looked at (their nested keys, their
strings). Same payload, same key order, same errors as the general path, which still serves
overlapping properties.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from .mapping import _DOTTED, _SINGLE, _json_safe, _walk, default_phi, evaluate, modify, render
from .phi import PhiKind, kind_of_name, kind_of_value, template_reads_phi

if TYPE_CHECKING:
    from .destinations import Destination, Mapping

ATTRIBUTE = "_compiled_mappings"  # kept on the Destination, outside its dataclass fields
_SCALARS = frozenset({str, int, float, bool})
_FLAT = _SCALARS | {type(None)}


class CompiledMapping(NamedTuple):
    """One mapping, ready to apply (a tuple: apply unpacks each in its loop header)."""

    parents: tuple[str, ...]  # the dotted property: the objects on the way...
    leaf: str  # ...and the last key
    logic: dict[str, Any] | None
    read: Callable[[dict[str, Any]], Any]  # the template against the context (render's rules)
    modification: str | None  # explicit: the mapping's own treatment, nothing else
    kind: PhiKind | None  # PHI known at the property's place (names on the way, variable read)
    template: str
    # a plain ``{{ event.a.b }}``: the path looked up, its value not yet checked (apply checks
    # it while it scrubs it, in one walk); None: ``read`` renders (and checks) the template
    path: tuple[str, ...] | None
    root: int  # a plain ``{{ event.x }}`` (0) or ``{{ visitor.x }}`` (1): looked up as ``key``
    key: str | None


_ROOTS = ("event", "visitor")


def _plain_path(template: str) -> tuple[str, ...] | None:
    single = _SINGLE.match(template)
    if single and _DOTTED.match(single.group(1)):  # as mapping._compiled decides
        return tuple(single.group(1).split("."))
    return None


def _reader(template: str) -> Callable[[dict[str, Any]], Any]:
    """``render(template, ·)``, with a plain ``{{ event.a.b }}`` looked up directly."""
    path = _plain_path(template)
    if path is not None:

        def lookup(context: dict[str, Any]) -> Any:
            value = _walk(context, list(path))
            if value is None or type(value) in _SCALARS:
                return value
            if not _json_safe(value):
                raise ValueError(f"mapping template {template!r} gives a {type(value).__name__}")
            return value

        return lookup
    return lambda context: render(template, context)


def _place_kind(mapping: Mapping) -> PhiKind | None:
    """What build_payload's scrub decides at the mapping's place: the first PHI name on the
    way down, else the variable the template reads, else the last key's own name."""
    parts = mapping.property.split(".")
    kind: PhiKind | None = None
    for part in parts[:-1]:
        kind = kind or kind_of_name(part)
    return kind or template_reads_phi(mapping.map) or kind_of_name(parts[-1])


def _signature(destination: Destination) -> tuple[Any, ...]:
    """What the compiled form depends on. Configuration replaces mappings (config.py parses new
    ones), it never edits one in place: the objects' identities say when to compile again."""
    mappings = destination.mappings
    return (destination.type, id(mappings), *map(id, mappings or ()))


def _compile(mapping: Mapping) -> CompiledMapping:
    parts = tuple(mapping.property.split("."))
    path = _plain_path(mapping.map)
    two = path is not None and len(path) == 2
    return CompiledMapping(
        parents=parts[:-1],
        leaf=parts[-1],
        logic=mapping.logic,
        read=_reader(mapping.map),
        modification=mapping.modification,
        kind=None if mapping.modification is not None else _place_kind(mapping),
        template=mapping.map,
        path=path,
        root=_ROOTS.index(path[0]) if path is not None and two else -1,
        key=path[1] if path is not None and two else None,
    )


def compiled_mappings(destination: Destination) -> list[CompiledMapping] | None:
    """The destination's mappings compiled (cached on it until they change); None when one
    property is a prefix of another's (then the general path applies)."""
    signature = _signature(destination)
    cached = destination.__dict__.get(ATTRIBUTE)
    if cached is not None and cached[0] == signature:
        return cached[1]  # type: ignore[no-any-return]
    mappings = destination.effective_mappings()
    properties = [m.property for m in mappings]
    overlapping = len(set(properties)) != len(properties) or any(
        other.startswith(prop + ".") for prop in properties for other in properties
    )
    out = None if overlapping else [_compile(m) for m in mappings]
    destination.__dict__[ATTRIBUTE] = (signature, out)
    return out


def apply(
    destination: Destination, mappings: list[CompiledMapping], context: dict[str, Any]
) -> dict[str, Any]:
    policy, salt = destination.phi_default, destination.hashing_salt
    payload: dict[str, Any] = {}
    roots = tuple(context.get(name) for name in _ROOTS)
    roots = tuple(root if isinstance(root, dict) else None for root in roots)
    for parents, leaf, logic, read, modification, kind, template, path, root, key in mappings:
        if logic and not evaluate(logic, context):
            continue
        if key is not None:  # ``{{ event.x }}``: _walk's lookup, the hot path
            source = roots[root]
            value = None if source is None else source.get(key)
        elif path is None:
            value = read(context)
        else:  # a longer plain path: _walk, inline
            value = context
            for part in path:
                if not isinstance(value, dict):
                    value = None
                    break
                value = value.get(part)
        if value is None or value == "":
            continue
        if modification is not None:
            if path is not None and type(value) not in _SCALARS:
                read(context)  # raises as render would for what JSON cannot carry
            value = modify(value, modification, salt)
        elif type(value) in _SCALARS:
            found = kind or kind_of_value(value)
            if found is not None:
                value = default_phi(value, found, policy, salt)
        else:
            try:
                value = _checked_scrub(value, kind, policy, salt)
            except _Unsafe:  # (only a looked-up value: render has checked what it gives)
                raise ValueError(
                    f"mapping template {template!r} gives a {type(value).__name__}"
                ) from None
        target = payload
        for part in parents:
            child = target.get(part)
            target[part] = child = child if isinstance(child, dict) else {}
            target = child
        target[leaf] = value
    return payload


def scrub(value: Any, kind: PhiKind | None, policy: str, salt: str) -> Any:
    """The default PHI treatment of a rendered value, ``kind`` known from its place."""
    if isinstance(value, dict):
        return {
            key: scrub(item, kind or kind_of_name(str(key)), policy, salt)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [scrub(item, kind, policy, salt) for item in value]
    found = kind or kind_of_value(value)
    return value if found is None else default_phi(value, found, policy, salt)


class _Unsafe(Exception):
    """A looked-up value holds what JSON cannot carry (render's check, made while scrubbing)."""


def _checked_scrub(value: Any, kind: PhiKind | None, policy: str, salt: str) -> Any:
    """``scrub`` of a looked-up value that also makes render's JSON check (mapping._json_safe)
    in the same walk: _Unsafe for a value or key JSON cannot carry."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _Unsafe
            here = kind or kind_of_name(key)
            if type(item) in _FLAT:  # (the usual case, without the call)
                found = here or kind_of_value(item)
                out[key] = item if found is None else default_phi(item, found, policy, salt)
            else:
                out[key] = _checked_scrub(item, here, policy, salt)
        return out
    if isinstance(value, list):
        return [_checked_scrub(item, kind, policy, salt) for item in value]
    if not _json_safe(value):  # a scalar, or a tuple (kept whole, as scrub keeps it)
        raise _Unsafe
    found = kind or kind_of_value(value)
    return value if found is None else default_phi(value, found, policy, salt)

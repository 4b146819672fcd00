"""Look-ups into the layer catalogue: by type name, by former name, by category."""

from __future__ import annotations

import difflib

from graph.catalog import LayerSpec
from graph.layers import CATEGORIES, LAYERS

_BY_TYPE: dict[str, LayerSpec] = {spec.type: spec for spec in LAYERS}
_ALIASES: dict[str, str] = {alias: spec.type for spec in LAYERS for alias in spec.aliases if alias != spec.type}


def layer_spec(type_name: str) -> LayerSpec | None:
    return _BY_TYPE.get(type_name)


def layer_types() -> list[str]:
    return list(_BY_TYPE)


def canonical_type(type_name: str) -> str:
    """The current name of a layer type, following renames recorded as aliases (a file migration)."""
    return _ALIASES.get(type_name, type_name)


def by_category() -> dict[str, list[LayerSpec]]:
    groups: dict[str, list[LayerSpec]] = {c: [] for c in CATEGORIES}
    for spec in LAYERS:
        groups[spec.category].append(spec)
    return groups


def suggest(word: str, candidates: list[str]) -> str:
    """' (did you mean X?)' when a close candidate exists, else ''."""
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""

"""Graph files that reproduce the size probes of issue 13 (memory and expansion), shared by the graph, training and
application tests: each file's description says what it did before."""

from __future__ import annotations

from pathlib import Path

PROBES = Path(__file__).parent


def probe(name: str) -> Path:
    return PROBES / f"{name}.layerbook.json"

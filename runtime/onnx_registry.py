"""One table of ATen → ONNX translations for every export of a session.

torch.onnx rebuilds its registry of some 500 torchlib translations on each `torch.onnx.export` call, and that
is most of the cost of exporting a small graph (1.2 s of 1.9 s for the mlp template on a 2-core machine). The
registry is only read during an export (torch.onnx adds to it only for a custom translation table, which we never
pass), so one per opset is built and then reused. The registry is a private part of torch: where it is not
where this expects it, exports simply build their own as before.
"""

from __future__ import annotations

from typing import Any

_PATCHED = "_layerbook_reused"


def reuse_onnx_registry() -> None:
    try:
        from torch.onnx._internal.exporter import _registration
    except ImportError:  # another torch layout: nothing to reuse
        return
    registry_class = getattr(_registration, "ONNXRegistry", None)
    build = getattr(registry_class, "from_torchlib", None)
    if build is None or getattr(build, _PATCHED, False):
        return
    built: dict[tuple[Any, ...], Any] = {}
    original = build.__func__

    def from_torchlib(cls: type, *args: Any, **kwargs: Any) -> Any:
        key = (cls, args, tuple(sorted(kwargs.items())))  # one registry per opset, however it is passed
        if key not in built:
            built[key] = original(cls, *args, **kwargs)
        return built[key]

    setattr(from_torchlib, _PATCHED, True)
    registry_class.from_torchlib = classmethod(from_torchlib)

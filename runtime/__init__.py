"""Everything torch: layer modules, compilation to torch.fx, data, training, export. Never imports Qt."""

from runtime.modules import count_parameters, make_module

__all__ = ["count_parameters", "make_module"]

"""Everything torch: layer modules, compilation to torch.fx, data, training, export. Never imports Qt."""

from runtime.compile import CompileError, build_module
from runtime.modules import count_parameters, make_module

__all__ = ["CompileError", "build_module", "count_parameters", "make_module"]

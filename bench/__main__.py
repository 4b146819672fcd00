"""`python -m bench [SUITE ...]`: run the benchmarks (all, or the suites named) and print one table."""

from __future__ import annotations

import argparse
import platform
import sys

from bench import app_training, compile, editor, export, inference, training
from bench.timing import table

SUITES = {"inference": inference, "compile": compile, "export": export, "training": training, "editor": editor,
          "app": app_training}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("suites", nargs="*", metavar="SUITE", help=f"any of {', '.join(SUITES)} (default: all)")
    chosen = parser.parse_args().suites or list(SUITES)
    unknown = [name for name in chosen if name not in SUITES]
    if unknown:
        parser.error(f"unknown suite {', '.join(unknown)}: choose from {', '.join(SUITES)}")
    rows = [row for name in chosen for row in SUITES[name].run()]
    import torch  # after the suites: the inference suite must not pay for it

    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU only"
    print(f"Layerbook benchmarks — Python {platform.python_version()}, torch {torch.__version__}, "
          f"{platform.machine()}, {torch.get_num_threads()} threads, {device}")
    print("speed-up: reference time / our time, both measured in this run (above 1x: we are faster)\n")
    print(table(rows))
    failed = [r for r in rows if r.budget_ms is not None and r.ours_ms > r.budget_ms]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

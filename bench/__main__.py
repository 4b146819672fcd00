"""`python -m bench`: run every benchmark and print one table."""

from __future__ import annotations

import platform
import sys

from bench import inference
from bench.timing import table

SUITES = (inference,)


def main() -> int:
    rows = [row for suite in SUITES for row in suite.run()]
    print(f"Layerbook benchmarks — Python {platform.python_version()}, {platform.machine()}, "
          f"{platform.processor() or 'unknown CPU'}")
    print("speed-up: reference time / our time, both measured in this run (above 1x: we are faster)\n")
    print(table(rows))
    failed = [r for r in rows if r.budget_ms is not None and r.ours_ms > r.budget_ms]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

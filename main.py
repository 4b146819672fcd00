"""Layerbook's command line: parses arguments, then starts the application or runs one command."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

EXIT_OK, EXIT_PROBLEMS, EXIT_UNUSABLE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="layerbook", description="Design, train and export deep networks by "
                                     "drawing them. With no command, starts the application.")
    commands = parser.add_subparsers(dest="command")
    validate = commands.add_parser("validate", help="check a graph; exit 0 when valid, 1 with problems")
    validate.add_argument("graph", help="a .layerbook.json file or a template name (e.g. lenet)")
    validate.add_argument("--json", action="store_true", help="print the problems as JSON")
    info = commands.add_parser("info", help="list nodes, output shapes and parameter counts")
    info.add_argument("graph", help="a .layerbook.json file or a template name")
    info.add_argument("--json", action="store_true", help="print JSON")
    app = commands.add_parser("app", help="start the application (the default)")
    app.add_argument("graph", nargs="?", default="lenet", help="graph to open (default: lenet)")
    return parser


def run_report(command: str, source: str, as_json: bool) -> int:
    from graph import GraphFileError, load_graph, report

    try:
        graph = load_graph(source)
    except GraphFileError as exc:
        print(exc, file=sys.stderr)
        return EXIT_UNUSABLE
    analysis = graph.analyze()
    if command == "validate":
        text = json.dumps(report.validation_json(graph, analysis), indent=2, ensure_ascii=False) if as_json \
            else report.validation_text(graph, analysis)
        print(text)
        return EXIT_OK if analysis.ok else EXIT_PROBLEMS
    print(json.dumps(report.info_json(graph, analysis), indent=2, ensure_ascii=False) if as_json
          else report.info_text(graph, analysis))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("validate", "info"):
        return run_report(args.command, args.graph, args.json)
    from app import run_app

    return run_app(getattr(args, "graph", "lenet"))


if __name__ == "__main__":
    sys.exit(main())

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
    templates = commands.add_parser("templates", help="list the ready-made graphs (usable wherever GRAPH is)")
    templates.add_argument("--json", action="store_true", help="print JSON")
    export = commands.add_parser("export", help="export to ONNX, verified with onnxruntime")
    export.add_argument("graph", help="a .layerbook.json file or a template name")
    export.add_argument("-o", "--output", required=True, help="the .onnx file to write")
    export.add_argument("--weights", help="a checkpoint (.pt) whose weights to export (default: random weights)")
    export.add_argument("--opset", type=int, help="ONNX opset version (default: the exporter's)")
    code = commands.add_parser("code", help="write the graph as a self-contained PyTorch module (.py)")
    code.add_argument("graph", help="a .layerbook.json file or a template name")
    code.add_argument("-o", "--output", required=True, help="the .py file to write")
    app = commands.add_parser("app", help="start the application (the default)")
    app.add_argument("graph", nargs="?", default="lenet", help="graph to open (default: lenet)")
    return parser


def read_graph(source: str):  # -> Graph | None, having explained why not
    from graph import GraphFileError, load_graph

    try:
        return load_graph(source)
    except GraphFileError as exc:
        print(exc, file=sys.stderr)
        return None


def run_report(command: str, source: str, as_json: bool) -> int:
    from graph import report

    graph = read_graph(source)
    if graph is None:
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


def run_templates(as_json: bool) -> int:
    from graph import report

    rows = report.templates_json()
    print(json.dumps(rows, indent=2, ensure_ascii=False) if as_json else report.templates_text(rows))
    return EXIT_OK


def run_export(source: str, output: str, weights: str | None, opset: int | None) -> int:
    graph = read_graph(source)
    if graph is None:
        return EXIT_UNUSABLE
    from runtime.export import ExportError, export_onnx

    try:
        report = export_onnx(graph, output, weights=weights, opset=opset)
    except ExportError as exc:
        print(f"export failed: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    print(report.summary())
    return EXIT_OK


def run_code(source: str, output: str) -> int:
    graph = read_graph(source)
    if graph is None:
        return EXIT_UNUSABLE
    from runtime.codegen import write_source
    from runtime.compile import CompileError

    try:
        path = write_source(graph, output)
    except CompileError as exc:
        print(exc, file=sys.stderr)
        return EXIT_PROBLEMS
    except OSError as exc:
        print(f"cannot write {output}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(f"wrote {path}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("validate", "info"):
        return run_report(args.command, args.graph, args.json)
    if args.command == "templates":
        return run_templates(args.json)
    if args.command == "export":
        return run_export(args.graph, args.output, args.weights, args.opset)
    if args.command == "code":
        return run_code(args.graph, args.output)
    from app import run_app

    return run_app(getattr(args, "graph", "lenet"))


if __name__ == "__main__":
    sys.exit(main())

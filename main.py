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
    add_train_parser(commands)
    render = commands.add_parser("render", help="draw the graph as a figure in the book's style (SVG, PDF or PNG)")
    render.add_argument("graph", help="a .layerbook.json file or a template name")
    render.add_argument("-o", "--output", required=True, help="figure.svg, figure.pdf or figure.png")
    render.add_argument("--theme", choices=("light", "dark"), default="light", help="colours (default: light)")
    shot = commands.add_parser("screenshot", help="save a picture of the main window with GRAPH open (off-screen)")
    shot.add_argument("graph", nargs="?", default="lenet", help="graph to open (default: lenet)")
    shot.add_argument("-o", "--output", required=True, help="the .png file to write")
    shot.add_argument("--size", type=window_size, default=(1400, 860), metavar="WxH",
                      help="window size (default: 1400x860)")
    shot.add_argument("--theme", choices=("light", "dark"), default="light", help="colours (default: light)")
    shot.add_argument("--train-seconds", type=float, default=0.0, metavar="S",
                      help="start training from the Train panel with the graph's settings, wait S seconds, then "
                      "take the picture (curves included)")
    app = commands.add_parser("app", help="start the application (the default)")
    app.add_argument("graph", nargs="?", default="lenet", help="graph to open (default: lenet)")
    return parser


def add_train_parser(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser(
        "train", help="train a graph on a dataset, writing a run folder (checkpoints, metrics, summary)",
        description="Train a graph. Settings left out come from the template's own defaults, so "
        "`train lenet` just works. Runs under `torchrun --nproc_per_node=K` too (DistributedDataParallel; "
        "--batch-size is then the global batch). Ctrl+C stops after the current step and saves last.pt.")
    train.add_argument("graph", nargs="?", help="a .layerbook.json file or a template name (not with --resume)")
    train.add_argument("--data", dest="dataset", metavar="NAME|PATH",
                       help="a built-in dataset (digits, digits8, shapes, moons, spirals, blobs, pytext, reverse, "
                       "copy, sort, majority) or a .csv, .npz, .npy, .txt file or a folder of images per class")
    train.add_argument("--epochs", type=int, help="passes over the training data")
    train.add_argument("--batch-size", type=int, help="samples per step (the global batch under torchrun)")
    train.add_argument("--lr", type=float, help="learning rate")
    train.add_argument("--optimizer", choices=("sgd", "adam", "adamw"))
    train.add_argument("--momentum", type=float, help="SGD momentum (default 0.9)")
    train.add_argument("--nesterov", action="store_true", default=None, help="SGD with Nesterov momentum")
    train.add_argument("--weight-decay", type=float, help="weight decay (decoupled for adamw)")
    train.add_argument("--schedule", choices=("constant", "step", "cosine"), help="learning-rate schedule")
    train.add_argument("--warmup-steps", type=int, help="linear warm-up of the learning rate over these steps")
    train.add_argument("--step-epochs", type=int, help="step schedule: epochs between decays (default 10)")
    train.add_argument("--gamma", type=float, help="step schedule: factor of each decay (default 0.1)")
    train.add_argument("--clip", type=float, help="clip the gradient's norm to this value")
    train.add_argument("--seed", type=int, help="random seed (runs on the CPU are reproducible)")
    train.add_argument("--device", help="auto (CUDA, then MPS, then CPU), cuda, cuda:N, mps or cpu")
    train.add_argument("--precision", choices=("fp32", "bf16", "fp16"), help="mixed precision on CUDA")
    train.add_argument("--channels-last", action="store_true", default=None, help="NHWC convolutions on CUDA")
    train.add_argument("--compile", action="store_true", default=None, help="torch.compile the model")
    train.add_argument("--patience", type=int, help="stop after this many epochs without a better validation loss")
    train.add_argument("--noise", type=float, help="reconstruction: noise added to the inputs (denoising)")
    train.add_argument("--train-size", type=int, help="cap (or, for generated data, set) the training samples")
    train.add_argument("--val-size", type=int, help="cap (or set) the validation samples")
    train.add_argument("--features", type=lambda text: text.split(","), help="CSV: feature columns, comma-separated")
    train.add_argument("--label", help="CSV: the label column (default: the last)")
    train.add_argument("--log-every", type=int, help="steps between reported metrics (default 10)")
    train.add_argument("--out", help="the run folder (default: runs/<graph>-<date>-<time>)")
    train.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its last checkpoint")
    train.add_argument("--quiet", action="store_true", help="no progress bar (epoch lines and summary only)")


def window_size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit() and int(width) >= 200 and int(height) >= 150):
        raise argparse.ArgumentTypeError(f"'{text}' is not a size such as 1400x860")
    return int(width), int(height)


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
    if args.command == "render":
        from app.render import render_command

        return render_command(args.graph, args.output, args.theme)
    if args.command == "screenshot":
        from app.screenshot import screenshot_command

        return screenshot_command(args.graph, args.output, args.size, args.theme, args.train_seconds)
    if args.command == "train":
        from runtime.training.command import train_command

        return train_command(vars(args))
    from app import run_app

    return run_app(getattr(args, "graph", "lenet"))


if __name__ == "__main__":
    sys.exit(main())

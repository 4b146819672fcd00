"""Layerbook's command line: parses arguments, then starts the application or runs one command."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Sequence
from typing import Any

EXIT_OK, EXIT_PROBLEMS, EXIT_UNUSABLE = 0, 1, 2
EXIT_BROKEN_PIPE = 128 + 13  # killed by SIGPIPE, as the shell reports it
EXIT_INTERRUPTED = 128 + 2  # Ctrl+C (SIGINT), likewise


GRAPH_HELP = "a .layerbook.json file or a template name such as lenet (`templates` lists them)"
# runtime.data.builtin_datasets(), spelled out: importing it would import torch (tests/test_help.py compares)
DATASETS = "digits, digits8, shapes, moons, spirals, blobs, pytext, reverse, copy, sort, majority"
Raw = argparse.RawDescriptionHelpFormatter  # descriptions wrapped here; examples kept one per line
WIDTH = 79
SMALLEST_WINDOW, LARGEST_SIDE = (200, 150), 8192  # screenshot sizes: the window's least, a picture's most a side
LONGEST_TRAINING = 3600  # screenshot --train-seconds: an hour at most


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="layerbook", formatter_class=Raw,
        description=textwrap.fill("Design, train and export deep networks by drawing them. With no command, "
                                  "starts the application on the lenet template.", WIDTH),
        epilog="examples:\n  python main.py                     # the application, on lenet\n"
        "  python main.py validate lenet\n  python main.py train lenet\n"
        "  python main.py export lenet -o lenet.onnx\n\n"
        "GRAPH is a .layerbook.json file or a template name.\n`python main.py COMMAND --help` describes a command.")
    commands = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    _add_report_parsers(commands)
    _add_export_parsers(commands)
    add_train_parser(commands)
    _add_picture_parsers(commands)
    app = _command(commands, "app", "start the application (the default)",
                   "Start the application with GRAPH open.", "python main.py app resnet50")
    app.add_argument("graph", nargs="?", default="lenet", metavar="GRAPH",
                     help="the graph to open (default: lenet)")
    return parser


def _command(commands: argparse._SubParsersAction, name: str, summary: str, description: str,
             *examples: str) -> argparse.ArgumentParser:
    """A command with a one-line summary (in the list), a description and examples (in its own --help)."""
    epilog = "example" + "s" * (len(examples) > 1) + ":\n" + "\n".join(f"  {line}" for line in examples)
    return commands.add_parser(name, help=summary, description=textwrap.fill(description, WIDTH), epilog=epilog,
                               formatter_class=Raw)


def _add_report_parsers(commands: argparse._SubParsersAction) -> None:
    validate = _command(
        commands, "validate", "check a graph; exit 0 when valid (warnings allowed), 1 with errors",
        "Check a graph's structure and tensor shapes, and lint it for likely mistakes (warnings, as the app "
        "shows them). Each problem is printed in a sentence naming its node, errors and warnings alike. Exit "
        "status: 0 when it is valid, even with warnings, 1 when it has errors, 2 when the file cannot be read.",
        "python main.py validate lenet", "python main.py validate my-net.layerbook.json --json")
    validate.add_argument("graph", metavar="GRAPH", help=GRAPH_HELP)
    validate.add_argument("--json", action="store_true",
                          help="print the result as JSON (each problem an object with code, severity, node and "
                          "message)")
    info = _command(commands, "info", "list nodes, output shapes and parameter counts",
                    "List each node of a graph with its type, output shape and parameter count, then the totals.",
                    "python main.py info lenet", "python main.py info resnet50 --json")
    info.add_argument("graph", metavar="GRAPH", help=GRAPH_HELP)
    info.add_argument("--json", action="store_true", help="print the nodes and totals as JSON")
    templates = _command(commands, "templates", "list the ready-made graphs (usable wherever GRAPH is)",
                         "List the templates: name, title, parameter count and source. Each name can be used "
                         "wherever a command takes GRAPH.", "python main.py templates")
    templates.add_argument("--json", action="store_true",
                           help="print JSON (name, title, source, parameters, valid)")


def _add_export_parsers(commands: argparse._SubParsersAction) -> None:
    export = _command(
        commands, "export", "export to ONNX, verified with onnxruntime",
        "Export a graph to ONNX with a dynamic batch (and sequence length for token inputs). The file is checked "
        "with onnx.checker and run with onnxruntime against torch before the command reports it done.",
        "python main.py export lenet -o lenet.onnx",
        "python main.py export lenet -o lenet.onnx --weights runs/lenet-20250101-120000/best.pt")
    export.add_argument("graph", metavar="GRAPH", help=GRAPH_HELP)
    export.add_argument("-o", "--output", required=True, metavar="FILE", help="the .onnx file to write")
    export.add_argument("--weights", metavar="CKPT",
                        help="a checkpoint (best.pt or last.pt of a run) whose weights to export "
                        "(default: random weights)")
    export.add_argument("--opset", type=opset_version, metavar="N",
                        help="ONNX opset version, one the installed exporter writes (another is refused, naming "
                        "the range; default: the exporter's)")
    code = _command(
        commands, "code", "write the graph as a self-contained PyTorch module (.py)",
        "Write the graph as one readable PyTorch file defining an nn.Module, whose state_dict matches the "
        "compiled model's (so a run's weights load into it).", "python main.py code lenet -o lenet.py")
    code.add_argument("graph", metavar="GRAPH", help=GRAPH_HELP)
    code.add_argument("-o", "--output", required=True, metavar="FILE", help="the .py file to write")


def _add_picture_parsers(commands: argparse._SubParsersAction) -> None:
    render = _command(
        commands, "render", "draw the graph as a figure in the book's style (SVG, PDF or PNG)",
        "Draw the graph as a figure in the style of the Little Book of Deep Learning, with the canvas's own "
        "drawing code. The format follows the output's extension. Prints the path written.",
        "python main.py render lenet -o lenet.svg", "python main.py render resnet50 -o resnet50.png --theme dark")
    render.add_argument("graph", metavar="GRAPH", help=GRAPH_HELP)
    render.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="figure.svg, figure.pdf or figure.png")
    render.add_argument("--theme", choices=("light", "dark"), default="light", help="colours (default: light)")
    shot = _command(
        commands, "screenshot", "save a picture of the main window with GRAPH open (off-screen)",
        "Save a picture of the main window with GRAPH open, drawn off-screen at a fixed size with the default "
        "layout. The options choose what it shows. Training (--train-seconds) writes a run folder under ./runs; "
        "--runs reads ./runs.",
        "python main.py screenshot gpt -o editor.png",
        "python main.py screenshot gpt -o block.png --block blocks",
        "python main.py screenshot lenet -o training.png --train-seconds 20",
        "python main.py screenshot lenet -o results.png --results runs/lenet-20250101-120000")
    shot.add_argument("graph", nargs="?", default="lenet", metavar="GRAPH",
                      help="the graph to open (default: lenet)")
    shot.add_argument("-o", "--output", required=True, metavar="FILE", help="the .png (or .jpg) file to write")
    shot.add_argument("--size", type=window_size, default=(1400, 860), metavar="WxH",
                      help=f"window size, from {SMALLEST_WINDOW[0]}x{SMALLEST_WINDOW[1]} to {LARGEST_SIDE} a side "
                      "(default: 1400x860)")
    shot.add_argument("--theme", choices=("light", "dark"), default="light", help="colours (default: light)")
    shot.add_argument("--select", metavar="NODE", help="select this box, so that the inspector shows it")
    shot.add_argument("--block", metavar="NAME",
                      help="show the inside of this block (a block's name or a box that uses it), with the "
                      "breadcrumb above the canvas")
    shot.add_argument("--dock", metavar="NAME",
                      help="show and raise this panel: Layers, Inspector, Problems, Summary, Training or Runs")
    shot.add_argument("--runs", action="store_true",
                      help="show the Runs panel with the two newest runs in ./runs selected and compared")
    shot.add_argument("--train-seconds", type=train_seconds, default=0.0, metavar="S",
                      help="start training from the Train panel with the graph's settings, wait S seconds (at most "
                      f"{LONGEST_TRAINING:,}), then take the picture (curves included; default: 0, no training)")
    shot.add_argument("--results", metavar="RUN",
                      help="picture the Results window of the run folder RUN instead of the main window "
                      "(confusion matrix, or generated text for a language model)")


def add_train_parser(commands: argparse._SubParsersAction) -> None:
    train = _command(
        commands, "train", "train a graph on a dataset, writing a run folder (checkpoints, metrics, summary)",
        "Train a graph. Settings come from the template's own defaults (its `training` entry), then from a "
        "--settings file, then from the options given, so `train lenet` just works; each is checked against its "
        "range (shown below) before anything runs. Writes a run folder with settings.json (every setting and the "
        "data trained on), metrics.csv, summary.json, best.pt and last.pt; by default a new folder under runs/ in "
        "the current working directory, as training tools do. Runs under `torchrun --nproc_per_node=K` too "
        "(DistributedDataParallel; --batch-size is then the global batch, and only rank 0 writes). Ctrl+C, "
        "SIGTERM or SIGHUP stops after the current step, saves last.pt and says how to resume; a second one "
        "quits at once.",
        "python main.py train lenet", "python main.py train mlp --data blobs --epochs 20 --lr 0.01",
        "python main.py train iris-net.layerbook.json --data iris.csv --label species",
        "python main.py train graph.layerbook.json --settings settings.json   # a bundle's run, again",
        "python main.py train --resume runs/lenet-20250101-120000 --epochs 20",
        "torchrun --nproc_per_node=4 main.py train resnet50 --epochs 5 --precision bf16")
    train.add_argument("graph", nargs="?", metavar="GRAPH",
                       help=GRAPH_HELP + " (left out with --resume, or the run's own graph)")
    train.add_argument("--settings", metavar="FILE",
                       help="a run's settings.json (or a JSON object of settings) to start from: every setting "
                       "it holds, which the options given here then change")
    _add_train_data_options(train)
    _add_train_optimizer_options(train)
    _add_train_run_options(train)


def _ranged(name: str, text: str, default: object) -> str:
    """An option's help with its range, as TrainConfig declares it (one statement of each range)."""
    from runtime.training.config import range_text  # plain Python: no torch for --help

    return f"{text} ({range_text(name)}; default {default})"


def _add_train_data_options(train: argparse.ArgumentParser) -> None:
    train.add_argument("--data", dest="dataset", metavar="NAME|PATH",
                       help=f"a built-in dataset ({DATASETS}) or a .csv, .npz, .npy, .txt file or a folder of "
                       "images with one sub-folder per class (default: the template's)")
    train.add_argument("--allow-other-data", action="store_true", default=None,
                       help="train even though the data differs from the data recorded in --settings or in the "
                       "resumed run (another version of a built-in dataset, a file with other contents)")
    train.add_argument("--train-size", type=int, metavar="N",
                       help=_ranged("train_size", "cap the training samples (for generated data: how many to "
                                    "make)", "all"))
    train.add_argument("--val-size", type=int, metavar="N",
                       help=_ranged("val_size", "cap the validation samples (for generated data: how many to "
                                    "make)", "all"))
    train.add_argument("--features", type=lambda text: text.split(","), metavar="COLS",
                       help="a CSV file's feature columns, comma-separated (default: all but the label); for an "
                       ".npz file, the input's array (default: the array named like the input, or x)")
    train.add_argument("--label", metavar="COL", help="a CSV file's label column (default: the last); for an .npz "
                       "file, the output's array (default: the array named like the output, or y)")
    train.add_argument("--noise", type=float,
                       help=_ranged("noise", "reconstruction: standard deviation of the noise added to the "
                                    "inputs, for denoising", 0))


def _add_train_optimizer_options(train: argparse.ArgumentParser) -> None:
    train.add_argument("--epochs", type=int, metavar="N",
                       help=_ranged("epochs", "passes over the training data", 10))
    train.add_argument("--batch-size", type=int, metavar="B",
                       help=_ranged("batch_size", "samples per step; under torchrun the global batch, shared "
                                    "between the processes", 64))
    train.add_argument("--lr", type=float, help=_ranged("lr", "learning rate", "1e-3"))
    train.add_argument("--optimizer", choices=("sgd", "adam", "adamw"), help="the optimizer (default adam)")
    train.add_argument("--momentum", type=float, help=_ranged("momentum", "SGD momentum", 0.9))
    train.add_argument("--nesterov", action="store_true", default=None, help="SGD with Nesterov momentum")
    train.add_argument("--weight-decay", type=float, metavar="WD",
                       help=_ranged("weight_decay", "weight decay (decoupled for adamw)", 0))
    train.add_argument("--schedule", choices=("constant", "step", "cosine"),
                       help="learning-rate schedule after the warm-up (default constant)")
    train.add_argument("--warmup-steps", type=int, metavar="N",
                       help=_ranged("warmup_steps", "linear warm-up of the learning rate from 0 over these steps",
                                    0))
    train.add_argument("--step-epochs", type=int, metavar="N",
                       help=_ranged("step_epochs", "step schedule: epochs between decays", 10))
    train.add_argument("--gamma", type=float, help=_ranged("gamma", "step schedule: factor of each decay", 0.1))
    train.add_argument("--clip", type=float, metavar="NORM",
                       help=_ranged("clip", "clip the gradient's global norm to this value", "no clipping"))
    train.add_argument("--patience", type=int, metavar="N",
                       help=_ranged("patience", "stop after N epochs without a better validation loss",
                                    "never early"))


def _add_train_run_options(train: argparse.ArgumentParser) -> None:
    train.add_argument("--seed", type=int,
                       help=_ranged("seed", "random seed; runs on the CPU are reproducible", 0))
    train.add_argument("--device", help="auto (CUDA, then MPS, then CPU), cuda, cuda:N, mps or cpu (default auto)")
    train.add_argument("--precision", choices=("fp32", "bf16", "fp16"),
                       help="fp32, or bf16 / fp16 mixed precision on CUDA (default fp32)")
    train.add_argument("--channels-last", action="store_true", default=None,
                       help="NHWC memory layout for convolutions on CUDA")
    train.add_argument("--compile", action="store_true", default=None, help="torch.compile the model")
    train.add_argument("--log-every", type=int, metavar="N",
                       help=_ranged("log_every", "steps between reported metrics", 10))
    train.add_argument("--out", metavar="DIR",
                       help="the run folder: a new or an empty folder (default: a new runs/<graph>-<date>-<time> "
                       "in the current working directory); a folder holding other files or a run is refused")
    train.add_argument("--resume", metavar="DIR",
                       help="continue the run in DIR from its last.pt, with its graph and settings (options "
                       "given here change them, e.g. --epochs for more)")
    train.add_argument("--quiet", action="store_true", help="no progress bar (epoch lines and summary only)")


def window_size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    if not (width.isdecimal() and height.isdecimal()):  # isdigit() takes '²', which int() does not
        raise argparse.ArgumentTypeError(f"'{text}' is not a size such as 1400x860")
    if max(len(width.lstrip("0")), len(height.lstrip("0"))) > len(str(LARGEST_SIDE)):  # before int() refuses
        shown = text if len(text) <= 40 else f"{text[:20]}..."
        raise argparse.ArgumentTypeError(f"{shown} is too large: at most {LARGEST_SIDE} pixels a side")
    size = int(width), int(height)
    if size[0] < SMALLEST_WINDOW[0] or size[1] < SMALLEST_WINDOW[1]:
        raise argparse.ArgumentTypeError(f"{text} is too small: the window is at least "
                                         f"{SMALLEST_WINDOW[0]}x{SMALLEST_WINDOW[1]}")
    if max(size) > LARGEST_SIDE:
        raise argparse.ArgumentTypeError(f"{text} is too large: at most {LARGEST_SIDE} pixels a side")
    return size


def train_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not 0 <= seconds <= LONGEST_TRAINING:  # NaN fails too
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and {LONGEST_TRAINING:,} seconds")
    return seconds


def opset_version(text: str) -> int:
    try:
        opset = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an opset number such as 18") from None
    from runtime.export import check_opset

    try:
        check_opset(opset)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return opset


def output_refused(output: str, suffixes: tuple[str, ...], source: str) -> bool:
    """Whether the file `output` cannot be written (the reason printed): checked before any work is done."""
    from graph.outputs import OutputError, check_output

    try:
        check_output(output, suffixes, source=source)
    except OutputError as error:
        print(error, file=sys.stderr)
        return True
    return False


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
    analysis = report.with_lint(graph, graph.analyze())  # info shows the warnings validate prints
    if command == "validate":
        text = json.dumps(report.validation_json(graph, analysis), indent=2, ensure_ascii=False) if as_json \
            else report.validation_text(graph, analysis)
        print(text)
        return EXIT_OK if analysis.ok else EXIT_PROBLEMS
    print(json.dumps(report.info_json(graph, analysis), indent=2, ensure_ascii=False) if as_json
          else report.info_text(graph, analysis))
    return EXIT_OK


def run_render(source: str, output: str, theme: str) -> int:
    from app.render import render_command

    status = render_command(source, output, theme)
    if status == EXIT_OK:
        print(f"wrote {output}")  # as export, code and screenshot do: scripts and people see what was made
    return status


def run_train(options: dict[str, Any]) -> int:
    from runtime.training.command import train_command

    return train_command(options)


def run_templates(as_json: bool) -> int:
    from graph import report

    rows = report.templates_json()
    print(json.dumps(rows, indent=2, ensure_ascii=False) if as_json else report.templates_text(rows))
    return EXIT_OK


def run_export(source: str, output: str, weights: str | None, opset: int | None) -> int:
    if output_refused(output, (".onnx",), source):
        return EXIT_UNUSABLE
    graph = read_graph(source)
    if graph is None:
        return EXIT_UNUSABLE
    from runtime.export import ExportError, UnusableWeights, export_onnx
    from runtime.out_of_memory import TooLarge

    try:
        report = export_onnx(graph, output, weights=weights, opset=opset)
    except (ExportError, TooLarge) as exc:
        print(f"export failed: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE if isinstance(exc, UnusableWeights | TooLarge) else EXIT_PROBLEMS
    except OSError as exc:
        print(f"cannot write '{output}': {exc.strerror or exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(report.summary())
    return EXIT_OK


def run_code(source: str, output: str) -> int:
    if output_refused(output, (".py",), source):
        return EXIT_UNUSABLE
    graph = read_graph(source)
    if graph is None:
        return EXIT_UNUSABLE
    from runtime.codegen import SourceError, write_source
    from runtime.compile import CompileError
    from runtime.out_of_memory import TooLarge

    try:
        report = write_source(graph, output)
    except (CompileError, SourceError, TooLarge) as exc:
        print(f"code failed: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE if isinstance(exc, TooLarge) else EXIT_PROBLEMS
    except OSError as exc:
        print(f"cannot write '{output}': {exc.strerror or exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(report.summary())
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command of `argv`; its exit status. Output into a pipe whose reader has gone (`templates | head
    -3`) ends the command quietly with status 141, as the shell reports it for `cat` or `grep` killed by SIGPIPE:
    a script with `set -o pipefail` treats Layerbook like them, and a truncated output is not called a success."""
    try:
        return run_command(build_parser().parse_args(argv))
    except BrokenPipeError:
        # What Python would still flush at exit goes nowhere, rather than into a second BrokenPipeError.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:  # train handles its own; every other writer leaves what was there
        print("interrupted: nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED


def run_command(args: argparse.Namespace) -> int:
    if args.command in ("validate", "info"):
        return run_report(args.command, args.graph, args.json)
    if args.command == "templates":
        return run_templates(args.json)
    if args.command == "export":
        return run_export(args.graph, args.output, args.weights, args.opset)
    if args.command == "code":
        return run_code(args.graph, args.output)
    if args.command == "render":
        return run_render(args.graph, args.output, args.theme)
    if args.command == "screenshot":
        from app.screenshot import View, screenshot_command

        view = View(select=args.select, block=args.block, dock=args.dock, runs=args.runs, results=args.results)
        return screenshot_command(args.graph, args.output, args.size, args.theme, args.train_seconds, view)
    if args.command == "train":
        return run_train(vars(args))
    from app import run_app

    return run_app(getattr(args, "graph", "lenet"))


if __name__ == "__main__":
    sys.exit(main())

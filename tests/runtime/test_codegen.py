"""The generated PyTorch source against the compiled module, its oracle: the generated class must have the same
state_dict keys and shapes, load the compiled weights strictly, and compute the same outputs; the file must need
torch only, pass ruff's default rules and run as a script. `write_source` checks each file it writes the same way
in a fresh interpreter: every template passes that check, and a file that fails it is never written."""

from __future__ import annotations

import ast
import itertools
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from graph import Graph, GraphError, ParamSpec, load_graph
from graph.library import template_names
from runtime import build_module
from runtime.codegen import SourceError, generate_source, top_class, write_source
from runtime.codegen.source_file import FileWriter
from runtime.codegen.verify import Job, Verified, verify
from runtime.compile import CompileError, class_name
from tests.runtime.generated import load_generated, write_generated
from tests.runtime.giants import GIANTS, suite_size
from tests.runtime.test_layer_shapes import GOOD, Case, build_graph

BATCH = 3
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")


def ruff_command() -> list[str]:
    beside = Path(sys.executable).with_name("ruff")
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "ruff"]




def sample(graph: Graph) -> list[torch.Tensor]:
    analysis = graph.analyze()
    tensors = []
    for node in graph.nodes_of_type("input"):
        t = analysis.nodes[node.name].outputs["y"]
        if t.dtype == "int":
            tensors.append(torch.randint(0, node.params.get("vocab_size", 10), (BATCH, *t.shape)))
        else:
            tensors.append(torch.randn(BATCH, *t.shape))
    return tensors


def check_same_model(graph: Graph, tmp_path: Path) -> str:
    """Write, import and instantiate the generated class; it must match the compiled module exactly."""
    path = write_generated(graph, tmp_path / f"{class_name(graph.name).lower()}.py")
    source = path.read_text(encoding="utf-8")
    compile(source, str(path), "exec")
    model = getattr(load_generated(path), class_name(graph.name))().eval()
    compiled = build_module(graph).eval()
    assert shapes(model.state_dict()) == shapes(compiled.state_dict())
    assert shapes(dict(model.named_buffers())) == shapes(dict(compiled.named_buffers()))
    model.load_state_dict(compiled.state_dict(), strict=True)
    torch.manual_seed(0)
    inputs = sample(graph)
    with torch.no_grad():
        torch.testing.assert_close(model(*inputs), compiled(*inputs))
    return source


def shapes(tensors: dict[str, torch.Tensor]) -> dict[str, tuple[int, ...]]:
    return {name: tuple(t.shape) for name, t in tensors.items()}


def assert_torch_only(source: str) -> None:
    modules = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            modules.add((node.module or "").split(".")[0])
    assert modules == {"torch"}
    assert "layerbook" not in source.lower() and "runtime" not in source


def assert_ruff_clean(*paths: Path) -> None:
    # --isolated: ruff's default rules, whatever configuration lies around the file.
    result = subprocess.run([*ruff_command(), "check", "--isolated", *map(str, paths)], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def assert_lines(source: str, *lines: str) -> None:
    stripped = {line.strip() for line in source.splitlines()}
    missing = [line for line in lines if line not in stripped]
    assert not missing, f"missing {missing} in:\n{source}"


def chain(graph: Graph, *names: str) -> None:
    for src, dst in itertools.pairwise(names):
        graph.connect(src, dst)


# --- graphs --------------------------------------------------------------------------------------------------

def resnet() -> Graph:
    g = Graph("resnet-style")
    g.title = "A small residual network"
    g.add("input", "X", shape=[64, 16, 16])
    g.add("dresblock", "down1", S=1)
    g.add("resblock", "stage", repeat=2)
    g.add("dresblock", "down2", S=2)
    g.add("global-avgpool", "pool")
    g.add("fully-conn", "fc", out_features=10)
    g.add("output", "Y")
    chain(g, "X", "down1", "stage", "down2", "pool", "fc", "Y")
    return g


def sequence_model() -> Graph:
    g = Graph("tiny-gpt")
    g.add("input", "tokens", shape=[16], dtype="int", vocab_size=100)
    g.add("embed", "embed", num_embeddings=100, embedding_dim=64)
    g.add("pos-enc", "posenc1")
    g.add("+", "add")
    g.add("self-att", "attention", causal=True)
    g.add("ffw", "feedforward", p=0.1)
    g.add("layernorm", "ln")
    g.add("fully-conn", "head", out_features=100)
    g.add("output", "logits")
    chain(g, "tokens", "embed", "posenc1", "add", "attention", "feedforward", "ln", "head", "logits")
    g.connect("embed", "add")
    return g


def cross_attention() -> Graph:
    g = Graph("cross")
    g.add("input", "X", shape=[10, 32])
    g.add("input", "M", shape=[12, 48])
    g.add("cross-att", "cross", heads=2)
    g.add("fully-conn", "fc", out_features=5)
    g.add("output", "Y")
    g.add("output", "Z")
    g.connect("X", "cross", "x_q")
    g.connect("M", "cross", "x_kv")
    chain(g, "cross", "fc", "Y")
    g.connect("cross", "Z")
    return g


def mixed() -> Graph:
    """Two inputs, two outputs, branches joined by concat and mul, repeats of every kind."""
    g = Graph("mixed")
    g.add("input", "I", shape=[3, 8, 8])
    g.add("conv-2d", "conv1", out_channels=8, kernel_size=3, padding=1)
    g.add("leaky-relu", "lrelu", negative_slope=0.2)
    g.add("dropout-2d", "drop", p=0.1)
    g.add("transp-conv-2d", "tconv", out_channels=4, kernel_size=4, stride=2, padding=1)
    g.add("upsample", "up", scale_factor=2.0)
    g.add("conv-2d", "conv2", out_channels=4, kernel_size=1)
    g.add("concat", "cat")
    g.add("sigmoid", "gate")
    g.add("mul", "gated")
    g.add("maxpool", "pool", kernel_size=4)
    g.add("flatten", "flat")
    g.add("fully-conn", "fc1", out_features=16)
    g.add("relu", "relu", repeat=3)
    g.add("softmax", "probs")
    g.add("output", "P")
    chain(g, "I", "conv1", "lrelu", "drop", "tconv", "cat")
    chain(g, "I", "up", "conv2", "cat", "gate", "gated", "pool", "flat", "fc1", "relu", "probs", "P")
    g.connect("cat", "gated")
    g.add("input", "S", shape=[6, 10])
    g.add("transp-conv-1d", "tconv1d", out_channels=4, kernel_size=3, stride=2)
    g.add("lstm", "lstm", hidden_size=12, repeat=2)
    g.add("gru", "gru", hidden_size=8, num_layers=2, bidirectional=True)
    g.add("readout", "last", index=-1)
    g.add("fully-conn", "fcs", out_features=16, repeat=4)
    g.add("output", "Z")
    chain(g, "S", "tconv1d", "lstm", "gru", "last", "fcs", "Z")
    return g


def nested() -> Graph:
    """A block of the file made of library blocks, with two outputs, instantiated twice at different sizes."""
    block = Graph("pair")
    block.description = "Two residual blocks; also returns the input's gate."
    block.add("input", "x", shape=["C", "H", "W"])
    block.add("resblock", "first")
    block.add("resblock", "second")
    block.add("sigmoid", "gate")
    block.add("output", "y")
    block.add("output", "g")
    chain(block, "x", "first", "second", "y")
    chain(block, "x", "gate", "g")
    g = Graph("nested", blocks={"pair": block})
    g.add("input", "X", shape=[16, 6, 6])
    g.add("pair", "pair1")
    g.add("mul", "mix")
    g.add("conv-2d", "widen", out_channels=32, kernel_size=1)
    g.add("pair", "pair2")
    g.add("+", "total")
    g.add("output", "Y")
    g.connect("X", "pair1")
    g.connect("pair1", "mix", src_port="y")
    g.connect("pair1", "mix", src_port="g")
    chain(g, "mix", "widen", "pair2")
    g.connect("pair2", "total", src_port="y")
    g.connect("pair2", "total", src_port="g")
    g.connect("total", "Y")
    return g


def custom_blocks() -> Graph:
    """Blocks of the file: one whose sizes follow from its symbols (a head over C×H×W), one whose sizes do not
    (reshape to -1), one with a meta-parameter in its expressions, repeated."""
    blocks: dict[str, Graph] = {}
    head = Graph("head", blocks=blocks)
    head.add("input", "x", shape=["C", "H", "W"])
    head.add("flatten", "flat")
    head.add("fully-conn", "fc", out_features=10)
    head.add("output", "y")
    chain(head, "x", "flat", "fc", "y")
    squash = Graph("squash", blocks=blocks)
    squash.add("input", "x", shape=["C", "H", "W"])
    squash.add("reshape", "flat", shape=[-1])
    squash.add("fully-conn", "fc", out_features=10)
    squash.add("output", "y")
    chain(squash, "x", "flat", "fc", "y")
    widen = Graph("widen", blocks=blocks)
    widen.params["K"] = ParamSpec("K", "int", 2, minimum=1)
    widen.add("input", "x", shape=["C", "H", "W"])
    widen.add("conv-2d", "conv", out_channels="K*C", kernel_size="K", padding=["K-1", "K-1"])
    widen.add("output", "y")
    chain(widen, "x", "conv", "y")
    blocks.update(head=head, squash=squash, widen=widen)
    g = Graph("custom", blocks=blocks)
    for name, shape in (("A", [4, 4, 4]), ("B", [8, 2, 2]), ("C", [2, 5, 5])):
        g.add("input", name, shape=shape)
    for name, type_ in (("h1", "head"), ("h2", "head"), ("s1", "squash"), ("s2", "squash"), ("w2", "widen")):
        g.add(type_, name, repeat=2 if name == "w2" else 1)
    g.add("widen", "w1", K=3)
    g.add("+", "total")
    g.add("output", "Y")
    g.add("output", "Z")
    chain(g, "A", "h1", "total", "Y")
    chain(g, "B", "h2", "total")
    chain(g, "A", "s1", "total")
    chain(g, "C", "w1", "w2", "s2", "Z")
    return g


def attention_variants() -> Graph:
    g = Graph("variants")
    g.add("input", "X", shape=[8, 32])
    g.add("self-att", "causal1", causal=True)
    g.add("self-att", "plain")
    g.add("fully-conn", "widen", out_features=48)
    g.add("self-att", "causal2", causal=True, heads=2)
    g.add("output", "Y")
    chain(g, "X", "causal1", "plain", "widen", "causal2", "Y")
    return g


# --- tests ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["mlp", "lenet"])
def test_templates(name: str, tmp_path: Path) -> None:
    source = check_same_model(load_graph(name), tmp_path)
    assert_torch_only(source)
    assert_lines(source, f"class {class_name(name)}(nn.Module):", "def forward(self, X: torch.Tensor) -> torch.Tensor:",
                 "x = torch.relu(x)")


def test_lenet_reads_like_handwritten_code() -> None:
    source = generate_source(load_graph("lenet"))
    assert_lines(source, "self.conv1 = nn.Conv2d(1, 32, kernel_size=5)",
                 "self.conv2 = nn.Conv2d(32, 64, kernel_size=5)", "self.fc1 = nn.Linear(256, 200)",
                 "x = self.conv1(X)", "x = F.max_pool2d(x, 3)",
                 "x = x.reshape(x.size(0), 256)", "return self.fc2(x)", "import torch.nn.functional as F")
    assert "105,506" in source and "Figure 5.2" in source and "1×28×28" in source
    assert "maxpool1" not in source and "relu1" not in source  # parameter-free operations are inline


def test_resnet_blocks_are_classes_parameterised_by_their_sizes(tmp_path: Path) -> None:
    source = check_same_model(resnet(), tmp_path)
    assert_torch_only(source)
    assert_lines(source, "class Dresblock(nn.Module):", "class Resblock(nn.Module):",
                 "def __init__(self, C: int, S: int = 2) -> None:", "def __init__(self, C: int) -> None:",
                 "self.conv1 = nn.Conv2d(C, C // 4, kernel_size=1, bias=False)",
                 "self.shortcut = nn.Conv2d(C, 4 * C // S, kernel_size=1, stride=S, bias=False)",
                 "self.down1 = Dresblock(64, S=1)", "self.stage = nn.Sequential(Resblock(256), Resblock(256))",
                 "self.down2 = Dresblock(256)", "h = h + x", "h = h + shortcut", "x = x.mean((2, 3))")
    assert source.count("class ") == 3  # both downscaling blocks share one class


def test_sequence_model(tmp_path: Path) -> None:
    source = check_same_model(sequence_model(), tmp_path)
    assert_torch_only(source)
    assert_lines(source, "self.embed = nn.Embedding(100, 64)", "self.posenc1 = SinusoidalEncoding(1024, 64)",
                 "x = x + posenc1", "self.mha1 = nn.MultiheadAttention(D, heads, batch_first=True)",
                 "h, _ = self.mha1(h, h, h, attn_mask=causal_mask(h, h), need_weights=False)",
                 "self.feedforward = Ffw(64, p=0.1)", "def forward(self, tokens: torch.Tensor) -> torch.Tensor:")


def test_learned_positional_encoding_keeps_its_key(tmp_path: Path) -> None:
    graph = sequence_model()
    graph.set_param("posenc1", "kind", "learned")
    graph.set_param("posenc1", "max_len", 32)
    source = check_same_model(graph, tmp_path)
    assert_lines(source, "self.posenc1 = PositionalEncoding(32, 64)")
    assert "sinusoidal" not in source.lower()


def test_cross_attention_with_two_inputs_and_outputs(tmp_path: Path) -> None:
    source = check_same_model(cross_attention(), tmp_path)
    assert_lines(source, "def forward(self, X: torch.Tensor, M: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:",
                 "self.mha1 = nn.MultiheadAttention(D, heads, kdim=E, vdim=E, batch_first=True)",
                 "x = self.cross(X, M)", "self.cross = CrossAtt(32, 48, heads=2)")


def test_structural_and_recurrent_layers(tmp_path: Path) -> None:
    source = check_same_model(mixed(), tmp_path)
    assert_torch_only(source)
    assert_lines(source, "self.tconv = nn.ConvTranspose2d(8, 4, kernel_size=4, stride=2, padding=1)",
                 "x = F.leaky_relu(x, 0.2)", "self.drop = nn.Dropout2d(0.1)",
                 "up = F.interpolate(I_, scale_factor=2.0)",
                 "x = torch.cat((x, up), dim=1)", "x = x * gate", "x = x.flatten(1)",
                 "x = torch.softmax(x, dim=-1)", "for _ in range(3):",
                 "self.lstm = nn.ModuleList([nn.LSTM(21, 12, batch_first=True), nn.LSTM(12, 12, batch_first=True)])",
                 "for layer in self.lstm:", "tconv1d, _ = layer(tconv1d)",
                 "self.gru = nn.GRU(12, 8, num_layers=2, batch_first=True, bidirectional=True)",
                 "tconv1d = tconv1d[:, -1]",
                 "self.fcs = nn.Sequential(*[nn.Linear(16, 16) for _ in range(4)])")


def test_blocks_inside_blocks_and_several_outputs(tmp_path: Path) -> None:
    source = check_same_model(nested(), tmp_path)
    assert_lines(source, "self.first = Resblock(C)", "self.pair1 = Pair(16)", "self.pair2 = Pair(32)",
                 "pair1_y, pair1_g = self.pair1(X)", "def __init__(self, C: int) -> None:")
    assert source.count("class Pair") == 1


def test_block_classes_take_sizes_where_expressions_give_them(tmp_path: Path) -> None:
    source = check_same_model(custom_blocks(), tmp_path)
    assert_lines(source, "def __init__(self, C: int, H: int, W: int) -> None:", "self.fc = nn.Linear(C * H * W, 10)",
                 "self.h1 = Head(4, 4, 4)", "self.h2 = Head(8, 2, 2)",
                 "self.conv = nn.Conv2d(C, K * C, kernel_size=K, padding=(K - 1, K - 1))",
                 "self.w1 = Widen(2, K=3)", "self.w2 = nn.Sequential(Widen(6), Widen(12))",
                 "self.fc = nn.Linear(64, 10)", "self.fc = nn.Linear(1944, 10)", "self.s2 = Squash()",
                 "self.s1 = Squash2()")
    assert source.count("class Head") == 1 and source.count("class Squash") == 2


def test_instances_whose_forward_differs_get_classes_of_their_own(tmp_path: Path) -> None:
    source = check_same_model(attention_variants(), tmp_path)
    assert_lines(source, "class SelfAtt(nn.Module):", "class SelfAtt2(nn.Module):", "self.causal1 = SelfAtt(32)",
                 "self.causal2 = SelfAtt(48, heads=2)", "self.plain = SelfAtt2(32)")
    assert source.count("class SelfAtt") == 2


@pytest.mark.parametrize("c", GOOD, ids=str)
def test_every_layer_matches_the_compiled_module(c: Case, tmp_path: Path) -> None:
    check_same_model(build_graph(c), tmp_path)


def test_every_generated_file_passes_ruff(tmp_path: Path) -> None:
    graphs = [load_graph("lenet"), resnet(), sequence_model(), cross_attention(), mixed(), nested(),
              custom_blocks(), attention_variants(), *(build_graph(c) for c in GOOD)]
    paths = [write_generated(g, tmp_path / f"model_{i}.py") for i, g in enumerate(graphs)]
    assert_ruff_clean(*paths)


def test_the_file_runs_as_a_script(tmp_path: Path) -> None:
    path = write_generated(resnet(), tmp_path / "resnet.py")
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert result.stdout.strip() == "torch.Size([2, 10])"


def test_names_python_reserves_are_written_safely(tmp_path: Path) -> None:
    g = Graph("names")
    g.add("input", "l", shape=[4])
    g.add("fully-conn", "F", out_features=3)
    g.add("relu", "torch")
    g.add("fully-conn", "nn", out_features=3)
    g.add("output", "O")
    chain(g, "l", "F", "torch", "nn", "O")
    path = write_generated(g, tmp_path / "names.py")
    assert_ruff_clean(path)
    source = check_same_model(g, tmp_path)
    assert_lines(source, "def forward(self, l_: torch.Tensor) -> torch.Tensor:", "self.F = nn.Linear(4, 3)",
                 "x = self.F(l_)", "return self.nn(x)")


def test_nodes_named_like_module_attributes_keep_the_compiled_names(tmp_path: Path) -> None:
    g = Graph("attributes")
    g.add("input", "X", shape=[4])
    g.add("fully-conn", "forward", out_features=3)
    g.add("fully-conn", "training", out_features=2)
    g.add("output", "Y")
    chain(g, "X", "forward", "training", "Y")
    source = check_same_model(g, tmp_path)
    assert_lines(source, "self.forward_ = nn.Linear(4, 3)", "x = self.forward_(X)")


def test_a_node_cannot_be_named_like_a_python_keyword() -> None:
    """Node names become names in the compiled and generated code, so the graph refuses keywords outright."""
    g = Graph("keywords")
    for word in ("lambda", "if", "self"):
        with pytest.raises(GraphError, match="reserved by Python"):
            g.add("fully-conn", word, out_features=3)


def test_any_text_is_safe_in_docstrings(tmp_path: Path) -> None:
    graph = load_graph("mlp")
    graph.title = 'A "quoted" title with \\ and """ and \x00"'
    graph.description = "Ends with a quote\"\nand a backslash \\"
    path = write_generated(graph, tmp_path / "texts.py")
    assert_ruff_clean(path)
    assert load_generated(path).__doc__.startswith(f"{graph.title}: the network")  # the text itself, escaped


def test_a_graph_with_errors_is_refused() -> None:
    g = Graph("broken")
    g.add("input", "X", shape=[4])
    g.add("fully-conn", "fc")
    g.add("output", "Y")
    g.connect("X", "fc")
    with pytest.raises(CompileError):
        generate_source(g)


# --- the check of write_source (what `python main.py code` writes) -------------------------------------------

def output_shapes(graph: Graph, batch: int) -> str:
    """What the file's example prints: the shape of each output at the example's batch."""
    analysis = graph.analyze()
    return ", ".join(f"torch.Size({[batch, *analysis.nodes[node.name].inputs['x'][0].shape]})"
                     for node in graph.nodes_of_type("output"))


def check_in_one_interpreter(graphs: list[Graph], folder: Path) -> dict[str, Verified | SourceError]:
    jobs = [Job(g, write_generated(g, folder / f"model_{i}.py"), top_class(g)) for i, g in enumerate(graphs)]
    return {g.name: result for g, result in zip(graphs, verify(jobs), strict=True)}


def assert_all_verified(graphs: list[Graph], folder: Path) -> None:
    results = check_in_one_interpreter(graphs, folder)
    failed = {name: str(result) for name, result in results.items() if isinstance(result, SourceError)}
    assert not failed
    for graph in graphs:
        check = results[graph.name]
        assert check.printed == output_shapes(graph, 2) and check.batch == 3
        assert check.parity.max_scaled <= 1e-5, (graph.name, check.parity)


def test_every_template_passes_the_check_of_what_code_writes(tmp_path: Path) -> None:
    """The check `write_source` makes of its file, for every template (the giants reduced) in one fresh
    interpreter: the example runs (gpt, transformer, lstm and gru named a knob, `V`, in theirs) and the class
    with the compiled module's weights computes its outputs (the transformer's decoder read its own input for
    the encoder's output when the decoder chain took over the encoder chain's variable)."""
    assert_all_verified([suite_size(name) for name in template_names()], tmp_path)


@pytest.mark.slow
def test_every_giant_at_full_size_passes_the_check(tmp_path: Path) -> None:
    assert_all_verified([load_graph(name) for name in GIANTS], tmp_path)


def test_the_check_names_what_fails_and_where(tmp_path: Path) -> None:
    """A file whose example fails, one whose class cannot take the compiled weights and one that computes
    something else: each is reported with its cause (checked in one interpreter)."""
    mlp = load_graph("mlp")
    source = generate_source(mlp)
    broken = {
        "example": source.replace("X = torch.randn(2, 50)", "X = torch.randn(V, 50)"),
        "weights": source.replace("fc3", "last"),
        "outputs": source.replace("return self.fc3(x)", "return self.fc3(x) * 1.001"),
    }
    assert all(text != source for text in broken.values())
    jobs = []
    for name, text in broken.items():
        path = tmp_path / f"{name}.py"
        path.write_text(text, encoding="utf-8")
        jobs.append(Job(mlp, path, "Mlp"))
    example, weights, outputs = (str(result) for result in verify(jobs))
    line = text_line(broken["example"], "X = torch.randn(V, 50)")
    assert example == ("the file fails while running its example: NameError: name 'V' is not defined "
                       f"(line {line} of the file: X = torch.randn(V, 50))")
    assert weights.startswith("the file fails while loading the compiled module's weights: RuntimeError: ")
    assert 'Missing key(s) in state_dict: "last.weight"' in weights and '"fc3.weight"' in weights
    assert outputs.startswith("Mlp() with the compiled module's weights does not compute what it computes: output "
                              "'Y' differs beyond the tolerance (rtol 1e-05, atol 1e-05 of the output's scale")


def text_line(text: str, line: str) -> int:
    return next(i for i, found in enumerate(text.splitlines(), start=1) if found.strip() == line)


def test_a_file_that_fails_the_check_is_not_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The old example of gpt (`torch.randint(V, ...)`, a knob's name): write_source refuses it and leaves
    nothing, neither the file nor its temporary copy, nor a __pycache__."""
    monkeypatch.setattr(FileWriter, "_sample", lambda self, name: "torch.randint(V, (2, 64))")
    target = tmp_path / "gpt.py"
    with pytest.raises(SourceError, match=r"^the file generated for 'gpt' was not written: the file fails while "
                       r"running its example: NameError: name 'V' is not defined \(line \d+ of the file: "
                       r"X = torch\.randint\(V, \(2, 64\)\)\) \(a fault of Layerbook's code generator"):
        write_source(load_graph("gpt"), target)
    assert not list(tmp_path.iterdir())


def test_write_source_reports_what_it_verified(tmp_path: Path) -> None:
    report = write_source(load_graph("lenet"), tmp_path / "lenet.py")
    assert report.path == tmp_path / "lenet.py" and report.class_name == "Lenet"
    assert report.check.printed == "torch.Size([2, 10])" and report.check.parity.max_scaled <= 1e-5
    assert report.summary().splitlines()[1:] == [
        "  verified in a fresh interpreter: its example runs and prints torch.Size([2, 10])",
        "  Lenet() with the compiled module's weights (loaded strictly) computes its outputs at batch 3: "
        f"{report.check.parity}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lenet.py"]

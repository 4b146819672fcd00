"""Figures as files: SVG, PDF and PNG drawn by the canvas, and the `render` command's exit codes."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from app.render import PNG_SCALE, figure_scene, render_command, render_image, render_to_file
from graph import load_graph

FIGURE_5_2 = ["conv-2d", "maxpool", "relu", "conv-2d", "maxpool", "relu", "reshape", "fully-conn", "relu", "fully-conn"]
SVG = "{http://www.w3.org/2000/svg}"


def _texts(path: Path) -> list[tuple[float, str]]:
    """(y, text) of every text element of an SVG, y in the figure's coordinates (the enclosing groups' translations
    included: QSvgGenerator writes transforms on <g> elements)."""
    found: list[tuple[float, str]] = []

    def walk(element: ElementTree.Element, dy: float) -> None:
        transform = element.get("transform", "")
        match = re.search(r"matrix\(([^)]*)\)", transform)
        if match:
            dy += float(re.split(r"[ ,]+", match.group(1).strip())[5])
        if element.tag == f"{SVG}text":
            text = "".join(element.itertext()).strip()
            if text:
                found.append((dy + float(element.get("y", "0")), text))
        for child in element:
            walk(child, dy)

    walk(ElementTree.parse(path).getroot(), 0.0)
    return found


def test_svg_carries_figure_5_2_labels_bottom_to_top(qtbot, tmp_path: Path) -> None:
    path = render_to_file(load_graph("lenet"), tmp_path / "lenet.svg")
    texts = _texts(path)
    labels = [text for _, text in sorted(texts, key=lambda t: -t[0]) if text in FIGURE_5_2]
    assert labels == FIGURE_5_2
    words = {text for _, text in texts}
    assert {"k=5", "k=3", "k=2", "32×24×24", "256", "X", "P̂(Y)", "Feature extractor", "Classifier"} <= words


def test_pdf_and_png(qtbot, tmp_path: Path) -> None:
    graph = load_graph("lenet")
    pdf = render_to_file(graph, tmp_path / "lenet.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    png = render_to_file(graph, tmp_path / "lenet.png", theme="dark")
    image = QImage(str(png))
    _, rect = figure_scene(graph)
    assert not image.isNull()
    assert (image.width(), image.height()) == (round(rect.width() * PNG_SCALE), round(rect.height() * PNG_SCALE))


def test_render_image_has_the_asked_size(qtbot) -> None:
    image = render_image(load_graph("resnet50"), 200, 300)
    assert (image.width(), image.height()) == (200, 300)
    assert image.pixelColor(0, 0).name() == "#ffffff"  # the light theme's background


def test_an_unknown_suffix_names_the_allowed_ones(qtbot, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.svg.*\.pdf.*\.png"):
        render_to_file(load_graph("lenet"), tmp_path / "lenet.gif")


def test_render_command_exit_codes(qtbot, tmp_path: Path, capsys) -> None:
    assert render_command("lenet", str(tmp_path / "out.svg")) == 0
    assert (tmp_path / "out.svg").stat().st_size > 0
    broken = tmp_path / "broken.layerbook.json"
    broken.write_text("{ not json")
    assert render_command(str(broken), str(tmp_path / "b.svg")) == 2
    assert "broken.layerbook.json" in capsys.readouterr().err
    assert render_command("lenet", str(tmp_path / "missing" / "dir" / "x.png")) == 2
    assert "cannot write" in capsys.readouterr().err
    assert render_command("lenet", str(tmp_path / "x.gif")) == 2
    assert ".svg" in capsys.readouterr().err


def test_a_failed_render_leaves_the_file_that_was_there(qtbot, tmp_path: Path, monkeypatch, capsys) -> None:
    """The figure is drawn into a temporary file beside the target, renamed over it once complete."""
    import app.render as render

    def half_drawn(scene, rect, path: Path) -> None:
        path.write_bytes(b"\x89PNG half")
        raise OSError("Qt could not write the PNG file")

    target = tmp_path / "lenet.png"
    target.write_bytes(b"the figure of yesterday")
    monkeypatch.setattr(render, "_png", half_drawn)
    assert render_command("lenet", str(target)) == 2
    assert capsys.readouterr().err == f"cannot write '{target}': Qt could not write the PNG file\n"
    assert target.read_bytes() == b"the figure of yesterday"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lenet.png"]

"""Dataset names and file kinds → the builders that fit them to a graph."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from runtime.data.base import DataError, Dataset
from runtime.data.files import build_npy, build_npz
from runtime.data.folder import build_folder
from runtime.data.images import build_digits
from runtime.data.options import DataOptions
from runtime.data.sequences import build_majority, build_seq2seq
from runtime.data.shapes import build_shapes
from runtime.data.spec import GraphSpec
from runtime.data.table import build_csv
from runtime.data.tabular import build_points
from runtime.data.text import build_pytext, build_text_file

Builder = Callable[[GraphSpec, int, DataOptions], Dataset]
FileBuilder = Callable[[Path, GraphSpec, int, DataOptions], Dataset]

BUILTINS: dict[str, tuple[str, Builder]] = {
    "digits": ("1,797 handwritten digits (scikit-learn), rendered at the input's size, 10 classes", build_digits),
    "digits8": ("the same digits at their native 8×8 (input 1×8×8 or 64)", partial(build_digits, native=True)),
    "shapes": ("generated coloured shapes (circle, square, triangle, cross, ring, diamond), any size, 1 or 3 "
               "channels", build_shapes),
    "moons": ("two interleaving half circles, 2 features, 2 classes", partial(build_points, "moons")),
    "spirals": ("interleaved spirals, 2 features, one class per arm", partial(build_points, "spirals")),
    "blobs": ("Gaussian clusters, as many features and classes as the graph takes", partial(build_points, "blobs")),
    "pytext": ("Python standard library source, character level, 96 symbols (next-token)", build_pytext),
    "reverse": ("reverse a token sequence (two inputs: source, shifted target)", partial(build_seq2seq, "reverse")),
    "copy": ("copy a token sequence (two inputs: source, shifted target)", partial(build_seq2seq, "copy")),
    "sort": ("sort a token sequence (two inputs: source, shifted target)", partial(build_seq2seq, "sort")),
    "majority": ("which class of tokens (id mod C) occurs most often in a sequence", build_majority),
}

FILE_KINDS: dict[str, FileBuilder] = {".csv": build_csv, ".npz": build_npz, ".npy": build_npy,
                                      ".txt": build_text_file}


# The kinds of file whose columns (CSV) or arrays (.npz) the `features` and `label` options choose.
CHOOSABLE = (".csv", ".npz")
OTHER_KINDS = {".npy": "a single array of inputs", ".txt": "a text file, whose next characters are the labels"}


def builder_for(source: str, options: DataOptions | None = None) -> Builder:
    """The builder of a built-in name or of a file / folder path; refuses `features` and `label` options that
    the source has nothing to choose with (they would be ignored, and the user would train on other data than
    they meant)."""
    if source in BUILTINS:
        _no_choice(options, f"'{source}' is a built-in dataset, which brings its own labels")
        return BUILTINS[source][1]
    try:
        return _file_builder(source, options)
    except OSError as error:  # a name too long for the file system, a folder above that cannot be searched
        raise DataError(f"cannot read '{source}': {error.strerror or error}") from None


def _file_builder(source: str, options: DataOptions | None) -> Builder:
    path = Path(source).expanduser()
    if not path.exists():
        if path.is_symlink():
            raise DataError(f"'{source}' is a symbolic link to nothing: its target does not exist, or the links loop")
        if path.suffix.lower() in FILE_KINDS or "/" in source or "\\" in source:
            raise DataError(f"no such file or folder: '{source}'")
        raise DataError(f"unknown dataset '{source}': use one of {', '.join(BUILTINS)} "
                        f"or a path to a .csv, .npz, .npy, .txt file or an image folder")
    if path.is_dir():
        _no_choice(options, f"'{source}' is an image folder, whose sub-folders are the classes")
        return partial(build_folder, path)
    suffix = path.suffix.lower()
    kind = FILE_KINDS.get(suffix)
    if kind is None:
        raise DataError(f"'{source}' is not a dataset: use a .csv, .npz, .npy, .txt file or an image folder")
    if not path.is_file():  # a named pipe or a device would block the read or never end it
        raise DataError(f"'{source}' is not a regular file")
    if suffix not in CHOOSABLE:
        _no_choice(options, f"'{source}' is {OTHER_KINDS[suffix]}")
    return partial(kind, path)


def _no_choice(options: DataOptions | None, what: str) -> None:
    if options is None:
        return
    given = [] if options.label is None else [f"--label {options.label}"]
    if options.features is not None:
        given.append(f"--features {','.join(options.features)}")
    if given:
        raise DataError(f"{' and '.join(given)}: these choose the columns of a CSV file or the arrays of an .npz "
                        f"file, but {what}; leave {'them' if len(given) > 1 else 'it'} out")

"""One training process at a time in a run folder: a second one (the app continuing a run that the command line is
still training, or the same --resume started twice) would interleave its metrics with the first's and overwrite
its checkpoints and summary. A POSIX lock on a small file in the folder, held while the run writes and removed
when it ends; a process that dies leaves the file, but its lock goes with it. Windows has no fcntl: there the
folder is not locked."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

from runtime.training.config import ConfigError

LOCK_FILE = ".training.lock"


def lock_run_folder(path: Path) -> IO[str] | None:
    """Hold `path`'s lock until `unlock_run_folder` or the process ends (None without fcntl). ConfigError naming
    the holder when another process trains in the folder."""
    try:
        import fcntl
    except ImportError:
        return None
    stream = open(path / LOCK_FILE, "a+", encoding="utf-8")  # noqa: SIM115 (held open: the lock lives with it)
    try:
        fcntl.lockf(stream, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # a holder that ended between our open and our lock removed the file we hold: someone may lock a new one
        if os.fstat(stream.fileno()).st_ino != os.stat(path / LOCK_FILE).st_ino:
            raise BlockingIOError
    except OSError:
        stream.seek(0)
        holder = stream.read().strip() or "another process"
        stream.close()
        raise ConfigError(f"'{path}' is being trained by another process ({holder}): wait until it ends, or stop "
                          "it, before training in this folder") from None
    stream.seek(0)
    stream.truncate()
    stream.write(f"pid {os.getpid()}")
    stream.flush()
    return stream


def unlock_run_folder(stream: IO[str], path: Path) -> None:
    """Remove the lock file, then let the lock go (in this order: no one locks a file about to vanish)."""
    (path / LOCK_FILE).unlink(missing_ok=True)
    stream.close()

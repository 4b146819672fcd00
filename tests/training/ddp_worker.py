"""Run by torchrun in test_distributed.py: trains the toy classifier, then every rank saves its own weights."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from runtime.training import TrainConfig, Trainer  # noqa: E402
from tests.training.toy import classifier, cluster_dataset  # noqa: E402

CONFIG = TrainConfig(epochs=2, batch_size=10, lr=0.01, optimizer="sgd", log_every=3)
DATA = {"train": 95, "val": 31}  # 95 = 9 batches of 10 and one of 5, split 3 + 2 between two processes


def main(out: Path) -> None:
    trainer = Trainer(classifier(), CONFIG, run_dir=out / "run", dataset=cluster_dataset(**DATA))
    outcome = trainer.run()
    rank = int(os.environ["RANK"])
    torch.save({"weights": trainer.session.model.state_dict(), "state": outcome.state,
                "world": trainer.session.world.size}, out / f"rank{rank}.pt")


if __name__ == "__main__":
    main(Path(sys.argv[1]))

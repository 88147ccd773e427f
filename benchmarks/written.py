"""What a learner's own backward pass costs: a run trained with it against the cell, and the wait
from pressing Check to the verdict.

    python -m benchmarks.written [--size tiny tutorial large] [--repeats 5]

For numpy and tensor at each size: the engine's ms/step with the cell's own lines
(``Trainer.run``) and with the same lines written by a learner (the ``backward`` setting: the
cell's forward pass, then the lines run by ``inspection/written.py`` within its grammar),
alternating, best of ``--repeats``, on the threads the engine chooses; their ratio is the
learner's speed as a share of the cell's (the goal: at least 0.8 at the tutorial's size). Then
the check as the training process takes it for the page (``written.check_text`` on an inspected
step: the parse, the lines run on copies of the step, autograd's reference), the median of 21.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from datetime import date

import torch

from benchmarks.engine_overhead import config
from benchmarks.sizes import SIZES
from playground import threads
from playground.inspection import written
from playground.inspection.written import cell_lines
from playground.trainer import Trainer

STYLES = ("numpy", "tensor")
STEPS = {"tiny": 2000, "tutorial": 500, "large": 20}


def run_s(cfg) -> float:
    trainer = Trainer(cfg)
    start = time.perf_counter()
    trainer.run()
    assert trainer.steps_done == cfg.steps, trainer.message
    return (time.perf_counter() - start) / cfg.steps


def check_ms(style: str, size: str, samples: int = 21) -> float:
    trainer = Trainer(config(style, size, 10_000))
    trainer.run(3)
    _, values, _ = written.take_step(trainer)
    text, times = cell_lines(style), []
    for _ in range(samples):
        start = time.perf_counter()
        verdict = written.check_text(text, values, trainer.cfg.dtype)
        times.append(time.perf_counter() - start)
        assert verdict["first_off"] is None, verdict
    return statistics.median(times) * 1000


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", nargs="+", default=["tutorial", "large"], choices=list(SIZES))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"Measured {date.today()} on {platform.machine()}, torch {torch.__version__}; best of {args.repeats}.\n")
    print(
        "| size (N/D_in/H/D_out) | style | steps | cell ms/step | written ms/step | written speed / cell's | check ms |"
    )
    print("|---|---|---|---|---|---|---|")
    for size in args.size:
        for style in STYLES:
            cell = config(style, size, STEPS[size])
            mine = cell.replace(backward=cell_lines(style).replace("2.0 *", "2 *"))
            threads.apply(threads.choose(cell), style)
            best_cell, best_mine = float("inf"), float("inf")
            for _ in range(args.repeats):
                best_cell = min(best_cell, run_s(cell))
                best_mine = min(best_mine, run_s(mine))
            n, d_in, hidden, d_out, _ = SIZES[size]
            print(
                f"| {size} ({n}/{d_in}/{hidden}/{d_out}) | {style} | {STEPS[size]} | {best_cell * 1000:.3f} | "
                f"{best_mine * 1000:.3f} | {best_cell / best_mine:.2f}x | {check_ms(style, size):.1f} |"
            )


if __name__ == "__main__":
    main()

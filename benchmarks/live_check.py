"""What the live gradient check costs a run: its share of the run's time.

    python -m benchmarks.live_check [--size tutorial large] [--repeats 5]

The page trains a style whose backward pass is written by hand (and every classic mistake) with
``Trainer(checks=True)``: every ``CHECK_EVERY`` steps the weights are copied before the step and
its gradients checked after it (``gradcheck.live_check``). For each size and checked style this
times the check as a run takes it (right after a training step, the median of up to 21) and a
step of the engine without it (best of ``--repeats`` runs), and gives the check's share of the
run: its time over ``CHECK_EVERY`` steps. The whole runs with and without the check, alternated,
give the same share less precisely (best against best), since the machine's noise moves a run by
more than the check costs.
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
from playground.trainer import CHECK_EVERY, Trainer

#: The checked styles, each with its mistake where one is written for it (module's is autograd's).
CASES = (
    ("numpy", "none"),
    ("numpy", "no_relu_mask"),
    ("tensor", "none"),
    ("function", "none"),
    ("module", "no_zero_grad"),
)
STEPS = {"tiny": 2000, "tutorial": 1000, "large": 100}


def trainer(style: str, mistake: str, size: str, steps: int, checks: bool) -> Trainer:
    cfg = config(style, size, steps)
    return Trainer(cfg.replace(mistake=mistake) if mistake != "none" else cfg, checks=checks)


def run_s(style: str, mistake: str, size: str, steps: int, checks: bool) -> float:
    t = trainer(style, mistake, size, steps, checks)
    start = time.perf_counter()
    t.run()
    assert t.steps_done == steps, t.message
    return (time.perf_counter() - start) / steps


def check_us(style: str, mistake: str, size: str, samples: int) -> float:
    """The median microseconds of one check (the weights' copy, then the check) right after a step."""
    t = trainer(style, mistake, size, 10_000, checks=True)
    t.run(3)
    times = []
    for _ in range(samples):
        t.step()
        start = time.perf_counter()
        t._check(t.steps_done, t._weights())
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", nargs="*", default=["tutorial", "large"], choices=SIZES)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(
        f"The live check every {CHECK_EVERY} steps, its share of a run; {date.today()}, "
        f"{platform.processor() or platform.machine()}, {threads.cores()} cores, torch {torch.__version__}\n"
    )
    print("| size (N/D_in/H/D_out) | style | mistake | step ms | check ms | share | runs with / without |")
    print("|---|---|---|---|---|---|---|")
    for size in args.size:
        for style, mistake in CASES:
            threads.apply(threads.choose(config(style, size, 1)), style)
            steps = STEPS[size]
            plain, checked = [], []
            for _ in range(args.repeats):
                plain.append(run_s(style, mistake, size, steps, checks=False))
                checked.append(run_s(style, mistake, size, steps, checks=True))
            step_ms = min(plain) * 1e3
            check_ms = check_us(style, mistake, size, 21 if size != "large" else 7) / 1e3
            share = check_ms / (CHECK_EVERY * step_ms + check_ms)
            print(
                f"| {size} ({SIZES[size].shape}) | {style} | {mistake} | {step_ms:.3f} | {check_ms:.3f} "
                f"| {share:.1%} | {min(checked) / min(plain):.3f}x |"
            )


if __name__ == "__main__":
    main()

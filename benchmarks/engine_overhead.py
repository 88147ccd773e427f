"""Engine cost per step against the tutorial's bare loop, style by style.

    python -m benchmarks.engine_overhead [--steps 500] [--repeats 7] [--style NAME ...]

For each style it times the bare tutorial loop and the engine (``Trainer.run``
with its default recording: per-step statistics and a histogram every 10
steps) at the tutorial's sizes, alternating the two so that both see the same
machine weather, and prints the median ms/step of each and their ratio as a
Markdown table. Ratios from one run are what to compare; absolute times on a
shared machine drift.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from datetime import date

import torch

from benchmarks.bare_loops import BARE
from playground.config import STYLES, Config
from playground.trainer import Trainer


def time_bare(style: str, steps: int) -> float:
    torch.manual_seed(0)
    start = time.perf_counter()
    BARE[style](steps=steps, learning_rate=Config.for_style(style).lr)
    return (time.perf_counter() - start) / steps


def time_engine(style: str, steps: int, every: int | None = None) -> float:
    cadence = {"stats_every": every, "hist_every": every} if every else {}
    trainer = Trainer(Config.for_style(style, steps=steps, **cadence))
    start = time.perf_counter()
    trainer.run()
    return (time.perf_counter() - start) / steps


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--style", nargs="*", default=list(STYLES), choices=STYLES)
    args = parser.parse_args(argv)
    print(
        f"Engine vs bare tutorial loop, {args.steps} steps at 64/1000/100/10, median of "
        f"{args.repeats}; {date.today()}, {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads\n"
    )
    print(
        "| style | bare ms/step | engine ms/step (default: statistics and histograms every 20 steps) "
        "| engine / bare | engine / bare, recording every 100 steps |"
    )
    print("|---|---|---|---|---|")
    for style in args.style:
        time_bare(style, 50), time_engine(style, 50)  # warm up
        bare, engine, light = [], [], []
        for _ in range(args.repeats):
            bare.append(time_bare(style, args.steps))
            engine.append(time_engine(style, args.steps))
            light.append(time_engine(style, args.steps, every=100))
        b, e, lt = statistics.median(bare), statistics.median(engine), statistics.median(light)
        print(f"| {style} | {b * 1e3:.3f} | {e * 1e3:.3f} | {e / b:.2f}x | {lt / b:.2f}x |", flush=True)


if __name__ == "__main__":
    main()

"""Engine cost per step against the tutorial's bare loop, style by style and size by size.

    python -m benchmarks.engine_overhead [--size tiny tutorial large] [--repeats 5] [--style NAME ...]

For each size and style it times the bare tutorial loop (``benchmarks.bare_loops``) and the
engine (``Trainer.run`` with its default recording: the loss every step, gradient statistics
and histograms every 20 steps), alternating the two so that both see the same machine
weather, and prints the best (lowest) ms/step of each and their ratio as a Markdown table:
the best of several is what the code costs, the rest is what else the machine was doing
(medians on this shared 2-core machine moved by 30% from run to run).

Both run on the same number of threads: the count the engine chooses for that style and
size, applied before either runs as the engine's runs apply it (``playground.threads.apply``:
the library the style trains with gets the count, the other one thread).
Each measurement runs enough steps to take about half a second. Ratios from one run are
what to compare; absolute times on a shared machine drift.
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import date

import torch

from benchmarks.bare_loops import BARE
from playground import threads
from playground.config import STYLES, Config
from playground.trainer import Trainer

#: name: (N, D_in, H, D_out, learning rate for every style but optim's Adam, steps to time).
#: The large size needs a smaller rate to train (see the README's "Large sizes").
SIZES = {
    "tiny": (8, 20, 12, 3, None, 2000),
    "tutorial": (64, 1000, 100, 10, None, 500),
    "large": (512, 1000, 2000, 10, 1e-8, 20),
}


def config(style: str, size: str, steps: int, every: int | None = None) -> Config:
    n, d_in, hidden, d_out, lr, _ = SIZES[size]
    extra = {"stats_every": every, "hist_every": every} if every else {}
    if lr is not None and style != "optim":
        extra["lr"] = lr
    return Config.for_style(style, n=n, d_in=d_in, hidden=hidden, d_out=d_out, steps=steps, **extra)


def time_bare(style: str, size: str, steps: int) -> float:
    cfg = config(style, size, steps)
    torch.manual_seed(0)
    start = time.perf_counter()
    BARE[style](steps=steps, N=cfg.n, D_in=cfg.d_in, H=cfg.hidden, D_out=cfg.d_out, learning_rate=cfg.lr)
    return (time.perf_counter() - start) / steps


def time_engine(style: str, size: str, steps: int, every: int | None = None) -> float:
    trainer = Trainer(config(style, size, steps, every))
    start = time.perf_counter()
    trainer.run()
    assert trainer.steps_done == steps, trainer.message  # a diverged run would time nothing
    return (time.perf_counter() - start) / steps


def steps_for(style: str, size: str) -> int:
    """Steps that take about half a second in the bare loop (at least the size's own count)."""
    probe = SIZES[size][5]
    seconds = time_bare(style, size, probe) * probe
    return max(probe, int(probe * 0.5 / max(seconds, 1e-6)))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", nargs="*", default=list(SIZES), choices=SIZES)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--style", nargs="*", default=list(STYLES), choices=STYLES)
    args = parser.parse_args(argv)
    print(
        f"Engine vs bare tutorial loop, best of {args.repeats}; {date.today()}, "
        f"{platform.processor() or platform.machine()}, {threads.cores()} cores, torch {torch.__version__}\n"
    )
    print(
        "| size (N/D_in/H/D_out) | style | threads | steps | bare ms/step | engine ms/step "
        "| engine / bare | engine / bare, recording every 100 steps |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for size in args.size:
        shape = "/".join(str(v) for v in SIZES[size][:4])
        for style in args.style:
            count = threads.choose(config(style, size, 1))
            threads.apply(count, style)
            time_bare(style, size, 20), time_engine(style, size, 20)  # warm up
            steps = steps_for(style, size)
            bare, engine, light = [], [], []
            for _ in range(args.repeats):
                bare.append(time_bare(style, size, steps))
                engine.append(time_engine(style, size, steps))
                light.append(time_engine(style, size, steps, every=100))
            b, e, lt = min(bare), min(engine), min(light)
            print(
                f"| {size} ({shape}) | {style} | {count} | {steps} | {b * 1e3:.3f} | {e * 1e3:.3f} "
                f"| {e / b:.2f}x | {lt / b:.2f}x |",
                flush=True,
            )


if __name__ == "__main__":
    main()

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

A second table times one recording's parts (the weights' copy, the statistics, the histograms),
which a shared machine's noise moves far less than a whole run: alone, over and over, their data
in the cache; and as in a run, each right after a training step, which has pushed their data and
NumPy's own out of the cache (1.2 to 4 times the cost alone at the tutorial's size). From
the latter it gives their share of a bare step at the default cadence. Then the recording all
told, read from a run's own step times (``all_told_us``): what the parts leave out (the row,
the logs, and the slower steps right after a recording) made it 1.3 to 2.5 times the parts' sum at
the tutorial's size when it was added (2026-12-03).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from datetime import date

import torch

from benchmarks.bare_loops import BARE
from benchmarks.sizes import SIZES
from playground import threads
from playground.config import STYLES, Config
from playground.trainer import Trainer

#: Per size, the fewest steps a timing takes (``steps_for`` takes more where they are quick).
STEPS = {"tiny": 2000, "tutorial": 500, "large": 20}


def config(style: str, size: str, steps: int, every: int | None = None) -> Config:
    spec = SIZES[size]
    n, d_in, hidden, d_out, _ = spec
    extra = {"stats_every": every, "hist_every": every} if every else {}
    if (rate := spec.rate(style)) is not None:
        extra["lr"] = rate
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


def best_us(action, seconds: float = 0.05, repeats: int = 7) -> float:
    """The best of ``repeats`` timings of ``action`` (each ``seconds`` long), in microseconds."""
    calls = 1
    while True:  # enough calls for one timing to last ``seconds``
        start = time.perf_counter()
        for _ in range(calls):
            action()
        if time.perf_counter() - start >= seconds / 4:
            break
        calls *= 4
    calls = max(1, int(calls * seconds / max(time.perf_counter() - start, 1e-9)))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            action()
        times.append((time.perf_counter() - start) / calls)
    return min(times) * 1e6


def after_a_step_us(net, action, samples: int) -> float:
    """The median microseconds of ``action`` taken right after one of ``net``'s training steps
    (not timed), as a run takes its recordings: the step has pushed their data out of the cache."""
    times = []
    for _ in range(samples):
        net.step()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def parts(style: str, size: str, bare_ms: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Microseconds of one recording's parts (the weights' copy before the step, the statistics
    and the gradient histograms after it), timed alone (best of 7, their data in the cache) and as
    in a run (right after a training step; the median of up to 41, fewer at a slow size)."""
    trainer = Trainer(config(style, size, 100))
    trainer.run(3)
    net, stats, binning = trainer.net, trainer.stats, trainer.binning
    actions = (lambda: stats.remember_weights(net), lambda: stats.measure(net), lambda: binning.measure(net))
    samples = max(5, min(41, int(1000 / max(bare_ms, 1e-3))))  # about a second of steps per part
    alone = tuple(best_us(action) for action in actions)
    in_a_run = tuple(after_a_step_us(net, action, samples) for action in actions)
    return alone, in_a_run


def all_told_us(style: str, size: str, bare_ms: float) -> float:
    """Microseconds one recording costs a run, all told: a run at the default cadence, each step
    timed; per place in the cadence (the recorded step, the one after it, ...) the median, less
    the median of the places in the cadence's second half, far from a recording; summed. Unlike
    the parts, this counts the row, the logs and the steps right after a recording, which find the
    training's own data pushed out of the cache (slower on one thread too)."""
    every = Config().stats_every
    cycles = max(5, min(100, int(2000 / (every * bare_ms))))  # about two seconds of steps
    trainer = Trainer(config(style, size, every * (cycles + 1)))
    trainer.run(every)  # its first steps warm up
    by_place: list[list[float]] = [[] for _ in range(every)]
    for _ in range(cycles * every):
        place = trainer.steps_done % every
        start = time.perf_counter()
        trainer.step()
        by_place[place].append(time.perf_counter() - start)
    medians = [statistics.median(times) for times in by_place]
    plain = statistics.median(medians[every // 2 :])
    return sum(m - plain for m in medians) * 1e6


def steps_for(style: str, size: str) -> int:
    """Steps that take about half a second in the bare loop (at least the size's own count)."""
    probe = STEPS[size]
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
    recorded = {}
    for size in args.size:
        shape = SIZES[size].shape
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
            # in the same weather as the bare loop
            recorded[size, style] = b * 1e3, parts(style, size, b * 1e3), all_told_us(style, size, b * 1e3)
            print(
                f"| {size} ({shape}) | {style} | {count} | {steps} | {b * 1e3:.4g} | {e * 1e3:.4g} "
                f"| {e / b:.2f}x | {lt / b:.2f}x |",
                flush=True,
            )
    every = Config().stats_every
    assert every == Config().hist_every, "the share below assumes one cadence"
    print(
        f"\nOne recording in microseconds: its parts, each timed alone (best of 7, its data in the "
        f"cache) and as in a run (right after a training step, median), and the share of a bare step "
        f"they take at the default cadence (every {every} steps); then the recording all told, from "
        f"a run's own step times (see all_told_us), and its share\n"
    )
    print(
        "| size | style | weights' copy alone / in a run | statistics alone / in a run "
        "| histograms alone / in a run | parts' share | all told in a run | its share |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for (size, style), (bare_ms, (alone, in_a_run), told) in recorded.items():
        step_us = bare_ms * 1e3
        cells = " | ".join(f"{a:.0f} / {r:.0f}" for a, r in zip(alone, in_a_run, strict=True))
        print(
            f"| {size} | {style} | {cells} | {sum(in_a_run) / every / step_us:.1%} "
            f"| {told:.0f} | {told / every / step_us:.1%} |",
            flush=True,
        )


if __name__ == "__main__":
    main()

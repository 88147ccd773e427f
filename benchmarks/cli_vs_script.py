"""The command line at its defaults against the tutorial's own cell run as a script.

    python -m benchmarks.cli_vs_script [--size tutorial large] [--repeats 5] [--style NAME ...] [--steps N]

Each measurement is a fresh process, as a user runs either:

- the script: the style's tutorial cell (``benchmarks.bare_loops``), run as Python runs a
  script, with its libraries' default threads (torch: one per core; NumPy's BLAS: all cores);
- the CLI: ``python -m playground train --style S`` with only the sizes, the step count (and
  at the large size a learning rate that trains) given; everything else at its defaults,
  threads included (``playground.threads`` chooses them).

Inside each process the imports come first and are not timed (torch's import is the same
1.4 s for both); what is timed is the rest, the set-up and the loop, as ms per step. Both
alternate, so that each pair sees the same machine weather: the table has the best (lowest)
of each, and the median of the pairs' ratios, which a neighbour's burst moves less.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
from datetime import date
from pathlib import Path

from benchmarks.sizes import SIZES
from playground.config import STYLES, Config

ROOT = Path(__file__).resolve().parent.parent

#: Steps each run takes, per size.
STEPS = {"tutorial": 2000, "large": 40}

SCRIPT = """
import sys, time
import numpy, torch
from benchmarks.bare_loops import BARE
style, steps, n, d_in, h, d_out, lr = sys.argv[1], *map(int, sys.argv[2:7]), float(sys.argv[7])
start = time.perf_counter()
BARE[style](steps=steps, N=n, D_in=d_in, H=h, D_out=d_out, learning_rate=lr)
print(time.perf_counter() - start, file=sys.stderr)
"""

CLI = """
import sys, time
import numpy, torch
import playground.cli, playground.trainer, playground.styles, playground.export
from playground.styles import STYLES
STYLES[sys.argv[1]].load()
argv = ["train", "--style", sys.argv[1], "--steps", *sys.argv[2:3], "--n", sys.argv[3], "--d-in", sys.argv[4],
        "--hidden", sys.argv[5], "--d-out", sys.argv[6]] + (["--lr", sys.argv[7]] if sys.argv[8] == "1" else [])
start = time.perf_counter()
code = playground.cli.main(argv)
print(time.perf_counter() - start, file=sys.stderr)
sys.exit(code)
"""


def environment() -> dict[str, str]:
    """This environment without thread settings, so that each process has its libraries' defaults."""
    names = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    env = {k: v for k, v in os.environ.items() if k not in names}
    env["PYTHONPATH"] = str(ROOT)
    return env


def timed(code: str, args: list[str]) -> float:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{args}: exit {done.returncode}: {done.stderr.strip()[-500:]}")
    return float(done.stderr.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", nargs="*", default=list(STEPS), choices=STEPS)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--style", nargs="*", default=list(STYLES), choices=STYLES)
    parser.add_argument("--steps", type=int, help="steps per run, instead of each size's own")
    args = parser.parse_args(argv)
    print(
        f"CLI at its defaults vs the tutorial's cell as a script, best of {args.repeats}; {date.today()}, "
        f"{platform.machine()}, {os.cpu_count()} cores\n"
    )
    print("| size (N/D_in/H/D_out) | style | steps | script ms/step | CLI ms/step | best / best | median of pairs |")
    print("|---|---|---|---|---|---|---|")
    for size in args.size:
        spec = SIZES[size]
        n, d_in, hidden, d_out, _ = spec
        steps = args.steps or STEPS[size]
        for style in args.style:
            rate = spec.rate(style)
            own_lr = rate is not None
            rate = rate if own_lr else Config.for_style(style).lr
            common = [style, str(steps), str(n), str(d_in), str(hidden), str(d_out), repr(rate)]
            script, cli = [], []
            for _ in range(args.repeats):
                script.append(timed(SCRIPT, common) / steps)
                cli.append(timed(CLI, [*common, "1" if own_lr else "0"]) / steps)
            s, c = min(script), min(cli)
            paired = statistics.median(b / a for a, b in zip(script, cli, strict=True))
            print(
                f"| {size} ({spec.shape}) | {style} | {steps} | {s * 1e3:.3f} | {c * 1e3:.3f} | {c / s:.2f}x "
                f"| {paired:.2f}x |",
                flush=True,
            )


if __name__ == "__main__":
    main()

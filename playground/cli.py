"""The command line: ``python -m playground train|styles``.

    python -m playground train --style module --steps 500
    python -m playground train --style optim --lr 1e-3 --json | head
    python -m playground train --config run.json      # replay an exported run
    python -m playground train --style numpy --save run.json   # the run as a file (threads too)
    python -m playground train --style module --data sin      # fit y = sin(x) instead of random data
    python -m playground styles

Flags are the config's settings (``config.SETTINGS``) with dashes. Bad input
exits with status 2 and one line on stderr; a diverged run exits with 1.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from .config import CURVE_SIZES, SETTINGS, STYLE_DEFAULTS, Config, ConfigError, Limits
from .export import NUMPY_NUMBERS, VERSION
from .styles import STYLES


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        raise UsageError(message)


def build_parser() -> Parser:
    parser = Parser(prog="python -m playground", description="Backprop Playground engine")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    train = commands.add_parser("train", help="train one style and print its losses")
    for setting in SETTINGS:
        # Values stay strings here: Config validates them, with the same messages everywhere. A
        # text setting (your backward pass) is read from the file its flag names.
        train.add_argument(
            setting.flag,
            dest=setting.name,
            metavar="FILE" if setting.text else setting.name.upper(),
            help=f"{setting.help} ({'a file of ' if setting.text else ''}{setting.allowed()})",
        )
    train.add_argument(
        "--config",
        dest="config_file",
        metavar="FILE",
        help="a JSON file: settings, or a run exported by the app (replayed with its live changes); "
        "flags override its starting settings",
    )
    train.add_argument("--json", action="store_true", help="print one JSON object per step")
    train.add_argument(
        "--save",
        metavar="FILE",
        help="write the run to FILE as the app's JSON export (its settings, thread count included, "
        "live changes and history): --config FILE replays it",
    )
    commands.add_parser("styles", help="list the styles with their tutorial defaults")
    return parser


def load_config_file(path: str):
    """The run file (or plain settings file) at ``path``, read by ``export.load_run``."""
    from .export import load_run

    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError("config", f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None
    try:
        return load_run(text, settings_alone=True)
    except ConfigError as error:
        raise ConfigError(error.field, f"{error.message} (in {path})") from None


def config_from_args(args) -> tuple[Config, object]:
    """The run's starting config (the file's settings, flags on top), and the run file (None
    without one): its live changes to replay, its version (its starting numbers:
    ``export.Run.legacy_numbers``) and the losses it holds."""
    run = load_config_file(args.config_file) if args.config_file else None
    values = dict(run.settings) if run else {}
    flags = {s.name: getattr(args, s.name) for s in SETTINGS if getattr(args, s.name) is not None}
    for setting in (s for s in SETTINGS if s.text and s.name in flags):
        flags[setting.name] = _read_text(setting.name, flags[setting.name])
    if "style" in flags and flags["style"] != values.get("style"):
        # A new style on the command line brings its own tutorial defaults.
        values = {k: v for k, v in values.items() if k not in STYLE_DEFAULTS.get(values.get("style"), {})}
    if "data" in flags and flags["data"] != values.get("data", "random"):
        # So does new data: a curve its sizes and rate, random the tutorial's.
        values = {k: v for k, v in values.items() if k not in (*CURVE_SIZES, "lr")}
    return Config.from_dict({**values, **flags}), run


def _read_text(name: str, path: str) -> str:
    """A text setting's file, as text (a file too large or not text is refused, named)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(64_001)
    except OSError as error:
        raise ConfigError(name, f"cannot read {path}: {error.strerror}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(name, f"{path} is not a text file (UTF-8)") from None


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def train(
    cfg: Config, as_json: bool, out=None, changes=(), save: str | None = None, version: int = VERSION, run=None
) -> int:
    """Train ``cfg`` and print its losses; ``run``: the run file it replays, whose losses the
    replay is compared with (a line on stderr says whether it gave them bit for bit)."""
    from . import threads
    from .record import Status
    from .trainer import Trainer

    # Threads chosen from the cores and the run, unless the settings (or a run file) say how many:
    # float32 sums split over threads round differently, so a run replays with the count it used.
    cfg = threads.resolved(cfg)
    threads.apply(cfg.threads, cfg.style)
    out = out or sys.stdout

    # Gradient statistics only where they are shown (--json) or kept (--save); histograms never:
    # the command line shows none, and recording them would cost it 10-20% of its time.
    legacy = version < NUMPY_NUMBERS  # a run file made with torch's numbers replays with them
    trainer = Trainer(cfg, changes, statistics=as_json or bool(save), histograms=False, legacy_numbers=legacy)
    while (row := trainer.step()) is not None:
        if as_json:
            out.write(json.dumps({k: _clean(v) for k, v in row.items()}) + "\n")
        elif row["step"] % 100 == 99:
            out.write(f"{row['step']} {row['loss']}\n")
    out.flush()
    if save:
        from .export import run_json

        with open(save, "w", encoding="utf-8") as handle:
            handle.write(run_json(cfg, trainer.changes, trainer.history, trainer.per_step, version))
    if run is not None and run.history:  # a replay: does it give the file's numbers?
        from .export import replay_verdict

        print(replay_verdict(run, trainer.per_step.columns()["loss"]), file=sys.stderr)
    if trainer.status == Status.DIVERGED:
        print(trainer.message, file=sys.stderr)
        return 1
    return 0


def list_styles(out=None) -> int:
    out = out or sys.stdout
    out.write(f"{'style':<9} {'lr':<7} {'optimizer':<9} {'dtype':<8} steps  what it shows\n")
    for name, info in STYLES.items():
        cfg = Config.for_style(name)
        out.write(f"{name:<9} {cfg.lr:<7g} {cfg.optimizer:<9} {cfg.dtype:<8} {cfg.steps:<6} {info.lesson}\n")
    return 0


def main(argv=None) -> int:
    parser = build_parser()
    try:
        Limits.from_env()  # a bad PLAYGROUND_* variable is an error here, named
        args = parser.parse_args(argv)
        if args.command == "styles":
            return list_styles()
        cfg, run = config_from_args(args)
        if args.save:
            try:
                open(args.save, "a").close()
            except OSError as error:
                raise ConfigError("save", f"cannot write {args.save}: {error.strerror}") from None
        changes, version = (run.changes, run.version) if run else ([], VERSION)
        replayed = run if run is not None and run.config == cfg else None  # flags make it another run
        return train(cfg, args.json, changes=changes, save=args.save, version=version, run=replayed)
    except (UsageError, ConfigError) as error:
        print(f"python -m playground: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into head
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        return 130

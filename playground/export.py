"""Download a run, and read one back: the one reader of run files.

    history_csv(trainer.history, trainer.per_step, start_config, trainer.changes)  # a row per step
    text = run_json(start_config, trainer.changes, trainer.history, trainer.per_step)
    run = load_run(text)                  # run.config, run.changes, run.history

A run file is ``{"format": "backprop-playground-run", "version": 3, "config":
{...}, "changes": [{"step": 100, "setting": "lr", "value": 1e-05}, ...],
"history": {"step": [...], "loss": [...], "lr": [...], ...}}``: the settings
the run started with, every live change with the step it took effect, and what
it recorded: a row for every step, with its loss and learning rate (and DynamicNet's
depth), and the statistics on the steps that recorded them (every ``stats_every`` steps,
thinned to at most ``history.HISTORY_ROWS`` rows in a long run), empty elsewhere.
The CSV is the same table. ``python -m playground train --config run.json`` replays it, the
changes included: the engine is deterministic, so the replay's losses equal the
file's. Files of versions 1 (no changes) and 2 still read and replay exactly: their starting
numbers came from torch's generator, which ``Run.legacy_numbers`` asks the trainer for
(``problem.TorchDraws``); version 3 draws them with NumPy's. Numbers are written with
``repr`` precision, so they read back exactly; a missing value (NaN) is an empty
CSV cell and a JSON null, and so is an infinite one in JSON, which has no infinity.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .config import LIVE_SETTINGS, SETTINGS_BY_NAME, Config, ConfigError, parse_device
from .record import Change

FORMAT = "backprop-playground-run"
VERSION = 3
READS = (1, 2, 3)  # versions this playground reads
NUMPY_NUMBERS = 3  # the first version whose starting numbers come from NumPy's generator (problem.py)

_EXACT_INT = 2**53  # integral floats below this print as whole numbers without loss


def _names(history) -> list[str]:
    """The 1-D columns: step, loss, lr, then the rest sorted."""
    names = [name for name in history.names() if np.ndim(history[name]) == 1]
    first = [name for name in ("step", "loss", "lr") if name in names]
    return first + sorted(name for name in names if name not in first)


def learning_rates(config: Config, changes: Sequence[Change], steps: int) -> np.ndarray:
    """The learning rate of each of the first ``steps`` steps: the config's, then each change's from its step."""
    rates = np.full(steps, config.lr)
    for change in sorted((c for c in changes if c.setting == "lr"), key=lambda c: c.step):
        rates[change.step :] = change.value
    return rates


def table(history, per_step=None, config: Config | None = None, changes: Sequence[Change] = ()) -> dict:
    """The columns of an export. With ``per_step`` (and the config and changes), a row for every
    step, the statistics on the rows of the steps that recorded them; without, the history's rows."""
    if per_step is None or not len(per_step):
        return {name: history[name] for name in _names(history)}
    steps = len(per_step)
    columns = {"step": np.arange(steps), **per_step.columns(), "lr": learning_rates(config, changes, steps)}
    kept = history["step"].astype(np.int64) if "step" in history else np.zeros(0, dtype=np.int64)
    for name in _names(history):
        if name not in columns:
            column = np.full(steps, np.nan)
            column[kept] = history[name]
            columns[name] = column
    first = [name for name in ("step", "loss", "lr") if name in columns]
    return {name: columns[name] for name in first + sorted(set(columns) - set(first))}


def _whole(values: np.ndarray) -> bool:
    """Whether every number in the column (NaN aside) is a whole number, printable as one."""
    if values.dtype.kind in "iu":
        return True
    finite = values[np.isfinite(values)]
    return bool(np.all(finite == np.round(finite)) and np.all(np.abs(finite) < _EXACT_INT))


def _columns(columns: dict) -> dict[str, tuple[np.ndarray, bool]]:
    return {name: (values, _whole(values)) for name, values in columns.items()}


def _cell(value, whole: bool) -> str:
    value = float(value)
    if math.isnan(value):
        return ""
    if whole and math.isfinite(value):
        return str(int(value))
    return repr(value)


def history_csv(history, per_step=None, config: Config | None = None, changes: Sequence[Change] = ()) -> str:
    """The run as CSV text (the columns of ``table``), NaN as an empty cell."""
    columns = _columns(table(history, per_step, config, changes))
    if not columns:
        return ""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in range(len(next(iter(columns.values()))[0])):
        writer.writerow(_cell(values[row], whole) for values, whole in columns.values())
    return out.getvalue()


def _json_value(value, whole: bool):
    value = float(value)
    if not math.isfinite(value):
        return None
    return int(value) if whole else value


def run_json(config: Config, changes: Sequence[Change], history, per_step=None, version: int = VERSION) -> str:
    """The run as a JSON document that ``load_run`` and ``python -m playground train --config`` read.

    ``config`` is what the run started with; ``changes`` what changed during it (``Trainer.changes``);
    ``per_step``, every step's loss (``Trainer.per_step``; without it, the history's rows alone);
    ``version`` an older one for a replay of an older file, whose numbers are that version's.
    """
    columns = {}
    for name, (values, whole) in _columns(table(history, per_step, config, changes)).items():
        columns[name] = [_json_value(v, whole) for v in values]
    from .devices import cpu

    document = {
        "format": FORMAT,
        "version": version,
        "machine": cpu(),  # the CPU that made it: a replay elsewhere may round differently
        "config": config.to_dict(),
        "changes": [{"step": c.step, "setting": c.setting, "value": c.value} for c in changes],
        "history": columns,
    }
    return json.dumps(document, allow_nan=False)


@dataclass(frozen=True)
class Run:
    """A run file, read and checked."""

    settings: dict  # the settings as the file writes them (validated together as ``config``)
    config: Config
    changes: list[Change] = field(default_factory=list)
    history: dict[str, list] = field(default_factory=dict)
    version: int = VERSION
    machine: str = ""  # the CPU that made it ("" in files that do not say)

    @property
    def legacy_numbers(self) -> bool:
        """Whether the run started from torch's numbers (a file made before version 3)."""
        return self.version < NUMPY_NUMBERS


def load_run(text: str | bytes, settings_alone: bool = False) -> Run:
    """Read a run written by ``run_json``: its validated config, changes and history (null as NaN).

    With ``settings_alone``, a JSON object that is no run file (no "format" and no "config")
    is read as the settings themselves, as the CLI's ``--config`` allows.

    Raises ConfigError, and nothing else: field "config" when the text is not a
    run (not JSON, not an object, no config object, another format or version),
    the setting's name when a setting is bad, "changes" or "history" when those are malformed.
    """
    try:
        data = json.loads(text)
    except (TypeError, ValueError, RecursionError) as error:  # incl. JSONDecodeError, bad UTF-8
        reason = getattr(error, "msg", None) or type(error).__name__
        raise ConfigError("config", f"not a run file: not valid JSON ({reason})") from None
    if not isinstance(data, dict):
        raise ConfigError("config", "not a run file: it must hold a JSON object")
    if settings_alone and "format" not in data and "config" not in data:
        data = {"config": data}
    if data.get("format", FORMAT) != FORMAT:
        raise ConfigError("config", f"not a run file: format must be {FORMAT!r}")
    version = data.get("version", VERSION)
    if type(version) is not int or version not in READS:
        raise ConfigError("config", f"unsupported run file version; this playground reads versions {READS}")
    settings = data.get("config")
    if not isinstance(settings, dict):
        raise ConfigError("config", 'not a run file: it has no "config" object of settings')
    machine = data.get("machine") if isinstance(data.get("machine"), str) else ""
    history = _history(data.get("history"))
    return Run(settings, _config(settings), _changes(data.get("changes")), history, version, machine[:200])


def _changes(changes) -> list[Change]:
    if changes is None:
        return []
    if not isinstance(changes, list):
        raise ConfigError("changes", "must be a JSON list of {step, setting, value} objects")
    read = []
    for change in changes:
        if not isinstance(change, dict) or set(change) != {"step", "setting", "value"}:
            raise ConfigError("changes", "each change must be an object with step, setting and value")
        step, setting = change["step"], change["setting"]
        if type(step) is not int or step < 0:
            raise ConfigError("changes", f"step {step!r} must be a whole number, 0 or more")
        if setting not in LIVE_SETTINGS:
            raise ConfigError("changes", f"setting {setting!r} cannot change during a run; allowed {LIVE_SETTINGS}")
        try:
            value = SETTINGS_BY_NAME[setting].parse(change["value"])
        except ConfigError as error:
            raise ConfigError("changes", f"at step {step}: {error}") from None
        except (ArithmeticError, TypeError, ValueError, RecursionError):
            raise ConfigError("changes", f"at step {step}: {setting} is a value this playground cannot read") from None
        read.append(Change(step, setting, value))
    return read


def _config(settings: dict) -> Config:
    try:
        return Config.from_dict(settings)
    except ConfigError:
        raise
    except (ArithmeticError, TypeError, ValueError, RecursionError):
        # Config.from_dict lets a few odd values through to Python errors
        # (e.g. a whole number too large for a float); name the setting.
        raise ConfigError(_culprit(settings), "a value this playground cannot read") from None


def _culprit(settings: dict) -> str:
    for name, value in settings.items():
        try:
            if name == "device":
                parse_device(value)
            elif name in SETTINGS_BY_NAME:
                SETTINGS_BY_NAME[name].parse(value)
        except ConfigError:
            continue
        except Exception:
            return name
    return "config"


def _history(history) -> dict[str, list]:
    if history is None:
        return {}
    if not isinstance(history, dict):
        raise ConfigError("history", "must be a JSON object of columns")
    columns: dict[str, list] = {}
    for name, values in history.items():
        if not isinstance(values, list) or not all(
            v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values
        ):
            raise ConfigError("history", f"column {name!r} must be a list of numbers or nulls")
        columns[name] = [math.nan if v is None else v for v in values]
    if len({len(values) for values in columns.values()}) > 1:
        raise ConfigError("history", "the columns differ in length")
    return columns


#: The largest relative difference of a step's loss that rounding explains: float32 rounds at
#: about 6e-8 and float64 at 1e-16, and a run carries the difference of its first steps along.
ROUNDING = {"float32": 1e-3, "float64": 1e-9}


def replay_verdict(run: Run, losses: np.ndarray) -> str:
    """How a replay's ``losses`` (every step's) compare with those the run file holds: "bit for
    bit", "within rounding" (a CPU that sums in another order), or that they differ."""
    steps = np.asarray(run.history.get("step", []), dtype=np.int64)
    held = np.asarray(run.history.get("loss", []), dtype=np.float64)
    keep = steps < len(losses)
    if not len(held) or not keep.any():
        return "The file holds no losses to compare the replay with."
    ours, theirs = np.asarray(losses, dtype=np.float64)[steps[keep]], held[keep]
    same = (ours == theirs) | (np.isnan(ours) & np.isnan(theirs))
    if same.all():
        return f"Replayed bit for bit: every one of the file's {len(theirs):,} losses."
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(same, 0.0, np.abs(ours - theirs) / np.maximum(np.abs(theirs), np.finfo(float).tiny))
    worst = int(np.nanargmax(np.nan_to_num(relative, nan=np.inf)))
    at = f"largest relative difference {relative[worst]:.2g}, at step {int(steps[keep][worst])}"
    from .devices import cpu

    if not relative[worst] <= ROUNDING.get(run.config.dtype, ROUNDING["float32"]):
        return f"The replay differs from the file: {at}."
    if run.machine and run.machine == cpu():
        where = f"made on this CPU ({run.machine}), yet not bit for bit"
    elif run.machine:
        where = f"another CPU's arithmetic: the file was made on {run.machine}, this is {cpu()}"
    else:
        where = "the file does not say which CPU made it; another CPU's arithmetic rounds differently"
    return f"Replayed within rounding: {at} ({where})."

"""Export a run as CSV or JSON, read it back, and replay it from the command line."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest
from conftest import SMALL, replay
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.config import SETTINGS_BY_NAME, Config, ConfigError
from playground.export import FORMAT, history_csv, load_run, run_json
from playground.history import Log
from playground.record import Change
from playground.trainer import Trainer


@pytest.fixture(scope="module")
def trained() -> Trainer:
    # Statistics every 5 steps leave NaN in the rows between; DynamicNet adds a depth column.
    trainer = Trainer(Config.for_style("dynamic", steps=30, stats_every=5, hist_every=5, **SMALL))
    trainer.run()
    return trainer


def _cell_value(cell: str) -> float:
    return math.nan if cell == "" else float(cell)


def test_csv_round_trip(trained):
    log = trained.history
    rows = list(csv.reader(io.StringIO(history_csv(log))))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["step", "loss", "lr"]  # the rate each step used
    assert header[3:] == sorted(header[3:])
    assert set(header) == set(log.names())
    assert len(body) == len(log) == 30
    assert any(cell == "" for row in body for cell in row)  # NaN cells are empty
    for index, name in enumerate(header):
        got = np.array([_cell_value(row[index]) for row in body])
        np.testing.assert_array_equal(got, log[name])  # exact, NaN where NaN
    assert [row[0] for row in body] == [str(t) for t in range(30)]  # steps as whole numbers


def test_a_long_run_exports_every_step_and_its_last():
    """The history thins itself in a long run (every 16th step at 20,000): the export still has a
    row for every step, with its loss and the learning rate it used, the last step included, and
    the statistics on the rows of the steps that kept them."""
    cfg = Config.for_style("numpy", steps=20_000, n=8, d_in=4, hidden=6, d_out=2, lr=1e-3)
    trainer = Trainer(cfg, [Change(3_470, "lr", 2e-4)])
    losses = [trainer.step()["loss"] for _ in range(cfg.steps)]
    assert trainer.history.every == 16 and len(trainer.history) < 2_000
    rows = list(csv.DictReader(io.StringIO(history_csv(trainer.history, trainer.per_step, cfg, trainer.changes))))
    assert [int(r["step"]) for r in rows] == list(range(20_000))
    assert [float(r["loss"]) for r in rows] == losses  # exact, the last step's among them
    assert {float(r["lr"]) for r in rows[:3_470]} == {1e-3} and {float(r["lr"]) for r in rows[3_470:]} == {2e-4}
    kept = trainer.history
    for name in ("w1.grad_norm", "lr", "loss"):
        got = [_cell_value(rows[int(t)][name]) for t in kept["step"]]
        np.testing.assert_array_equal(got, kept[name], err_msg=name)  # exact, NaN where NaN
    unkept = [r for r in rows if int(r["step"]) % 16]
    assert unkept and all(r["w1.grad_norm"] == "" for r in unkept)
    history = load_run(run_json(cfg, trainer.changes, trainer.history, trainer.per_step)).history
    assert history["loss"] == losses and len(history["w1.grad_norm"]) == 20_000


def test_the_page_exports_what_the_engine_does():
    """The page's mirror of a run (its updates) exports the same bytes as the trainer."""
    from playground.server.protocol import RunView
    from playground.server.worker import Hosted

    cfg = Config.for_style("dynamic", steps=300, threads=1, **SMALL)
    hosted, view = Hosted(1, Trainer(cfg, [Change(120, "lr", 1e-5)])), RunView(cfg)
    while not hosted.trainer.finished:
        hosted.train(37)
        view.apply(hosted.update())
    trainer = hosted.trainer
    engine = history_csv(trainer.history, trainer.per_step, cfg, trainer.changes)
    assert history_csv(view.history, view.per_step, view.config, view.state.changes) == engine
    assert engine.count("\n") == 301 and "depth" in engine.splitlines()[0]


def test_csv_skips_two_dimensional_columns(trained):
    text = history_csv(trained.histograms)
    header = next(csv.reader(io.StringIO(text)))
    assert header[0] == "step" and not any(name.startswith("hist.") for name in header)
    assert any(name.startswith("zeros.") for name in header)
    assert history_csv(Log()) == ""


def test_csv_and_json_keep_every_digit():
    log = Log(capacity=8)
    values = [0.1, 1 / 3, 1e-300, 123456.789, math.inf, math.nan, -2.5e-7, 2.0]
    for t, value in enumerate(values):
        log.append({"step": t, "loss": value, "other": float(t) if t % 2 else math.nan})
    rows = list(csv.reader(io.StringIO(history_csv(log))))
    assert rows[0] == ["step", "loss", "other"]
    assert [_cell_value(r[1]) for r in rows[1:]] == pytest.approx(values, nan_ok=True, rel=0)
    assert rows[5][1] == "inf" and rows[6][1] == ""
    history = load_run(run_json(Config(), [], log)).history
    expected = [v if math.isfinite(v) else math.nan for v in values]  # JSON has no inf: null
    np.testing.assert_array_equal(history["loss"], expected)
    assert history["step"] == list(range(8))


def test_json_round_trip(trained):
    text = run_json(trained.cfg, trained.changes, trained.history)
    document = json.loads(text)
    assert document["format"] == FORMAT and document["version"] == 3
    assert list(document["history"])[:3] == ["step", "loss", "lr"]
    assert "NaN" not in text and "Infinity" not in text
    run = load_run(text)
    config, history = run.config, run.history
    assert config == trained.cfg
    assert set(history) == set(trained.history.names())
    for name, values in history.items():
        np.testing.assert_array_equal(np.array(values, dtype=float), trained.history[name])


@pytest.mark.process
def test_export_then_replay_from_the_cli(tmp_path):
    start = Config.for_style("module", steps=120, **SMALL)
    trainer = Trainer(start)
    trainer.run(50)
    trainer.set_learning_rate(3e-4)  # a live change: the replay must make it at step 50 too
    trainer.run()
    path = tmp_path / "run.json"
    path.write_text(run_json(start, trainer.changes, trainer.history), encoding="utf-8")
    replayed = {row["step"]: row["loss"] for row in replay(path)}
    exported = json.loads(path.read_text(encoding="utf-8"))["history"]
    assert len(replayed) == 120 and len(exported["step"]) == 120
    for step, loss in zip(exported["step"], exported["loss"], strict=True):
        assert float(loss) == float(replayed[step]), step
    assert exported["lr"][49] == 1e-4 and exported["lr"][50] == 3e-4


def test_changes_round_trip_and_version_1_still_reads(trained):
    changes = [Change(3, "lr", 2e-4), Change(7, "steps", 900)]
    run = load_run(run_json(trained.cfg, changes, trained.history))
    assert run.changes == changes
    old = json.dumps({"format": FORMAT, "version": 1, "config": {"style": "nn"}, "history": {"step": [0]}})
    assert load_run(old).changes == [] and load_run(old).config.style == "nn"
    assert load_run(old).legacy_numbers and not run.legacy_numbers  # torch's starting numbers, then NumPy's


@pytest.mark.parametrize(
    "changes",
    [
        "lr",
        [1],
        [{"step": 1, "setting": "lr"}],
        [{"step": -1, "setting": "lr", "value": 1e-4}],
        [{"step": 1.5, "setting": "lr", "value": 1e-4}],
        [{"step": 1, "setting": "hidden", "value": 5}],
        [{"step": 1, "setting": "lr", "value": 7}],
        [{"step": 1, "setting": "steps", "value": "many"}],
        [{"step": 1, "setting": "steps", "value": 10**400}],
    ],
)
def test_malformed_changes_name_the_field(changes):
    with pytest.raises(ConfigError) as caught:
        load_run(json.dumps({"config": {}, "changes": changes}))
    assert caught.value.field == "changes"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[1, 2]",
        "null",
        '"config"',
        "{}",
        '{"history": {}}',
        '{"config": [1]}',
        '{"config": "numpy"}',
        '{"format": "something else", "config": {}}',
        '{"version": 4, "config": {}}',
        '{"version": 0, "config": {}}',
        "[" * 100_000,
        "1" * 5000,
    ],
)
def test_malformed_run_files_name_the_config(text):
    with pytest.raises(ConfigError) as caught:
        load_run(text)
    assert caught.value.field == "config"


def test_bad_settings_and_history_name_the_field():
    with pytest.raises(ConfigError) as caught:
        load_run('{"config": {"lr": 5}}')
    assert caught.value.field == "lr"
    with pytest.raises(ConfigError) as caught:  # Config.from_dict overflows on this; load_run does not
        load_run('{"config": {"n": 1' + "0" * 400 + "}}")
    assert caught.value.field == "n"
    with pytest.raises(ConfigError) as caught:
        load_run('{"config": {}, "history": {"loss": [1, "x"]}}')
    assert caught.value.field == "history"
    run = load_run('{"config": {"style": "optim"}}')
    assert run.config == Config.for_style("optim") and run.history == {} and run.changes == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
setting_names = st.sampled_from([*SETTINGS_BY_NAME, "config", "history"])
config_like = st.dictionaries(setting_names, json_values, max_size=5)
fast = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _only_config_errors(text) -> None:
    try:
        load_run(text)
    except ConfigError:
        pass


@fast
@given(st.text() | st.binary())
def test_load_run_on_arbitrary_text_raises_only_config_error(text):
    _only_config_errors(text)


@fast
@given(json_values)
def test_load_run_on_arbitrary_json_raises_only_config_error(value):
    _only_config_errors(json.dumps(value))


@fast
@given(config_like, json_values)
def test_load_run_on_run_like_json_raises_only_config_error(settings_, history):
    _only_config_errors(json.dumps({"format": FORMAT, "config": settings_, "history": history}))
    _only_config_errors(json.dumps({"config": settings_, "changes": history}))
    _only_config_errors(json.dumps({"config": settings_}))


@pytest.mark.process
def test_a_curve_run_file_carries_its_data_and_replays_on_it(tmp_path):
    trainer = Trainer(Config.for_style("nn", data="step", dtype="float64", steps=5, threads=1))
    trainer.run()
    text = run_json(trainer.cfg, trainer.changes, trainer.history)
    run = load_run(text)
    assert (run.config.data, run.config.d_in, run.config.lr) == ("step", 1, trainer.cfg.lr)
    path = tmp_path / "run.json"
    path.write_text(text)
    assert [row["loss"] for row in replay(path)] == list(trainer.history["loss"])


def test_a_replay_says_whether_it_gave_the_files_numbers_bit_for_bit():
    """Another CPU may sum in another order: a replay is exact only on the CPU that made the file,
    and it says which it is (``export.replay_verdict``)."""
    import dataclasses

    from playground.devices import cpu
    from playground.export import replay_verdict

    cfg = Config.for_style("numpy", steps=30, threads=1, **SMALL)
    trainer = Trainer(cfg)
    trainer.run()
    run = load_run(run_json(cfg, trainer.changes, trainer.history, trainer.per_step))
    losses = trainer.per_step.columns()["loss"].copy()
    assert run.machine == cpu()
    assert replay_verdict(run, losses) == "Replayed bit for bit: every one of the file's 30 losses."

    nudged = losses.copy()
    nudged[7] = np.nextafter(nudged[7], np.inf)  # a last bit, as another CPU's sum gives it
    assert "yet not bit for bit" in replay_verdict(run, nudged)
    elsewhere = dataclasses.replace(run, machine="Intel Xeon; OpenBLAS SkylakeX")
    verdict = replay_verdict(elsewhere, nudged)
    assert verdict.startswith("Replayed within rounding: largest relative difference ")
    assert ", at step 7 (another CPU's arithmetic" in verdict
    assert f"the file was made on Intel Xeon; OpenBLAS SkylakeX, this is {cpu()}" in verdict
    unknown = replay_verdict(dataclasses.replace(run, machine=""), nudged)
    assert "the file does not say which CPU made it" in unknown

    wrong = losses.copy()
    wrong[12] *= 1.01
    assert (
        replay_verdict(run, wrong) == "The replay differs from the file: largest relative difference 0.01, at step 12."
    )

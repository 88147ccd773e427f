"""Gradient statistics, octave histograms and the bounded log."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import torch
from conftest import SMALL, to_numpy

from playground.config import STYLES, Config, ConfigError
from playground.history import Log
from playground.stats import Histograms
from playground.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class Grads:
    """The one thing Histograms needs from a style: ``gradients()``."""

    def __init__(self, **grads):
        self.grads = grads

    def gradients(self):
        return self.grads


# --- 7. histograms -----------------------------------------------------------------------

TINY = {np.float32: 1e-40, np.float64: 1e-310}  # subnormal numbers of each type


@pytest.mark.parametrize("copies", [1, 1000])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_histogram_of_known_values(dtype, copies):
    hist = Histograms(8)
    first = np.array([0.0, 0.0, -0.0, 5.0, -4.0, 1.0, 1.5, 0.5, -0.75, 0.0625, 0.03, 1e-30, TINY[dtype]], dtype=dtype)
    first = np.tile(first, copies)
    row = hist.measure(Grads(g=first))
    # The largest |g| (5) is in octave [4, 8); the bins end one octave above it and
    # reach 8 octaves down: edges 2**-4 ... 2**4.
    np.testing.assert_array_equal(hist.edges("g"), 2.0 ** np.arange(-4, 5))
    assert row["zeros.g"] == 3 * copies  # 0, 0 and -0; a subnormal number is not zero
    expected = np.zeros(8, dtype=np.int64)
    expected[0] = 4  # 0.0625 = 2**-4 starts bin 0; 0.03, 1e-30 and the subnormal are below
    expected[3] = 2  # [0.5, 1): 0.5 and |-0.75|
    expected[4] = 2  # [1, 2): 1.0 and 1.5
    expected[6] = 2  # [4, 8): 5 and |-4|
    np.testing.assert_array_equal(row["hist.g"], expected * copies)
    assert row["hist.g"].sum() + row["zeros.g"] == first.size

    # The bins stay where the first call put them; what falls outside goes to the edge bins.
    second = np.tile(np.array([np.inf, -np.inf, np.nan, 100.0, 16.0, 9.0, 2.0, 1e-3, 0.0], dtype=dtype), copies)
    row = hist.measure(Grads(g=second))
    np.testing.assert_array_equal(hist.edges("g"), 2.0 ** np.arange(-4, 5))
    assert row["zeros.g"] == copies
    expected = np.zeros(8, dtype=np.int64)
    expected[7] = 6  # [8, 16) holds 9, and takes 16, 100, +-inf and nan from above
    expected[5] = 1  # [2, 4): 2
    expected[0] = 1  # 1e-3, below the lowest edge
    np.testing.assert_array_equal(row["hist.g"], expected * copies)
    assert row["hist.g"].sum() + row["zeros.g"] == second.size


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_histogram_placed_by_a_gradient_with_inf_and_nan(dtype):
    # The bins are placed at the first call. DynamicNet's middle layer gets its first
    # gradient only at the first step with depth > 0, which in a diverging run may
    # already hold inf or nan. The bins must still fit the finite values.
    hist = Histograms(8)
    row = hist.measure(Grads(g=np.array([1.0, 3.0, np.inf, np.nan], dtype=dtype)))
    edges = hist.edges("g")
    assert np.all(np.isfinite(edges)) and np.all(np.diff(edges) > 0)
    assert edges[0] <= 1.0 and 3.0 < edges[-1]
    expected = np.zeros(8, dtype=np.int64)
    expected[np.searchsorted(edges, [1.0, 3.0], side="right") - 1] = 1
    expected[7] += 2  # inf and nan: the top bin
    np.testing.assert_array_equal(row["hist.g"], expected)


def test_histogram_of_a_torch_tensor_and_of_a_missing_gradient():
    hist = Histograms(4)
    row = hist.measure(Grads(a=torch.tensor([[1.0, -3.0], [0.0, 0.0]]), b=None))
    assert set(row) == {"hist.a", "zeros.a"}  # no gradient, no histogram
    # |g| at most 3, in [2, 4): the top bin is [4, 8), the bottom one [0.5, 1).
    np.testing.assert_array_equal(hist.edges("a"), [0.5, 1.0, 2.0, 4.0, 8.0])
    np.testing.assert_array_equal(row["hist.a"], [0, 1, 1, 0])
    assert row["zeros.a"] == 2


def test_histogram_of_all_zeros():
    hist = Histograms(6)
    row = hist.measure(Grads(g=np.zeros((3, 4))))
    assert row["zeros.g"] == 12 and row["hist.g"].sum() == 0
    edges = hist.edges("g")
    assert len(edges) == 7 and np.all(np.isfinite(edges)) and np.all(np.diff(edges) > 0)


def octave_counts(g: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """An independent count: the octave of |g| from frexp, clipped to the bins."""
    g = np.abs(g[g != 0].astype(np.float64))
    _, exponent = np.frexp(g)  # g = m * 2**exponent with 0.5 <= m < 1
    low = int(round(math.log2(edges[0])))
    index = np.clip(exponent - 1 - low, 0, len(edges) - 2)
    return np.bincount(index, minlength=len(edges) - 1)


@pytest.mark.parametrize("style", STYLES)
def test_trainer_histograms_count_every_entry(style):
    cfg = Config.for_style(style, steps=40, hist_every=3, hist_bins=16, **SMALL)
    trainer = Trainer(cfg)
    edges = {}
    while (row := trainer.step()) is not None:
        if row["step"] % 3:
            continue
        # Check against the gradients of this very step.
        for name, g in trainer.net.gradients().items():
            if g is None:
                continue
            g = to_numpy(g)
            edges.setdefault(name, trainer.binning.edges(name).copy())
            np.testing.assert_array_equal(trainer.binning.edges(name), edges[name])  # fixed
            counts = trainer.histograms[f"hist.{name}"][-1]
            np.testing.assert_array_equal(counts, octave_counts(g, edges[name]), err_msg=name)
            assert trainer.histograms[f"zeros.{name}"][-1] == g.size - np.count_nonzero(g)

    sizes = {name: p.numel() if hasattr(p, "numel") else p.size for name, p in trainer.net.parameters().items()}
    log = trainer.histograms
    assert list(log["step"]) == list(range(0, 40, 3))
    for name, size in sizes.items():
        e = trainer.binning.edges(name)
        assert len(e) == 17 and np.all(np.diff(e) > 0)
        counts, zeros = log[f"hist.{name}"], log[f"zeros.{name}"]
        assert counts.dtype == np.int64 and counts.shape == (len(log), 16)
        present = ~np.isnan(zeros)
        # Every row counts every entry, except DynamicNet's middle layer at depth 0,
        # when it had no gradient: then its row is missing (NaN zeros, no counts).
        np.testing.assert_array_equal(counts[present].sum(axis=1) + zeros[present], size)
        assert not counts[~present].any()
        if not (style == "dynamic" and name.startswith("middle")):
            assert present.all(), name


def test_a_pickled_trainer_counts_like_one_that_was_not():
    # A parked run is pickled (worker.py); its histograms' scratch memory must not come back as a
    # copy that the next counts no longer see.
    cfg = Config.for_style("tensor", steps=60, hist_every=5, **SMALL)
    kept, parked = Trainer(cfg), Trainer(cfg)
    kept.run(23)
    parked.run(23)
    parked = pickle.loads(pickle.dumps(parked))
    kept.run(), parked.run()
    for name in kept.histograms.names():
        np.testing.assert_array_equal(parked.histograms[name], kept.histograms[name], err_msg=name)


# --- 7b. histograms of the other kinds: weights, updates, activations --------------------

KINDS = ("weights", "updates", "activations")


@pytest.mark.parametrize("data", ["random", "sin"])
@pytest.mark.parametrize("style", STYLES)
def test_every_kind_of_histogram_counts_every_entry(style, data):
    sizes = SMALL if data == "random" else {"n": 16, "hidden": 12}
    trainer = Trainer(Config.for_style(style, data=data, steps=12, hist_every=5, hist_bins=16, **sizes))
    trainer.set_histogram_kinds(KINDS)
    net, log = trainer.net, trainer.histograms
    expected = {}
    while trainer.steps_done < 12:
        if trainer.steps_done % 5 == 0:  # what the step will use, and the weights before its update
            hidden = to_numpy(net.hidden_input())
            before = {name: to_numpy(w) for name, w in net.parameters().items()}
            expected = {f"weights.{name}": w for name, w in before.items()}
            expected[f"activations.{net.relu_layers[0].label} before ReLU"] = hidden
            expected[f"activations.{net.relu_layers[0].label} after ReLU"] = np.maximum(hidden, 0)
        trainer.step()
        if (trainer.steps_done - 1) % 5 == 0:
            for name, w in net.parameters().items():
                expected[f"updates.{name}"] = to_numpy(w) - before[name]
            for key, values in expected.items():
                counts = log[f"hist.{key}"][-1]
                assert counts.sum() + log[f"zeros.{key}"][-1] == values.size, key  # every entry, once
                np.testing.assert_array_equal(counts, octave_counts(values, trainer.binning.edges(key)), err_msg=key)
                assert log[f"zeros.{key}"][-1] == values.size - np.count_nonzero(values), key
    assert list(log["step"]) == [0, 5, 10]
    # After the ReLU, the units that are off for an example are exact zeros: a spike at 0.
    after = f"activations.{net.relu_layers[0].label} after ReLU"
    assert log[f"zeros.{after}"][-1] > 0


def test_only_the_kinds_asked_for_are_recorded():
    trainer = Trainer(Config.for_style("module", steps=11, hist_every=5, **SMALL))
    trainer.run(6)
    assert sorted(trainer.histograms.names()) == sorted(
        ["step"] + [f"{kind}.{name}" for name in trainer.net.parameters() for kind in ("hist", "zeros")]
    )  # the gradients only, as before there were kinds: the same cost
    trainer.set_histogram_kinds(["activations"])
    assert trainer.histogram_kinds == ("gradients", "activations")
    trainer.run()  # from the next histogram step on (step 5 had none)
    assert "hist.activations.hidden after ReLU" in trainer.histograms
    counts = trainer.histograms["hist.activations.hidden after ReLU"]
    assert counts[0].sum() == 0 and counts[-1].sum() > 0  # rows 0 and 5: none; row 10: every entry
    with pytest.raises(ConfigError, match="histograms: 'biases' is not a kind; allowed gradients, weights"):
        trainer.set_histogram_kinds(["biases"])


def test_kinds_do_not_change_the_run():
    cfg = Config.for_style("dynamic", data="sin", steps=30, hist_every=2)
    plain = Trainer(cfg)
    plain.run()
    watched = Trainer(cfg)
    watched.set_histogram_kinds(KINDS)
    watched.run()
    np.testing.assert_array_equal(watched.history["loss"], plain.history["loss"])
    np.testing.assert_array_equal(watched.history["depth"], plain.history["depth"])


# --- 8. gradient statistics --------------------------------------------------------------


@pytest.mark.parametrize("style", ["numpy", "tensor", "nn"])
def test_statistics_equal_a_direct_computation(style):
    cfg = Config.for_style(style, dtype="float64", steps=10, stats_every=1)
    trainer = Trainer(cfg)
    trainer.run(2)
    for _ in range(3):
        before = {name: to_numpy(w) for name, w in trainer.net.parameters().items()}
        row = trainer.step()
        after = {name: to_numpy(w) for name, w in trainer.net.parameters().items()}
        grads = {name: to_numpy(g) for name, g in trainer.net.gradients().items()}
        assert set(grads) == set(before)
        for name, g in grads.items():
            assert row[f"{name}.grad_norm"] == pytest.approx(np.linalg.norm(g), rel=1e-12)
            assert row[f"{name}.grad_mean"] == pytest.approx(np.abs(g).mean(), rel=1e-12)
            assert row[f"{name}.grad_max"] == np.abs(g).max()
            # ||W_after - W_before|| / ||W_after||; plain SGD makes the change lr * grad.
            change = np.linalg.norm(after[name] - before[name])
            ratio = change / np.linalg.norm(after[name])
            assert row[f"{name}.update_ratio"] == pytest.approx(ratio, rel=1e-9)
            assert change == pytest.approx(cfg.lr * np.linalg.norm(g), rel=1e-9)
        assert row["dead.hidden"] == 0.0  # random data: every unit is active for some example


def dead_fraction_numpy(x: np.ndarray, w1: np.ndarray) -> float:
    """Hidden units whose pre-activation is negative for every example (ReLU off)."""
    h = x @ w1
    return float((h < 0).all(axis=0).mean())


def test_dead_fraction_of_bias_free_style():
    trainer = Trainer(Config.for_style("numpy", stats_every=1))
    x, w1 = trainer.net.x, trainer.net.weights["w1"]
    # Point 30 of the 100 units against the sum of all examples: x_i . sum_k x_k is about
    # |x_i|**2 = 1000 > 0 for every i, so these units are off for the whole batch.
    w1[:, :30] = -0.01 * x.sum(axis=0)[:, None]  # in place: the trainer's own weights
    expected = dead_fraction_numpy(x, w1)
    assert expected == 0.3
    row = trainer.step()
    assert row["dead.hidden"] == expected
    assert not trainer.net.gradients()["w1"][:, :30].any()


def test_dead_fraction_of_linear_style():
    trainer = Trainer(Config.for_style("module", dtype="float64", stats_every=1))
    layer = trainer.net.model.linear1
    x = trainer.net.x
    with torch.no_grad():
        layer.weight[:25] = -0.01 * x.sum(dim=0)
        layer.bias[:25] = -1.0
        h = (x @ layer.weight.T + layer.bias).numpy()
    expected = float((h < 0).all(axis=0).mean())
    assert expected == 0.25
    row = trainer.step()
    assert row["dead.hidden"] == expected


def test_dead_fraction_of_dynamic_layers():
    trainer = Trainer(Config.for_style("dynamic", min_depth=1, max_depth=1, stats_every=1, **SMALL))
    row = trainer.step()
    assert 0.0 <= row["dead.input layer"] <= 1.0 and 0.0 <= row["dead.middle layer"] <= 1.0
    depth0 = Trainer(Config.for_style("dynamic", min_depth=0, max_depth=0, stats_every=1, **SMALL))
    row = depth0.step()
    # The middle layer was not used: no gradient, no dead units to count.
    assert row["middle_linear.weight.grad_norm"] == 0.0
    assert math.isnan(row["dead.middle layer"])


# --- 9. the log --------------------------------------------------------------------------


def rows(n: int, every: int = 1):
    for t in range(0, n, every):
        row = {"step": t, "loss": 1.0 / (t + 1)}
        if t % 3 == 0:
            row["extra"] = float(t)
        if t % 5 == 0:
            row["counts"] = np.arange(4, dtype=np.int64) + t
        yield row


def test_log_keeps_every_row_until_full():
    log = Log(capacity=16)
    for row in rows(16):
        log.append(row)
    assert len(log) == 16 and log.every == 1
    np.testing.assert_array_equal(log["step"], np.arange(16))
    extra = log["extra"]
    assert np.isnan(extra[[1, 2, 4]]).all() and extra[3] == 3.0  # missing values are NaN
    assert log["counts"].dtype == np.int64 and log["counts"][5].tolist() == [5, 6, 7, 8]
    assert "loss" in log and "nothing" not in log


def test_log_thins_by_halves():
    log = Log(capacity=16)
    for row in rows(17):
        log.append(row)
    # The 17th row found the log full: every other row went, then step 16 came in.
    assert log.every == 2
    np.testing.assert_array_equal(log["step"], np.arange(0, 17, 2))
    np.testing.assert_allclose(log["loss"], 1.0 / (np.arange(0, 17, 2) + 1))
    assert log["extra"][3] == 6.0 and np.isnan(log["extra"][1])
    log.append({"step": 17, "loss": 0.0})  # not wanted any more
    assert log["step"][-1] == 16


@pytest.mark.parametrize("capacity", [2, 5, 64])
def test_log_stays_bounded(capacity):
    log = Log(capacity=capacity)
    for row in rows(5000):
        log.append(row)
        assert len(log) <= capacity
    steps = log["step"]
    assert steps[0] == 0 and np.all(np.diff(steps) == log.every)
    assert steps[-1] > 4999 - log.every
    assert np.all(log["loss"] == 1.0 / (steps + 1))
    assert log.nbytes() == sum(c.nbytes for c in log.columns.values())


def test_two_logs_fed_the_same_rows_end_equal():
    a, b = Log(capacity=32, every=2), Log(capacity=32, every=2)
    for row in rows(3000):
        a.append(row)
    for row in rows(3000, every=2):  # b is offered only the rows a wants at first
        b.append(row)
    assert len(a) == len(b) and a.every == b.every and a.names() == b.names()
    for name in a.names():
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
        np.testing.assert_array_equal(a.columns[name], b.columns[name], err_msg=name)


def test_log_capacity_must_be_at_least_two():
    with pytest.raises(ValueError):
        Log(capacity=1)

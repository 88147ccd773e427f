"""The trainer: divergence, learning-rate changes, bounded history, devices."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from conftest import SMALL, run_losses, to_numpy

from playground import devices
from playground.config import SETTINGS_BY_NAME, STYLES, Config, ConfigError
from playground.record import Change
from playground.trainer import HISTOGRAM_ROWS, HISTORY_ROWS, Trainer, suggest_smaller

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_run_steps_and_finishes():
    trainer = Trainer(Config.for_style("module", steps=25, **SMALL))
    assert trainer.status == "ready" and not trainer.finished
    assert trainer.run(10) == 10
    assert trainer.steps_done == 10 and trainer.last["step"] == 9
    assert trainer.run() == 15
    assert trainer.status == "done" and trainer.finished
    assert "25 steps" in trainer.message
    assert trainer.step() is None and trainer.run() == 0
    assert list(trainer.history["step"]) == list(range(25))


# --- 5. divergence -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "style, dtype",
    [("module", "float32"), ("numpy", "float64"), ("numpy", "float32"), ("tensor", "float32")],
)
def test_huge_learning_rate_diverges_quietly(style, dtype):
    cfg = Config.for_style(style, lr=1.0, dtype=dtype, stats_every=1, hist_every=1)
    with warnings.catch_warnings():
        # A diverging run overflows on purpose; that must not reach the user as a
        # RuntimeWarning, let alone as an error.
        warnings.simplefilter("error")
        trainer = Trainer(cfg)
        taken = trainer.run()
        assert trainer.step() is None
        assert trainer.run() == 0
    assert trainer.status == "diverged" and trainer.finished
    assert taken < cfg.steps
    last = trainer.last
    assert not math.isfinite(last["loss"])
    assert trainer.steps_done == last["step"] + 1 == taken
    assert f"at step {last['step']}" in trainer.message
    assert "learning rate" in trainer.message and "smaller" in trainer.message
    assert "0.1" in trainer.message  # the suggestion is smaller than the rate used


def test_divergence_message_uses_the_current_learning_rate():
    trainer = Trainer(Config.for_style("module", lr=1e-4, **SMALL))
    trainer.run(3)
    trainer.set_learning_rate(1.0)
    trainer.run()
    assert trainer.status == "diverged"
    assert "learning rate 1 " in trainer.message and "0.1" in trainer.message


# --- 10. changing the learning rate ------------------------------------------------------


def weights(trainer) -> dict[str, np.ndarray]:
    return {name: to_numpy(w) for name, w in trainer.net.parameters().items()}


def gradients(trainer) -> dict[str, np.ndarray]:
    return {name: to_numpy(g) for name, g in trainer.net.gradients().items()}


@pytest.mark.parametrize("style", ["numpy", "tensor", "autograd", "function", "nn", "module"])
def test_new_learning_rate_applies_from_the_next_step(style):
    cfg = Config.for_style(style, dtype="float64", lr=1e-4, steps=20, **SMALL)
    trainer = Trainer(cfg)
    trainer.run(3)
    for lr in (1e-4, 3e-3):  # the step before the change, then the one after
        before = weights(trainer)
        trainer.step()
        after, grads = weights(trainer), gradients(trainer)
        for name in before:  # plain SGD: w <- w - lr * grad
            np.testing.assert_allclose(after[name], before[name] - lr * grads[name], rtol=1e-12, atol=1e-15)
        trainer.set_learning_rate(3e-3)
        assert trainer.learning_rate == 3e-3


def test_new_learning_rate_changes_the_trajectory_only_after_the_change():
    cfg = Config.for_style("numpy", steps=10, **SMALL)
    unchanged, _ = run_losses(cfg)
    trainer = Trainer(cfg)
    trainer.run(5)
    trainer.set_learning_rate("1e-3")  # text is parsed like the config's
    trainer.run()
    changed = trainer.history["loss"]
    # The loss of step t is computed before step t's update: steps 0..5 are unchanged.
    np.testing.assert_array_equal(changed[:6], unchanged[:6])
    assert not np.array_equal(changed[6:], unchanged[6:])


@pytest.mark.parametrize("style", ["optim", "dynamic"])
def test_new_learning_rate_reaches_every_optimizer_group(style):
    trainer = Trainer(Config.for_style(style, **SMALL))
    trainer.step()
    trainer.set_learning_rate(2e-3)
    assert trainer.learning_rate == 2e-3
    assert all(group["lr"] == 2e-3 for group in trainer.net.optimizer.param_groups)


@pytest.mark.parametrize("bad", [0, -1e-3, 5.0, float("nan"), float("inf"), "fast", None, True])
def test_bad_learning_rate_is_refused(bad):
    trainer = Trainer(Config.for_style("module", **SMALL))
    trainer.step()
    with pytest.raises(ConfigError) as caught:
        trainer.set_learning_rate(bad)
    assert caught.value.field == "lr"
    assert "1e-10 to 1" in str(caught.value)
    assert trainer.learning_rate == 1e-4  # unchanged
    assert trainer.step() is not None


# --- live changes: recorded with their step, replayed exactly ------------------------------


@pytest.mark.parametrize("style", ["numpy", "optim", "dynamic"])
def test_live_changes_are_recorded_and_replay_exactly(style):
    live = Trainer(Config.for_style(style, steps=60, **SMALL))
    live.run(20)
    live.set_learning_rate(live.learning_rate * 3)
    live.run(15)
    live.set_steps(40)  # shortened: the run ends at step 40
    live.run()
    assert live.status == "done" and live.steps_done == 40
    live.set_steps(50)  # a finished run given more steps goes on
    live.set_learning_rate(live.learning_rate / 2)
    live.run()
    assert live.steps_done == 50
    assert [(c.step, c.setting) for c in live.changes] == [(20, "lr"), (35, "steps"), (40, "steps"), (40, "lr")]

    replay = Trainer(Config.for_style(style, steps=60, **SMALL), live.changes)
    replay.run()
    assert replay.changes == live.changes
    np.testing.assert_array_equal(replay.history["loss"], live.history["loss"])
    np.testing.assert_array_equal(replay.history["lr"], live.history["lr"])
    lr0 = live.cfg.lr
    assert live.history["lr"][19] == lr0 and live.history["lr"][20] == lr0 * 3  # the rate each step used


def test_a_change_to_a_setting_that_cannot_change_live_is_refused():
    with pytest.raises(ConfigError) as caught:
        Trainer(Config.for_style("module", **SMALL), [Change(3, "hidden", 5)])
    assert caught.value.field == "changes"


# --- large sizes: the advice after a divergence is a rate the settings accept ---------------


def test_suggested_rates_are_always_allowed():
    low = SETTINGS_BY_NAME["lr"].low
    for lr in (1.0, 3e-5, 1e-6, 2e-10, low):
        text = suggest_smaller(lr)
        if lr <= low:
            assert "smallest" in text and "smaller" in text and "size" in text
            continue
        suggested = float(text.split("try ")[1].split()[0].rstrip(","))
        assert SETTINGS_BY_NAME["lr"].parse(suggested) < lr


@pytest.mark.parametrize(
    "style, sizes",
    [
        ("numpy", {"n": 512, "d_in": 1000, "hidden": 2000, "d_out": 10}),  # the issue's: 1e-7 diverged
        ("tensor", {"n": 64, "d_in": 10000, "hidden": 100, "d_out": 1000}),  # widest input and output
        ("autograd", {"n": 4096, "d_in": 1000, "hidden": 100, "d_out": 10}),  # the largest batch
    ],
)
def test_at_large_sizes_following_the_advice_trains(style, sizes):
    """Each suggestion is accepted by the settings, and following them ends in a run that trains."""
    cfg = Config.for_style(style, steps=15, dtype="float32", **sizes)
    for _ in range(4):
        trainer = Trainer(cfg)
        trainer.run()
        if trainer.status == "done":
            break
        assert trainer.status == "diverged"
        suggested = float(trainer.message.split("try ")[1].split()[0].rstrip(","))
        cfg = cfg.replace(lr=suggested)  # refused with ConfigError if out of range
    assert trainer.status == "done", trainer.message
    losses = trainer.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]


# --- 9. bounded history ------------------------------------------------------------------


def test_history_stays_bounded_over_a_long_run():
    cfg = Config.for_style("numpy", n=4, d_in=4, hidden=4, d_out=2, steps=20_000, stats_every=1, hist_every=1)
    trainer = Trainer(cfg)
    trainer.run()
    assert trainer.status == "done" and trainer.steps_done == 20_000
    history, histograms = trainer.history, trainer.histograms
    assert 0 < len(history) <= HISTORY_ROWS
    assert 0 < len(histograms) <= HISTOGRAM_ROWS
    assert history.nbytes() < 1_000_000 and histograms.nbytes() < 1_000_000
    for log in (history, histograms):
        steps = log["step"]
        assert steps[0] == 0
        assert np.all(np.diff(steps) > 0)
        assert steps[-1] >= 19_999 - log.every  # ends near the last step
        assert np.all(steps % log.every == 0)
    # Statistics were taken at every kept step, since stats_every=1.
    assert not np.isnan(history["w1.grad_norm"]).any()
    assert trainer.last["step"] == 19_999  # the latest row is always there


def test_statistics_only_every_k_steps():
    trainer = Trainer(Config.for_style("tensor", steps=12, stats_every=5, hist_every=4, **SMALL))
    trainer.run()
    norms = trainer.history["w1.grad_norm"]
    assert np.isfinite(norms[[0, 5, 10]]).all()
    assert np.isnan(np.delete(norms, [0, 5, 10])).all()
    assert list(trainer.histograms["step"]) == [0, 4, 8]


@pytest.mark.parametrize("style", STYLES)
def test_recording_nothing_but_the_loss_changes_nothing_else(style):
    # What the command line does when it prints only losses: the run is the same, bit for bit.
    cfg = Config.for_style(style, steps=30, stats_every=1, hist_every=1, **SMALL)
    full, bare = Trainer(cfg), Trainer(cfg, statistics=False, histograms=False)
    full.run()
    bare.run()
    assert bare.stats is None and len(bare.histograms) == 0 and bare.last_histograms is None
    assert set(bare.history.names()) == {"step", "loss", "lr"} | ({"depth"} if style == "dynamic" else set())
    for name in bare.history.names():
        np.testing.assert_array_equal(bare.history[name], full.history[name], err_msg=name)
    assert (bare.status, bare.message) == (full.status, full.message)


# --- devices -----------------------------------------------------------------------------


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
@pytest.mark.parametrize("device", ["cuda", "cuda:0", "cuda:1"])
def test_unavailable_cuda_is_a_config_error(device):
    cfg = Config.for_style("tensor", device=device, **SMALL)  # the form is fine
    with pytest.raises(ConfigError) as caught:
        Trainer(cfg)
    assert caught.value.field == "device"
    assert "not available" in str(caught.value)
    assert "Available: cpu" in str(caught.value)


def test_device_with_a_non_ascii_digit_is_a_config_error():
    # "²".isdigit() is True but int("²") fails: the device check must not crash.
    with pytest.raises(ConfigError):
        Trainer(Config.for_style("tensor", device="cuda:²", **SMALL))


def test_available_devices_start_with_cpu():
    names = devices.available()
    assert names[0] == "cpu"
    assert ("cuda" in names) == torch.cuda.is_available()
    assert devices.resolve("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert devices.why_no_cuda().startswith("CUDA is absent")


def test_torch_build_record_says_what_torch_says():
    """The server reads torch/version.py instead of importing torch (seconds): it must agree."""
    build = devices.torch_build()
    assert build is not None and build["cuda"] == torch.version.cuda and build.get("hip") == torch.version.hip
    known = devices.known_without_torch()
    if known is not None:
        assert known == (devices.available(), devices.why_no_cuda())


@pytest.mark.parametrize(
    "record, known",
    [
        ("cuda: Optional[str] = None\nhip: Optional[str] = None\n", True),
        ("cuda = None\n", True),
        ("cuda: Optional[str] = '12.8'\nhip: Optional[str] = None\n", False),  # a CUDA build
        ("cuda: Optional[str] = None\nhip: Optional[str] = '6.4'\n", False),  # ROCm: torch.cuda too
        ("__version__ = '2.13.0'\n", False),  # says nothing of CUDA
        ("cuda = get_cuda()\n", False),  # not a literal
        ("cuda = (\n", False),  # not Python
        (None, False),  # no file
    ],
)
def test_only_a_record_of_a_cpu_only_build_answers_without_torch(tmp_path, monkeypatch, record, known):
    version = tmp_path / "version.py"
    if record is not None:
        version.write_text("from typing import Optional\n" + record)
    answer = (["cpu"], devices.CPU_ONLY) if known else None
    monkeypatch.delenv(devices.ASK_TORCH, raising=False)
    monkeypatch.setattr(devices.sys, "platform", "linux")
    assert devices.known_without_torch(version) == answer
    monkeypatch.setattr(devices.sys, "platform", "darwin")  # Apple's MPS: only torch can say
    assert devices.known_without_torch(version) is None
    monkeypatch.setattr(devices.sys, "platform", "linux")
    monkeypatch.setenv(devices.ASK_TORCH, "1")
    assert devices.known_without_torch(version) is None


# --- 12. CUDA ----------------------------------------------------------------------------

CUDA_MISSING = "CUDA is not available on this machine: " + devices.why_no_cuda()


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason=CUDA_MISSING)
@pytest.mark.parametrize("style", [s for s in STYLES if s != "numpy"])
def test_short_training_on_cuda(style):
    cfg = Config.for_style(style, device="cuda", dtype="float64", steps=30, stats_every=1, hist_every=5)
    losses, trainer = run_losses(cfg)
    assert trainer.status == "done"
    assert next(iter(trainer.net.parameters().values())).device.type == "cuda"
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    assert len(trainer.histograms) == 6
    # Same starting numbers and float64: the GPU run follows the CPU run closely.
    cpu, _ = run_losses(cfg.replace(device="cpu"))
    np.testing.assert_allclose(losses, cpu, rtol=1e-6)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason=CUDA_MISSING)
def test_the_cpu_vs_gpu_preset_shows_the_difference():
    import time

    from playground.compare import preset

    runs = preset("gpu", steps=40)
    assert [cfg.device for _, cfg in runs] == ["cpu", "cuda"]
    assert runs[0][1].replace(device="cuda") == runs[1][1]  # the same run but for the device
    seconds = {}
    for label, cfg in runs:
        trainer = Trainer(cfg)
        trainer.run(5)  # warm up (kernels, allocator)
        if cfg.device == "cuda":
            torch.cuda.synchronize()
        began = time.perf_counter()
        trainer.run()
        if cfg.device == "cuda":
            torch.cuda.synchronize()
        seconds[label] = time.perf_counter() - began
        assert trainer.status == "done" and trainer.last["loss"] < trainer.history["loss"][0]
    assert seconds["GPU (cuda)"] < seconds["CPU"] / 3, seconds

"""Validation: every bad setting raises ConfigError naming the field and what is allowed."""

from __future__ import annotations

import dataclasses
import math
import re
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.config import (
    BIAS_FREE_STYLES,
    DTYPES,
    MANUAL_UPDATE_STYLES,
    NUMPY_STYLES,
    OPTIMIZERS,
    SETTINGS,
    SETTINGS_BY_NAME,
    STYLE_DEFAULTS,
    STYLES,
    Config,
    ConfigError,
    Limits,
)
from playground.styles import STYLES as REGISTRY


def refused(values: dict, limits: Limits | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        Config.from_dict(values, limits=limits)
    return caught.value


# --- defaults ----------------------------------------------------------------------------


def test_defaults_are_the_tutorials():
    cfg = Config.for_style("numpy")
    assert (cfg.n, cfg.d_in, cfg.hidden, cfg.d_out, cfg.steps) == (64, 1000, 100, 10, 500)
    for style, defaults in STYLE_DEFAULTS.items():
        cfg = Config.for_style(style)
        for name, value in defaults.items():
            assert getattr(cfg, name) == value, (style, name)


def test_config_fields_and_defaults_are_the_settings():
    fields = [(f.name, f.default) for f in dataclasses.fields(Config)]
    assert fields == [(s.name, s.default) for s in SETTINGS]
    assert Config().to_dict() == {s.name: s.default for s in SETTINGS}


def test_what_the_registry_says_of_a_style_is_what_its_network_does():
    """The styles in the tutorial's order, and each entry's facts true of the network it builds."""
    import numpy as np

    from playground.trainer import Trainer

    assert STYLES == ("numpy", "tensor", "autograd", "function", "nn", "optim", "module", "dynamic")
    for name, info in REGISTRY.items():
        net = Trainer(Config.for_style(name, n=4, d_in=3, hidden=5, d_out=2, threads=1)).net
        params = net.parameters()
        assert info.trains_with_numpy == all(isinstance(w, np.ndarray) for w in params.values()), name
        assert info.bias_free == (not any(key.endswith("bias") for key in params)), name
        assert info.updates_by_hand == (not hasattr(net, "optimizer")), name
        assert (name in NUMPY_STYLES, name in BIAS_FREE_STYLES, name in MANUAL_UPDATE_STYLES) == (
            info.trains_with_numpy,
            info.bias_free,
            info.updates_by_hand,
        )


def test_every_widget_fact_fits_its_setting():
    """The sidebar draws each widget from its setting: a label always, a step and labels for the
    choices only where they make sense."""
    for s in SETTINGS:
        assert s.label, s.name
        if s.step is not None:
            assert s.low is not None and 0 < s.step <= s.high - s.low, s.name
            assert s.kind is float or float(s.step).is_integer(), s.name
        if s.choice_labels is not None:
            assert s.choices and set(s.choice_labels) == set(s.choices), s.name


def test_to_dict_round_trips():
    cfg = Config.for_style("dynamic", seed=7, lr="2e-4", n="32")
    assert (cfg.lr, cfg.n) == (2e-4, 32)
    assert Config.from_dict(cfg.to_dict()) == cfg


# --- one field at a time -----------------------------------------------------------------

OUT_OF_RANGE = [
    ("n", 0),
    ("n", 4097),
    ("d_in", 10001),
    ("hidden", 0),
    ("d_out", 1001),
    ("steps", 0),
    ("seed", -1),
    ("seed", 2**31),
    ("min_depth", 11),
    ("hist_bins", 3),
    ("hist_bins", 129),
    ("stats_every", 0),
    ("lr", 0.0),
    ("lr", 1e-11),
    ("lr", 1.5),
    ("lr", -1e-3),
    ("momentum", 1.0),
    ("momentum", -0.1),
]


@pytest.mark.parametrize("field, value", OUT_OF_RANGE)
def test_out_of_range_names_field_and_range(field, value):
    error = refused({"style": "module", field: value})
    assert error.field == field
    assert str(error).startswith(f"{field}: ")
    assert "out of range" in str(error)
    assert SETTINGS_BY_NAME[field].allowed() in str(error)


def test_range_text_is_readable():
    assert SETTINGS_BY_NAME["n"].allowed() == "1 to 4096"
    assert SETTINGS_BY_NAME["lr"].allowed() == "1e-10 to 1"
    assert SETTINGS_BY_NAME["momentum"].allowed() == "0 to 0.999"


WRONG_TYPE = [
    ("n", "abc"),
    ("n", 1.5),
    ("n", "2.5"),
    ("n", True),
    ("n", [64]),
    ("n", {"n": 64}),
    ("n", float("nan")),
    ("n", float("inf")),
    ("n", "1e400"),
    ("steps", "0x10"),
    ("lr", "fast"),
    ("lr", False),
    ("lr", [1e-4]),
    ("lr", 10**400),
    ("momentum", "0.9.1"),
]


@pytest.mark.parametrize("field, value", WRONG_TYPE, ids=repr)
def test_wrong_type_names_field_and_range(field, value):
    error = refused({"style": "module", field: value})
    assert error.field == field
    assert SETTINGS_BY_NAME[field].allowed() in str(error)


# NaN and infinity are floats that are never in range. They must be refused like any
# other bad number (a ConfigError, which the CLI turns into exit 2), not crash.
NON_FINITE = [
    ("lr", float("nan")),
    ("lr", float("inf")),
    ("lr", float("-inf")),
    ("lr", "nan"),
    ("lr", "-inf"),
    ("momentum", float("nan")),
    ("momentum", "inf"),
]


@pytest.mark.parametrize("field, value", NON_FINITE, ids=repr)
def test_nan_and_infinity_are_refused(field, value):
    error = refused({"style": "module", field: value})
    assert error.field == field
    assert SETTINGS_BY_NAME[field].allowed() in str(error)


def test_huge_whole_number_is_refused():
    error = refused({"n": 10**400})
    assert error.field == "n"
    assert "1 to 4096" in str(error)


def test_numbers_as_text_are_accepted():
    cfg = Config.from_dict({"n": " 12 ", "steps": "1e3", "lr": "1e-3", "seed": 3.0})
    assert (cfg.n, cfg.steps, cfg.lr, cfg.seed) == (12, 1000, 1e-3, 3)
    assert isinstance(cfg.n, int) and isinstance(cfg.lr, float)


@pytest.mark.parametrize(
    "field, value",
    [("style", "nope"), ("style", 3), ("optimizer", "lbfgs"), ("dtype", "float16"), ("dtype", "half")],
)
def test_unknown_choice_lists_the_choices(field, value):
    error = refused({field: value})
    assert error.field == field
    assert repr(value) in str(error)
    assert SETTINGS_BY_NAME[field].allowed() in str(error)


def test_choices_ignore_case_and_spaces():
    cfg = Config.from_dict({"style": " Module ", "optimizer": "ADAM", "dtype": "Float64", "device": "CPU"})
    assert (cfg.style, cfg.optimizer, cfg.dtype, cfg.device) == ("module", "adam", "float64", "cpu")


@pytest.mark.parametrize("value", ["tpu", "gpu", "cuda:", "cuda:x", "cuda:-1", "", "cpu0"])
def test_unknown_device_string(value):
    error = refused({"style": "tensor", "device": value})
    assert error.field == "device"
    assert "cpu, cuda, cuda:N or mps" in str(error)


@pytest.mark.parametrize("value", ["cpu", "cuda", "cuda:0", "cuda:3", "mps"])
def test_device_names_of_the_right_form_pass_the_config(value):
    # Whether the device exists is checked when the Trainer is built (test_trainer.py).
    assert Config.for_style("tensor", device=value).device == value


def test_unknown_setting_is_named():
    error = refused({"learning_rate": 1e-3})
    assert error.field == "learning_rate"
    assert "unknown setting" in str(error)
    assert "lr" in str(error)


def test_none_means_default():
    # from_dict skips None values, so None must mean "not given": the style's default,
    # exactly as if the key were absent.
    for style in ("numpy", "optim", "dynamic"):
        given_none = {name: None for name in STYLE_DEFAULTS[style]}
        assert Config.from_dict({"style": style, **given_none}) == Config.for_style(style), style


# --- several fields together -------------------------------------------------------------


def test_min_depth_above_max_depth():
    error = refused({"style": "dynamic", "min_depth": 3, "max_depth": 1})
    assert error.field == "min_depth"
    assert "max_depth" in str(error)
    assert Config.for_style("dynamic", min_depth=2, max_depth=2).min_depth == 2


@pytest.mark.parametrize("style", ["numpy", "tensor", "autograd", "function", "nn"])
@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
def test_optimizer_for_manual_update_style(style, optimizer):
    error = refused({"style": style, "optimizer": optimizer})
    assert error.field == "optimizer"
    assert style in str(error) and optimizer in str(error)
    assert "optim, module or dynamic" in str(error)


@pytest.mark.parametrize("style", ["optim", "module", "dynamic"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_for_optimizer_styles(style, optimizer):
    assert Config.for_style(style, optimizer=optimizer).optimizer == optimizer


def test_momentum_optimizer_needs_momentum():
    error = refused({"style": "optim", "optimizer": "nesterov", "momentum": 0})
    assert error.field == "momentum"


@pytest.mark.parametrize("device", ["cuda", "cuda:1", "mps"])
def test_numpy_runs_on_cpu_only(device):
    error = refused({"style": "numpy", "device": device})
    assert error.field == "device"
    assert "cpu" in str(error)


def test_size_beyond_limit_is_refused():
    small = Config.from_dict({"n": 8, "d_in": 100}, limits=Limits(max_run_mb=1.0))
    assert small.estimated_mb() < 1.0
    error = refused({"n": 64, "d_in": 1000}, limits=Limits(max_run_mb=1.0))
    assert error.field == "size"
    assert "n=64, d_in=1000, hidden=100, d_out=10" in str(error) and "1 MB" in str(error)


def test_size_is_refused_before_allocation():
    # The largest configuration the ranges allow: about 3 GB of tensors. Refusing it
    # must be arithmetic only. NumPy reports its buffers to tracemalloc, so an attempt
    # to build the data would show up in the peak.
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError) as caught:
            Config.for_style("numpy", n=4096, d_in=10000, hidden=4096, d_out=1000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.field == "size"
    assert "PLAYGROUND_MAX_RUN_MB" in str(caught.value)
    assert peak < 1_000_000


def test_estimate_grows_with_every_size():
    base = Config.for_style("dynamic")
    for field in ("n", "d_in", "hidden", "d_out", "max_depth"):
        bigger = base.replace(**{field: getattr(base, field) + 1})
        assert bigger.estimated_mb() > base.estimated_mb(), field
    assert base.replace(dtype="float64").estimated_mb() > base.estimated_mb()


@pytest.mark.parametrize(
    "environ, field",
    [
        ({"PLAYGROUND_MAX_RUN_MB": "abc"}, "PLAYGROUND_MAX_RUN_MB"),
        ({"PLAYGROUND_MAX_RUN_MB": "0.5"}, "PLAYGROUND_MAX_RUN_MB"),
        ({"PLAYGROUND_MAX_RUN_MB": "nan"}, "PLAYGROUND_MAX_RUN_MB"),
        ({"PLAYGROUND_MAX_CONCURRENT_RUNS": "0"}, "PLAYGROUND_MAX_CONCURRENT_RUNS"),
        ({"PLAYGROUND_MAX_CONCURRENT_RUNS": "1.5"}, "PLAYGROUND_MAX_CONCURRENT_RUNS"),
        ({"PLAYGROUND_TRAINING_PROCESSES": "0"}, "PLAYGROUND_TRAINING_PROCESSES"),
        ({"PLAYGROUND_MEMORY_MB": "lots"}, "PLAYGROUND_MEMORY_MB"),
    ],
)
def test_limits_from_environment_are_validated(environ, field):
    with pytest.raises(ConfigError) as caught:
        Limits.from_env(environ)
    assert caught.value.field == field


def test_limits_from_environment():
    limits = Limits.from_env(
        {
            "PLAYGROUND_MAX_RUN_MB": "32",
            "PLAYGROUND_MAX_CONCURRENT_RUNS": "2",
            "PLAYGROUND_TRAINING_PROCESSES": "3",
            "PLAYGROUND_MEMORY_MB": "500",
        }
    )
    assert limits == Limits(max_run_mb=32.0, max_concurrent_runs=2, training_processes=3, memory_mb=500.0)
    assert Limits.from_env({}) == Limits()


# --- arbitrary input ---------------------------------------------------------------------

JUNK = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats()
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5,
)
# Values near the valid ones make the junk reach the cross-field checks too.
PLAUSIBLE = st.one_of(
    JUNK,
    st.sampled_from(STYLES + OPTIMIZERS + DTYPES + ("cpu", "cuda", "cuda:1", "mps", "1e-4", "7", " 3 ")),
    st.integers(min_value=-2, max_value=5000),
    st.floats(min_value=-1.0, max_value=2.0),
)
KEYS = st.sampled_from([s.name for s in SETTINGS]) | st.text(max_size=10)
DEVICE_FORM = re.compile(r"cpu|cuda|mps|cuda:[0-9]+", re.ASCII)


def assert_valid(cfg: Config) -> None:
    for setting in SETTINGS:
        value = getattr(cfg, setting.name)
        if setting.name == "device":
            assert DEVICE_FORM.fullmatch(value), value
        elif setting.choices:
            assert value in setting.choices
        elif setting.text:
            assert type(value) is str and len(value) <= setting.high
        else:
            assert type(value) is setting.kind
            assert math.isfinite(value) and setting.low <= value <= setting.high
    assert cfg.min_depth <= cfg.max_depth
    assert Config.from_dict(cfg.to_dict()) == cfg


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(KEYS, PLAUSIBLE, max_size=6))
def test_arbitrary_input_gives_config_or_config_error(values):
    try:
        cfg = Config.from_dict(values, limits=Limits())
    except ConfigError as error:
        assert str(error).startswith(f"{error.field}: ")
        return
    assert_valid(cfg)


@settings(max_examples=150, deadline=None, database=None)
@given(st.sampled_from(SETTINGS), PLAUSIBLE)
def test_arbitrary_value_for_one_setting(setting, value):
    try:
        cfg = Config.from_dict({"style": "module", setting.name: value}, limits=Limits())
    except ConfigError as error:
        assert error.field in (setting.name, "optimizer", "momentum", "min_depth", "size")
        return
    assert_valid(cfg)

"""Settings in a link: round trips, and hostile links that must never break the page."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from playground.config import CURVE_LR, DATA, OPTIMIZERS, STYLES, Config, Limits
from playground.links import (
    HIDEABLE,
    LINK_SETTINGS,
    PAGE_PARAMETERS,
    SPEED_HIGH,
    SPEED_LOW,
    Link,
    from_query,
    to_query,
)

LIMITS = Limits(max_run_mb=256)


@st.composite
def configs(draw) -> Config:
    style = draw(st.sampled_from(STYLES))
    values = {
        "style": style,
        "n": draw(st.integers(1, 64)),
        "d_in": draw(st.integers(1, 200)),
        "hidden": draw(st.integers(1, 100)),
        "d_out": draw(st.integers(1, 20)),
        "lr": draw(st.floats(1e-10, 1.0)),
        "steps": draw(st.integers(1, 1_000_000)),
        "seed": draw(st.integers(0, 2**31 - 1)),
        "dtype": draw(st.sampled_from(["float32", "float64"])),
    }
    if style in ("optim", "module", "dynamic"):
        values["optimizer"] = draw(st.sampled_from(OPTIMIZERS))
        values["momentum"] = draw(st.floats(0.01, 0.999))
    if style == "dynamic":
        low = draw(st.integers(0, 10))
        values["min_depth"], values["max_depth"] = low, draw(st.integers(low, 10))
    values["data"] = draw(st.sampled_from(DATA))
    if values["data"] != "random":  # a curve: one input, one output
        values["d_in"] = values["d_out"] = 1
    return Config.from_dict(values, limits=LIMITS)


def _same(a: Config, b: Config) -> bool:
    for name in LINK_SETTINGS:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, float):
            if not math.isclose(x, y, rel_tol=1e-5):  # the link writes floats with 6 digits
                return False
        elif x != y:
            return False
    return True


@given(configs())
@settings(max_examples=200, deadline=None)
def test_round_trip_settings_to_link_to_settings(cfg):
    back, warnings = from_query(to_query(cfg), ["cpu"], LIMITS)
    assert warnings == []
    assert _same(cfg, back)


def test_link_names_are_the_cli_option_names():
    from playground.cli import build_parser

    train = build_parser()._subparsers._group_actions[0].choices["train"]
    flags = {option for action in train._actions for option in action.option_strings}
    for name in LINK_SETTINGS:
        assert "--" + name.replace("_", "-") in flags


junk = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["nan", "NaN", "inf", "-inf", "1e999", "-1", "0", "", "1e-30", "3.5", "cuda", "cuda:7", "mps", "sgd"]
    ),
    st.lists(st.text(max_size=10), max_size=3),
)


@given(st.dictionaries(st.one_of(st.sampled_from(LINK_SETTINGS), st.text(max_size=12)), junk, max_size=20))
@settings(max_examples=400, deadline=None)
def test_hostile_links_never_raise_and_give_a_valid_config(params):
    cfg, warnings = from_query(params, ["cpu"], LIMITS)
    assert isinstance(cfg, Config)
    assert Config.from_dict(cfg.to_dict(), limits=LIMITS) == cfg  # valid as it stands
    assert all(isinstance(w, str) and w for w in warnings)


def test_each_replacement_is_named_in_a_warning():
    cfg, warnings = from_query(
        {
            "style": "optim",
            "lr": "nan",
            "n": "1e9",
            "hidden": "abc",
            "device": "cuda:3",
            "min_depth": "5",
            "max_depth": "2",
            "bogus": "1",
        },
        ["cpu"],
        LIMITS,
    )
    text = "\n".join(warnings)
    assert cfg.style == "optim"
    assert cfg.lr == 1e-4 and "lr:" in text  # NaN: the default
    assert cfg.n == 4096 and "n:" in text and "nearest allowed" in text  # clamped
    assert cfg.hidden == 100 and "hidden:" in text
    assert cfg.device == "cpu" and "device:" in text
    assert (cfg.min_depth, cfg.max_depth) == (2, 2) and "min_depth: 5 is more than max_depth 2" in text
    assert "bogus" in text


def test_absurd_sizes_fall_back_to_the_tutorial_sizes():
    cfg, warnings = from_query({"n": "4096", "d_in": "10000", "hidden": "4096"}, ["cpu"], LIMITS)
    assert (cfg.n, cfg.d_in, cfg.hidden) == (64, 1000, 100)
    assert any("MB" in w for w in warnings)


def test_manual_styles_drop_an_optimizer_from_a_link():
    cfg, warnings = from_query({"style": "numpy", "optimizer": "adam", "device": "cuda"}, ["cpu", "cuda"], LIMITS)
    assert cfg.optimizer == "sgd" and cfg.device == "cpu"
    assert len(warnings) == 2


def test_a_curve_in_a_link_brings_its_sizes_and_rate():
    cfg, warnings = from_query({"data": "sin", "style": "optim"}, ["cpu"], LIMITS)
    assert not warnings
    assert (cfg.data, cfg.d_in, cfg.d_out, cfg.n, cfg.lr) == ("sin", 1, 1, 64, CURVE_LR["sin"]["optim"])
    assert to_query(cfg)["data"] == "sin"


def test_bad_data_in_a_link_is_repaired_with_a_warning():
    cfg, warnings = from_query({"data": "cosine", "style": "module"}, ["cpu"], LIMITS)
    assert cfg.data == "random" and cfg.d_in == 1000
    assert warnings == ["data: 'cosine' is not allowed; choose one of random, sin, abs, step, noisy_sin. Using random."]
    cfg, warnings = from_query({"data": "abs", "d_in": "1000", "d_out": "10"}, ["cpu"], LIMITS)
    assert (cfg.data, cfg.d_in, cfg.d_out) == ("abs", 1, 1)
    assert warnings == [
        "d_in: 1000 does not apply to data 'abs', which has one input x; allowed 1. Using 1.",
        "d_out: 10 does not apply to data 'abs', which has one output y; allowed 1. Using 1.",
    ]


# --- the whole URL: the run settings and the page's own parameters, one Link -------------------


@settings(max_examples=150, deadline=None)
@given(
    configs(),
    st.booleans(),
    st.lists(st.sampled_from(HIDEABLE), unique=True, max_size=5),
    st.one_of(st.none(), st.integers(SPEED_LOW, SPEED_HIGH)),
)
def test_a_link_reads_back_what_it_writes(cfg, lecture, hide, speed):
    link = Link(cfg, lecture, tuple(hide) if lecture else (), speed)
    again, warnings = Link.from_query(link.to_query(), ["cpu"], LIMITS)
    assert warnings == []
    assert again.to_query() == link.to_query()
    assert (again.lecture, again.speed) == (lecture, speed)
    assert link.means(link.to_query(), ["cpu"], LIMITS)


def test_a_link_that_leaves_defaults_out_means_the_same():
    link, _ = Link.from_query({"style": "module", "data": "sin"}, ["cpu"], LIMITS)
    assert link.speed == 50  # a curve starts in slow motion
    assert "speed" not in link.to_query()
    assert link.means({"data": "sin", "style": "module"}, ["cpu"], LIMITS)
    assert not link.means({"data": "sin", "style": "module", "speed": "fast"}, ["cpu"], LIMITS)
    assert not link.means({"style": "module"}, ["cpu"], LIMITS)
    hidden_without_lecture, _ = Link.from_query({"hide": "lr"}, ["cpu"], LIMITS)
    assert "hide" not in hidden_without_lecture.to_query()  # only meant with lecture mode


def test_the_readme_lists_every_parameter_a_link_holds():
    import re

    from conftest import ROOT

    text = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    listed = re.search(r"The parameters are (.+?), plus", text).group(1)
    names = re.findall(r"`(\w+)`", listed)
    assert names == list(LINK_SETTINGS)
    for name in PAGE_PARAMETERS:
        assert f"`{name}=" in text, name

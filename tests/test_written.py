"""A backward pass a learner writes (``inspection/written.py``): the cell's own lines are accepted
and equal the cell bit for bit; a wrong line is named; and hostile text is refused before anything
runs, with the line and the reason."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playground.config import Config, ConfigError
from playground.inspection import written
from playground.inspection.written import Refused, Step, cell_lines, check, first_off, parse, take_step
from playground.trainer import Trainer


def step_of(style: str, dtype: str = "float64", t: int = 2, **sizes):
    trainer = Trainer(Config.for_style(style).replace(dtype=dtype, **sizes))
    trainer.run(t)
    return take_step(trainer)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("style", ["numpy", "tensor"])
def test_the_cells_own_lines_equal_the_cell_bit_for_bit(style, dtype):
    step, values, expected = step_of(style, dtype)
    verdicts = check(parse(cell_lines(style), step), values, expected, dtype)
    assert [v.target for v in verdicts] == [
        "grad_y_pred",
        "grad_w2",
        "grad_h_relu",
        "grad_h",
        "grad_h",
        "grad_w1",
        "w1",
        "w2",
    ]
    assert verdicts[3].verdict == "checked at line 5"  # the copy, masked on the next line
    assert all(v.verdict == "exact" for i, v in enumerate(verdicts) if i != 3), verdicts


def test_the_step_is_the_runs_next_one_and_its_values_are_copies():
    trainer = Trainer(Config.for_style("numpy"))
    trainer.run(3)
    step, values, expected = take_step(trainer)
    assert trainer.steps_done == 4  # taken, as Step takes it
    before = {k: v.copy() for k, v in values.items() if isinstance(v, np.ndarray)}
    written.evaluate(parse("grad_h = h.copy()\ngrad_h[h < 0] = 0\nw1 -= 1.0 * w1", step), values)
    assert all(np.array_equal(values[k], before[k]) for k in before)  # the caller's arrays untouched


def test_a_forgotten_mask_is_named_at_the_line_that_should_have_made_grad_h():
    step, values, expected = step_of("numpy")
    text = cell_lines("numpy").replace("grad_h[h < 0] = 0\n", "")
    verdicts = check(parse(text, step), values, expected)
    wrong = first_off(verdicts)
    assert (wrong.target, wrong.line, wrong.text) == ("grad_h", 4, "grad_h = grad_h_relu.copy()")
    assert wrong.largest > 0


def test_other_ways_to_write_the_same_maths_are_accepted_within_rounding():
    step, values, expected = step_of("numpy")
    text = """
grad_y_pred = 2 * (y_pred - y)
grad_w2 = h_relu.T @ grad_y_pred
grad_h = np.where(h < 0, 0, grad_y_pred @ w2.T)
grad_w1 = np.dot(x.T, grad_h)
w1 -= self.learning_rate * grad_w1
w2 -= learning_rate * grad_w2
"""
    verdicts = check(parse(text, step), values, expected)
    assert all(v.verdict in ("exact", "within rounding") for v in verdicts), verdicts
    step, values, expected = step_of("tensor")
    text = "grad_y_pred = 2.0 * (y_pred - y)\ngrad_h = torch.clamp(h, min=0)\ngrad_w2 = h_relu.t().mm(grad_y_pred)"
    verdicts = check(parse(text, step), values, expected)
    assert [v.verdict for v in verdicts] == ["exact", "off", "exact"]


def test_a_line_that_fails_as_it_runs_says_so_with_its_line():
    step, values, _ = step_of("numpy")
    with pytest.raises(written.Failed) as failed:
        written.evaluate(parse("grad_h = -(h < 0)", step), values)
    assert failed.value.line == 1 and "TypeError" in failed.value.why


#: Hostile or out-of-grammar text, and a word of the reason it is refused for.
HOSTILE = [
    ("import os", "an import"),
    ("from os import system", "an import"),
    ("__import__('os').system('true')", "an expression on its own"),
    ("grad_w1 = __import__('os')", "only methods"),
    ("grad_w1 = x.__class__", "no name here starts with _"),
    ("grad_w1 = ().__class__.__bases__[0].__subclasses__()", "no name here starts with _"),
    ("grad_w1 = x.T.__array_interface__", "no name here starts with _"),
    ("grad_w1 = eval('1')", "only methods"),
    ("grad_w1 = exec('import os')", "only methods"),
    ("grad_w1 = getattr(x, 'T')", "only methods"),
    ("grad_w1 = open('/etc/passwd')", "only methods"),
    ("grad_w1 = np.load('/tmp/x.npy')", "np.load is not among"),
    ("grad_w1 = np.lib.format.open_memmap('/tmp/x')", "is not among"),
    ("grad_w1 = x.tofile('/tmp/x')", ".tofile() is not among"),
    ("grad_w1 = (lambda: x)()", "only methods"),
    ("grad_w1 = [v for v in x]", "ListComp"),
    ("grad_w1 = {1: x}", "Dict"),
    ("grad_w1 = 'x'", "only numbers"),
    ("grad_w1 = f'{x}'", "JoinedStr"),
    ("grad_w1 = b'x'", "only numbers"),
    ("grad_w1 = 1j", "only numbers"),
    ("grad_w1 = True", "only numbers"),
    ("grad_w1 = ...", "only numbers"),
    ("grad_w1 = 1e400", "finite"),
    ("grad_w1 = 10 ** 10 ** 10", "as its power"),
    ("grad_w1 = 9 ** 999999999999", "as its power"),
    ("grad_w1 = 1e13", "at most 1e12"),
    ("grad_w1 = x if x else y", "IfExp"),
    ("grad_w1 = (y := x)", "NamedExpr"),
    ("for i in x: pass", "a loop"),
    ("while True: pass", "a loop"),
    ("def f(): pass", "a function"),
    ("class A: pass", "a class"),
    ("with open('f') as f: pass", "a with block"),
    ("del x", "a del"),
    ("x = 1", "not 'x'"),
    ("np = 1", "not 'np'"),
    ("self = 1", "not 'self'"),
    ("grad_w1 = self.__dict__", "no name here starts with _"),
    ("grad_w1 = self.weights", "is not among what a line may read"),
    ("grad_w1 = x.T.T.T.base", "is not among what a line may read"),
    ("grad_w1, grad_w2 = x, y", "the left of ="),
    ("grad_w1 = grad_w2 = x", "one name on the left"),
    ("grad_w1 = x.dot(*[w1])", "Starred"),
    ("grad_w1 = x.sum(**{'axis': 0})", "no * or **"),
    ("grad_w1 = x.sum(out=x)", "no keyword 'out'"),
    ("grad_w1 = x.sum(axis=w1)", "a number written out"),
    ("grad_w1 = x.clip()", "needs a bound"),
    ("grad_w1 = x.mm(w1)", "torch's tensors have it"),
    ("grad_w1 = x[x > 0]", "a whole number or a slice"),
    ("grad_w1 = x[w1]", "a whole number or a slice"),
    ("grad_w1 = x[0:w1]", "whole numbers"),
    ("grad_w1 = x[99]", "outside"),
    ("grad_w1 = x.dot(x)", "x is 64×1000 and x is 64×1000: a product needs 1000 = 64; did you mean x.T?"),
    ("grad_w1 = x.T.dot(grad_y_pred)", "grad_y_pred is read before a line makes it"),
    ("grad_w1 = h.T.dot(x)", "its transpose"),
    ("grad_h = h.copy()\ngrad_h[h] = 0", "takes a mask"),
    ("grad_y_pred = y_pred.copy()\ngrad_y_pred[h < 0] = 0", "the mask has the shape"),
    ("grad_y_pred = 1", "it is 64×10; this line makes a number"),
    ("grad_w1[h < 0] = 0", "made on an earlier line"),
    ("grad_h = h\ngrad_h[h < 0] = x", "takes one number"),
    ("w1 *= 2", "-= or +="),
    ("y -= 1", "update a weight"),
    ("w1 -= x", "do not combine"),
    ("grad_w1 = x < y < h", "one of <, <=, >, >="),
    ("grad_w1 = x == y", "one of <, <=, >, >="),
    ("grad_w1 = x ** w1", "as its power"),
    ("grad_w1 = x // 2", "BinOp"),
    ("grad_w1 = not x", "UnaryOp"),
    ("grad_w1 = x and y", "BoolOp"),
    ("grad_w1 = await x", "Await"),
    ("grad_w1 = (yield x)", "Yield"),
    ("grad_w1 = x[" + "0][" * 10 + "0]", "indices into a value"),
    ("grad_w1 = " + "-" * 100 + "x", "nests more than"),
    ("grad_w1 = " + "(" * 300 + "x" + ")" * 300, "not a line of Python"),
    ("grad_w1 = x\x00", "NUL"),
    ("grad_w1 = x +", "not a line of Python"),
    ("grad_w1 = x" + " " * 5000, "characters long"),
    ("\n".join(["grad_w1 = x"] * 41), "at most 40 lines"),
]


@pytest.mark.parametrize(("text", "reason"), HOSTILE)
def test_hostile_or_foreign_text_is_refused_with_its_line_and_reason(text, reason):
    step, _, _ = step_of("numpy", t=0)
    with pytest.raises(Refused) as refused:
        parse(text, step)
    assert reason in refused.value.why, refused.value.why
    assert 1 <= refused.value.line <= max(1, text.count("\n") + 1)


def test_a_value_or_a_product_over_the_bounds_is_refused_before_any_memory_is_taken():
    # One sample of 10,000 inputs: its largest array holds 10,000 numbers, an outer product 1e8.
    thin = Step.of(_shaped({"x": (1, 10000), "y": (1, 1), "h": (1, 1), "h_relu": (1, 1), "y_pred": (1, 1)}), "numpy")
    assert thin.max_elements == 4 * 10000
    with pytest.raises(Refused, match="would hold more than 40,000 numbers"):
        parse("grad_w1 = x.T * x", thin)
    with pytest.raises(Refused, match="would hold more than"):
        parse("grad_w1 = x.T < x", thin)  # a mask is a value too
    # The largest sizes: the cell's own products pass, twenty more than it takes do not.
    large = Step.of(
        _shaped({"x": (4096, 10000), "y": (4096, 10), "h": (4096, 4096), "h_relu": (4096, 4096), "y_pred": (4096, 10)}),
        "numpy",
    )
    parse(cell_lines("numpy"), large)
    with pytest.raises(Refused, match="multiply-adds"):
        parse("grad_w1 = " + " + ".join(["x.T.dot(h)"] * 20), large)


def _shaped(shapes: dict) -> dict:
    """Zero-strided arrays of the given shapes: their shapes, no memory."""
    full = {**shapes, "w1": (shapes["x"][1], shapes["h"][1]), "w2": (shapes["h"][1], shapes["y"][1])}
    return {k: np.lib.stride_tricks.as_strided(np.zeros(1), v, (0,) * len(v)) for k, v in full.items()}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_refused_or_accepted_and_never_runs_anything(text):
    step, values, expected = _STEP
    try:
        program = parse(text, step)
    except Refused as refused:
        assert refused.line >= 1 and refused.why
        return
    try:
        check(program, values, expected)  # accepted text runs only the grammar's operations
    except written.Failed:
        pass


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "grad_y_pred = 2.0 * (y_pred - y)",
                "grad_w2 = h_relu.T.dot(grad_y_pred)",
                "grad_h_relu = grad_y_pred.dot(w2.T)",
                "grad_h = grad_h_relu.copy()",
                "grad_h[h < 0] = 0",
                "grad_w1 = x.T.dot(grad_h)",
                "grad_h = h.T",
                "grad_w1 = x.T @ x",
                "grad_w2 = (h_relu > 0) * 1.5",
                "w1 -= learning_rate * grad_w1",
                "grad_h = np.maximum(h, 0) ** 2",
                "grad_w2 = w2[0:3, :].sum(axis=0)",
            ]
        ),
        max_size=8,
    )
)
def test_lines_in_any_order_are_accepted_exactly_when_their_names_and_shapes_agree(lines):
    step, values, expected = _STEP
    text = "\n".join(lines)
    try:
        program = parse(text, step)
    except Refused as refused:
        why = refused.why
        assert any(
            word in why
            for word in (
                "not a name of this step",
                "masked",
                "shape",
                "a product needs",
                "gradient of",
                "before a line",
            )
        ), why
        return
    names = written.evaluate(program, values)
    for line in program.lines:
        assert tuple(np.shape(names[line.target])) == line.shape or any(
            later.target == line.target for later in program.lines if later.number > line.number
        )


_STEP = step_of("numpy", n=8, d_in=6, hidden=5, d_out=3)


# ---------------------------------------------------------------- training with it

#: Correct ways to write the backward pass that differ from the cell's.
CORRECT = {
    "numpy": [
        "grad_h = grad_h_relu * (h > 0)",
        "grad_h = grad_h_relu * (h >= 0)",
        "grad_w2 = (h_relu.T @ grad_y_pred)",
        "grad_w2 = np.dot(h_relu.T, grad_y_pred)",
        "grad_h = np.where(h < 0, 0, grad_h_relu)",
        "grad_y_pred = 2 * (y_pred - y)",
        "grad_w1 = x.T @ grad_h",
        "w1 -= learning_rate * grad_w1",
    ],
    "tensor": [
        "grad_h = grad_h_relu * (h >= 0)",
        "grad_w2 = h_relu.t() @ grad_y_pred",
        "grad_h_relu = grad_y_pred @ w2.T",
        "grad_w1 = x.t().mm(grad_h)",
    ],
}

#: Wrong versions: (the line replaced, its replacement, the gradient the check names at it).
WRONG = [
    (
        "grad_w2 = h_relu.T.dot(grad_y_pred)",
        "grad_w2 = grad_y_pred.T.dot(h_relu).T",
        None,
    ),  # the same: transposed twice
    ("grad_w2 = h_relu.T.dot(grad_y_pred)", "grad_w2 = h.T.dot(grad_y_pred)", "grad_w2"),  # the pre-ReLU h
    ("grad_y_pred = 2.0 * (y_pred - y)", "grad_y_pred = (y_pred - y)", "grad_y_pred"),  # a factor 2 missing
    ("grad_y_pred = 2.0 * (y_pred - y)", "grad_y_pred = 2.0 * (y - y_pred)", "grad_y_pred"),  # a sign
    ("grad_h[h < 0] = 0", "grad_h[h_relu < 0] = 0", "grad_h"),  # the mask on h_relu: never below 0
    ("grad_h[h < 0] = 0", "grad_h[h > 0] = 0", "grad_h"),  # the mask the wrong way round
    ("grad_h_relu = grad_y_pred.dot(w2.T)", "grad_h_relu = grad_y_pred.dot(w2.T) * 0.5", "grad_h_relu"),
    ("grad_w1 = x.T.dot(grad_h)", "grad_w1 = x.T.dot(grad_h_relu)", "grad_w1"),  # the unmasked gradient
    ("grad_w1 = x.T.dot(grad_h)", "grad_w1 = x.T.dot(grad_h) / 64", "grad_w1"),  # a mean, not the sum
    ("grad_w2 = h_relu.T.dot(grad_y_pred)", "grad_w2 = h_relu.T.dot(grad_y_pred) * 2", "grad_w2"),
    ("w1 -= self.learning_rate * grad_w1", "w1 += self.learning_rate * grad_w1", "w1"),  # a climb
    ("w2 -= self.learning_rate * grad_w2", "w2 -= self.learning_rate * grad_w1.sum() * 0 + grad_w2 * 0", "w2"),
]


def _losses(cfg: Config) -> np.ndarray:
    trainer, losses = Trainer(cfg), []
    while (row := trainer.step()) is not None:
        losses.append(row["loss"])
    return np.array(losses)


@pytest.mark.parametrize("style", ["numpy", "tensor"])
def test_the_cells_lines_train_to_the_cells_losses_bit_for_bit(style):
    cfg = Config.for_style(style, dtype="float64", steps=100)
    assert np.array_equal(_losses(cfg.replace(backward=cell_lines(style))), _losses(cfg))


@pytest.mark.parametrize("style", ["numpy", "tensor"])
def test_other_correct_formulations_train_to_the_cells_losses(style):
    cfg = Config.for_style(style, dtype="float64")  # the tutorial's 500 steps
    expected = _losses(cfg)
    lines = cell_lines(style).splitlines()
    for variant in CORRECT[style]:
        name = variant.split(" ")[0]
        mine = [variant if line.startswith(name + " ") else line for line in lines]
        if name == "grad_h":  # one line for the copy and the mask
            mine = [line for line in mine if not line.startswith("grad_h[")]
        got = _losses(cfg.replace(backward="\n".join(mine)))
        assert np.allclose(got, expected, rtol=1e-12, atol=0), (variant, np.max(np.abs(got / expected - 1)))


@pytest.mark.parametrize(("line", "replacement", "named"), WRONG)
def test_each_wrong_version_is_named_at_its_own_line(line, replacement, named):
    step, values, expected = _TUTORIAL_STEP
    text = cell_lines("numpy")
    assert line in text
    text = text.replace(line, replacement)
    verdicts = check(parse(text, step), values, expected)
    wrong = first_off(verdicts)
    if named is None:
        assert wrong is None, wrong
        return
    number = next(i for i, written_line in enumerate(text.splitlines(), 1) if written_line == replacement)
    if named == "grad_h":  # the copy is checked where grad_h is last written, at the mask
        number = next(i for i, t in enumerate(text.splitlines(), 1) if t.startswith("grad_h["))
    assert (wrong.target, wrong.line) == (named, number), verdicts


def test_a_product_the_wrong_way_round_is_refused_at_its_line_with_the_shapes():
    step, _, _ = _TUTORIAL_STEP
    text = cell_lines("numpy").replace("grad_w2 = h_relu.T.dot(grad_y_pred)", "grad_w2 = grad_y_pred.T.dot(h_relu)")
    with pytest.raises(Refused) as refused:
        parse(text, step)
    assert refused.value.line == 2
    assert refused.value.why == (
        "grad_w2 is the gradient of w2, so it is 100×10; this line makes 10×100 "
        "(its transpose: swap the product's order, or add .T)"
    )
    with pytest.raises(
        Refused, match=r"x is 64×1000 and grad_h is 64×100: a product needs 1000 = 64; did you mean x.T\?"
    ):
        parse("grad_h = h.copy()\ngrad_w1 = x.dot(grad_h)", step)


def test_a_run_with_your_lines_parks_and_goes_on_to_the_same_losses():
    import pickle

    cfg = Config.for_style("numpy", dtype="float64", steps=40, backward=cell_lines("numpy"))
    straight, parked = Trainer(cfg), Trainer(cfg)
    straight.run(20)
    parked.run(20)
    parked = pickle.loads(pickle.dumps(parked))  # as the server parks a run
    rows = [(straight.step()["loss"], parked.step()["loss"]) for _ in range(20)]
    assert all(a == b for a, b in rows), rows


def test_a_version_the_grammar_refuses_is_refused_by_the_config_and_repaired_in_a_link():
    with pytest.raises(ConfigError, match="backward: line 1: 'os' is not a name"):
        Config.for_style("numpy", backward="grad_w1 = os.system(1)")
    with pytest.raises(ConfigError, match="a run needs both gradients"):
        Config.for_style("numpy", backward="grad_w1 = x.T.dot(h)")
    with pytest.raises(ConfigError, match="numpy or tensor"):
        Config.for_style("autograd", backward=cell_lines("numpy"))
    with pytest.raises(ConfigError, match="does not go with mistake"):
        Config.for_style("numpy", mistake="no_relu_mask", backward=cell_lines("numpy"))
    # A curve: x beside its column of ones (64×2), the same lines.
    Config.for_style("numpy", data="sin", backward=cell_lines("numpy"))


_TUTORIAL_STEP = step_of("numpy")


# ---------------------------------------------------------------- it travels


def test_a_link_holds_the_version_compressed_and_refuses_a_bad_or_huge_one():
    from playground import links

    text = cell_lines("numpy").replace(
        "grad_h = grad_h_relu.copy()\ngrad_h[h < 0] = 0", "grad_h = grad_h_relu * (h > 0)"
    )
    cfg = Config.for_style("numpy", backward=text)
    query = links.to_query(cfg)
    assert len(query["backward"]) < len(text)  # compressed
    assert links.from_query(query) == (cfg, [])
    assert "backward" not in links.to_query(Config.for_style("numpy"))  # the cell as it is: nothing
    for bad, why in [
        ("not base64!", "not one this page wrote"),
        (links.pack_text("grad_w1 = __import__('os')"), "only methods"),
        ("A" * 2001, "more than 2,000"),
        (links.pack_text("0" * 100_000), "more than"),  # unpacks past the setting's length
    ]:
        got, warnings = links.from_query({**query, "backward": bad})
        assert got.backward == "" and len(warnings) == 1 and why in warnings[0], warnings


def test_the_command_line_trains_with_a_file_saves_it_and_replays_it(tmp_path, capsys):
    import json

    from playground import cli

    mine = tmp_path / "mine.py"
    mine.write_text(cell_lines("numpy").replace("2.0 * (y_pred - y)", "2 * (y_pred - y)") + "\n")
    saved = tmp_path / "run.json"
    assert (
        cli.main(
            ["train", "--style", "numpy", "--steps", "20", "--backward", str(mine), "--save", str(saved), "--json"]
        )
        == 0
    )
    first = [json.loads(line)["loss"] for line in capsys.readouterr().out.splitlines()]
    assert json.loads(saved.read_text())["config"]["backward"] == mine.read_text().strip("\n")
    assert cli.main(["train", "--config", str(saved), "--json"]) == 0
    assert [json.loads(line)["loss"] for line in capsys.readouterr().out.splitlines()] == first
    bad = tmp_path / "bad.py"
    bad.write_text("grad_y_pred = 2.0 * (y_pred - y)\nimport os\n")
    assert cli.main(["train", "--style", "numpy", "--backward", str(bad)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("python -m playground: error: backward: line 2:") and "an import" in error
    assert error.count("\n") == 0
    for content, why in [
        (b"\x89PNG\r\n\x1a\n\x00\xff", "is not a text file"),
        (b"# x\n" * 20_000, "characters is too long"),
    ]:
        bad.write_bytes(content)
        assert cli.main(["train", "--style", "numpy", "--backward", str(bad)]) == 2
        assert why in capsys.readouterr().err


# ---------------------------------------------------------------- the hostile corpus

#: Expressions from the known ways out of a Python sandbox, and others the grammar does not hold.
ESCAPES = [
    "__import__('os')",
    "__builtins__",
    "().__class__.__base__.__subclasses__()",
    "x.__class__.__mro__[1].__subclasses__()",
    "x.__reduce_ex__(2)",
    "x.__array_function__",
    "x.T.__dict__",
    "self.__class__.__init__.__globals__",
    "self.net",
    "self.step",
    "np.__loader__",
    "np.lib.npyio",
    "np.load('/etc/passwd')",
    "np.fromfile('/etc/passwd')",
    "np.frompyfunc(print, 1, 1)",
    "np.vectorize(print)",
    "np.ctypeslib",
    "x.tofile('/tmp/out')",
    "x.dump('/tmp/out')",
    "x.ctypes.data",
    "x.view(np.int64)",
    "getattr(x, '__class__')",
    "vars(x)",
    "globals()",
    "locals()",
    "eval('1')",
    "exec('1')",
    "compile('1', '', 'eval')",
    "open('/etc/passwd').read()",
    "breakpoint()",
    "input()",
    "print(x)",
    "type(x)",
    "(lambda: 1)()",
    "[v for v in range(9)]",
    "{k: 1 for k in 'ab'}",
    "'{0.__class__}'.format(x)",
    "f'{x!r:>{10**9}}'",
    "'%s' % x",
    "b'\\x00' * 10",
    "9 ** 99999999",
    "10 ** 10 ** 10",
    "2 ** 1000000000000",
    "x ** 99",
    "x if x else x",
    "(y := 1)",
    "[x] * 10**9",
    "np.zeros((10**6, 10**6))",
    "np.ones(10**12)",
    "x.repeat(10**9)",
    "np.broadcast_to(x, (10**6, 64, 1000))",
    "x[None]",
    "x[...]",
    "x[:, :, :]",
    "x @ x @ x",
    "ｘ.__class__",
    "grad_w1.__setitem__(0, 1)",
    "torch.load('/tmp/x')",
    "x.numpy()",
    "x.item()",
]

#: Where an expression may stand in a line: each holds it once.
CONTEXTS = [
    "grad_h = {}",
    "grad_h = h_relu * {}",
    "grad_h = np.maximum({}, 0)",
    "grad_h = h[{}]",
    "grad_h = h.copy()\ngrad_h[{} < 0] = 0",
    "w1 -= learning_rate * {}",
]


@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.parametrize("escape", ESCAPES)
def test_no_escape_is_accepted_wherever_it_stands(escape, context):
    step, _, _ = _TUTORIAL_STEP
    text = context.format(escape)
    with pytest.raises(Refused) as refused:
        parse(text, step)
    assert refused.value.why and 1 <= refused.value.line <= text.count("\n") + 1


#: Statements that are not lines of a backward pass at all.
STATEMENTS = [
    "while True: pass",
    "while 1:\n    grad_h = h",
    "for _ in iter(int, 1): pass",
    "import os; os.system('true')",
    "from subprocess import run",
    "exec('import os')",
    "raise SystemExit",
    "assert False",
    "try:\n    pass\nexcept: pass",
    "async def f(): pass",
    "global x",
    "nonlocal x",
    "del grad_h",
    "grad_h: int = 1",
    "grad_h = h\n" * 41,
    "x" * 5000,
    "grad_h = h # " + "é" * 4100,
    "\ufeffgrad_h = h",
    "grad_h = h\x00",
    "grad_h = h\n\x1b[2J",
    "grad_h = (" * 200 + "h" + ")" * 200,
    "grad_h = " + "+".join(["h"] * 700),
    "grad_h = " + "-" * 500 + "h",
    "grad_h = h[" + "0:1, " * 3 + "]",
    "if True: grad_h = h",
    "with x: pass",
    "class A: pass",
    "def grad_h(): return h",
    "lambda: 0",
    "yield h",
]


@pytest.mark.parametrize("text", STATEMENTS)
def test_no_statement_outside_the_grammar_is_accepted(text):
    step, _, _ = _TUTORIAL_STEP
    with pytest.raises(Refused) as refused:
        parse(text, step)
    assert refused.value.why


def test_the_corpus_is_at_least_200_inputs():
    assert len(ESCAPES) * len(CONTEXTS) + len(STATEMENTS) + len(HOSTILE) >= 200


#: Tokens the grammar knows and tokens it refuses, for Hypothesis to string together.
TOKENS = [
    *"x y h h_relu y_pred w1 w2 grad_h grad_h_relu grad_w1 grad_w2 grad_y_pred learning_rate".split(),
    *"np np.maximum np.where torch self self.learning_rate __class__ __import__ os eval".split(),
    *". .T .dot .copy .sum .clip .mm ( ) [ ] : , = -= += < <= > >= == + - * / ** @ 0 1 2.0 1e9 -1".split(),
    "axis=0",
    "min=0",
    "'s'",
    "\n",
    " ",
    "lambda",
    "for",
    "in",
    "if",
    "not",
    "and",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=25))
def test_token_soup_is_refused_or_runs_within_its_bounds(tokens):
    step, values, expected = _STEP
    try:
        program = parse("".join(tokens), step)
    except Refused as refused:
        assert refused.line >= 1 and refused.why
        return
    try:
        names = written.evaluate(program, values)
    except written.Failed as failed:
        assert failed.line >= 1
        return
    for line in program.lines:
        assert np.size(names[line.target]) <= step.max_elements


def test_a_run_with_your_lines_can_be_looked_inside_and_checked():
    from playground.inspection.step import inspect_run

    trainer = Trainer(Config.for_style("numpy", backward=cell_lines("numpy").replace("2.0 *", "2 *")))
    trainer.run(3)
    inspection = inspect_run(trainer)
    assert trainer.steps_done == 4 and inspection.check["verdict"] == "matches"
    assert inspection.twin["rows"]  # against autograd's cell, as the numpy cell is
    verdict = written.check_text(trainer.cfg.backward, inspection.values, trainer.cfg.dtype)
    assert verdict["first_off"] is None and verdict["lines"]


@pytest.mark.parametrize(
    "text", ["grad_h = h * learning_rate.copy()", "grad_h = h * learning_rate.T", "grad_h = h * x.sum().T.T"]
)
def test_a_method_of_a_number_fails_as_it_runs_with_its_line(text):
    step, values, _ = _TUTORIAL_STEP
    try:
        program = parse(text, step)
    except Refused:
        return
    with pytest.raises(written.Failed) as failed:
        written.evaluate(program, values)
    assert failed.value.line == 1

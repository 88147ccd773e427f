"""A backward pass that a learner writes: accepted only within a grammar of our own, its shapes
known before anything runs, then evaluated on a real step and checked line by line.

    program = parse(text, Step.of(capture))   # Refused (line, why) or a Program; nothing has run
    report = check(program, step)             # each line: exact, equal within rounding, or off

The text is never run as Python. ``ast.parse`` reads it (it runs nothing), and every node of the
tree must be one this module names: an assignment to a gradient or an in-place masking of one
(``grad_h[h < 0] = 0``), an update of a weight (``w1 -= learning_rate * grad_w1``), the step's
own names, number literals, arithmetic, ``@``, comparisons, subscripts with a mask, an integer or
a slice, ``.T``, and the methods and functions in ``METHODS`` and ``FUNCTIONS``. Anything else,
an import, a name the step does not have, a dunder, a call of anything else, a lambda, a loop, a
comprehension, a string, is refused with the line and the reason. Before a line runs, its
result's shape (and every intermediate's) is worked out from its operands' shapes, and a line
whose result would hold more than ``MAX_ELEMENTS`` numbers, or whose matrix products would take
more than ``MAX_FLOPS``, is refused, so no line can take the memory or the time of the process it
runs in. Evaluation walks the same checked tree and calls only the operations it names, on the
step's own arrays (NumPy's for the NumPy cell, torch's for the tensor cell).
"""

from __future__ import annotations

import ast
import dataclasses
import math
import operator
import sys
import textwrap
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..styles import style_info

#: A written backward pass may take at most this many times the multiply-adds of the cell's own
#: step (its forward and backward products), so that it runs in about the time of a few steps.
FLOPS_PER_STEP = 4
#: And no value it makes holds more numbers than this many times the step's largest array.
ELEMENTS_PER_LARGEST = 4
#: The longest text accepted, and the most lines.
MAX_CHARS, MAX_LINES = 4000, 40
#: The forward values a backward pass reads, and the weights it updates.
FORWARD = ("x", "y", "h", "h_relu", "y_pred")
WEIGHTS = ("w1", "w2")
GRADIENTS = ("grad_y_pred", "grad_w2", "grad_h_relu", "grad_h", "grad_w1")
RATE = "learning_rate"
#: What each gradient is the gradient of: it has that value's shape.
GRADIENT_OF = {"grad_y_pred": "y_pred", "grad_w2": "w2", "grad_h_relu": "h_relu", "grad_h": "h", "grad_w1": "w1"}

#: Methods a line may call, by the kind of array (``T`` is an attribute, not a call).
METHODS = {
    "numpy": {"dot", "copy", "sum", "clip", "transpose"},
    "torch": {"mm", "t", "clone", "clamp", "sum", "matmul"},
}
#: Functions a line may call, by module name and backend.
FUNCTIONS = {
    "numpy": {("np", "maximum"), ("np", "dot"), ("np", "square"), ("np", "where")},
    "torch": {("torch", "clamp"), ("torch", "mm"), ("torch", "where")},
}
_KEYWORDS = {
    ("numpy", "clip"): {"a_min", "a_max", "min", "max"},
    ("numpy", "sum"): {"axis", "keepdims"},
    ("torch", "clamp"): {"min", "max"},
    ("torch", "sum"): {"dim", "keepdim"},
}
#: The largest power ``**`` may take (a number's power of a number is worked out by Python).
MAX_POWER = 16
#: The deepest a line's expression may nest.
MAX_DEPTH = 40
_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.MatMult: operator.matmul,
    ast.Pow: operator.pow,
}
_COMPARE = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}
_UPDATE = {ast.Sub: operator.isub, ast.Add: operator.iadd}


class Refused(ValueError):
    """A line outside the grammar, or too large: its line number (from 1) and why, in words."""

    def __init__(self, line: int, why: str):
        super().__init__(f"line {line}: {why}")
        self.line, self.why = line, why


@dataclass(frozen=True)
class Step:
    """What a written line may read: each name's shape and the backend its arrays come from."""

    backend: str  # "numpy" or "torch"
    shapes: dict[str, tuple[int, ...]]
    max_elements: int  # the most numbers any value a line makes may hold
    max_flops: int  # the most multiply-adds all the lines' products may take together

    @classmethod
    def of(cls, values: dict, backend: str) -> Step:
        """The step of these arrays (or tensors): their shapes, and the bounds they give."""
        return cls.of_shapes({name: tuple(values[name].shape) for name in (*FORWARD, *WEIGHTS)}, backend)

    @classmethod
    def of_shapes(cls, shapes: dict[str, tuple[int, ...]], backend: str) -> Step:
        """The bounds follow from the step's own sizes, which the server's limits bound already."""
        shapes = {**{name: tuple(shapes[name]) for name in (*FORWARD, *WEIGHTS)}, RATE: ()}
        n, d_in = shapes["x"]
        hidden, d_out = shapes["w2"]
        own = 3 * n * hidden * (d_in + d_out)  # the cell's products: one forward, two backward, each layer
        largest = max(math.prod(shape) for shape in shapes.values())
        return cls(backend, shapes, ELEMENTS_PER_LARGEST * largest, FLOPS_PER_STEP * own)


@dataclass
class _Context:
    """What parsing knows as it goes: the shapes so far, and the products' multiply-adds so far."""

    step: Step
    shapes: dict[str, tuple[int, ...]]
    flops: int = 0

    @property
    def backend(self) -> str:
        return self.step.backend


@dataclass
class Line:
    number: int  # in the learner's text, from 1
    text: str
    node: ast.stmt
    target: str  # the name it binds or changes
    shape: tuple[int, ...]


@dataclass
class Program:
    step: Step
    lines: list[Line] = field(default_factory=list)
    runs: list | None = field(default=None, repr=False)  # each line compiled (``compiled``)

    def __getstate__(self) -> dict:
        """A parked run is pickled: the compiled lines are not (they are made again on first use)."""
        return {**self.__dict__, "runs": None}


# ---------------------------------------------------------------- parsing, and the shapes


def parse(text: str, step: Step) -> Program:
    """The learner's text as checked lines, or ``Refused`` for the first line outside the grammar
    or over the bounds. Nothing is evaluated."""
    if len(text) > MAX_CHARS:
        raise Refused(1, f"the text is {len(text):,} characters long; at most {MAX_CHARS:,} are read")
    if "\x00" in text:
        raise Refused(1, "the text holds a NUL character")
    try:
        with warnings.catch_warnings():  # Python's own warnings about odd text go nowhere useful
            warnings.simplefilter("ignore")
            tree = ast.parse(text, mode="exec")
    except SyntaxError as error:
        raise Refused(error.lineno or 1, f"this is not a line of Python: {error.msg}") from None
    except (ValueError, MemoryError, RecursionError) as error:
        raise Refused(1, f"the text cannot be read: {error}") from None
    if len(tree.body) > MAX_LINES:
        raise Refused(tree.body[MAX_LINES].lineno, f"at most {MAX_LINES} lines")
    source = text.splitlines()
    ctx = _Context(step, dict(step.shapes))
    program = Program(step)
    for node in tree.body:
        _depth(node)
        target, shape = _statement(node, ctx)
        ctx.shapes[target] = shape
        text_of = "\n".join(source[node.lineno - 1 : (node.end_lineno or node.lineno)]).strip()
        program.lines.append(Line(node.lineno, text_of, node, target, shape))
    return program


def _statement(node: ast.stmt, ctx: _Context) -> tuple[str, tuple[int, ...]]:
    at = node.lineno
    if isinstance(node, ast.Assign):
        if len(node.targets) != 1:
            raise Refused(at, "one name on the left of =, not several")
        target = node.targets[0]
        if isinstance(target, ast.Name):
            if target.id not in GRADIENTS:
                raise Refused(at, f"a line may bind a gradient ({', '.join(GRADIENTS)}), not {target.id!r}")
            shape, of = _shape(node.value, ctx), GRADIENT_OF[target.id]
            wanted = ctx.shapes[of]
            if shape != wanted:
                turned = " (its transpose: swap the product's order, or add .T)" if shape == wanted[::-1] else ""
                raise Refused(
                    at,
                    f"{target.id} is the gradient of {of}, so it is {_dims(wanted)}; this line makes "
                    f"{_dims(shape)}{turned}",
                )
            return target.id, shape
        if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            name = target.value.id
            if name not in GRADIENTS or name not in ctx.shapes:
                raise Refused(at, f"only a gradient made on an earlier line may be masked in place, not {name!r}")
            if not isinstance(target.slice, ast.Compare):
                raise Refused(at, f"{name}[...] = takes a mask, a comparison such as h < 0")
            mask = _shape(target.slice, ctx)
            if mask != ctx.shapes[name]:
                raise Refused(at, f"the mask has the shape {_dims(mask)}, {name} {_dims(ctx.shapes[name])}")
            if _shape(node.value, ctx) != ():
                raise Refused(at, "a masked place takes one number, such as 0")
            return name, ctx.shapes[name]
        raise Refused(at, "the left of = must be a gradient's name, or one masked in place (grad_h[h < 0] = 0)")
    if isinstance(node, ast.AugAssign):
        if not isinstance(node.target, ast.Name) or node.target.id not in WEIGHTS:
            raise Refused(at, f"-= and += update a weight ({', '.join(WEIGHTS)})")
        if type(node.op) not in _UPDATE:
            raise Refused(at, "a weight is updated with -= or +=")
        name = node.target.id
        shape = _shape(node.value, ctx)
        if _broadcast(ctx.shapes[name], shape, at) != ctx.shapes[name]:
            raise Refused(at, f"{name} is {_dims(ctx.shapes[name])}; the update is {_dims(shape)}")
        return name, ctx.shapes[name]
    kind = type(node).__name__
    raise Refused(
        at, f"a line here is an assignment (grad_... = ...) or an update (w1 -= ...), not {_WORDS.get(kind, kind)}"
    )


_WORDS = {
    "Import": "an import",
    "ImportFrom": "an import",
    "Expr": "an expression on its own",
    "For": "a loop",
    "While": "a loop",
    "FunctionDef": "a function",
    "ClassDef": "a class",
    "With": "a with block",
    "If": "an if",
    "Try": "a try",
    "Delete": "a del",
    "Global": "a global",
    "AnnAssign": "an annotated assignment",
    "Lambda": "a lambda",
}


def _depth(node: ast.AST) -> None:
    """Refuse a line whose tree nests deeper than ``MAX_DEPTH`` (walked without recursion)."""
    todo = [(node, 1)]
    while todo:
        here, depth = todo.pop()
        if depth > MAX_DEPTH:
            raise Refused(getattr(node, "lineno", 1), f"this line nests more than {MAX_DEPTH} deep")
        todo.extend((child, depth + 1) for child in ast.iter_child_nodes(here))


def _number(node: ast.expr) -> bool:
    """Whether ``node`` is a number written out: 0, 1e-3, -2."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def _shape(node: ast.expr, ctx: _Context) -> tuple[int, ...]:
    """The shape of what ``node`` makes (a comparison's is a mask's), refusing what the grammar
    does not hold and any value or product over the bounds."""
    at = getattr(node, "lineno", 1)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise Refused(at, f"only numbers are written here, not {type(node.value).__name__} {node.value!r:.20}")
        if not math.isfinite(node.value) or abs(node.value) > 1e12:
            raise Refused(at, "a number here is finite and at most 1e12")
        return ()
    if isinstance(node, ast.Name):
        if node.id in GRADIENTS and node.id not in ctx.shapes:
            raise Refused(at, f"{node.id} is read before a line makes it")
        if node.id.startswith("__") or node.id not in ctx.shapes:
            known = ", ".join(sorted(ctx.shapes))
            raise Refused(at, f"{node.id!r} is not a name of this step (it has {known})")
        return ctx.shapes[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _shape(node.operand, ctx)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _shape(node.left, ctx), _shape(node.right, ctx)
        if isinstance(node.op, ast.MatMult):
            return _matmul(left, right, at, ctx, (node.left, node.right))
        if isinstance(node.op, ast.Pow) and not (
            _number(node.right) and abs(ast.literal_eval(node.right)) <= MAX_POWER
        ):
            raise Refused(at, f"** takes a number from -{MAX_POWER} to {MAX_POWER} as its power")
        return _bound(_broadcast(left, right, at), at, ctx)
    if isinstance(node, ast.Compare):
        if len(node.ops) != 1 or type(node.ops[0]) not in _COMPARE:
            raise Refused(at, "a comparison is one of <, <=, >, >= between two values")
        left = _shape(node.left, ctx)
        return _bound(_broadcast(left, _shape(node.comparators[0], ctx), at), at, ctx)
    if isinstance(node, ast.Attribute):
        _no_dunder(node.attr, at)
        if _is_rate(node):
            return ()
        if node.attr != "T" or isinstance(node.value, ast.Attribute):
            raise Refused(
                at, f".{node.attr} is not among what a line may read (.T, and the methods {_methods(ctx.backend)})"
            )
        return _shape(node.value, ctx)[::-1]
    if isinstance(node, ast.Subscript):
        return _subscript(node, ctx)
    if isinstance(node, ast.Call):
        return _call(node, ctx)
    kind = type(node).__name__
    raise Refused(at, f"{_WORDS.get(kind, 'this kind of expression (' + kind + ')')} is not among what a line may hold")


def _subscript(node: ast.Subscript, ctx: _Context) -> tuple[int, ...]:
    at = node.lineno
    shape = _shape(node.value, ctx)
    index = node.slice
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    if len(parts) > len(shape):
        raise Refused(at, f"{len(parts)} indices into a value of {len(shape)} dimensions")
    out = []
    for size, part in zip(shape, parts, strict=False):
        if isinstance(part, ast.Slice):
            bounds = []
            for end in (part.lower, part.upper, part.step):
                if end is not None:
                    if not (isinstance(end, ast.Constant) and type(end.value) is int) and not (
                        isinstance(end, ast.UnaryOp)
                        and isinstance(end.op, ast.USub)
                        and isinstance(end.operand, ast.Constant)
                        and type(end.operand.value) is int
                    ):
                        raise Refused(at, "a slice's ends are whole numbers")
                    bounds.append(ast.literal_eval(end))
                else:
                    bounds.append(None)
            if bounds[2] == 0:
                raise Refused(at, "a slice's step is not 0")
            out.append(len(range(*slice(*bounds).indices(size))))
        elif isinstance(part, ast.Constant) and type(part.value) is int:
            if not -size <= part.value < size:
                raise Refused(at, f"index {part.value} is outside 0 to {size - 1}")
        else:
            raise Refused(at, "an index here is a whole number or a slice (a mask goes on the left of =)")
    return (*out, *shape[len(parts) :])


def _call(node: ast.Call, ctx: _Context) -> tuple[int, ...]:
    at = node.lineno
    func = node.func
    if not isinstance(func, ast.Attribute):
        raise Refused(at, f"only methods ({_methods(ctx.backend)}) and {_functions(ctx.backend)} may be called")
    _no_dunder(func.attr, at)
    if isinstance(func.value, ast.Name) and (func.value.id, func.attr) in FUNCTIONS[ctx.backend]:
        name, args = func.attr, [_shape(a, ctx) for a in node.args]
        receiver = None
    elif isinstance(func.value, ast.Name) and func.value.id in ("np", "torch", "numpy"):
        raise Refused(
            at, f"{func.value.id}.{func.attr} is not among the functions a line may call ({_functions(ctx.backend)})"
        )
    elif func.attr in METHODS[ctx.backend]:
        name, receiver = func.attr, _shape(func.value, ctx)
        args = [_shape(a, ctx) for a in node.args]
    else:
        _shape(func.value, ctx)  # what it is called on first: an unknown name is named as such
        other = "torch" if ctx.backend == "numpy" else "numpy"
        hint = (
            f" ({other}'s tensors have it; here the arrays are {ctx.backend}'s)" if func.attr in METHODS[other] else ""
        )
        raise Refused(at, f".{func.attr}() is not among the methods a line may call: {_methods(ctx.backend)}{hint}")
    if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
        raise Refused(at, "no * or ** in a call")
    for keyword in node.keywords:
        allowed = _KEYWORDS.get((ctx.backend, name), set())
        if keyword.arg not in allowed:
            takes = f"only {', '.join(sorted(allowed))}" if allowed else "none"
            raise Refused(at, f"{name}() takes no keyword {keyword.arg!r} here ({takes})")
        if not _number(keyword.value):
            raise Refused(at, f"{keyword.arg}= takes a number written out")
        _shape(keyword.value, ctx)  # a number within the bounds
    if name in ("clamp", "clip") and not node.keywords:
        raise Refused(at, f"{name}() needs a bound, such as min=0")
    operands = ([receiver] if receiver is not None else []) + args
    return _result(name, operands, node, receiver is not None, ctx)


def _result(name: str, operands: list, node: ast.Call, method: bool, ctx: _Context) -> tuple[int, ...]:
    """The shape of what the call ``name`` makes of its operands' shapes (a method's first)."""
    at, func = node.lineno, node.func
    arity = {"dot": 2, "mm": 2, "matmul": 2, "maximum": 2, "where": 3, "square": 1, "t": 1, "copy": 1, "clone": 1}
    if name in arity and len(operands) != arity[name]:
        raise Refused(at, f"{name}() takes {arity[name] - method} value(s) here, not {len(operands) - method}")
    if name in ("dot", "mm", "matmul"):
        return _matmul(*operands, at, ctx, ((func.value,) if method else ()) + tuple(node.args))
    if name in ("t", "transpose"):
        if len(operands) != 1 or len(operands[0]) > 2:
            raise Refused(at, f"{name}() here takes no values and a matrix")
        return operands[0][::-1]
    if name in ("copy", "clone", "square"):
        return operands[0]
    if name in ("clamp", "clip"):
        if len(operands) != 1:
            raise Refused(
                at, f"{name}() takes its bounds by keyword ({', '.join(sorted(_KEYWORDS[ctx.backend, name]))})"
            )
        return operands[0]
    if name == "maximum":
        return _bound(_broadcast(*operands, at), at, ctx)
    if name == "where":
        return _bound(_broadcast(_broadcast(operands[0], operands[1], at), operands[2], at), at, ctx)
    if name == "sum":
        if operands[1:]:
            raise Refused(at, "sum() takes its axis by keyword")
        axis = next((k.value for k in node.keywords if k.arg in ("axis", "dim")), None)
        keep = any(k.arg in ("keepdims", "keepdim") and ast.literal_eval(k.value) for k in node.keywords)
        shape = operands[0]
        if axis is None:
            return tuple(1 for _ in shape) if keep else ()
        value = ast.literal_eval(axis)
        if type(value) is not int or not -len(shape) <= value < len(shape):
            raise Refused(at, f"sum()'s axis is a whole number from {-len(shape)} to {len(shape) - 1}")
        value %= len(shape)
        return tuple(1 if i == value else s for i, s in enumerate(shape) if keep or i != value)
    raise Refused(at, f"{name}() is not known")  # pragma: no cover - every listed name is handled above


def _matmul(left: tuple, right: tuple, at: int, ctx: _Context, nodes: tuple = ()) -> tuple[int, ...]:
    """A matrix product's shape; one that does not fit says so with the shapes, and the
    transpose that would fit where one would."""
    if len(left) != 2 or len(right) != 2:
        raise Refused(at, f"a matrix product here takes two matrices, not {_dims(left)} and {_dims(right)}")
    if left[1] != right[0]:
        a, b = (ast.unparse(n) for n in nodes) if len(nodes) == 2 else ("the left", "the right")
        hint = ""
        if left[0] == right[0]:
            hint = f"; did you mean {_transposed(a)}?"
        elif left[1] == right[1]:
            hint = f"; did you mean {_transposed(b)}?"
        raise Refused(
            at,
            f"{a} is {_dims(left)} and {b} is {_dims(right)}: a product needs {left[1]} = {right[0]}{hint}",
        )
    ctx.flops += left[0] * left[1] * right[1]
    if ctx.flops > ctx.step.max_flops:
        raise Refused(
            at,
            f"with the product of {_dims(left)} and {_dims(right)} the lines would take more than "
            f"{FLOPS_PER_STEP} times the multiply-adds of the cell's own step",
        )
    return _bound((left[0], right[1]), at, ctx)


def _transposed(text: str) -> str:
    return text[:-2] if text.endswith(".T") else f"{text}.T" if text.isidentifier() else f"({text}).T"


def _broadcast(left: tuple, right: tuple, at: int) -> tuple[int, ...]:
    """NumPy's broadcasting, on shapes."""
    width = max(len(left), len(right))
    out = []
    for a, b in zip((1,) * (width - len(left)) + left, (1,) * (width - len(right)) + right, strict=True):
        if a != b and 1 not in (a, b):
            raise Refused(at, f"the shapes {_dims(left)} and {_dims(right)} do not combine")
        out.append(max(a, b))
    return tuple(out)


def _bound(shape: tuple, at: int, ctx: _Context) -> tuple[int, ...]:
    if math.prod(shape) > ctx.step.max_elements:
        raise Refused(
            at,
            f"a value of shape {_dims(shape)} would hold more than {ctx.step.max_elements:,} numbers "
            f"({ELEMENTS_PER_LARGEST} times the step's largest array)",
        )
    return shape


def _is_rate(node: ast.expr) -> bool:
    """``self.learning_rate``, as the cell writes the rate."""
    return (
        isinstance(node, ast.Attribute)
        and node.attr == RATE
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    )


def _no_dunder(name: str, at: int) -> None:
    if name.startswith("_"):
        raise Refused(at, f"{name!r}: no name here starts with _")


def _dims(shape: tuple) -> str:
    return "×".join(map(str, shape)) if shape else "a number"


def _methods(backend: str) -> str:
    return ", ".join(f".{m}()" for m in sorted(METHODS[backend]))


def _functions(backend: str) -> str:
    return ", ".join(f"{m}.{f}()" for m, f in sorted(FUNCTIONS[backend]))


def shapes_of(n: int, d_in: int, hidden: int, d_out: int) -> dict[str, tuple[int, ...]]:
    """The step's names' shapes for these sizes (``d_in`` counts a curve's column of ones)."""
    return {
        "x": (n, d_in),
        "y": (n, d_out),
        "h": (n, hidden),
        "h_relu": (n, hidden),
        "y_pred": (n, d_out),
        "w1": (d_in, hidden),
        "w2": (hidden, d_out),
    }


def for_training(text: str, shapes: dict[str, tuple[int, ...]], backend: str) -> Program:
    """The lines a run trains with: within the grammar, and making both gradients and updating
    both weights (the engine's statistics and its live check read the gradients)."""
    program = parse(text, Step.of_shapes(shapes, backend))
    made = {line.target for line in program.lines}
    last = program.lines[-1].number if program.lines else 1
    for name in ("grad_w1", "grad_w2"):
        if name not in made:
            raise Refused(last, f"the lines make no {name}: a run needs both gradients (grad_w1, grad_w2)")
    for name in WEIGHTS:
        if name not in made:
            raise Refused(last, f"the lines never update {name}: a run needs {name} -= learning_rate * grad_{name}")
    return program


# ---------------------------------------------------------------- evaluation


class Failed(ValueError):
    """A line within the grammar that failed as it ran (a mask negated, a product of booleans):
    its line number and what NumPy or torch said."""

    def __init__(self, line: int, why: str):
        super().__init__(f"line {line}: {why}")
        self.line, self.why = line, why


def _torch():
    """torch, where the arrays are its tensors (then it is imported already); parsing needs none."""
    return sys.modules.get("torch")


def run(program: Program, values: dict, copy: bool = True):
    """Run the checked lines in order on ``values`` (the step's arrays or tensors), as Python would
    run them; yields (line, names) after each line. With ``copy`` they run on copies, so that a
    line's in-place masking or update never reaches the caller's arrays; without it (training)
    an update changes the weights themselves."""
    names = {k: _copied(v) for k, v in values.items()} if copy else dict(values)
    for line, runs in zip(program.lines, compiled(program), strict=True):
        _run_line(line, runs, names)
        yield line, names


def evaluate(program: Program, values: dict, copy: bool = True) -> dict:
    """Every name's value after the last line (``run``), the lines run as one."""
    names = {k: _copied(v) for k, v in values.items()} if copy else dict(values)
    with np.errstate(all="ignore"):
        for line, runs in zip(program.lines, compiled(program), strict=True):
            try:
                runs(names)
            except (TypeError, ValueError, RuntimeError, IndexError, ArithmeticError, AttributeError) as error:
                raise Failed(line.number, f"{type(error).__name__}: {str(error)[:200]}") from None
    return names


def _copied(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    return value.clone() if hasattr(value, "clone") else value


def _run_line(line: Line, runs, names: dict) -> None:
    try:
        with np.errstate(all="ignore"):
            runs(names)
    except (TypeError, ValueError, RuntimeError, IndexError, ArithmeticError, AttributeError) as error:
        raise Failed(line.number, f"{type(error).__name__}: {str(error)[:200]}") from None


def compiled(program: Program) -> list:
    """Each checked line as a function of the names (made once per program: a run's every step
    calls them, and walking the tree each time would cost more than the arithmetic)."""
    if program.runs is None:
        program.runs = [_statement_runs(line.node, program.step.backend) for line in program.lines]
    return program.runs


def _statement_runs(node: ast.stmt, backend: str):
    if isinstance(node, ast.AugAssign):
        name, update, value = node.target.id, _UPDATE[type(node.op)], _compile(node.value, backend)

        def runs(names):
            update(names[name], value(names))

        return runs
    target, value = node.targets[0], _compile(node.value, backend)
    if isinstance(target, ast.Name):
        name = target.id

        def runs(names):
            names[name] = value(names)

        return runs
    name, mask = target.value.id, _compile(target.slice, backend)

    def runs(names):
        names[name][mask(names)] = value(names)

    return runs


def _compile(node: ast.expr, backend: str):
    """A checked expression as a function of the names; only the operations the grammar holds."""
    if isinstance(node, ast.Constant):
        constant = node.value
        return lambda names: constant
    if isinstance(node, ast.Name):
        name = node.id
        return lambda names: names[name]
    if isinstance(node, ast.UnaryOp):
        operand = _compile(node.operand, backend)
        if isinstance(node.op, ast.USub):
            return lambda names: -operand(names)
        return operand
    if isinstance(node, (ast.BinOp, ast.Compare)):
        if isinstance(node, ast.BinOp):
            op, left, right = _BINARY[type(node.op)], _compile(node.left, backend), _compile(node.right, backend)
        else:
            op, left = _COMPARE[type(node.ops[0])], _compile(node.left, backend)
            right = _compile(node.comparators[0], backend)
        return lambda names: op(left(names), right(names))
    if isinstance(node, ast.Attribute):  # .T, or self.learning_rate: what the grammar holds
        if _is_rate(node):
            return lambda names: names[RATE]
        value = _compile(node.value, backend)
        return lambda names: value(names).T
    if isinstance(node, ast.Subscript):
        parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        index = tuple(
            slice(*(None if e is None else ast.literal_eval(e) for e in (p.lower, p.upper, p.step)))
            if isinstance(p, ast.Slice)
            else ast.literal_eval(p)
            for p in parts
        )
        value = _compile(node.value, backend)
        return lambda names: value(names)[index]
    if isinstance(node, ast.Call):
        return _compile_call(node, backend)
    raise AssertionError(f"unchecked node {type(node).__name__}")  # parse() let it through: a bug here


def _compile_call(node: ast.Call, backend: str):
    func = node.func
    args = [_compile(a, backend) for a in node.args]
    keywords = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    if isinstance(func.value, ast.Name) and (func.value.id, func.attr) in FUNCTIONS[backend]:
        name = func.attr
        if name == "where" and backend == "torch":
            return lambda names: _torch_where(*(a(names) for a in args))
        module = np if backend == "numpy" else _torch()
        function = getattr(module, name)
        return lambda names: function(*(a(names) for a in args), **keywords)
    receiver, method = _compile(func.value, backend), func.attr  # a method of the grammar's list
    return lambda names: getattr(receiver(names), method)(*(a(names) for a in args), **keywords)


def _torch_where(condition, a, b):
    torch = _torch()
    like = next((v for v in (a, b) if isinstance(v, torch.Tensor) and v.is_floating_point()), None)
    if like is None:
        raise TypeError("torch.where() here needs a tensor of numbers among its values")
    a, b = (v if isinstance(v, torch.Tensor) else torch.tensor(v, dtype=like.dtype) for v in (a, b))
    return torch.where(condition, a, b)


# ---------------------------------------------------------------- the check


@dataclass
class Verdict:
    """One written line against the cell's own value of the name it binds."""

    line: int
    text: str
    target: str
    verdict: str  # "exact", "within rounding", "off", "not checked" (the cell has no such name), or
    # "checked at line N" (a later line writes the same name: the cell's value is its last)
    largest: float = 0.0  # the largest difference from the cell's value


#: Relative to the cell's largest entry: within this, a difference is the rounding of another
#: order of the same sums.
ROUNDING = {"float64": 1e-10, "float32": 1e-4}


def check(program: Program, values: dict, expected: dict, dtype: str = "float64") -> list[Verdict]:
    """Each line of ``program`` run on ``values`` (the step as the cell found it), and the value
    it leaves in its name against ``expected`` (the cell's own: its gradients, its updated
    weights). A line that fails as it runs raises ``Failed``."""
    out = []
    last = {line.target: line.number for line in program.lines}  # a name is checked where it is last written
    for line, names in run(program, values):
        if last[line.target] != line.number:
            out.append(Verdict(line.number, line.text, line.target, f"checked at line {last[line.target]}"))
            continue
        got, want = _as_numpy(names[line.target]), expected.get(line.target)
        if want is None:
            out.append(Verdict(line.number, line.text, line.target, "not checked"))
            continue
        want = np.asarray(want, dtype=np.float64)
        if got.shape != want.shape:
            out.append(Verdict(line.number, line.text, line.target, "off", math.inf))
            continue
        largest = float(np.max(np.abs(got - want))) if got.size else 0.0
        scale = float(np.max(np.abs(want))) if want.size else 0.0
        if not math.isfinite(largest):
            verdict = "off"
        elif largest == 0.0:
            verdict = "exact"
        elif largest <= ROUNDING[dtype] * max(scale, 1e-300):
            verdict = "within rounding"
        else:
            verdict = "off"
        out.append(Verdict(line.number, line.text, line.target, verdict, largest))
    return out


def first_off(verdicts: list[Verdict]) -> Verdict | None:
    return next((v for v in verdicts if v.verdict == "off"), None)


def _as_numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):  # a tensor
        return value.detach().double().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


# ---------------------------------------------------------------- on a real step

#: The styles whose backward pass a learner may write, and the backend of their arrays.
BACKENDS = {"numpy": "numpy", "tensor": "torch"}


def _span(source: list[str]) -> tuple[int, int]:
    """Where the cell's backward pass and update lie: from ``grad_y_pred =`` to ``w2 -=``."""
    start = next(i for i, line in enumerate(source) if line.strip().startswith("grad_y_pred ="))
    end = next(i for i, line in enumerate(source) if line.strip().startswith("w2 -="))
    return start, end + 1


def cell_lines(style: str) -> str:
    """The cell's own backward pass and update, unindented, as the box starts with them."""
    source = style_info(style).source().splitlines()
    start, end = _span(source)
    return textwrap.dedent("\n".join(source[start:end]))


def with_your_lines(style: str, text: str) -> str:
    """The cell's file with your lines in place of its backward pass and update: what the run
    computes (the cell's forward pass, then your lines)."""
    source = style_info(style).source().splitlines()
    start, end = _span(source)
    indent = source[start][: len(source[start]) - len(source[start].lstrip())]
    yours = [indent + line if line.strip() else "" for line in text.splitlines()]
    return "\n".join([*source[:start], *yours, *source[end:]]) + "\n"


def take_step(trainer) -> tuple[Step, dict, dict]:
    """Take the run's next step, exactly as Step would, and give what a written backward pass
    reads (``step.Inspection.values``) and what the cell itself made of it (its gradients, and
    its weights after the update)."""
    from .step import written_values
    from .trace import capture

    found = capture(trainer)
    values = written_values(trainer, found)
    expected = {k: np.asarray(found.bound[k]) for k in GRADIENTS if k in found.bound}
    expected.update({k: np.array(_as_numpy(v)) for k, v in trainer.net.parameters().items() if k in WEIGHTS})
    return Step.of(values, BACKENDS[trainer.cfg.style]), values, expected


def reference(values: dict) -> dict:
    """What autograd makes of the step: every gradient the cell writes by hand (those of y_pred,
    h_relu and h as well as the weights'), and the weights after the update, in the step's dtype.
    The forward pass is the tensor cell's (``clamp(min=0)`` passes h = 0, as the cells' masks do)."""
    import torch

    def tensor(name, grad=False):
        value = values[name]
        value = value.detach().clone() if isinstance(value, torch.Tensor) else torch.from_numpy(np.array(value))
        return value.requires_grad_(grad)

    x, y, w1, w2 = tensor("x"), tensor("y"), tensor("w1", True), tensor("w2", True)
    h = x.mm(w1)
    h_relu = h.clamp(min=0)
    y_pred = h_relu.mm(w2)
    for made in (h, h_relu, y_pred):
        made.retain_grad()
    (y_pred - y).pow(2).sum().backward()
    rate = values[RATE]
    out = {
        "grad_y_pred": y_pred.grad,
        "grad_h_relu": h_relu.grad,
        "grad_h": h.grad,
        "grad_w1": w1.grad,
        "grad_w2": w2.grad,
    }
    out["w1"], out["w2"] = w1.detach() - rate * w1.grad, w2.detach() - rate * w2.grad
    return {k: v.detach().numpy() for k, v in out.items()}


def check_text(text: str, values: dict, dtype: str) -> dict:
    """The page's verdict on a written version, on the inspected step ``values``: refused (the
    line and why), failed as it ran, or each line against autograd, and the first line off."""
    backend = "torch" if any(hasattr(v, "detach") for v in values.values()) else "numpy"
    try:
        program = parse(text, Step.of(values, backend))
        verdicts = check(program, values, reference(values), dtype)
    except (Refused, Failed) as error:
        kind = "refused" if isinstance(error, Refused) else "failed"
        return {kind: {"line": error.line, "why": error.why}, "lines": []}
    wrong = first_off(verdicts)
    return {"lines": [dataclasses.asdict(v) for v in verdicts], "first_off": wrong.line if wrong else None}

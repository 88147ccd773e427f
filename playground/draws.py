"""The NumPy style's data and starting weights, drawn without torch: the same numbers, bit for bit.

Every style starts from numbers drawn by torch's generator (``problem.py``), so that they all
start the same. Importing torch costs 1.4 s of CPU, and a NumPy run needs it for nothing else;
so a NumPy run in a process that has not imported torch (the quick training process, see
``launch.start_quick``, or the command line) draws them here instead, as torch would:

- torch's CPU generator is a Mersenne Twister (mt19937) seeded with the seed's low 32 bits by
  the reference ``init_genrand``; NumPy's ``MT19937`` is given that state;
- a uniform double is a 64-bit draw made of two 32-bit ones (the first is the high half),
  masked to 53 bits and scaled by 2**-53;
- 16 normals or more: a uniform for each, then Box-Muller on each block of 16, the first
  eight against the last eight (the radius from 1 - u of one, the angle from the other); a last
  block shorter than 16 is drawn again, whole, over the last 16 numbers;
- fewer than 16: two uniforms per two normals, the second normal kept by the generator for
  its next draw;
- each normal is then scaled by the standard deviation, 1, and the mean, 0, added (which turns
  a -0.0 into 0.0).

The logarithm, sine and cosine are ``math``'s, the C library's that torch calls too: NumPy's
own vectorised ones differ from it in the last bit of some numbers. That makes this slower than
torch (about 40 ms for the tutorial's 164,000 numbers), so it is used only where torch is not
loaded. tests/test_draws.py checks it against torch.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from . import curves
from .config import BIAS_FREE_STYLES, CURVE_DATA, Config

BLOCK = 16  # torch draws normals in blocks of this many, where it can
TWO_PI = 2.0 * math.pi


def stream_seed(seed: int, stream: int) -> int:
    """The seed of a run's generator ``stream``: 0 the data, 1 the bias-free weights, 2 and 3
    the nn.Linear layers' (``problem.Problem``)."""
    return seed * 4 + stream


class Generator:
    """``torch.Generator().manual_seed(seed)``, for ``torch.randn(..., dtype=torch.float64)`` alone."""

    def __init__(self, seed: int):
        key = [seed & 0xFFFFFFFF]
        for i in range(1, 624):  # init_genrand, as torch's mt19937 seeds itself
            key.append((1812433253 * (key[-1] ^ key[-1] >> 30) + i) & 0xFFFFFFFF)
        self.bits = np.random.MT19937()
        self.bits.state = {"bit_generator": "MT19937", "state": {"key": np.array(key, np.uint32), "pos": 624}}
        self.kept: float | None = None  # the second normal of the last pair drawn one at a time

    def uniform(self, n: int) -> np.ndarray:
        words = self.bits.random_raw(2 * n)  # 32-bit draws, as uint64
        return ((words[0::2] << np.uint64(32) | words[1::2]) & np.uint64(2**53 - 1)) * 2.0**-53

    def randn(self, *shape: int) -> np.ndarray:
        n = math.prod(shape)
        if n < BLOCK:
            return np.array([self._one() for _ in range(n)]).reshape(shape)
        numbers = self.uniform(n)
        _box_muller(numbers[: n - n % BLOCK].reshape(-1, BLOCK))
        if n % BLOCK:
            numbers[-BLOCK:] = self.uniform(BLOCK)
            _box_muller(numbers[-BLOCK:].reshape(1, BLOCK))
        return numbers.reshape(shape)

    def _one(self) -> float:
        if self.kept is not None:
            value, self.kept = self.kept, None
            return value
        u1, u2 = self.uniform(2).tolist()
        radius, theta = math.sqrt(-2.0 * math.log1p(-u2)), TWO_PI * u1
        self.kept = radius * math.sin(theta) + 0.0
        return radius * math.cos(theta) + 0.0


@functools.lru_cache(maxsize=4)
def normals(seed: int, stream: int, *shapes: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """The normals of a run's generator ``stream``, an array per shape, drawn in turn. Read-only and
    kept: a room of visitors on the same settings, all in the quick process, draws them once (40 ms
    each at the tutorial's sizes, against torch's 2)."""
    generator = Generator(stream_seed(seed, stream))
    arrays = tuple(generator.randn(*shape) for shape in shapes)
    for array in arrays:
        array.flags.writeable = False
    return arrays


def _box_muller(blocks: np.ndarray) -> None:
    """Turn rows of 16 uniforms into 16 normals, in place."""
    half = BLOCK // 2
    log, cos, sin = math.log, math.cos, math.sin
    radius = np.sqrt(-2.0 * np.array([log(u) for u in (1.0 - blocks[:, :half]).ravel().tolist()]))
    theta = (TWO_PI * blocks[:, half:]).ravel().tolist()
    blocks[:, :half] = (radius * np.array([cos(t) for t in theta]) + 0.0).reshape(-1, half)
    blocks[:, half:] = (radius * np.array([sin(t) for t in theta]) + 0.0).reshape(-1, half)


def curve_inputs(points: np.ndarray, ones_column: bool) -> np.ndarray:
    """A curve's inputs for x values ``points``: a float64 column, beside a column of ones where the
    style has no biases (``problem.Problem``: the bias-free styles' only way to a bias)."""
    x = np.asarray(points, dtype=np.float64).reshape(-1, 1)
    return np.concatenate([x, np.ones_like(x)], axis=1) if ones_column else x


@dataclass
class NumpyProblem:
    """``problem.Problem`` for the NumPy style, without torch: the same x, y, w1 and w2 (float64)."""

    x: np.ndarray
    y: np.ndarray
    dtype: np.dtype
    seed: int
    hidden: int
    d_out: int
    ones_column: bool = False

    @functools.cached_property
    def _free(self) -> tuple[np.ndarray, np.ndarray]:
        return normals(self.seed, 1, (self.x.shape[1], self.hidden), (self.hidden, self.d_out))

    @property
    def w1(self) -> np.ndarray:
        return self._free[0]

    @property
    def w2(self) -> np.ndarray:
        return self._free[1]

    def array(self, value: np.ndarray) -> np.ndarray:
        """A fresh copy of ``value`` in this run's dtype."""
        return value.astype(self.dtype, copy=True)

    def inputs(self, points: np.ndarray) -> np.ndarray:
        return curve_inputs(points, self.ones_column)


def numpy_problem(cfg: Config) -> NumpyProblem:
    """``problem.make_problem(cfg)`` for the NumPy style, drawn without torch."""
    ones_column = cfg.data in CURVE_DATA and cfg.style in BIAS_FREE_STYLES
    if cfg.data in CURVE_DATA:
        points, values = curves.points(cfg.data, cfg.n, cfg.seed)
        x, y = curve_inputs(points, ones_column), np.asarray(values, dtype=np.float64).reshape(-1, 1)
    else:
        x, y = normals(cfg.seed, 0, (cfg.n, cfg.d_in), (cfg.n, cfg.d_out))
    return NumpyProblem(x, y, np.dtype(cfg.dtype), cfg.seed, cfg.hidden, cfg.d_out, ones_column)

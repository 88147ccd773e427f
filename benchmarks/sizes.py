"""The sizes the engine benchmarks time, named once (``engine_overhead``, ``cli_vs_script``)."""

from __future__ import annotations

from typing import NamedTuple


class Size(NamedTuple):
    n: int
    d_in: int
    hidden: int
    d_out: int
    lr: float | None  # for every style but optim's Adam; None: each style's tutorial rate

    @property
    def shape(self) -> str:
        """N/D_in/H/D_out, as the tables show it."""
        return f"{self.n}/{self.d_in}/{self.hidden}/{self.d_out}"

    def rate(self, style: str) -> float | None:
        """The learning rate ``style`` trains with here; None: its tutorial rate."""
        return None if style == "optim" else self.lr


#: The large size needs a smaller rate to train (the summed loss grows with the sizes).
SIZES = {
    "tiny": Size(8, 20, 12, 3, None),
    "tutorial": Size(64, 1000, 100, 10, None),
    "large": Size(512, 1000, 2000, 10, 1e-8),
}

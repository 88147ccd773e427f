"""Look inside one step: the step traced as it runs, its graph, the chain rule at each node, and
the gradient check.

- ``trace.py``: one real step taken under a tracer (the style's own ``step``, line by line) and,
  for the torch styles, a recorder of every torch operation and a hook on every autograd node;
  what it saw is one ``Capture``.
- ``graph.py``: the graph of the step, built from a ``Capture``: for the hand-written styles from
  the lines the step ran, for the others from the graph autograd built. Graphviz DOT for the page.
- ``maths.py``: the chain rule as LaTeX, for each hand-written line and each kind of autograd node.
- ``gradcheck.py``: the step's gradients against autograd and finite differences, in float64.
- ``step.py``: ``inspect_backprop(trainer)``, which takes the step and puts it all together, with
  the same step in the style's twin cell (``StyleInfo.twin``).

Only ``trace.py`` and ``step.py`` import torch, so the page (which draws a ``StepGraph`` and the
chain rule) imports ``graph`` and ``maths`` without it. The package imports nothing itself.
"""

"""The matrix-product kernels of the lean forward, and which one each row count uses.

Every linear layer (:class:`Linear`) can run on one of three kernels:

* ``"linear"`` — ``torch.nn.functional.linear`` on the model's own (out, in) weight;
* ``"transposed"`` — ``addmm``/``mm`` on a contiguous (in, out) copy of the weight;
* ``"packed"`` — the weight **prepacked for oneDNN** (``torch.ops.mkldnn``, the kernels
  torch's own compiler uses for frozen CPU models), for models big enough and a CPU with
  oneDNN (:func:`~specbound.lm.engine.neox_weights.can_pack`).

Which is fastest depends on the CPU and on the number of input rows, and not smoothly:
on an AMD Zen 4 host the embedded target's linears took 0.72 ms transposed, 0.87 ms
packed and 1.19 ms as ``linear`` for one row, but 1.09 ms packed against 1.66 ms
transposed for the four rows of a scoring call; on an Intel Xeon host ``linear`` won
everywhere. So :func:`choose_kernels` times the kernels for every row count up to
:data:`TIMED_ROWS` and keeps for each the fastest, ``linear`` unless another beats it by
a margin; :func:`remembered_choice` does that once per machine
(:mod:`specbound.lm.engine.kernel_cache`). The kernels differ by float rounding only. The
figures are in ``docs/performance.md``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as nnf

from specbound.lm.engine.kernel_cache import cached_choice, group_key

__all__ = [
    "KERNELS",
    "LINEAR_ONLY",
    "TIMED_ROWS",
    "KernelChoice",
    "Linear",
    "choose_kernels",
    "layer_and_head_choice",
    "remembered_choice",
]

#: The kernels a linear layer can run on (see the module docstring).
KERNELS = ("linear", "transposed", "packed")

#: Row counts 1..TIMED_ROWS are timed; more rows use the choice for TIMED_ROWS.
TIMED_ROWS = 8

#: The row count oneDNN chooses its packed layout for (a typical scoring call).
_PACK_ROWS_HINT = 4


@dataclass(frozen=True)
class KernelChoice:
    """The kernel a model's linears use for 1, 2, ... input rows (``by_rows[n - 1]``);
    inputs with more rows than the tuple is long use its last entry."""

    by_rows: tuple[str, ...] = ("linear",)

    def __post_init__(self) -> None:
        unknown = [k for k in self.by_rows if k not in KERNELS]
        if not self.by_rows or unknown:
            raise ValueError(f"kernels must be some of {KERNELS}, got {self.by_rows!r}")

    def for_rows(self, rows: int) -> str:
        """The kernel for an input of ``rows`` rows."""
        return self.by_rows[min(rows, len(self.by_rows)) - 1]

    def uses(self, kernel: str) -> bool:
        return kernel in self.by_rows

    @property
    def any_packed(self) -> bool:
        return self.uses("packed")


LINEAR_ONLY = KernelChoice()


@dataclass(frozen=True)
class Linear:
    """``x @ weight.T + bias`` for a 2-D ``x`` (rows, in), on the kernel ``choice`` names
    for its row count. ``transposed`` (in, out) and ``packed`` are the other kernels'
    copies of ``weight`` (None where no row count uses them)."""

    weight: torch.Tensor  # (out, in)
    bias: torch.Tensor | None
    packed: torch.Tensor | None = None
    transposed: torch.Tensor | None = None
    choice: KernelChoice = LINEAR_ONLY

    @classmethod
    def of(
        cls, weight: torch.Tensor, bias: torch.Tensor | None, *, pack: bool, transpose: bool = True
    ) -> Linear:
        """With the copies asked for: transposed when ``transpose``, packed when ``pack``."""
        weight = weight.detach()
        bias = None if bias is None else bias.detach()
        transposed = weight.t().contiguous() if transpose else None  # (in, out)
        packed = None
        if pack:
            packed = torch.ops.mkldnn._reorder_linear_weight(weight.contiguous(), _PACK_ROWS_HINT)
        return cls(weight, bias, packed, transposed)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.run(self.choice.for_rows(x.shape[0]), x)

    def run(self, kernel: str, x: torch.Tensor) -> torch.Tensor:
        """``x`` (rows, in) through ``kernel``: (rows, out)."""
        if kernel == "transposed" and self.transposed is not None:
            if self.bias is None:
                return torch.mm(x, self.transposed)
            return torch.addmm(self.bias, x, self.transposed)
        if kernel == "packed" and self.packed is not None:
            return torch.ops.mkldnn._linear_pointwise(x, self.packed, self.bias, "none", [], "")
        return nnf.linear(x, self.weight, self.bias)

    def agrees(self) -> bool:
        """Every copy gives ``linear``'s result on a random input (up to rounding)."""
        x = torch.randn(3, self.weight.shape[1], dtype=self.weight.dtype)  # (3, in)
        want = nnf.linear(x, self.weight, self.bias).float()
        tolerance = 1e-2 if self.weight.dtype == torch.bfloat16 else 1e-4
        copies = {"packed": self.packed, "transposed": self.transposed}
        return all(
            torch.allclose(self.run(kernel, x).float(), want, rtol=tolerance, atol=tolerance)
            for kernel, copy in copies.items()
            if copy is not None
        )

    def keeping(self, choice: KernelChoice) -> Linear:
        """This linear using ``choice``, without the copies it never uses."""
        return Linear(
            self.weight,
            self.bias,
            self.packed if choice.uses("packed") else None,
            self.transposed if choice.uses("transposed") else None,
            choice,
        )


#: A kernel other than ``linear`` is chosen for a row count only when it takes less than
#: this share of ``linear``'s time (a margin, so that the choice is stable where they are
#: close).
_MARGIN = 0.9


def _pass_seconds(linears: Sequence[Linear], inputs: Sequence[torch.Tensor], kernel: str) -> float:
    start = time.perf_counter()
    for linear, x in zip(linears, inputs, strict=True):
        linear.run(kernel, x)
    return time.perf_counter() - start


def choose_kernels(linears: Sequence[Linear]) -> KernelChoice:
    """Time the model's matrix products on every kernel it has copies for, for each row
    count 1..:data:`TIMED_ROWS`, and keep per row count the fastest: ``linear`` unless
    another takes less than :data:`_MARGIN` of its time. Each kernel is timed warm (the
    second of two passes in a row, as a decoder calls one kernel over and over; each
    kernel reads its own copy of the weights): the fastest of three passes after a first
    one, the kernels interleaved, the median of 3 such blocks. Once per model per process
    (about a second for the embedded target).

    Which kernel wins depends on the CPU (see the module docstring). The choice changes
    results only by float rounding; a seeded run can differ between two processes only
    if they chose differently, which the margin makes rare.
    """
    first = linears[0]
    kernels = [k for k in KERNELS if k == "linear" or getattr(first, k) is not None]
    chosen = []
    for rows in range(1, TIMED_ROWS + 1):
        inputs = [
            torch.randn(rows, item.weight.shape[1], dtype=first.weight.dtype) for item in linears
        ]
        seconds: dict[str, list[float]] = {k: [] for k in kernels}
        for _ in range(3):
            for kernel in kernels:
                _pass_seconds(linears, inputs, kernel)  # brings this kernel's copy in
                warm = (_pass_seconds(linears, inputs, kernel) for _ in range(3))
                seconds[kernel].append(min(warm))
        median = {k: statistics.median(v) for k, v in seconds.items()}
        best = min(kernels, key=median.__getitem__)
        chosen.append(best if median[best] < _MARGIN * median["linear"] else "linear")
    return KernelChoice(tuple(chosen))


def remembered_choice(
    linears: Sequence[Linear], packable: bool, device: torch.device
) -> KernelChoice:
    """:func:`choose_kernels` for this group, timed once per machine and then read back
    (:mod:`specbound.lm.engine.kernel_cache`: the same seed, the same numbers, in every
    process). Off the CPU: ``linear``."""
    if device.type != "cpu":
        return LINEAR_ONLY
    shapes = [(int(i.weight.shape[0]), int(i.weight.shape[1]), i.bias is not None) for i in linears]
    key = group_key(shapes, linears[0].weight.dtype, packable)

    def timed() -> tuple[str, ...]:
        with torch.inference_mode():
            return choose_kernels(linears).by_rows

    return KernelChoice(cached_choice(key, KERNELS, timed))


def layer_and_head_choice(
    layer_linears: Sequence[Linear],
    head: Linear,
    pack: bool,
    device: torch.device,
    choice: KernelChoice | None = None,
) -> tuple[KernelChoice, KernelChoice]:
    """The kernels of a model's layers and of its LM head: ``choice`` for both when given,
    else each group's :func:`remembered_choice`; without ``pack``, a packed kernel in a
    (remembered) choice becomes ``linear``.

    The LM head is timed on its own: it is the largest single matrix of a small model (a
    quarter of the embedded draft's weights) and its best kernel often differs from the
    layers' (a (4096, 64) head: transposed 19 us, linear 28 us).
    """

    def allowed(chosen: KernelChoice) -> KernelChoice:
        if chosen.any_packed and not pack:
            return KernelChoice(tuple("linear" if k == "packed" else k for k in chosen.by_rows))
        return chosen

    if choice is not None:
        return allowed(choice), allowed(choice)
    layers = remembered_choice(layer_linears, pack, device)
    return allowed(layers), allowed(remembered_choice([head], pack, device))

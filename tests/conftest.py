"""Test-suite wide settings: offline, headless, and a kernel-choice cache of its own."""

import os
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

# The matrix-product kernels chosen on this machine are remembered in a cache file
# (specbound.lm.engine.kernel_cache); the tests use a fresh one, shared by the CLI subprocesses
# they start, and never read or write the user's.
os.environ["SPECBOUND_CACHE_DIR"] = tempfile.mkdtemp(prefix="specbound-test-cache-")

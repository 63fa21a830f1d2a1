#!/usr/bin/env bash
# GPU check of the compiled operators, for a machine with a CUDA GPU (about 8 min):
#   1. builds the CUDA extension against this machine's torch (`spairkit ops build --cuda`),
#   2. runs `spairkit ops check --device cuda` and the CUDA op tests against the CPU
#      reference (tests/gpu),
#   3. runs the benchmark sweep on the GPU,
# and prints a short table last. Run from anywhere: bash tests/gpu/run.sh
# Exit status: non-zero if the build or a test fails.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-$(mktemp -d)}"
export SPAIRKIT_OPS_LOCK_TIMEOUT="${SPAIRKIT_OPS_LOCK_TIMEOUT:-600}"
status=0

step() { echo; echo "=== $* ==="; }

step "environment"
python -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda,
"device", torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)'
python -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' || {
  echo "no CUDA device visible to PyTorch: nothing to check"; exit 1; }

step "build (CUDA)"
build_start=$SECONDS
if ! timeout 420 spairkit ops build --cuda 2>&1 | tee "$OUT/build.log"; then
  echo "BUILD FAILED (log: $OUT/build.log)"; exit 1
fi
build_s=$((SECONDS - build_start))

step "ops check (CUDA backend vs the reference)"
timeout 120 spairkit ops check --device cuda 2>&1 | tee "$OUT/check.log"
check_rc=${PIPESTATUS[0]}
[ "$check_rc" -eq 0 ] || status=1

step "CUDA op tests vs CPU reference"
timeout 240 python -m pytest tests/gpu/test_ops_cuda.py -q -x -p no:cacheprovider \
  2>&1 | tee "$OUT/tests.log" | tail -20
tests_rc=${PIPESTATUS[0]}
[ "$tests_rc" -eq 0 ] || status=1

step "benchmark sweep (GPU)"
timeout 240 python benchmarks/ops.py --device cuda --sizes 256 512 --channels 32 64 128 \
  --masks blob streak random --densities 0.01 0.1 0.5 1.0 --budget 0.1 \
  --write "$OUT/benchmarks.md" > "$OUT/bench.md" 2> "$OUT/bench.err"
bench_rc=$?
[ "$bench_rc" -eq 0 ] || { status=1; tail -20 "$OUT/bench.err"; }

step "summary"
printf '%-34s %s\n' "build (s)" "$build_s"
printf '%-34s %s\n' "ops check --device cuda" "$([ "$check_rc" -eq 0 ] && echo passed || echo FAILED)"
printf '%-34s %s\n' "CUDA op tests" "$([ "$tests_rc" -eq 0 ] && echo passed || echo FAILED) ($(grep -Eo '[0-9]+ (passed|failed)[^=]*' "$OUT/tests.log" | tail -1))"
printf '%-34s %s\n' "benchmark" "$([ "$bench_rc" -eq 0 ] && echo done || echo FAILED) (full table: $OUT/bench.md)"
if [ "$bench_rc" -eq 0 ]; then
  echo
  sed -n '/### Targets/,/### sparse_conv2d/p' "$OUT/bench.md" | grep '^|'
fi
exit $status

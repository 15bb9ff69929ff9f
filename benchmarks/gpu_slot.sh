#!/usr/bin/env bash
# Issue 9's GPU check in one device call (about 8 minutes with MINUTES=3): SASRec on Amazon
# Beauty on CUDA, with the default batches and with large bf16 batches (sqrt-scaled learning
# rate), each timed against the public reference's 2.00 s per epoch on an H200. Prepare first
# with benchmarks/gpu_prepare.sh, then:
#   run(command="bash benchmarks/gpu_slot.sh", carry=[".whl", ".gpu"], timeout_s=600)
# Results: $OUT/sequential_gpu_{default,large}.{json,log} (benchmarks/results without $OUT).
# DEVICE=cpu runs the same steps on a CPU (a check of the script, not a measurement); DATA,
# WHEELS (default .whl), MINUTES and PYTHON can be set too.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-benchmarks/results}
DEVICE=${DEVICE:-cuda}
MINUTES=${MINUTES:-3}
PYTHON=${PYTHON:-python3}
DATA=${DATA:-.gpu/Beauty.txt}
WHEELS=${WHEELS:-.whl}
[ -f "$DATA" ] || { echo "error: $DATA not found: run benchmarks/gpu_prepare.sh here first" >&2; exit 1; }
if compgen -G "$WHEELS/*.whl" > /dev/null; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/shopmind-site "$WHEELS"/*.whl
  export PYTHONPATH=/tmp/shopmind-site:src${PYTHONPATH:+:$PYTHONPATH}
else
  export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 OPENBLAS_NUM_THREADS=1
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv
declare -A configs=(
  [default]='{}'
  [large]='{"batch_size": 1024, "lr_scaling": "sqrt", "precision": "bf16"}'
)
for name in default large; do
  echo "== sasrec $name ${configs[$name]} on $DEVICE, at most $MINUTES min of training"
  "$PYTHON" benchmarks/sequential.py --data "$DATA" --models sasrec --device "$DEVICE" \
    --max-minutes "$MINUTES" --config "${configs[$name]}" --reference-epoch-seconds 2.0 \
    --out "$OUT/sequential_gpu_$name.json" 2>&1 | tee "$OUT/sequential_gpu_$name.log"
done

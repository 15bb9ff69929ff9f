#!/usr/bin/env bash
# Prepares issue 9's GPU check (benchmarks/gpu_slot.sh) on this machine, for a session that
# is lent a device: the device's python has torch, numpy, pandas and scipy but not what
# shopmind imports beside them, and the data beside the checkout does not travel. Writes
#   .whl/  wheels of the missing packages for the device's python (PY, default 3.12)
#   .gpu/  Beauty.txt (Amazon Beauty sequences, from ../shared/data/amazon_beauty)
# both ignored by git (.git/info/exclude). Then one device call:
#   run(command="bash benchmarks/gpu_slot.sh", carry=[".whl", ".gpu"], timeout_s=600)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-3.12}
PYTHON=${PYTHON:-.venv/bin/python}
DATA=${DATA:-../shared/data/amazon_beauty/Beauty.txt}
[ -f "$DATA" ] || { echo "error: $DATA not found (set DATA=path/to/Beauty.txt)" >&2; exit 1; }
# shopmind's imports that the device image lacks (and typing-extensions, which pydantic needs
# newer than the image may hold), at this checkout's versions
PACKAGES="duckdb pydantic pydantic_core pydantic-settings python-dotenv annotated-types
typing-inspection typing-extensions cryptography cffi pycparser pytz"
mkdir -p .git/info
for ignored in /.whl/ /.gpu/; do
  grep -qxF "$ignored" .git/info/exclude 2>/dev/null || echo "$ignored" >> .git/info/exclude
done
rm -rf .whl .gpu
mkdir -p .whl .gpu
pins=()
for name in $PACKAGES; do
  version=$("$PYTHON" -m pip show "$name" 2>/dev/null | sed -n 's/^Version: //p')
  [ -n "$version" ] || { echo "error: $name is not installed in $PYTHON (run make install)" >&2; exit 1; }
  pins+=("$name==$version")
done
"$PYTHON" -m pip download -q --no-deps --only-binary=:all: --python-version "$PY" \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform manylinux_2_34_x86_64 --platform manylinux_2_24_x86_64 -d .whl "${pins[@]}"
cp "$DATA" .gpu/Beauty.txt
echo "prepared $(ls .whl | wc -l) wheels ($(du -sh .whl | cut -f1)) and .gpu/Beauty.txt"

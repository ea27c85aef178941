#!/usr/bin/env bash
# The C ABI's and Python's overhead over the C++ API (issue #6): 20,000 generated items (the
# `ledgerbridge bench` data set and pack) through all three. Needs a build with
# -DLB_BUILD_BENCHMARKS=ON:  bash tests/bench/capi_overhead.sh [build dir] [items]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
n=${2:-20000}
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
"$build/engine/ledgerbridge" bench --items "$n" --keep "$data" >/dev/null
args=(tests/bench/pack "$data/items.jsonl" "$data/directory.yaml")
"$build/tests/bench/lb_capi_overhead_bench" "${args[@]}" 5
LEDGERBRIDGE_LIBRARY="$build/bindings/c/libledgerbridge.so" PYTHONPATH=bindings/python \
  python3 tests/bench/capi_overhead.py "${args[@]}" 3

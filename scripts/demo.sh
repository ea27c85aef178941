#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine (as root): install what is needed, build, and run
# an export: the embedded simulated Pleo serves export jobs for three companies (DKK, GBP, SEK),
# ledgerbridge claims each job, runs the `pleo-sim` rule pack (which extends `default`), posts
# balanced documents exactly once into a SQLite ERP per company (out/demo/erp-*.sqlite, with
# the ledger in out/demo/ledger.sqlite), reports every item's status to Pleo in batches and
# completes the jobs. Safe to run again: each run starts from a fresh out/demo.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLB_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" --target ledgerbridge

echo
./build/engine/ledgerbridge run --pleo sim --fresh --state out/demo
echo
echo "The first company's ERP (ledgerbridge erp trial-balance):"
first_erp=$(ls out/demo/erp-*.sqlite | head -n 1)
./build/engine/ledgerbridge erp trial-balance "$first_erp" | tail -n 8

#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine (as root): install what is needed, build, and run
# the demo export. Until the Pleo workflow lands (issue #4) the main job is offline: saved Pleo
# v3 export items are run through the `demo` rule pack against the demo company's ERP
# directory, and each item's decisions are written to out/outcomes.jsonl. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLB_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" --target ledgerbridge

mkdir -p out
echo
./build/engine/ledgerbridge process examples/data/items.jsonl \
  --rules rules/demo --directory examples/data/directory.yaml \
  --now 2026-01-15T12:00:00Z --output out/outcomes.jsonl
echo
echo "How the first item was decided (ledgerbridge explain):"
./build/engine/ledgerbridge explain tests/data/pleo/card_purchase_journal.json \
  --rules rules/demo --directory examples/data/directory.yaml --now 2026-01-15T12:00:00Z

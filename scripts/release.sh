#!/usr/bin/env bash
# Builds the optimised ledgerbridge for production and for benchmarks: a profile-guided build
# (GCC -fprofile-generate, a training run, -fprofile-use), about 5% faster on the data path than
# the plain build that scripts/demo.sh and scripts/test.sh make. Then `cmake --install
# build-release` installs it (README, "Embedding").
#
#   bash scripts/release.sh              # as root on a fresh machine: installs packages first
#   build-release/engine/ledgerbridge bench --runs 9
#
# The training run is the data path every command shares: 20,000 generated items (another seed
# than the benchmark's) decoded, evaluated by the benchmark's rule pack and written as outcomes.
# Code it does not reach (HTTP, SQLite, fixtures) is optimised as in the plain build. Training
# on those too was measured slower on the data path (2% behind the plain build, against 5% ahead).
# Safe to run again: it rebuilds only when the sources differ from the last optimised build
# (LB_RELEASE_DIR sets the folder).
set -euo pipefail
cd "$(dirname "$0")/.."

build=${LB_RELEASE_DIR:-build-release}
stamp="$build/.pgo-sources"

sources_id() {
  # The commit and any uncommitted change to tracked or new files; empty outside a git checkout.
  git rev-parse --is-inside-work-tree >/dev/null 2>&1 || return 0
  { git rev-parse HEAD; git diff HEAD; git ls-files -z --others --exclude-standard | xargs -0 -r sha1sum; } | sha1sum
}

bash scripts/setup.sh
id=$(sources_id)
if [ -n "$id" ] && [ -x "$build/engine/ledgerbridge" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$id" ]; then
  echo "release.sh: $build is up to date (profile-guided build of these sources)"
  exit 0
fi
rm -f "$stamp"

echo "release.sh: 1/3 instrumented build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLB_BUILD_TESTS=OFF -DLB_PGO=generate >/dev/null
find "$build" -name '*.gcda' -delete
cmake --build "$build" -j"$(nproc)" --target ledgerbridge ledgerbridge_shared

echo "release.sh: 2/3 training run"
training=$(mktemp -d)
trap 'rm -rf "$training"' EXIT
# bench measures in a child that leaves with _exit (no profile written): it only makes the data.
"$build/engine/ledgerbridge" bench --items 20000 --seed 7 --runs 1 --keep "$training/bench" >/dev/null
"$build/engine/ledgerbridge" process "$training/bench/items.jsonl" --rules tests/bench/pack \
  --directory "$training/bench/directory.yaml" -o "$training/outcomes.jsonl" >/dev/null

echo "release.sh: 3/3 optimised build"
cmake -S . -B "$build" -DLB_PGO=use >/dev/null
cmake --build "$build" -j"$(nproc)" --target ledgerbridge ledgerbridge_shared
[ -n "$id" ] && echo "$id" >"$stamp"
echo "release.sh: done: $build/engine/ledgerbridge ($("$build/engine/ledgerbridge" --version 2>/dev/null || echo ledgerbridge))"

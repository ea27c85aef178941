#!/usr/bin/env bash
# Builds and runs every test, from a fresh Debian 12 machine (as root): the Catch2 suites, every
# rule pack's fixtures and luacheck through CTest, first in an optimised build, then again under
# AddressSanitizer + UndefinedBehaviorSanitizer, and the threaded parts under ThreadSanitizer.
# Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
jobs=$(nproc)

run_suite() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -DLB_BUILD_TESTS=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  ctest --test-dir "$dir" -j"$jobs" --output-on-failure --timeout 300
}

echo "== optimised build"
run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== ThreadSanitizer: the CPU-budget watchdog, the multi-worker pipeline, the simulated Pleo, the client and the ledger"
# LuaJIT itself is not instrumented; this checks our side of the protocol (atomics, locks).
cmake -S . -B build-tsan -DLB_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLB_TSAN=ON >/dev/null
cmake --build build-tsan -j"$jobs" --target lb_tests
TSAN_OPTIONS=halt_on_error=1 build-tsan/tests/lb_tests "[budget],[pipeline],[hostile],[sim-pleo],[pleo],[ledger]"
# Last, so that CI reads CTest's closing line.
echo "== ASan + UBSan build"
# LuaJIT unwinds its errors through C frames in its own way; ASan's stack-use-after-return
# checks do not know that, so they are off (everything else is on).
export ASAN_OPTIONS=detect_stack_use_after_return=0:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DLB_SANITIZE=ON

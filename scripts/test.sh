#!/usr/bin/env bash
# Builds and runs every test, from a fresh Debian 12 machine (as root): the Catch2 suites, every
# rule pack's fixtures, luacheck, the CLI, C ABI, Python, example, install and crash tests through
# CTest, under AddressSanitizer + UndefinedBehaviorSanitizer; and, before that, the suites whose
# code runs on several threads under ThreadSanitizer. Safe to run again.
#
# Two builds, not three: the optimised build is the one scripts/demo.sh makes (with -Werror), and
# the ThreadSanitizer build compiles the engine optimised too, so -O2's warnings are still seen.
# A third full build took the suite past 15 minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
jobs=$(nproc)

echo "== ThreadSanitizer: the CPU-budget watchdog, the multi-worker pipeline, the simulated Pleo, the client and the ledger"
# LuaJIT itself is not instrumented; this checks our side of the protocol (atomics, locks).
cmake -S . -B build-tsan -DLB_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLB_TSAN=ON >/dev/null
cmake --build build-tsan -j"$jobs" --target lb_tests_threaded
TSAN_OPTIONS=halt_on_error=1 build-tsan/tests/lb_tests_threaded "[budget],[pipeline],[hostile],[sim-pleo],[pleo],[ledger]"

# Last, so that CI reads CTest's closing line.
echo "== ASan + UBSan build: every test"
# LuaJIT unwinds its errors through C frames in its own way; ASan's stack-use-after-return
# checks do not know that, so they are off (everything else is on).
export ASAN_OPTIONS=detect_stack_use_after_return=0:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cmake -S . -B build-asan -DLB_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=Debug -DLB_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
ctest --test-dir build-asan -j"$jobs" --output-on-failure --timeout 300

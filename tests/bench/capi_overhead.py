#!/usr/bin/env python3
"""The Python package's evaluate() on the same items as lb_capi_overhead_bench (see
capi_overhead.sh). Prints items/s in thread CPU time.

    capi_overhead.py <pack> <items.jsonl> <directory.yaml> [rounds]
"""
import sys
import time

import ledgerbridge


def main() -> int:
    pack_dir, items_file, directory = sys.argv[1:4]
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    with open(items_file, "rb") as f:
        items = [line.rstrip(b"\n") for line in f if line.strip()]
    pack = ledgerbridge.Engine(now=1769947200).load_pack(pack_dir, directory=directory)
    for item in items[:1000]:  # warm-up
        pack.evaluate(item)
    # Thread CPU time, like the C++ side: the machine is shared.
    t = time.thread_time()
    for _ in range(rounds):
        for item in items:
            pack.evaluate(item)
    seconds = time.thread_time() - t
    print(f"Python   {len(items) * rounds / seconds:10.0f} items/s  ({rounds} rounds; Outcome dataclasses built)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

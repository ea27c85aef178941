#!/usr/bin/env python3
"""Embedding ledgerbridge from Python: an ERP of our own as a class, the `demo` rule pack, every
item of a JSON-lines file evaluated, and each decided item's documents handed to our ERP.

    LEDGERBRIDGE_LIBRARY=build/bindings/c/libledgerbridge.so PYTHONPATH=bindings/python \\
        python3 examples/python/embed.py rules/demo examples/data/items.jsonl
"""
import sys
from typing import Any, Dict, Optional

import ledgerbridge


class MyErp(ledgerbridge.Erp):
    """What the rules may ask about our accounting system (ctx.erp.*)."""

    WALLETS = {"1810": "GBP", "1812": "EUR", "5810": "DKK"}
    CHART = {"1900", "2000", "2820", "2830", "2640", "14400", "14500", "6010", "6110", "6210", "7110", "7310", "8510"}
    V1001 = {"code": "V1001", "name": "TestSupplier123", "externalId": "V1001", "taxNumber": "12345",
             "payablesAccount": "2000"}

    def __init__(self) -> None:
        self.journal: Dict[str, Dict[str, Any]] = {}

    def account(self, code: str) -> Optional[Dict[str, Any]]:
        if code in self.WALLETS:
            return {"code": code, "name": "Pleo wallet", "currency": self.WALLETS[code]}
        return {"code": code, "name": ""} if code in self.CHART else None

    def vendor_by_code(self, code):
        return self.V1001 if code == "V1001" else None

    vendor_by_external_id = vendor_by_code

    def vendor_by_tax_number(self, tax_number):
        return self.V1001 if tax_number == "12345" else None

    def tax_code(self, code):
        if code == "RC25":
            return {"code": "RC25", "name": "Reverse charge 25%", "rate": 0.25, "type": "reverse",
                    "ingoingTaxAccount": "14400", "outgoingTaxAccount": "14500"}
        return {"code": "S20", "name": "Standard", "rate": 0.2, "type": "inclusive", "ingoingTaxAccount": "2640"} if code == "S20" else None

    def dimension_value(self, dimension, code):
        return {"dimension": dimension, "code": code} if dimension in ("DEPT", "PROJ") else None

    def period_open(self, date):
        return date[:7] > "2025-03"

    def next_open_date(self, date):
        return date[:10] if self.period_open(date) else "2025-04-01"

    # Where documents go. The engine's workflow will call this itself; here we do it by hand.
    def post(self, document):
        external_id = f"JE-{len(self.journal) + 1}"
        self.journal[document.get("externalKey", external_id)] = document
        return {"externalId": external_id, "url": f"https://erp.example/{external_id}"}


def main() -> int:
    if len(sys.argv) != 3:
        print(f"usage: {sys.argv[0]} <rule pack folder> <items.jsonl>", file=sys.stderr)
        return 2
    erp = MyErp()
    engine = ledgerbridge.Engine(now="2026-01-15", log=lambda level, message: print(message, file=sys.stderr))
    pack = engine.load_pack(sys.argv[1], directory=erp)
    counts = {"decided": 0, "skipped": 0, "failed": 0, "bad input": 0}
    with open(sys.argv[2], encoding="utf-8") as items:
        for line in items:
            if not line.strip():
                continue
            try:
                outcome = pack.evaluate(line)
            except ledgerbridge.InputError as e:
                print(f"bad input: {e}", file=sys.stderr)
                counts["bad input"] += 1
                continue
            counts[outcome.status] += 1
            if outcome.decided:
                d = outcome.decisions
                lines = ", ".join(f"{'Dr' if line['debit'] else 'Cr'} {line['account']}"
                                  for document in outcome.documents for line in document["lines"])
                print(f"{outcome.accounting_entry_id}  {d['method']:<16} {lines}")
                for document in outcome.documents:
                    erp.post(document)
            elif outcome.failure:
                print(f"{outcome.accounting_entry_id}  failed: {outcome.failure.type}: {outcome.failure.message}")
    print(", ".join(f"{k} {v}" for k, v in counts.items()) + f"; {len(erp.journal)} documents posted")
    return 0


if __name__ == "__main__":
    sys.exit(main())

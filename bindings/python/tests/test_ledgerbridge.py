"""The Python package over libledgerbridge.so, with Debian's python3 unittest.

Run: LEDGERBRIDGE_LIBRARY=build/bindings/c/libledgerbridge.so PYTHONPATH=bindings/python \
     python3 -m unittest discover -s bindings/python/tests
"""
import gc
import json
import os
import shutil
import tempfile
import threading
import unittest
from pathlib import Path

import ledgerbridge as lb

ROOT = Path(os.environ.get("LEDGERBRIDGE_SOURCE_DIR", Path(__file__).resolve().parents[3]))
DEMO = ROOT / "rules" / "demo"
DIRECTORY = ROOT / "examples" / "data" / "directory.yaml"
ITEMS = [line for line in (ROOT / "examples" / "data" / "items.jsonl").read_text().splitlines() if line.strip()]
BAD_ITEM = "3f6a9d02-7c5b-4e81-b2d4-9e0c1a7f5b38"


class DemoErp(lb.Erp):
    """examples/data/directory.yaml as a Python ERP."""

    accounts = {c: {"code": c, "name": n} for c, n in [
        ("1810", "Pleo GBP wallet"), ("1812", "Pleo EUR wallet"), ("5810", "Pleo DKK wallet"),
        ("1900", "Bank clearing"), ("2000", "Accounts payable"), ("2820", "Employee out-of-pocket"), ("2640", "Input VAT"),
        ("2830", "Payroll reimbursements"), ("14400", "Input VAT, reverse charge"),
        ("14500", "Output VAT, reverse charge"), ("6010", "Office supplies"), ("6110", "Software subscriptions"),
        ("6210", "Hardware"), ("7110", "Consulting"), ("7310", "Travel and accommodation"),
        ("8510", "Bank fees and interest")]}
    accounts["1810"]["currency"] = "GBP"
    accounts["1812"]["currency"] = "EUR"
    accounts["5810"]["currency"] = "DKK"
    v1001 = {"code": "V1001", "name": "TestSupplier123", "externalId": "V1001", "taxNumber": "12345",
             "payablesAccount": "2000"}
    taxes = {"S20": {"code": "S20", "name": "Standard 20%", "rate": 0.2, "type": "inclusive", "ingoingTaxAccount": "2640"},
             "RC25": {"code": "RC25", "name": "Reverse charge 25%", "rate": 0.25, "type": "reverse",
                      "ingoingTaxAccount": "14400", "outgoingTaxAccount": "14500"}}
    dims = {("DEPT", "ENG"), ("DEPT", "SALES"), ("DEPT", "OPS"), ("PROJ", "P-2025-07"), ("PROJ", "P-2025-08")}

    def __init__(self):
        self.calls = 0
        self.fail = None
        self.posted = {}

    def account(self, code):
        self.calls += 1
        if code == self.fail:
            raise ConnectionError("ERP is down")
        return self.accounts.get(code)

    def vendor_by_code(self, code):
        return self.v1001 if code == "V1001" else {"code": "V2002", "name": "Old", "blocked": True} if code == "V2002" else None

    def vendor_by_external_id(self, external_id):
        return self.v1001 if external_id == "V1001" else None

    def vendor_by_tax_number(self, tax_number):
        return self.v1001 if tax_number == "12345" else None

    def tax_code(self, code):
        return self.taxes.get(code)

    def dimension_value(self, dimension, code):
        if (dimension.upper(), code.upper()) in self.dims:
            return {"dimension": dimension.upper(), "code": code.upper()}
        return None

    def period_open(self, date):
        return date[:7] not in ("2025-01", "2025-02", "2025-03")

    def next_open_date(self, date):
        return "2025-04-01" if not self.period_open(date) else date[:10]


def evaluate_all(pack):
    out = []
    for item in ITEMS:
        try:
            out.append(pack.evaluate(item).raw)
        except lb.InputError:
            out.append(None)
    return out


class EngineTest(unittest.TestCase):
    def setUp(self):
        self.engine = lb.Engine(now="2026-01-15")

    def tearDown(self):
        self.engine.close()

    def test_version(self):
        self.assertRegex(lb.version(), r"^\d+\.\d+\.\d+$")

    def test_evaluate_demo_items(self):
        pack = self.engine.load_pack(DEMO, directory=DIRECTORY)
        self.assertEqual(pack.name, "demo")
        statuses = []
        for item in ITEMS:
            try:
                statuses.append(pack.evaluate(item).status)
            except lb.InputError as e:
                self.assertIn(BAD_ITEM, str(e))
                self.assertIn("accountingEntryLines[1]", str(e))
                statuses.append("bad")
        self.assertEqual(statuses.count("decided"), 8)
        self.assertEqual(statuses.count("bad"), 1)

        o = pack.evaluate(json.loads(ITEMS[0]), trace=True)  # a dict works too
        self.assertIsInstance(o, lb.Outcome)
        self.assertTrue(o.decided)
        self.assertEqual(o.accounting_entry_id, "59540ed2-0d68-4e36-9e31-58223975d9e9")
        self.assertEqual(o.decisions["direction"], "out")
        self.assertEqual(o.documents[0]["lines"][-1]["account"], "1810")
        self.assertEqual(o.documents[0]["lines"][0]["account"], "6010")
        self.assertIsNone(o.failure)
        self.assertIsInstance(o.documents, list)
        self.assertEqual(o.trace["steps"][0]["hook"], "validate")
        self.assertIsNone(pack.evaluate(ITEMS[0].encode()).trace)
        pack.close()
        pack.close()  # twice is fine
        with self.assertRaises(lb.InvalidArgument):
            pack.evaluate(ITEMS[0])

    def test_errors_map_to_exceptions(self):
        with self.assertRaises(lb.NotFound):
            self.engine.load_pack("/no/such/pack")
        with self.assertRaises(lb.InvalidArgument):
            self.engine.load_pack(DEMO, settings=[1])  # type: ignore[arg-type]
        with self.assertRaises(lb.NotFound):
            self.engine.load_pack(DEMO, directory="/no/such/directory.yaml")
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "pack.toml").write_text('name = "broken"\n')
            Path(tmp, "rules.lua").write_text("local M = {}\nfunction M.account(\nreturn M\n")
            with self.assertRaises(lb.PackError) as caught:
                self.engine.load_pack(tmp)
            self.assertIn("rules.lua:", str(caught.exception))
            Path(tmp, "bad.yaml").write_text("accounts:\n  - {name: no code}\n")
            with self.assertRaises(lb.DirectoryError):
                self.engine.load_pack(DEMO, directory=Path(tmp, "bad.yaml"))
        pack = self.engine.load_pack(DEMO)
        with self.assertRaises(lb.InputError) as caught:
            pack.evaluate("{not json")
        self.assertIn("not valid JSON", caught.exception.message)
        self.assertIsInstance(caught.exception, ValueError)
        self.assertEqual(caught.exception.status, 2)

    def test_rule_error_is_a_failed_outcome(self):
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "pack.toml").write_text(f'name = "raising"\nextends = "{DEMO}"\n')
            Path(tmp, "rules.lua").write_text(
                "local M = {}\nfunction M.account(line, item, ctx)\n  error('no accounts today')\nend\nreturn M\n")
            pack = self.engine.load_pack(tmp, directory=DIRECTORY)
        o = pack.evaluate(ITEMS[0])
        self.assertEqual(o.status, "failed")
        self.assertEqual(o.failure.type, "unexpected_failure")
        self.assertIn("rules.lua:3", o.failure.message)
        self.assertIsNone(o.decisions)

    def test_pack_outside_the_repository_extends_the_shipped_default(self):
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp, "demo")
            shutil.copytree(DEMO, copy)  # extends = "default", which is not beside it here
            outside = evaluate_all(self.engine.load_pack(copy, directory=DIRECTORY))
            Path(tmp, "orphan").mkdir()
            Path(tmp, "orphan", "pack.toml").write_text('extends = "no-such-parent"\n')
            with self.assertRaises(lb.PackError) as caught:
                self.engine.load_pack(Path(tmp, "orphan"))
        self.assertEqual(outside, evaluate_all(self.engine.load_pack(DEMO, directory=DIRECTORY)))
        self.assertIn(f"\n  {ROOT / 'rules' / 'no-such-parent'}", str(caught.exception))

    def test_settings_override(self):
        pack = self.engine.load_pack(DEMO, settings={"accounts": {"out_of_pocket": "2830"}}, directory=DIRECTORY)
        self.assertEqual(pack.evaluate(ITEMS[1]).documents[0]["lines"][-1]["account"], "2830")

    def test_limit_ceiling(self):
        """The operator caps what a pack's [limits] may set; a pack above it does not load."""
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "acme-dk").mkdir()
            Path(tmp, "acme-dk", "pack.toml").write_text(
                f'name = "acme-dk"\nextends = "{DEMO}"\n[limits]\nmemory_mb = 1024\n')
            capped = lb.Engine(now="2026-01-15", max_memory_mb=256, max_hook_cpu_ms=1000)
            with self.assertRaises(lb.PackError) as caught:
                capped.load_pack(Path(tmp, "acme-dk"))
            self.assertEqual(str(caught.exception),
                             "rule pack 'acme-dk' sets [limits] memory_mb = 1024, above this installation's ceiling of 256")
            capped.load_pack(DEMO).close()  # the engine defaults (64 MiB, 100 ms) are under it
            capped.close()
            self.engine.load_pack(Path(tmp, "acme-dk")).close()  # no ceiling: the engine maxima
            cpu = lb.Engine(max_hook_cpu_ms=50)
            with self.assertRaises(lb.PackError) as caught:
                cpu.load_pack(DEMO)
            self.assertIn("hook_cpu_ms and gets the default of 100, above this installation's ceiling of 50",
                          str(caught.exception))
            cpu.close()
        for bad in ({"max_memory_mb": 0}, {"max_memory_mb": 4097}, {"max_hook_cpu_ms": 60001},
                    {"max_hook_cpu_ms": -1}):
            with self.subTest(bad=bad), self.assertRaises(lb.InvalidArgument):
                lb.Engine(**bad)

    def test_log_callback(self):
        messages = []
        engine = lb.Engine(now=1768435200, log=lambda level, m: messages.append((level, m)))
        engine.load_pack(DEMO).close()
        engine.close()
        self.assertEqual(messages[0][0], lb.LogLevel.INFO)
        self.assertIn("rule pack 'demo' loaded", messages[0][1])

        def broken(level, message):
            raise RuntimeError("logger broke")
        engine = lb.Engine(log=broken)
        engine.load_pack(DEMO).close()  # a broken logger breaks nothing
        engine.close()


class ErpTest(unittest.TestCase):
    def setUp(self):
        self.engine = lb.Engine(now="2026-01-15T00:00:00Z")
        self.reference = evaluate_all(self.engine.load_pack(DEMO, directory=DIRECTORY))

    def test_python_erp_decides_like_the_directory_file(self):
        erp = DemoErp()
        pack = self.engine.load_pack(DEMO, directory=erp)
        self.assertEqual(evaluate_all(pack), self.reference)
        self.assertGreater(erp.calls, 0)

    def test_exception_in_callback_fails_the_item_only(self):
        erp = DemoErp()
        erp.fail = "1810"
        pack = self.engine.load_pack(DEMO, directory=erp)
        o = pack.evaluate(ITEMS[0])
        self.assertEqual(o.status, "failed")
        self.assertEqual(o.failure.type, "unexpected_failure")
        self.assertIn("ConnectionError: ERP is down", o.failure.message)
        erp.fail = None
        self.assertEqual(pack.evaluate(ITEMS[0]).raw, self.reference[0])  # asked again, not cached

    def test_bad_answers_fail_the_item(self):
        class Wrong(DemoErp):
            def account(self, code):
                return {"name": "no code"}

        o = self.engine.load_pack(DEMO, directory=Wrong()).evaluate(ITEMS[0])
        self.assertEqual(o.status, "failed")
        self.assertIn('account reply has no "code"', o.failure.message)

        class Unserialisable(DemoErp):
            def account(self, code):
                return {"code": code, "name": object()}

        o = self.engine.load_pack(DEMO, directory=Unserialisable()).evaluate(ITEMS[0])
        self.assertEqual(o.status, "failed")
        self.assertIn("TypeError", o.failure.message)

    def test_default_erp_knows_nothing(self):
        o = self.engine.load_pack(DEMO, directory=lb.Erp()).evaluate(ITEMS[0])
        self.assertEqual(o.status, "failed")

    def test_capabilities_reach_the_library(self):
        class OneFileErp(DemoErp):
            capabilities = {"singleAttachment": True, "maxAttachmentBytes": 1_000_000,
                            "attachmentTypes": ["application/pdf", "image/jpeg"]}

        pack = self.engine.load_pack(DEMO, directory=OneFileErp())
        self.assertEqual(pack.evaluate(ITEMS[0]).raw, self.reference[0])

        class BadErp(DemoErp):
            capabilities = {"singleAttachment": "yes"}

        before = len(lb._live)
        with self.assertRaisesRegex(lb.InvalidArgument, "singleAttachment"):
            self.engine.load_pack(DEMO, directory=BadErp())
        self.assertEqual(len(lb._live), before)  # the refused ERP's binding is released

    def test_callbacks_outlive_python_references(self):
        pack = self.engine.load_pack(DEMO, directory=DemoErp())  # no reference kept to the Erp
        gc.collect()
        self.assertEqual(pack.evaluate(ITEMS[0]).raw, self.reference[0])
        before = len(lb._live)
        pack.close()
        self.assertEqual(len(lb._live), before - 1)  # released with the last pack

    def test_threads_share_a_pack(self):
        erp = DemoErp()
        pack = self.engine.load_pack(DEMO, directory=erp)
        errors = []

        def work():
            try:
                for _ in range(10):
                    if evaluate_all(pack) != self.reference:
                        errors.append("mismatch")
            except Exception as e:  # pragma: no cover
                errors.append(repr(e))

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])


if __name__ == "__main__":
    unittest.main()

"""ledgerbridge.Run / Engine.run: the Pleo workflow against `ledgerbridge sim` with a Python ERP.

Needs LEDGERBRIDGE_CLI (the ledgerbridge binary; CTest sets it), else skipped.
"""
import os
import subprocess
import tempfile
import threading
import unittest
from pathlib import Path

import ledgerbridge as lb

ROOT = Path(os.environ.get("LEDGERBRIDGE_SOURCE_DIR", Path(__file__).resolve().parents[3]))
CLI = os.environ.get("LEDGERBRIDGE_CLI")
ITEMS = 20
TAX = {"S25": 0.25, "S24": 0.24, "S23": 0.23, "S21": 0.21, "S20": 0.2, "S19": 0.19, "S12": 0.12, "S7": 0.07,
       "S6": 0.06, "Z0": 0.0, "RC25": 0.25, "RC20": 0.2, "RC19": 0.19, "RCEU": 0.0}


class MemoryErp(lb.Erp):
    """Every numeric account exists, the simulated world's tax codes, every dimension value;
    documents are kept in memory by external key."""

    def __init__(self):
        self.documents = {}
        self.duplicates = 0
        self.lock = threading.Lock()

    def account(self, code):
        return {"code": code, "name": f"Account {code}"} if code.isdigit() else None

    def tax_code(self, code):
        if code not in TAX:
            return None
        return {"code": code, "name": code, "rate": TAX[code],
                "type": "reverse" if code.startswith("RC") else "exclusive" if code == "Z0" else "inclusive",
                "ingoingTaxAccount": "66010", "outgoingTaxAccount": "66020"}

    def dimension_value(self, dimension, code):
        return {"dimension": dimension, "code": code}

    def post(self, document):
        with self.lock:
            key = document["externalKey"]
            if key in self.documents:
                self.duplicates += 1
            self.documents[key] = document
            n = len(self.documents)
        return {"externalId": f"DOC-{n}", "url": f"https://erp.test/DOC-{n}"}

    def lookup(self, external_key):
        return {"externalId": "DOC-?"} if external_key in self.documents else None

    def upload_attachment(self, posted, attachment, data):
        pass


@unittest.skipUnless(CLI, "LEDGERBRIDGE_CLI is not set")
class RunTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = subprocess.Popen([CLI, "--log-level", "warn", "sim", "--port", "0", "--seed", "1", "--companies", "2",
                                    "--jobs", "1", "--items", str(ITEMS)],
                                   stdout=subprocess.PIPE, text=True)
        # One line per company: "    <id>  DK DKK  key <api key>"; test 2 uses the first, test 3 the second.
        cls.url, companies = None, []
        for line in cls.sim.stdout:
            if line.startswith("simulated Pleo Export API v3 at "):
                cls.url = line.split(" at ", 1)[1].strip()
            parts = line.split()
            if len(parts) == 5 and parts[3] == "key" and len(parts[0]) == 36:
                companies.append((parts[0], parts[4]))
            if "Ctrl-C stops." in line:
                break
        if not (cls.url and len(companies) == 2):
            cls.sim.kill()
            raise RuntimeError("could not start the simulated Pleo")
        (cls.company, _), (cls.other, _) = companies
        cls.tmp = tempfile.TemporaryDirectory()
        cls.config = Path(cls.tmp.name) / "ledgerbridge.toml"
        text = '[ledger]\npath = "ledger.sqlite"\n'
        for i, (company, key) in enumerate(companies):
            os.environ[f"LB_PY_RUN_PLEO_KEY_{i}"] = key
            text += (f'\n[[companies]]\nid = "{company}"\nname = "Simulated {i}"\npleo = "{cls.url}"\n'
                     f'api_key = "env:LB_PY_RUN_PLEO_KEY_{i}"\nrules = "{ROOT / "rules" / "pleo-sim"}"\n'
                     'erp = { kind = "host" }\n')
        cls.config.write_text(text)

    @classmethod
    def tearDownClass(cls):
        cls.sim.terminate()
        cls.sim.wait(10)
        cls.sim.stdout.close()
        cls.tmp.cleanup()

    def test_1_errors(self):
        engine = lb.Engine(now="2026-01-15")
        with self.assertRaises(lb.NotFound):
            engine.run(Path(self.tmp.name) / "missing.toml")
        with self.assertRaises(lb.NotFound):
            engine.run(self.config, company="00000000-0000-0000-0000-000000000000")
        bad = Path(self.tmp.name) / "bad.toml"
        bad.write_text("[[companies]]\nid = 1\n")
        with self.assertRaises(lb.ConfigError):
            engine.run(bad)
        with self.assertRaisesRegex(lb.ConfigError, "ledgerbridge_run_set_erp"):
            engine.run(self.config)  # erp kind "host", but no Erp given
        with self.assertRaises(lb.InvalidArgument):
            engine.run(self.config, erp=MemoryErp())  # an Erp needs its company
        with self.assertRaises(lb.NotFound):
            engine.run(self.config, erp={"nobody": MemoryErp()})

    def test_2_cancel_from_another_thread_then_resume(self):
        logs = []
        engine = lb.Engine(now="2026-01-15", log=lambda level, message: logs.append((level, message)))
        erp = MemoryErp()
        progress = []
        cancelled = []

        def on_progress(company, job, done, total):
            progress.append((company, job, done, total))
            if done == 5 and not cancelled:  # in the first execute only
                cancelled.append(True)
                t = threading.Thread(target=run.cancel)  # cancelled from another thread
                t.start()
                t.join()

        with engine.new_run(self.config, company=self.company, erp=erp, on_progress=on_progress) as run:
            first = run.execute()
            self.assertTrue(first.cancelled)
            [job] = first.jobs
            self.assertIsNone(job.final_event)
            self.assertFalse(job.finished)
            self.assertEqual(job.stopped, "cancelled")
            self.assertEqual(job.successful + job.failed, 5)
            self.assertEqual(progress[-1][2:], (5, ITEMS))
            self.assertEqual(progress[-1][0], self.company)
            self.assertEqual(job.documents_posted, len(erp.documents))
            self.assertTrue(any("stopped: cancelled" in m for _, m in logs))

            progress.clear()
            second = run.execute()
            self.assertFalse(second.cancelled)
            [company] = second.companies
            self.assertIsNone(company.error)
            self.assertTrue(company.started)
            [job2] = company.jobs
            self.assertEqual(job2.id, job.id)
            self.assertIn(job2.final_event, ("completed", "completed_with_errors"))
            self.assertTrue(job2.resumed)
            # The items done before the cancel are reported again (from the ledger, not posted).
            self.assertEqual(progress[-1][2], progress[-1][3])
            self.assertGreaterEqual(progress[-1][3], ITEMS - 5)
            self.assertEqual(job.documents_posted + job2.documents_posted + job2.documents_recovered,
                             len(erp.documents))
            self.assertEqual(erp.duplicates, 0)  # exactly once
            self.assertEqual(sum(job2.failures.values()), job2.failed)

            third = run.execute()  # nothing left
            self.assertEqual(third.jobs, [])

    def test_3_progress_exception_cancels_and_is_raised(self):
        engine = lb.Engine(now="2026-01-15")

        erp = MemoryErp()

        def boom(company, job, done, total):
            raise KeyError("from on_progress")

        # The exception cancels the run (after the first item) and comes out of execute().
        with self.assertRaisesRegex(KeyError, "from on_progress"):
            engine.run(self.config, company=self.other, erp=erp, on_progress=boom)
        self.assertEqual(erp.duplicates, 0)
        # The job was left resumable: a plain run with a dict of ERPs finishes it.
        summary = engine.run(self.config, erp={self.other: erp})
        self.assertEqual(len(summary.companies), 2)
        done = {c.id: c for c in summary.companies}
        # The first company has no Erp this time: it does not start, the other one runs.
        self.assertFalse(done[self.company].started)
        self.assertIn("ledgerbridge_run_set_erp", done[self.company].error)
        [job] = done[self.other].jobs
        self.assertTrue(job.resumed)
        self.assertIn(job.final_event, ("completed", "completed_with_errors"))
        self.assertEqual(erp.duplicates, 0)


if __name__ == "__main__":
    unittest.main()

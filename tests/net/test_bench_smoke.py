"""Smoke test of the `make bench` machinery (no timing is asserted):
scripts/bench's smoke mode (5 messages from our client, against our
server only: instance, client, Maildir watcher, memory sampler, table)."""

import os
import subprocess
import sys
import unittest

import qmtest

sys.path.insert(0, os.path.join(qmtest.ROOT, "tests", "bench"))
import benchlib  # noqa: E402


class TestBenchSmoke(unittest.TestCase):
    def setUp(self):
        qmtest.require(self, "qmailctl", "qmail-start", "qmail-smtpd",
                       "qmail-tcpd")

    def test_bench_script_smoke_mode(self):
        p = subprocess.run([os.path.join(qmtest.ROOT, "scripts", "bench"),
                            "smoke", "--no-postfix"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertNotIn("errors:", p.stdout)
        # the row of our client: every message accepted and delivered,
        # with a delay measured for it (p50 and p99 are numbers)
        rows = [l.split() for l in p.stdout.splitlines()
                if l.split()[1:3] == ["client", "ours"]]
        self.assertEqual(len(rows), 1, p.stdout)
        for field in rows[0][3:7]:
            float(field)

    def test_percentile(self):
        self.assertIsNone(benchlib.percentile([], 50))
        self.assertEqual(benchlib.percentile([3, 1, 2], 50), 2)
        self.assertEqual(benchlib.percentile(list(range(1, 101)), 99), 99)
        self.assertEqual(len(benchlib.make_message("t", "a@b", "c@d")),
                         benchlib.MSG_SIZE)


if __name__ == "__main__":
    unittest.main()

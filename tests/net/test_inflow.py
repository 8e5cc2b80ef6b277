"""Inflow control: when deliveries fall behind, qmail-send sets
queue/lock/inflow (size 1; size 0 is clear) and qmail-queued holds each
reply, once the message is queued, up to control/inflowdelay milliseconds
while the flag is set (qmail-send(8) INFLOW CONTROL, qmail-queued(8)).

Deterministic setup: one local and one remote slot (so the high-water
mark is 2 x 2 = 4 new deliveries, the low-water mark 2), and a user whose
.qmail runs `sleep` before the Maildir, so deliveries are slow.

Run with /usr/bin/python3 -m unittest test_inflow -v (tests/net).
"""

import os
import smtplib
import threading
import time
import unittest

import qmtest

N = 20
SLOW = "0.4"  # seconds each delivery sleeps


class TestInflow(unittest.TestCase):
    def setUp(self):
        qmtest.require(self, "qmail-start", "qmail-queued", "qmail-smtpd",
                       "qmail-send")
        self.q = qmtest.Instance.for_test(self)
        self.q.adduser("demo")
        self.q.set_control("concurrencylocal", "1")
        self.q.set_control("concurrencyremote", "1")
        self.q.set_control("concurrencyperip", "100")
        self.flag = self.q.path("queue", "lock", "inflow")

    def flag_set(self):
        try:
            return os.stat(self.flag).st_size > 0
        except FileNotFoundError:
            return False

    def smtp(self):
        return smtplib.SMTP("127.0.0.1", int(self.q.control("smtpport")),
                            timeout=120)

    def send_concurrently(self, n):
        """n sessions at once, one message each; returns [(subject, t0, t1)]
        with t0/t1 around DATA (the reply waits there), and errors."""
        results, errors, lock = [], [], threading.Lock()
        go = threading.Event()

        def one(i):
            subject = "inflow-%d" % i
            try:
                with self.smtp() as c:
                    c.ehlo()
                    c.mail("a@x.test")
                    c.rcpt("demo@localhost")
                    go.wait(30)
                    t0 = time.monotonic()
                    code, text = c.data("Subject: %s\n\nbody %d\n"
                                        % (subject, i))
                    t1 = time.monotonic()
                    if code != 250:
                        raise AssertionError("DATA: %d %r" % (code, text))
                with lock:
                    results.append((subject, t0, t1))
            except Exception as e:  # reported by the test
                with lock:
                    errors.append("%s: %r" % (subject, e))

        ts = [threading.Thread(target=one, args=(i,), daemon=True)
              for i in range(n)]
        for t in ts:
            t.start()
        time.sleep(0.5)  # let every session reach DATA
        go.set()
        for t in ts:
            t.join(180)
        return results, errors

    def watch_flag(self, stop):
        """Sample the flag every 10 ms until stop is set: [(time, set)]."""
        samples = []

        def run():
            while not stop.is_set():
                samples.append((time.monotonic(), self.flag_set()))
                time.sleep(0.01)
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return samples, t

    def test_backlog_sets_flag_and_slows_replies(self):
        self.q.dotqmail("demo", "", ["|sleep %s" % SLOW, "./Maildir/"])
        self.q.start()
        self.assertFalse(self.flag_set())
        stop = threading.Event()
        samples, watcher = self.watch_flag(stop)
        try:
            results, errors = self.send_concurrently(N)
            self.assertEqual(errors, [])
            self.assertEqual(len(results), N)
            # the backlog drains: every message once, then the flag clears
            msgs = self.q.wait_for_messages("demo", N, timeout=120)
            self.assertTrue(qmtest.wait_until(lambda: not self.flag_set(),
                                              30), self.q.describe())
        finally:
            stop.set()
            watcher.join(5)
        subjects = sorted(m["Subject"] for m in msgs)
        self.assertEqual(subjects, sorted("inflow-%d" % i for i in range(N)))
        time.sleep(1)  # nothing delivered twice afterwards
        self.assertEqual(len(self.q.message_files("demo")), N)
        on = [t for t, s in samples if s]
        self.assertTrue(on, "the flag was never set:\n" + self.q.describe())
        log = self.q.log_text()
        self.assertIn("inflow control on", log)
        self.assertIn("inflow control off", log)
        # some reply was held about inflowdelay (1 s) while the flag was
        # set (the wait is a lower bound: the flag stays up for seconds)
        held = [(t0, t1) for _, t0, t1 in results
                if t1 - t0 >= 0.5 and any(t0 <= t <= t1 for t in on)]
        self.assertTrue(held, "no reply was held: %r" %
                        sorted(round(t1 - t0, 3) for _, t0, t1 in results))

    def held_sends(self, k):
        """With the flag set by hand (qmail-send idle: it writes the flag
        only on crossings), send k messages in one session; seconds taken."""
        with open(self.flag, "r+b") as f:
            f.truncate(1)
        self.assertTrue(self.flag_set())
        t0 = time.monotonic()
        with self.smtp() as c:
            for i in range(k):
                c.sendmail("a@x.test", ["demo@localhost"],
                           "Subject: held-%d\n\nx\n" % i)
        took = time.monotonic() - t0
        self.q.wait_for_messages("demo", k, timeout=30)
        return took

    def test_inflowdelay_holds_reply(self):
        self.q.set_control("inflowdelay", "1500")
        self.q.start()
        # each reply waits the whole inflowdelay: the flag stays set
        self.assertGreaterEqual(self.held_sends(2), 2 * 1.5 - 0.1)

    def test_inflowdelay_zero_disables(self):
        self.q.set_control("inflowdelay", "0")
        self.q.start()
        # with the default (1 s) 10 messages would take 10 s or more
        self.assertLess(self.held_sends(10), 5.0)

    def test_bounces_are_never_held(self):
        """qmail-send's own bounces go through qmail-queued but are never
        held: qmail-send is the one that clears the flag."""
        self.q.set_control("inflowdelay", "60000")
        self.q.start()
        with open(self.flag, "r+b") as f:
            f.truncate(1)
        self.assertTrue(self.flag_set())
        # sendmail runs qmail-queue itself (never held); the bounce for
        # the unknown user comes back through qmail-queued
        r = self.q.sendmail(["-f", "demo@localhost", "nosuchuser@localhost"],
                            b"Subject: bounce me\n\nz\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        # held, it would take the whole minute
        msgs = self.q.wait_for_messages("demo", 1, timeout=20)
        self.assertIn(b"nosuchuser", msgs[0].as_bytes())
        self.assertIn(b"(qmail-queued ", msgs[0].as_bytes())

    def test_stale_flag_cleared_at_start_and_stop(self):
        with open(self.flag, "wb") as f:
            f.write(b"x")
        self.q.start()
        self.assertTrue(qmtest.wait_until(lambda: not self.flag_set(), 10),
                        "stale flag not cleared at start")
        with open(self.flag, "r+b") as f:
            f.truncate(1)
        self.q.stop()
        self.assertFalse(self.flag_set(), "flag left set at exit")


if __name__ == "__main__":
    unittest.main()

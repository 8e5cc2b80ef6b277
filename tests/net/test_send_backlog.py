"""qmail-send with a backlog: thousands of messages queued while it was
stopped, then started.  New mail (announced by the trigger FIFO) goes
ahead of the backlog, every backlog message is delivered exactly once,
and qmail-send's memory does not grow with the backlog
(qmail-send(8), SCHEDULING).

Run with /usr/bin/python3 -m unittest test_send_backlog -v (tests/net).
"""

import os
import re
import threading
import unittest

import qmtest

N = 5000            # backlog size
RSS_LIMIT_KB = 4800  # qmail-send's VmHWM bound: measured 2.8 MB; the old
                     # scheduler, all 5,000 envelopes in memory, 6.6 MB


def status_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s for pid %d" % (field, pid))


class TestBacklog(unittest.TestCase):
    def setUp(self):
        qmtest.require(self, "qmail-start", "qmail-queue", "qmail-qstat")
        self.q = qmtest.Instance.for_test(self)
        self.q.adduser("demo")
        self.q.adduser("alice")
        # fewer slots: the drain takes long enough to inject during it
        self.q.set_control("concurrencylocal", "4")

    def queue_backlog(self, n, threads=4):
        errors, lock, nxt = [], threading.Lock(), [0]

        def run():
            while True:
                with lock:
                    if nxt[0] >= n or errors:
                        return
                    i = nxt[0]
                    nxt[0] += 1
                p = self.q.queue([], b"Subject: b-%d\n\nbacklog %d\n" % (i, i),
                                 b"Fsender@example.test\0Tdemo@localhost\0\0")
                if p.returncode != 0:
                    with lock:
                        errors.append(p.stderr)
        ts = [threading.Thread(target=run, daemon=True)
              for _ in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(600)
        self.assertEqual(errors, [])

    def send_pid(self):
        with open(self.q.path("run", "qmail-send.pid")) as f:
            pid = int(f.read().strip())
        with open("/proc/%d/comm" % pid) as f:
            self.assertEqual(f.read().strip(), "qmail-send")
        return pid

    def successes(self):
        """Recipients of the successful deliveries, in log order."""
        return re.findall(r"delivery \d+: msg \S+ to <([^>]*)>: success",
                          self.q.log_text())

    def test_new_mail_first_exactly_once_bounded_memory(self):
        self.queue_backlog(N)
        self.q.start()
        pid = self.send_pid()
        # the drain has begun: a new message arrives by the trigger
        self.assertTrue(qmtest.wait_until(
            lambda: len(self.q.message_files("demo")) >= N // 50, 120),
            self.q.describe())
        p = self.q.queue([], b"Subject: probe\n\nnew\n",
                         b"Fsender@example.test\0Talice@localhost\0\0")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.q.wait_for_messages("alice", 1, timeout=120)
        self.assertTrue(qmtest.wait_until(
            lambda: len(self.q.message_files("demo")) >= N, 600),
            self.q.describe())
        hwm = status_kb(pid, "VmHWM")
        # ordering, not time: the probe went out before most of the
        # backlog (the old scheduler delivered it after all of it)
        order = self.successes()
        self.assertIn("alice@localhost", order)
        ahead = order.index("alice@localhost")
        self.assertLess(ahead, N // 2,
                        "%d backlog deliveries before the new message"
                        % ahead)
        # every backlog message exactly once
        counts = {}
        for path in self.q.message_files("demo"):
            with open(path, "rb") as f:
                m = re.search(rb"^Subject: (b-\d+)$", f.read(), re.M)
            self.assertIsNotNone(m, path)
            counts[m.group(1)] = counts.get(m.group(1), 0) + 1
        self.assertEqual(len(counts), N)
        self.assertEqual(set(counts.values()), {1})
        self.assertTrue(qmtest.wait_until(
            lambda: "messages in queue: 0" in qmtest_qstat(self.q), 60),
            self.q.describe())
        # memory: the envelopes were not all loaded at once
        self.assertLess(hwm, RSS_LIMIT_KB,
                        "qmail-send VmHWM %d kB with a backlog of %d"
                        % (hwm, N))

    def test_scan_and_trigger_schedule_a_message_once(self):
        # messages queued while stopped are found by the scan (more than
        # one window, so the pass is still under way); more arrive by the
        # trigger meanwhile, in buckets the pass has yet to read: each is
        # loaded and delivered once
        self.queue_backlog(1500)
        self.q.start()
        for i in range(50):
            p = self.q.queue([], b"Subject: t-%d\n\nx\n" % i,
                             b"Fsender@example.test\0Tdemo@localhost\0\0")
            self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(qmtest.wait_until(
            lambda: "messages in queue: 0" in qmtest_qstat(self.q), 120),
            self.q.describe())
        subjects = []
        for path in self.q.message_files("demo"):
            with open(path, "rb") as f:
                m = re.search(rb"^Subject: (\S+)$", f.read(), re.M)
            subjects.append(m.group(1))
        self.assertEqual(len(subjects), 1550)
        self.assertEqual(len(set(subjects)), 1550)
        self.assertEqual(self.q.log_text().count("new msg "), 1550)


def qmtest_qstat(inst):
    import subprocess
    p = subprocess.run([qmtest.bin_path("qmail-qstat")], env=inst.env(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    return p.stdout


if __name__ == "__main__":
    unittest.main()

"""qmail-send and qmail-lspawn under the conditions a review found wanting:
queue lifetime running out, SIGHUP, a flood of huge failing recipients,
and (as root) mailboxes that must never be written as root."""

import os
import re
import signal
import subprocess
import time
import unittest

import qmtest


def qstat(inst):
    p = subprocess.run([qmtest.bin_path("qmail-qstat")], env=inst.env(),
                       stdout=subprocess.PIPE, text=True)
    out = {}
    for line in p.stdout.splitlines():
        k, _, v = line.partition(": ")
        out[k] = int(v)
    return out


def send_pid(inst):
    with open(inst.path("run", "qmail-send.pid")) as f:
        return int(f.read())


class Base(unittest.TestCase):
    CONTROL = {}

    def setUp(self):
        qmtest.require(self, "qmail-start", "sendmail", "qmail-qstat")
        self.q = qmtest.Instance.for_test(self)
        for u in ("demo", "alice"):
            self.q.adduser(u)
        for k, v in self.CONTROL.items():
            self.q.set_control(k, v)
        self.q.start()

    def empty(self, timeout=20):
        self.assertTrue(qmtest.wait_until(
            lambda: qstat(self.q)["messages in queue"] == 0, timeout),
            self.q.describe())


class TestLifetime(Base):
    CONTROL = {"queuelifetime": "0"}

    def test_temporary_failure_past_lifetime_bounces(self):
        # demo's Maildir is broken: every try fails temporarily; with a
        # lifetime of 0 the first failure is final and bounces to alice
        os.rename(self.q.path("mail", "demo", "Maildir", "tmp"),
                  self.q.path("mail", "demo", "Maildir", "tmp.away"))
        for i in range(3):
            p = self.q.sendmail(["-f", "alice@localhost", "demo@localhost"],
                                b"Subject: expire %d\n\nx\n" % i)
            self.assertEqual(p.returncode, 0, p.stderr)
        bounces = self.q.wait_for_messages("alice", 3)
        for b in bounces:
            self.assertEqual(b.get_content_type(), "multipart/report")
            self.assertIn(b"Status: 5.4.7", b.as_bytes())
        self.empty()
        # qmail-send is still alive and well
        self.assertEqual(self.q.status().returncode, 0, self.q.describe())
        self.assertNotIn("fatal", self.q.log_text())


class TestSighup(Base):
    CONTROL = {"locals": ["localhost", "example.test"]}

    def test_hup_rereads_control_files(self):
        self.q.set_control("locals", ["localhost", "example.test",
                                      "other.test"])
        os.kill(send_pid(self.q), signal.SIGHUP)
        qmtest.wait_until(lambda: "control files reread" in
                          self.q.log_text(), 5)
        for dom in ("example.test", "other.test", "localhost"):
            p = self.q.sendmail(["demo@" + dom], b"Subject: %s\n\nx\n" %
                                dom.encode())
            self.assertEqual(p.returncode, 0, p.stderr)
        self.q.wait_for_messages("demo", 3)
        self.empty()
        self.assertNotIn("remote delivery is not available",
                         self.q.log_text())


class TestFlood(Base):
    CONTROL = {"concurrencylocal": "300"}

    def test_many_long_failing_recipients_do_not_deadlock(self):
        # 300 unknown recipients of 800 bytes each, all failing at once
        # inside qmail-lspawn, with a long sender: the replies outgrow the
        # pipe while qmail-send still writes requests.
        sender = b"s" * 880 + b"@localhost"
        env = b"F" + sender + b"\0" + b"".join(
            b"T" + (b"u%03d" % i) + b"x" * 796 + b"@localhost\0"
            for i in range(300)) + b"\0"
        p = self.q.queue([], b"Subject: flood\n\nx\n", env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.empty(30)
        log = self.q.log_text()
        self.assertEqual(len(re.findall(
            r"to <u\d{3}x+@localhost>: failure: no mailbox here", log)), 300)
        # and it still delivers
        p = self.q.sendmail(["demo@localhost"], b"Subject: after\n\nx\n")
        self.q.wait_for_messages("demo", 1)


@unittest.skipUnless(os.geteuid() == 0, "needs root (chattr)")
class TestFlushWithFailingBounce(Base):
    """A bounce that cannot be queued is retried later; a flush (SIGALRM)
    tries it once, and the scheduler stays responsive."""

    def test_flush_does_not_spin(self):
        tmp = self.q.path("queue", "tmp")
        if subprocess.run(["chattr", "+i", tmp],
                          stderr=subprocess.DEVNULL).returncode != 0:
            self.skipTest("chattr +i not supported here")
        self.addCleanup(subprocess.run, ["chattr", "-i", tmp])
        # the message itself must go in before tmp/ is locked, and its
        # bounce after: queue it with the delivery side stopped (sendmail
        # runs qmail-queue itself), lock tmp/, then start delivering
        subprocess.run(["chattr", "-i", tmp])
        self.q.stop()
        p = self.q.sendmail(["-f", "alice@localhost", "nobody@localhost"],
                            b"Subject: no bounce yet\n\nx\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        subprocess.run(["chattr", "+i", tmp])
        self.q.start()
        self.assertTrue(qmtest.wait_until(
            lambda: "unable to queue bounce" in self.q.log_text(), 10),
            self.q.describe())
        for _ in range(3):
            os.kill(send_pid(self.q), signal.SIGALRM)
            time.sleep(0.3)
        fails = self.q.log_text().count("unable to queue bounce")
        self.assertLessEqual(fails, 5, "the flush spins on a failing bounce")
        # still responsive: new mail is delivered
        subprocess.run(["chattr", "-i", tmp])
        p = self.q.sendmail(["demo@localhost"], b"Subject: alive\n\nx\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.q.wait_for_messages("demo", 1)
        # and the bounce goes out at the next flush
        self.q.flush()
        self.q.wait_for_messages("alice", 1)


class TestTimeoutLocal(Base):
    CONTROL = {"timeoutlocal": "2"}

    def test_hung_program_is_killed_and_retried(self):
        self.q.dotqmail("demo", "", "|sleep 60")
        p = self.q.sendmail(["demo@localhost"], b"Subject: hang\n\nx\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(qmtest.wait_until(
            lambda: "took longer than 2 seconds" in self.q.log_text(), 15),
            self.q.describe())
        # the program and its shell are gone
        self.assertFalse(qmtest.wait_until(lambda: subprocess.run(
            ["pgrep", "-f", "sleep 60"], stdout=subprocess.PIPE).stdout, 2))
        # fixed: delivered on the next try
        self.q.dotqmail("demo", "", "./Maildir/")
        self.q.flush()
        self.q.wait_for_messages("demo", 1)
        self.empty()

    def test_background_program_does_not_hold_the_slot(self):
        # the program leaves a child behind that keeps its output open
        self.q.dotqmail("demo", "", ["|sleep 30 &", "./Maildir/"])
        p = self.q.sendmail(["demo@localhost"], b"Subject: bg\n\nx\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.q.wait_for_messages("demo", 1)
        self.empty(15)
        subprocess.run(["pkill", "-f", "sleep 30"])


@unittest.skipUnless(os.geteuid() == 0, "needs root")
class TestNeverAsRoot(Base):
    def test_mailbox_owner_and_refusal(self):
        home = self.q.path("mail", "demo")
        st = os.stat(home)
        self.assertNotEqual(st.st_uid, 0, "adduser as root left it to root")
        p = self.q.sendmail(["demo@localhost"], b"Subject: one\n\nx\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        msgs = self.q.wait_for_messages("demo", 1)
        files = self.q.message_files("demo")
        self.assertEqual(os.stat(files[0]).st_uid, st.st_uid)
        # a home owned by root is refused, temporarily
        os.chown(home, 0, 0)
        p = self.q.sendmail(["demo@localhost"], b"Subject: two\n\nx\n")
        self.assertTrue(qmtest.wait_until(
            lambda: "refusing to deliver as root" in self.q.log_text(), 10),
            self.q.describe())
        self.assertEqual(len(self.q.message_files("demo")), 1)
        self.assertEqual(qstat(self.q)["messages in queue"], 1)
        os.chown(home, st.st_uid, st.st_gid)
        self.q.flush()
        self.q.wait_for_messages("demo", 2)


if __name__ == "__main__":
    unittest.main()

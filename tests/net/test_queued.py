"""qmail-queued: the queue writer behind queue/sock/queued (qmail-queued(8)).

Programs that would run our own bin/qmail-queue (qmail-smtpd, sendmail,
qmail-send's bounces, qmail-local's forwards) pass two pipes to the daemon
instead; its child writes the message exactly as qmail-queue does and
answers with one byte, qmail-queue's exit code.  What went through the
daemon is recognised by its Received line, "(qmail-queued PID invoked by
uid N)", where qmail-queue writes "(qmail-queue PID ...)".

Run with /usr/bin/python3 -m unittest test_queued -v (tests/net).
"""

import os
import signal
import smtplib
import socket
import time
import unittest

import qmtest


def procs(name, cwd_prefix):
    """(pid, ppid) of processes called name whose cwd is under cwd_prefix."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % pid) as f:
                if f.read().strip() != name:
                    continue
            if not os.readlink("/proc/%s/cwd" % pid).startswith(cwd_prefix):
                continue
            with open("/proc/%s/stat" % pid) as f:
                stat = f.read()
            state = stat.rsplit(")", 1)[1].split()
            if state[0] == "Z":
                continue
            out.append((int(pid), int(state[1])))
        except (OSError, IndexError, ValueError):
            pass
    return out


def first_received(raw):
    """The first Received line of a delivered message (unfolded)."""
    for line in raw.replace(b"\n ", b" ").split(b"\n"):
        if line.startswith(b"Received: "):
            return line
    return b""


class QueuedBase(unittest.TestCase):
    def setUp(self):
        qmtest.require(self, "qmail-start", "qmail-queued", "qmail-queue",
                       "sendmail", "qmail-smtpd")
        self.q = qmtest.Instance.for_test(self)
        self.q.adduser("demo", password="pw")
        self.configure()
        self.q.start()
        self.assertTrue(qmtest.wait_until(
            lambda: os.path.exists(self.sock), 10), self.q.describe())

    def configure(self):
        pass

    @property
    def sock(self):
        return self.q.path("queue", "sock", "queued")

    def daemon(self):
        """The pid of the listening qmail-queued (not one of its children)."""
        ps = procs("qmail-queued", self.q.dir)
        pids = {p for p, _ in ps}
        parents = [p for p, pp in ps if pp not in pids]
        return parents[0] if parents else None

    def children(self):
        d = self.daemon()
        return [p for p, pp in procs("qmail-queued", self.q.dir) if pp == d]

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(s.close)
        s.settimeout(30)
        s.connect(self.sock)
        return s

    def pipes(self):
        """Two pipes (message, envelope): read ends to send, write ends."""
        mr, mw = os.pipe()
        er, ew = os.pipe()
        for fd in (mw, ew):
            self.addCleanup(self.close_quietly, fd)
        return mr, mw, er, ew

    @staticmethod
    def close_quietly(fd):
        try:
            os.close(fd)
        except OSError:
            pass

    def hand_over(self, s):
        """Connect-side protocol up to the handover; returns the write
        ends (message, envelope)."""
        mr, mw, er, ew = self.pipes()
        socket.send_fds(s, [b"Q"], [mr, er])
        os.close(mr)
        os.close(er)
        return mw, ew

    def queue_files(self):
        out = []
        for d, _, files in os.walk(self.q.path("queue", "mess")):
            out.extend(os.path.join(d, f) for f in files)
        return out

    def tmp_files(self):
        return os.listdir(self.q.path("queue", "tmp"))

    def log(self):
        return self.q.log_text("qmail-send")

    def assert_closed(self, s):
        """The daemon closed the connection without answering (an RST when
        unread bytes were left is a close too)."""
        try:
            self.assertEqual(s.recv(10), b"")
        except ConnectionResetError:
            pass

    def wait_log(self, text, timeout=10):
        ok = qmtest.wait_until(lambda: text in self.log(), timeout)
        self.assertTrue(ok, "%r not logged:\n%s" % (text, self.log()[-3000:]))


class TestQueuedPaths(QueuedBase):
    """Every way mail enters the queue goes through the daemon."""

    def test_sendmail_smtp_and_bounce_use_the_daemon(self):
        r = self.q.sendmail(["demo@localhost"], b"Subject: via sendmail\n\nx\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        with smtplib.SMTP("127.0.0.1", int(self.q.control("smtpport")),
                          timeout=30) as c:
            c.sendmail("a@x.test", ["demo@localhost"],
                       "Subject: via smtp\n\ny\n")
        # a bounce, written by qmail-send (sandboxed) for demo
        r = self.q.sendmail(["-f", "demo@localhost", "nosuchuser@localhost"],
                            b"Subject: bounce me\n\nz\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        msgs = self.q.wait_for_messages("demo", 3, timeout=30)
        seen = {}
        for m in msgs:
            raw = m.as_bytes()
            seen[m["Subject"]] = first_received(raw)
        self.assertEqual(len(seen), 3, seen)
        for subject, line in seen.items():
            self.assertRegex(line, rb"^Received: \(qmail-queued \d+ invoked "
                             rb"by uid \d+\); ", subject)
        # the caller's uid is the kernel's: sendmail ran as us
        self.assertIn(b"invoked by uid %d)" % os.getuid(),
                      seen["via sendmail"])

    def test_result_codes_are_qmail_queue_s(self):
        s = self.connect()
        mw, ew = self.hand_over(s)
        os.write(mw, b"Subject: direct\n\nhello\n")
        os.close(mw)
        os.write(ew, b"Fme@x.test\0Tdemo@localhost\0\0")
        os.close(ew)
        self.assertEqual(s.recv(2), bytes([0]))
        msgs = self.q.wait_for_messages("demo", 1)
        self.assertIn(b"hello", msgs[0].as_bytes())
        self.assertIn(b"invoked by uid %d)" % os.getuid(),
                      first_received(msgs[0].as_bytes()))
        # a bad envelope: 91, like qmail-queue, and nothing queued
        s = self.connect()
        mw, ew = self.hand_over(s)
        os.write(mw, b"Subject: bad\n\nx\n")
        os.close(mw)
        os.write(ew, b"Xme@x.test\0\0")
        os.close(ew)
        self.assertEqual(s.recv(2), bytes([91]))
        # an address over 1000 bytes: 11
        s = self.connect()
        mw, ew = self.hand_over(s)
        os.close(mw)
        os.write(ew, b"F" + b"a" * 1001 + b"\0\0")
        os.close(ew)
        self.assertEqual(s.recv(2), bytes([11]))
        time.sleep(0.5)
        self.assertEqual(self.tmp_files(), [])
        self.assertEqual(len(self.q.message_files("demo")), 1)


class TestQueuedHostile(QueuedBase):
    def test_vanished_client_queues_nothing(self):
        s = self.connect()
        mw, ew = self.hand_over(s)
        os.write(mw, b"Subject: half\n\nfirst half\n")
        time.sleep(0.2)
        # the client dies: every descriptor it had is closed
        os.close(mw)
        os.close(ew)
        s.close()
        self.wait_log("envelope ends early")
        self.assertTrue(qmtest.wait_until(lambda: not self.children(), 10))
        self.assertEqual(self.tmp_files(), [])
        self.assertEqual(self.queue_files(), [])

    def test_abandoned_envelope_queues_nothing(self):
        # message complete, envelope cut in the middle of a recipient
        s = self.connect()
        mw, ew = self.hand_over(s)
        os.write(mw, b"Subject: cut\n\nbody\n")
        os.close(mw)
        os.write(ew, b"Fme@x.test\0Tdemo@loc")
        os.close(ew)
        self.assertEqual(s.recv(2), bytes([91]))
        self.assertEqual(self.tmp_files(), [])
        self.assertEqual(self.queue_files(), [])

    def test_garbage_and_missing_fds_are_closed(self):
        d = self.daemon()
        # bytes, no descriptors
        s = self.connect()
        s.sendall(b"HELO garbage\r\n" * 10)
        self.assert_closed(s)
        # three descriptors
        s = self.connect()
        fds = [os.open("/dev/null", os.O_RDONLY) for _ in range(3)]
        socket.send_fds(s, [b"Q"], fds)
        for fd in fds:
            os.close(fd)
        self.assert_closed(s)
        # a directory is not a message
        s = self.connect()
        dfd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
        r, w = os.pipe()
        socket.send_fds(s, [b"Q"], [dfd, r])
        for fd in (dfd, r, w):
            os.close(fd)
        self.assert_closed(s)
        # the right descriptors with the wrong byte
        s = self.connect()
        mr, mw, er, ew = self.pipes()
        socket.send_fds(s, [b"X"], [mr, er])
        os.close(mr)
        os.close(er)
        self.assert_closed(s)
        # connect and leave
        self.connect().close()
        self.wait_log("protocol error")
        self.assertEqual(self.daemon(), d)
        self.assertEqual(self.queue_files(), [])
        r = self.q.sendmail(["demo@localhost"], b"Subject: still\n\nok\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.q.wait_for_messages("demo", 1)

    def test_daemon_survives_sigkill_of_a_child(self):
        d = self.daemon()
        s = self.connect()
        mw, ew = self.hand_over(s)
        os.write(mw, b"Subject: killed\n\npartial\n")
        self.assertTrue(qmtest.wait_until(lambda: self.children(), 10))
        for pid in self.children():
            os.kill(pid, signal.SIGKILL)
        # the client hears nothing but end of file: a temporary failure
        self.assertEqual(s.recv(10), b"")
        self.wait_log("killed by signal 9")
        self.assertEqual(self.daemon(), d)
        self.assertEqual(self.queue_files(), [])
        r = self.q.sendmail(["demo@localhost"], b"Subject: after\n\nok\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        msgs = self.q.wait_for_messages("demo", 1)
        self.assertEqual(msgs[0]["Subject"], "after")
        self.assertIn(b"(qmail-queued ", first_received(msgs[0].as_bytes()))


class TestQueuedTimeout(QueuedBase):
    def configure(self):
        self.q.set_control("timeoutqueue", "2")

    def test_stalled_client_times_out(self):
        s = self.connect()
        mw, ew = self.hand_over(s)
        os.write(mw, b"Subject: slow\n\n")
        self.assertEqual(s.recv(10), bytes([52]))
        self.assertEqual(self.tmp_files(), [])
        self.assertEqual(self.queue_files(), [])


class TestQueuedLife(QueuedBase):
    def test_exits_with_qmail_send(self):
        d = self.daemon()
        self.assertIsNotNone(d)
        self.q.stop()
        self.assertTrue(qmtest.wait_until(
            lambda: self.daemon() is None, 10), procs("qmail-queued",
                                                      self.q.dir))
        self.assertFalse(os.path.exists(self.sock))
        # nothing listens: sendmail runs qmail-queue itself
        r = self.q.sendmail(["demo@localhost"], b"Subject: stopped\n\nx\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        files = self.queue_files()
        self.assertEqual(len(files), 1)
        with open(files[0], "rb") as f:
            self.assertIn(b"\nReceived: (qmail-queue ", f.read())
        # a stale socket left behind is replaced at the next start
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.sock)
        s.close()
        self.q.start()
        msgs = self.q.wait_for_messages("demo", 1, timeout=30)
        self.assertEqual(msgs[0]["Subject"], "stopped")
        r = self.q.sendmail(["demo@localhost"], b"Subject: again\n\nx\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        msgs = self.q.wait_for_messages("demo", 2)
        again = [m for m in msgs if m["Subject"] == "again"][0]
        self.assertIn(b"(qmail-queued ", first_received(again.as_bytes()))

    def test_fallback_to_exec_without_the_socket(self):
        os.unlink(self.sock)
        r = self.q.sendmail(["demo@localhost"], b"Subject: exec\n\nx\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        with smtplib.SMTP("127.0.0.1", int(self.q.control("smtpport")),
                          timeout=30) as c:
            c.sendmail("a@x.test", ["demo@localhost"],
                       "Subject: exec smtp\n\ny\n")
        msgs = self.q.wait_for_messages("demo", 2)
        for m in msgs:
            self.assertIn(b"(qmail-queue ", first_received(m.as_bytes()))

    def test_second_daemon_refuses_to_steal_the_socket(self):
        import subprocess
        r = subprocess.run([qmtest.bin_path("qmail-queued")],
                           stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           env=self.q.env(), timeout=30)
        self.assertEqual(r.returncode, 111)
        self.assertIn(b"another qmail-queued", r.stderr)
        r = self.q.sendmail(["demo@localhost"], b"Subject: one\n\nx\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        msgs = self.q.wait_for_messages("demo", 1)
        self.assertIn(b"(qmail-queued ", first_received(msgs[0].as_bytes()))


if __name__ == "__main__":
    unittest.main()

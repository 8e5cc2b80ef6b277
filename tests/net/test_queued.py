"""qmail-queued: the queue writer behind queue/sock/queued (qmail-queued(8)).

Programs that would run our own bin/qmail-queue (qmail-smtpd, sendmail,
qmail-send's bounces, qmail-local's forwards) pass two pipes to the daemon
instead; its child writes the message exactly as qmail-queue does and
answers with qmail-queue's exit code (one byte) and its own pid (4 bytes).
What went through the daemon is recognised by its Received line,
"(qmail-queued CHILDPID invoked by uid N)", where qmail-queue writes
"(qmail-queue PID ...)".

Run with /usr/bin/python3 -m unittest test_queued -v (tests/net).
"""

import os
import re
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

    @staticmethod
    def reply(s):
        """The child's answer: (exit code, its pid) -- one byte, then the
        pid in 4 bytes, big-endian; (None, None) when it closed first."""
        data = b""
        try:
            while len(data) < 5:
                b = s.recv(5 - len(data))
                if not b:
                    break
                data += b
        except ConnectionResetError:
            pass
        if not data:
            return None, None
        pid = int.from_bytes(data[1:5], "big") if len(data) == 5 else None
        return data[0], pid

    def wait_log(self, text, timeout=10):
        ok = qmtest.wait_until(lambda: text in self.log(), timeout)
        self.assertTrue(ok, "%r not logged:\n%s" % (text, self.log()[-3000:]))


def smtp_submit(q, subject, body="x"):
    """One message to demo over SMTP (qmail-smtpd queues through the
    daemon; sendmail has no deadline and runs qmail-queue itself)."""
    with smtplib.SMTP("127.0.0.1", int(q.control("smtpport")),
                      timeout=30) as c:
        c.sendmail("a@x.test", ["demo@localhost"],
                   "Subject: %s\n\n%s\n" % (subject, body))


class TestQueuedPaths(QueuedBase):
    """The servers and qmail-send queue through the daemon; sendmail and
    qmail-inject, which have no deadline (a slow pipe may feed them for
    hours), run qmail-queue themselves."""

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
            prog = rb"qmail-queue" if subject == "via sendmail" else \
                rb"qmail-queued"
            self.assertRegex(line, rb"^Received: \(" + prog +
                             rb" \d+ invoked by uid \d+\); ", subject)
        # sendmail ran as us
        self.assertIn(b"invoked by uid %d)" % os.getuid(),
                      seen["via sendmail"])

    def test_result_codes_are_qmail_queue_s(self):
        s = self.connect()
        mw, ew = self.hand_over(s)
        os.write(mw, b"Subject: direct\n\nhello\n")
        os.close(mw)
        os.write(ew, b"Fme@x.test\0Tdemo@localhost\0\0")
        os.close(ew)
        self.assertEqual(self.reply(s)[0], 0)
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
        self.assertEqual(self.reply(s)[0], 91)
        # an address over 1000 bytes: 11
        s = self.connect()
        mw, ew = self.hand_over(s)
        os.close(mw)
        os.write(ew, b"F" + b"a" * 1001 + b"\0\0")
        os.close(ew)
        self.assertEqual(self.reply(s)[0], 11)
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
        self.assertEqual(self.reply(s)[0], 91)
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
        smtp_submit(self.q, "after", "ok")
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
        self.assertEqual(self.reply(s)[0], 52)
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
        smtp_submit(self.q, "again")
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
        smtp_submit(self.q, "one")
        msgs = self.q.wait_for_messages("demo", 1)
        self.assertIn(b"(qmail-queued ", first_received(msgs[0].as_bytes()))


def proc_status(pid):
    """/proc/PID/status as {field: value}."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


class TestQueuedSandbox(QueuedBase):
    def test_child_is_sandboxed_before_reading(self):
        # a child waiting for its hello, then one waiting on a slow message
        idle = self.connect()
        self.assertTrue(qmtest.wait_until(lambda: self.children(), 10))
        for pid in self.children():
            st = proc_status(pid)
            self.assertEqual(st["NoNewPrivs"], "1", st)
            self.assertEqual(st["Seccomp"], "2", st)
        idle.close()
        self.assertTrue(qmtest.wait_until(lambda: not self.children(), 10))
        s = self.connect()
        mw, ew = self.hand_over(s)
        os.write(mw, b"Subject: slow\n\n")
        self.assertTrue(qmtest.wait_until(lambda: self.children(), 10))
        kids = self.children()
        self.assertEqual(len(kids), 1)
        st = proc_status(kids[0])
        self.assertEqual(st["NoNewPrivs"], "1", st)
        self.assertEqual(st["Seccomp"], "2", st)
        # and it still queues (the profile lets it do its work)
        os.write(mw, b"body\n")
        os.close(mw)
        os.write(ew, b"Fme@x.test\0Tdemo@localhost\0\0")
        os.close(ew)
        code, pid = self.reply(s)
        self.assertEqual(code, 0)
        self.assertEqual(pid, kids[0])
        msgs = self.q.wait_for_messages("demo", 1)
        self.assertIn(b"(qmail-queued %d invoked by uid %d)" % (pid, os.getuid()),
                      first_received(msgs[0].as_bytes()))
        self.assertNotIn("killed by signal", self.log())


class TestQueuedQp(QueuedBase):
    def test_each_message_has_its_own_qp_in_the_received_line(self):
        qps = []
        with smtplib.SMTP("127.0.0.1", int(self.q.control("smtpport")),
                          timeout=30) as c:
            c.ehlo()
            for n in (1, 2):
                self.assertEqual(c.mail("a@x.test")[0], 250)
                self.assertEqual(c.rcpt("demo@localhost")[0], 250)
                code, text = c.data(b"Subject: m%d\r\n\r\nx\r\n" % n)
                self.assertEqual(code, 250, text)
                m = re.search(rb" qp (\d+)", text)
                self.assertIsNotNone(m, text)
                qps.append(int(m.group(1)))
        self.assertNotEqual(qps[0], qps[1])
        msgs = self.q.wait_for_messages("demo", 2)
        by_subject = {m["Subject"]: first_received(m.as_bytes()) for m in msgs}
        for n, qp in zip((1, 2), qps):
            self.assertIn(b"(qmail-queued %d invoked by uid " % qp,
                          by_subject["m%d" % n])
        # the log names the same qp
        for qp in qps:
            self.assertTrue(qmtest.wait_until(
                lambda: "qp %d" % qp in self.q.log_text("smtpd"), 10),
                self.q.log_text("smtpd")[-2000:])


STRANGER = 4242  # an ordinary uid: no account, not one of the mail system's


class TestQueuedPerUid(QueuedBase):
    def configure(self):
        self.q.set_control("queuedperuid", "2")

    def stranger_connect(self):
        """A connection made by uid STRANGER (SO_PEERCRED says so), held
        here."""
        a, b = socket.socketpair()
        self.addCleanup(a.close)
        pid = os.fork()
        if pid == 0:
            try:
                b.close()
                os.setgroups([])
                os.setresgid(STRANGER, STRANGER, STRANGER)
                os.setresuid(STRANGER, STRANGER, STRANGER)
                c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                c.connect(self.sock)
                socket.send_fds(a, [b"s"], [c.fileno()])
                os._exit(0)
            except BaseException:
                os._exit(1)
        a.close()
        try:
            b.settimeout(30)
            _, fds, _, _ = socket.recv_fds(b, 1, 1)
        finally:
            _, status = os.waitpid(pid, 0)
            b.close()
        self.assertEqual(status, 0)
        s = socket.socket(fileno=fds[0])
        self.addCleanup(s.close)
        s.settimeout(30)
        return s

    def test_one_uid_cannot_take_every_slot(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to connect as another uid")
        # let the stranger reach queue/sock/queued
        d = self.q.path("queue", "sock")
        while True:
            st = os.stat(d)
            os.chmod(d, st.st_mode | 0o001)
            if os.path.samefile(d, self.q.tmp) or d == "/":
                break
            d = os.path.dirname(d)
        held = []
        for _ in range(2):
            s = self.stranger_connect()
            held.append((s, self.hand_over(s)))
        self.assertTrue(qmtest.wait_until(
            lambda: len(self.children()) == 2, 10), self.children())
        # the third is refused at once, temporarily (71; or closed before
        # the client's hello went out, when a client runs qmail-queue
        # itself), and nothing is queued
        s = self.stranger_connect()
        try:
            self.hand_over(s)
        except (BrokenPipeError, ConnectionResetError):
            pass
        else:
            self.assertEqual(self.reply(s)[0], 71)
        self.wait_log("uid %d pid " % STRANGER)
        self.wait_log("control/queuedperuid")
        self.assertEqual(len(self.children()), 2)
        # everybody else still queues, through the daemon
        smtp_submit(self.q, "others", "ok")
        msgs = self.q.wait_for_messages("demo", 1)
        self.assertIn(b"(qmail-queued ", first_received(msgs[0].as_bytes()))
        # the held ones finish normally; then the stranger may queue again
        for s, (mw, ew) in held:
            os.write(mw, b"Subject: held\n\nx\n")
            os.close(mw)
            os.write(ew, b"Fme@x.test\0Tdemo@localhost\0\0")
            os.close(ew)
            self.assertEqual(self.reply(s)[0], 0)
        self.assertTrue(qmtest.wait_until(lambda: not self.children(), 10))
        s = self.stranger_connect()
        mw, ew = self.hand_over(s)
        os.close(mw)
        os.write(ew, b"Fme@x.test\0Tdemo@localhost\0\0")
        os.close(ew)
        self.assertEqual(self.reply(s)[0], 0)
        self.q.wait_for_messages("demo", 4)


if __name__ == "__main__":
    unittest.main()

"""QMTP out: qmail-remote delivers domains named in control/qmtproutes by
QMTP (cr.yp.to/proto/qmtp.txt), falling back to SMTP when no QMTP host
accepts a connection (unless control/qmtpfallback is 0).

The QMTP server here is written from the protocol description: it reads
one package (the message netstring in the LF or CRLF form, the sender
netstring, the netstring of recipient netstrings), records it, and
answers one netstring per recipient; it can misbehave on cue.  Also used:
mailfront's qmtpfront-echo (an independent server, when installed),
dnsmasq for MX look-ups, and our own qmail-qmtpd in a second instance
(when built).

qmail-remote runs directly (as in test_remote.py) and through the whole
qmail-send path of an instance (delivered and bounced mail).
"""

import io
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import qmtest
from test_qmqpc import netstring, read_netstring, split_netstrings
from test_remote import DNSMASQ, DnsmasqServer, ScriptPeer, \
    port_free_everywhere

REMOTE = os.environ.get("QMTEST_REMOTE") or qmtest.bin_path("qmail-remote")
QMTPFRONT = shutil.which("qmtpfront-echo") or "/usr/sbin/qmtpfront-echo"
TCPSERVER = shutil.which("tcpserver") or "/usr/bin/tcpserver"
MX1, MX2 = "127.0.0.2", "127.0.0.3"


def default_answer(rcpt):
    """K, but D for recipients starting with "bad" and Z for "later"."""
    if rcpt.startswith(b"bad"):
        return b"Dsorry, no mailbox here by that name. (#5.1.1)"
    if rcpt.startswith(b"later"):
        return b"Zmailbox busy, try later (#4.2.1)"
    return b"Kok 1234 qp 42"


class QmtpServer(qmtest.ThreadedPeer):
    """A QMTP server on host:port (port 0: a free one), in a thread.
    answer(rcpt) gives each response payload.  mode, per connection in
    turn from modes (then "normal"): "normal"; "hangup_early" (close
    after the first bytes of the package); "one_then_close" (answer the
    first recipient only); "garbage" (answer with text that is not a
    netstring); "bad_letter" (a netstring starting with X).  Records
    each package (dict: form, message, sender, rcpts) in packages."""

    def __init__(self, testcase, host="127.0.0.1", port=0,
                 answer=default_answer, modes=()):
        self.answer = answer
        self.modes = list(modes)
        self.packages = []
        self.listen(testcase, host, port, 8)

    def accepted(self):
        return self.modes.pop(0) if self.modes else "normal"

    def _session(self, conn, client, mode):
        conn.settimeout(30)
        f = conn.makefile("rb")
        try:
            if mode == "hangup_early":
                conn.recv(5)
                return
            # packages until the client closes
            while True:
                try:
                    message = read_netstring(f)
                except EOFError:
                    return
                sender = read_netstring(f)
                rcpts = split_netstrings(read_netstring(f))
                form = {b"\n": "LF", b"\r": "CRLF"}.get(message[:1], "?")
                with self.lock:
                    self.packages.append({"form": form,
                                          "message": message[1:],
                                          "sender": sender, "rcpts": rcpts})
                if mode == "garbage":
                    conn.sendall(b"250 ok, this is SMTP\r\n")
                    return
                if mode == "bad_letter":
                    conn.sendall(netstring(b"Xwhat") * len(rcpts))
                    return
                out = b"".join(netstring(self.answer(r)) for r in rcpts)
                if mode == "one_then_close":
                    conn.sendall(netstring(self.answer(rcpts[0])))
                    return
                conn.sendall(out)
        except (OSError, ValueError, EOFError):
            pass
        finally:
            f.close()
            conn.close()


class QmtpRemoteTest(unittest.TestCase):
    """bin/qmail-remote run directly with a scratch home."""

    def setUp(self):
        if not os.access(REMOTE, os.X_OK):
            self.skipTest("bin/qmail-remote not built yet")
        self.home = tempfile.mkdtemp(prefix="qmtest-qmtp-")
        self.addCleanup(shutil.rmtree, self.home, True)
        os.makedirs(os.path.join(self.home, "control"))
        os.makedirs(os.path.join(self.home, "queue", "lock"))
        self.control("me", "me.test")
        self.control("timeoutremote", "10")
        self.control("timeoutconnect", "5")
        # nothing may go out by SMTP unless a test says so
        self.control("smtproutes", ":[127.0.0.1]:%d" % qmtest.free_port())

    def control(self, name, value):
        path = os.path.join(self.home, "control", name)
        if value is None:
            os.unlink(path)
            return
        with open(path, "w") as f:
            f.write(value + "\n")

    def remote(self, host, rcpts, msg=b"Subject: test\n\nhello\n",
               sender="sender@me.test"):
        p = subprocess.run([REMOTE, host, sender] + list(rcpts), input=msg,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=dict(os.environ, QMAILHOME=self.home),
                           timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        fields = p.stdout.split(b"\0")
        self.assertEqual(fields[-1], b"", "output must end in NUL")
        records = [f.decode("ascii") for f in fields[:-1]]
        self.assertEqual(len(records), len(rcpts) + 1, records)
        rec = []
        for r in records[:-1]:
            self.assertEqual(r[0], "r", records)
            self.assertIn(r[1], "KZD", records)
            rec.append((r[1], r[2:]))
        for _, text in rec:
            self.assertTrue(all(32 <= ord(c) < 127 for c in text), text)
        self.stderr = p.stderr.decode("utf-8", "replace")
        return rec, (records[-1][0], records[-1][1:])

    def statuses(self, records):
        return [s for s, _ in records]

    def test_per_recipient_outcomes_and_exact_bytes(self):
        srv = QmtpServer(self)
        self.control("qmtproutes", "far.test:[127.0.0.1]:%d" % srv.port)
        msg = (b"Subject: qmtp\n\n.\n..\ncrlf\r\nbare\rcr\n" +
               bytes(range(256)) + b"\nno final newline")
        rcpts = ["a@far.test", "bad@far.test", "later@far.test",
                 "c@FAR.test"]
        rec, msgrec = self.remote("far.test", rcpts, msg)
        self.assertEqual(self.statuses(rec), ["K", "D", "Z", "K"])
        self.assertEqual(msgrec[0], "K")
        self.assertIn("[127.0.0.1] accepted the message over QMTP. "
                      "Remote host said: ok 1234 qp 42", rec[0][1])
        self.assertIn("Remote host said: sorry, no mailbox here by that "
                      "name. (#5.1.1)", rec[1][1])
        self.assertIn("try later (#4.2.1)", rec[2][1])
        self.assertEqual(len(srv.packages), 1)
        pkg = srv.packages[0]
        self.assertEqual(pkg["form"], "LF")
        self.assertEqual(pkg["message"], msg)
        self.assertEqual(pkg["sender"], b"sender@me.test")
        self.assertEqual(pkg["rcpts"], [r.encode() for r in rcpts])

    def test_null_sender_and_large_message(self):
        srv = QmtpServer(self)
        self.control("qmtproutes", ":[127.0.0.1]:%d" % srv.port)
        msg = b"Subject: big\n\n" + (b"z" * 499 + b"\n") * 8000
        rec, _ = self.remote("any.test", ["x@any.test"], msg, sender="")
        self.assertEqual(self.statuses(rec), ["K"])
        self.assertEqual(srv.packages[0]["sender"], b"")
        self.assertEqual(srv.packages[0]["message"], msg)

    def test_route_matching(self):
        srv = QmtpServer(self)
        smtp = ScriptPeer(self, "127.0.0.1", qmtest.free_port())
        self.control("smtproutes", ":[127.0.0.1]:%d" % smtp.port)
        self.control("qmtproutes", "\n".join([
            "# suffix and exact lines, as in smtproutes",
            ".sub.test:[127.0.0.1]:%d" % srv.port,
            "exact.test:[127.0.0.1]:%d" % srv.port]))
        for domain, proto in (("a.sub.test", "QMTP"), ("exact.test", "QMTP"),
                              ("sub.test", "SMTP"), ("x.exact.test", "SMTP"),
                              ("other.test", "SMTP")):
            with self.subTest(domain=domain):
                before = (len(srv.packages), len(smtp.deliveries()))
                rec, msgrec = self.remote(domain, ["u@" + domain])
                self.assertEqual(self.statuses(rec), ["K"], rec)
                after = (len(srv.packages), len(smtp.deliveries()))
                if proto == "QMTP":
                    self.assertEqual(after, (before[0] + 1, before[1]))
                    self.assertIn("over QMTP", msgrec[1])
                else:
                    self.assertEqual(after, (before[0], before[1] + 1))
                    self.assertNotIn("QMTP", msgrec[1])

    def test_malformed_matching_line_waits(self):
        self.control("qmtproutes", "far.test:[127.0.0.1]:99999")
        rec, msgrec = self.remote("far.test", ["a@far.test"])
        self.assertEqual(self.statuses(rec), ["Z"])
        self.assertIn("control/qmtproutes: malformed line", rec[0][1])

    def test_fallback_to_smtp_when_qmtp_is_down(self):
        smtp = ScriptPeer(self, "127.0.0.1", qmtest.free_port())
        self.control("smtproutes", "far.test:[127.0.0.1]:%d" % smtp.port)
        self.control("qmtproutes", "far.test:[127.0.0.1]:%d" %
                     qmtest.free_port())
        rec, msgrec = self.remote("far.test", ["a@far.test", "b@far.test"])
        self.assertEqual(self.statuses(rec), ["K", "K"])
        self.assertNotIn("QMTP", msgrec[1])
        self.assertIn("250 2.0.0 queued as 42", msgrec[1])
        self.assertEqual(len(smtp.deliveries()), 1)
        self.assertIn("no QMTP host answered", self.stderr)
        # the closed QMTP port did not mark 127.0.0.1 dead for SMTP
        rec, _ = self.remote("far.test", ["c@far.test"])
        self.assertEqual(self.statuses(rec), ["K"])
        self.assertEqual(len(smtp.deliveries()), 2)

    def test_no_fallback_when_configured(self):
        smtp = ScriptPeer(self, "127.0.0.1", qmtest.free_port())
        self.control("smtproutes", "far.test:[127.0.0.1]:%d" % smtp.port)
        self.control("qmtproutes", "far.test:[127.0.0.1]:%d" %
                     qmtest.free_port())
        self.control("qmtpfallback", "0")
        rec, msgrec = self.remote("far.test", ["a@far.test"])
        self.assertEqual(self.statuses(rec), ["Z"])
        self.assertIn("Unable to deliver by QMTP to any host of far.test",
                      rec[0][1])
        self.assertIn("connection refused", rec[0][1])
        self.assertEqual(smtp.sessions, [])
        self.control("qmtpfallback", "2")
        p = subprocess.run([REMOTE, "far.test", "s@me.test", "a@far.test"],
                           input=b"x\n", stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE,
                           env=dict(os.environ, QMAILHOME=self.home),
                           timeout=60)
        self.assertEqual(p.returncode, 111)
        self.assertIn(b"qmtpfallback", p.stderr)

    def test_reached_but_broken_server_does_not_fall_back(self):
        smtp = ScriptPeer(self, "127.0.0.1", qmtest.free_port())
        self.control("smtproutes", "far.test:[127.0.0.1]:%d" % smtp.port)
        for mode in ("one_then_close", "garbage", "bad_letter",
                     "hangup_early"):
            with self.subTest(mode=mode):
                srv = QmtpServer(self, modes=[mode])
                self.control("qmtproutes",
                             "far.test:[127.0.0.1]:%d" % srv.port)
                rec, msgrec = self.remote(
                    "far.test", ["a@far.test", "b@far.test", "c@far.test"])
                if mode == "one_then_close":
                    self.assertEqual(self.statuses(rec), ["K", "Z", "Z"])
                    self.assertEqual(msgrec[0], "K")
                else:
                    self.assertEqual(self.statuses(rec), ["Z", "Z", "Z"])
                if mode != "hangup_early":
                    self.assertIn("it may have been delivered", rec[-1][1])
                self.assertEqual(smtp.sessions, [])

    def test_mx_hosts_over_qmtp(self):
        if not os.access(DNSMASQ, os.X_OK):
            self.skipTest("dnsmasq not installed")
        dns = DnsmasqServer([
            "--mx-host=far.test,mx1.far.test,10",
            "--mx-host=far.test,mx2.far.test,20",
            "--host-record=mx1.far.test,%s" % MX1,
            "--host-record=mx2.far.test,%s" % MX2])
        self.addCleanup(dns.stop)
        self.control("dnsservers", "127.0.0.1@%d" % dns.port)
        port = port_free_everywhere([MX1, MX2])
        first = QmtpServer(self, host=MX1, port=port, modes=["hangup_early"])
        second = QmtpServer(self, host=MX2, port=port)
        # empty relay: the domain's MX hosts, on the route's port.  The
        # first one hangs up while the package is being sent (the message
        # is larger than the socket buffers): the next one is tried
        self.control("qmtproutes", "far.test::%d" % port)
        msg = b"Subject: big\n\n" + (b"q" * 999 + b"\n") * 8000
        rec, msgrec = self.remote("far.test", ["a@far.test"], msg)
        self.assertEqual(self.statuses(rec), ["K"], rec)
        self.assertIn("mx2.far.test [127.0.0.3] accepted the message over "
                      "QMTP", msgrec[1])
        self.assertEqual((first.connections, len(second.packages)), (1, 1))
        self.assertEqual(second.packages[0]["message"], msg)

    def test_independent_server_mailfront(self):
        if not (os.access(QMTPFRONT, os.X_OK) and
                os.access(TCPSERVER, os.X_OK)):
            self.skipTest("mailfront's qmtpfront-echo or tcpserver missing")
        port = qmtest.free_port()
        log = tempfile.TemporaryFile()
        proc = subprocess.Popen([TCPSERVER, "-q", "127.0.0.1", str(port),
                                 "env", "PLUGINS=accept", QMTPFRONT],
                                stdout=subprocess.DEVNULL, stderr=log)

        def stop():
            proc.kill()
            proc.wait()
            log.close()
        self.addCleanup(stop)
        self.assertTrue(qmtest.wait_until(lambda: self._listening(port), 10))
        self.control("qmtproutes", "far.test:[127.0.0.1]:%d" % port)
        # one recipient: mailfront 2.12 answers once per package, not
        # once per recipient as QMTP asks
        rec, msgrec = self.remote("far.test", ["a@far.test"],
                                  b"Subject: to mailfront\n\nbody\n")
        self.assertEqual(self.statuses(rec), ["K"], rec)
        self.assertIn("over QMTP", msgrec[1])
        log.seek(0)
        text = log.read().decode("latin-1")
        self.assertIn("sender <sender@me.test>", text)
        self.assertIn("recipient <a@far.test>", text)
        self.assertIn("Subject: to mailfront", text)

    @staticmethod
    def _listening(port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False


class QmtpSendPathTest(unittest.TestCase):
    """qmail-send -> qmail-rspawn -> qmail-remote -> QMTP: delivered and
    bounced mail in a real instance."""

    def setUp(self):
        qmtest.require(self, "qmail-start", "qmail-rspawn", "qmail-remote",
                       "sendmail", "qmail-qstat")
        self.srv = QmtpServer(self)
        self.q = qmtest.Instance.for_test(self)
        self.q.adduser("demo")

    def qstat(self):
        p = subprocess.run([qmtest.bin_path("qmail-qstat")],
                           env=self.q.env(), stdout=subprocess.PIPE,
                           text=True)
        return int(p.stdout.splitlines()[0].split(": ")[1])

    def test_delivered_and_bounced(self):
        self.q.set_control("qmtproutes",
                           "far.test:[127.0.0.1]:%d" % self.srv.port)
        self.q.start()
        p = self.q.sendmail(["-f", "demo@localhost", "a@far.test",
                             "bad@far.test"], b"Subject: out\n\nby qmtp\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(qmtest.wait_until(lambda: self.qstat() == 0, 30),
                        self.q.describe())
        self.assertEqual(len(self.srv.packages), 1)
        pkg = self.srv.packages[0]
        self.assertEqual(pkg["rcpts"], [b"a@far.test", b"bad@far.test"])
        self.assertEqual(pkg["sender"], b"demo@localhost")
        self.assertIn(b"\nSubject: out\n", pkg["message"])
        self.assertTrue(pkg["message"].endswith(b"\n\nby qmtp\n"),
                        pkg["message"])
        bounce = self.q.wait_for_messages("demo", 1, timeout=30)[0]
        raw = bounce.as_bytes()
        self.assertEqual(bounce.get_content_type(), "multipart/report")
        self.assertIn(b"Final-Recipient: rfc822; bad@far.test", raw)
        self.assertIn(b"no mailbox here by that name", raw)
        self.assertNotIn(b"Final-Recipient: rfc822; a@far.test", raw)
        self.assertIn("to <a@far.test>: success", self.q.log_text())

    def test_fallback_to_smtp_through_the_queue(self):
        smtp = ScriptPeer(self, "127.0.0.1", qmtest.free_port())
        self.q.set_control("qmtproutes",
                           "far.test:[127.0.0.1]:%d" % qmtest.free_port())
        self.q.set_control("smtproutes",
                           "far.test:[127.0.0.1]:%d" % smtp.port)
        self.q.start()
        p = self.q.sendmail(["-f", "demo@localhost", "a@far.test"],
                            b"Subject: fallback\n\nby smtp\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(qmtest.wait_until(lambda: self.qstat() == 0, 30),
                        self.q.describe())
        self.assertEqual(len(smtp.deliveries()), 1)
        self.assertEqual(self.srv.packages, [])


class QmtpBetweenInstancesTest(unittest.TestCase):
    """Our qmail-remote to our qmail-qmtpd: instance A routes hub.test to
    instance B's QMTP port."""

    def setUp(self):
        qmtest.require(self, "qmail-start", "qmail-rspawn", "qmail-remote",
                       "sendmail", "qmail-qmtpd")
        self.b = qmtest.Instance.for_test(self, hostname="hub.test")
        self.b.adduser("bob")
        self.b.start()
        self.a = qmtest.Instance.for_test(self)
        self.a.adduser("alice")
        self.a.set_control("qmtproutes",
                           "hub.test:[127.0.0.1]:%d" % self.b.ports["qmtp"])
        # SMTP would go nowhere: the mail must travel by QMTP
        self.a.set_control("smtproutes",
                           ":[127.0.0.1]:%d" % qmtest.free_port())
        self.a.start()

    def test_delivery_and_bounce(self):
        p = self.a.sendmail(["-f", "alice@localhost", "bob@hub.test",
                             "nobody@hub.test"],
                            b"Subject: a to b\n\nover qmtp\n..dots\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        got = self.b.wait_for_messages("bob", 1, timeout=30)
        raw = got[0].as_bytes()
        self.assertIn(b"Return-Path: <alice@localhost>", raw)
        self.assertTrue(raw.endswith(b"\n\nover qmtp\n..dots\n"), raw[-60:])
        bounce = self.a.wait_for_messages("alice", 1, timeout=30)[0]
        braw = bounce.as_bytes()
        self.assertIn(b"Final-Recipient: rfc822; nobody@hub.test", braw)
        self.assertNotIn(b"Final-Recipient: rfc822; bob@hub.test", braw)


if __name__ == "__main__":
    unittest.main()

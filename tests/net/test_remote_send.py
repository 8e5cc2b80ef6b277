"""The remote channel end to end: qmail-send -> qmail-rspawn ->
qmail-remote -> an SMTP peer on loopback (scripted here, reached through
control/smtproutes, so no DNS is involved).  Checks batching (one
connection per message and domain), success, permanent failure (one DSN
quoting the remote reply), temporary failure and retry, and a peer that is
down."""

import email
import os
import socket
import socketserver
import subprocess
import threading
import time
import unittest

import qmtest


class Peer:
    """A small SMTP server.  Recipients starting with "bad" get 550 5.1.1,
    "later" get 451 4.2.0 until self.later_ok is set; everything else 250.
    Records each connection's envelope and data."""

    def __init__(self):
        self.sessions = []      # list of dicts: mail, rcpts, data
        self.later_ok = False
        self.drop_in_data = 0   # hang up in DATA this many times
        self.lock = threading.Lock()
        peer = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 20

            def reply(self, line):
                self.wfile.write(line.encode() + b"\r\n")
                self.wfile.flush()

            def handle(self):
                sess = {"mail": None, "rcpts": [], "data": None}
                with peer.lock:
                    peer.sessions.append(sess)
                self.reply("220 peer.test ESMTP")
                while True:
                    line = self.rfile.readline(2000)
                    if not line:
                        return
                    cmd = line.decode("latin-1").rstrip("\r\n")
                    up = cmd.upper()
                    if up.startswith("EHLO"):
                        self.wfile.write(b"250-peer.test\r\n250-PIPELINING\r\n"
                                         b"250-8BITMIME\r\n250 SIZE 100000000\r\n")
                        self.wfile.flush()
                    elif up.startswith("HELO"):
                        self.reply("250 peer.test")
                    elif up.startswith("MAIL FROM:"):
                        sess["mail"] = cmd[10:].split(" ")[0].strip("<>")
                        self.reply("250 2.1.0 ok")
                    elif up.startswith("RCPT TO:"):
                        addr = cmd[8:].split(" ")[0].strip("<>")
                        if addr.startswith("bad"):
                            self.reply("550 5.1.1 <%s>: no such user here" % addr)
                        elif addr.startswith("later") and not peer.later_ok:
                            self.reply("451 4.2.0 try again later")
                        else:
                            sess["rcpts"].append(addr)
                            self.reply("250 2.1.5 ok")
                    elif up == "DATA":
                        self.reply("354 go ahead")
                        if peer.drop_in_data > 0:
                            peer.drop_in_data -= 1
                            self.rfile.readline(100000)
                            return      # connection lost mid-DATA
                        buf = []
                        while True:
                            l = self.rfile.readline(100000)
                            if not l or l == b".\r\n":
                                break
                            buf.append(l[1:] if l.startswith(b"..") else l)
                        sess["data"] = b"".join(buf)
                        self.reply("250 2.0.0 queued as 42")
                    elif up == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("250 ok")

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def delivered(self):
        with self.lock:
            return [s for s in self.sessions if s["data"] is not None]


class TestRemoteChannel(unittest.TestCase):
    def setUp(self):
        qmtest.require(self, "qmail-start", "qmail-rspawn", "qmail-remote",
                       "sendmail")
        self.peer = Peer()
        self.addCleanup(self.peer.stop)
        self.q = qmtest.Instance.for_test(self)
        self.q.adduser("demo")
        self.q.set_control("smtproutes", ":[127.0.0.1]:%d" % self.peer.port)
        self.q.start()

    def qstat(self):
        p = subprocess.run([qmtest.bin_path("qmail-qstat")],
                           env=self.q.env(), stdout=subprocess.PIPE,
                           text=True)
        return int(p.stdout.splitlines()[0].split(": ")[1])

    def test_batch_success_and_bounce(self):
        p = self.q.sendmail(["-f", "demo@localhost", "a@far.test",
                             "b@FAR.test", "bad@far.test", "c@other.test"],
                            b"Subject: out\n\nleaving\n.dot line\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(qmtest.wait_until(lambda: self.qstat() == 0, 30),
                        self.q.describe())
        done = self.peer.delivered()
        # one connection for far.test (a, b; bad refused), one for other.test
        by_rcpts = sorted(sorted(s["rcpts"]) for s in done)
        self.assertEqual(by_rcpts, [["a@far.test", "b@FAR.test"],
                                    ["c@other.test"]])
        for s in done:
            self.assertEqual(s["mail"], "demo@localhost")
            self.assertIn(b"\r\n.dot line\r\n", s["data"])
            self.assertIn(b"Subject: out\r\n", s["data"])
        # one bounce, quoting the remote reply, status from it
        msgs = self.q.wait_for_messages("demo", 1)
        self.assertEqual(len(msgs), 1)
        b = msgs[0]
        self.assertEqual(b.get_content_type(), "multipart/report")
        raw = b.as_bytes()
        self.assertIn(b"bad@far.test", raw)
        self.assertIn(b"no such user here", raw)
        self.assertIn(b"Status: 5.1.1", raw)
        self.assertNotIn(b"Final-Recipient: rfc822; a@far.test", raw)
        log = self.q.log_text()
        self.assertIn("to <a@far.test>: success", log)

    def test_temporary_failure_then_retry(self):
        p = self.q.sendmail(["-f", "demo@localhost", "later@far.test"],
                            b"Subject: later\n\nx\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(qmtest.wait_until(
            lambda: "to <later@far.test>: deferral" in self.q.log_text(), 20),
            self.q.describe())
        self.assertEqual(self.qstat(), 1)
        self.peer.later_ok = True
        self.q.flush()
        self.assertTrue(qmtest.wait_until(lambda: self.qstat() == 0, 20),
                        self.q.describe())
        self.assertEqual([s["rcpts"] for s in self.peer.delivered()],
                         [["later@far.test"]])
        self.assertEqual(self.q.message_files("demo"), [])

    def test_connection_lost_mid_data_is_retried_once(self):
        self.peer.drop_in_data = 1
        p = self.q.sendmail(["-f", "demo@localhost", "y@far.test"],
                            b"Subject: mid-data\n\nx\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(qmtest.wait_until(
            lambda: "to <y@far.test>: deferral" in self.q.log_text(), 20),
            self.q.describe())
        self.assertEqual(self.peer.delivered(), [])
        self.q.flush()
        self.assertTrue(qmtest.wait_until(lambda: self.qstat() == 0, 20),
                        self.q.describe())
        self.assertEqual([s["rcpts"] for s in self.peer.delivered()],
                         [["y@far.test"]])
        log = self.q.log_text()
        # the log names the host and address used and its answer
        self.assertRegex(log, r"to <y@far.test>: success: .*127\.0\.0\.1.*"
                              r"250 2\.0\.0 queued as 42")

    def test_peer_down_keeps_mail_queued(self):
        self.peer.stop()
        p = self.q.sendmail(["-f", "demo@localhost", "x@far.test"],
                            b"Subject: down\n\nx\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(qmtest.wait_until(
            lambda: "to <x@far.test>: deferral" in self.q.log_text(), 30),
            self.q.describe())
        self.assertEqual(self.qstat(), 1)
        self.assertEqual(self.q.message_files("demo"), [])


if __name__ == "__main__":
    unittest.main()


class TestOwnServerAsPeer(unittest.TestCase):
    """Instance A delivers to instance B (our own qmail-smtpd) through
    smtproutes: the message lands in B's Maildir; an unknown user is
    refused by B at RCPT time and A bounces with B's words."""

    def setUp(self):
        qmtest.require(self, "qmail-start", "qmail-rspawn", "qmail-remote",
                       "qmail-tcpd", "qmail-smtpd", "sendmail")
        self.b = qmtest.Instance.for_test(self, hostname="b.test")
        self.b.adduser("bob")
        self.b.set_control("greetdelay", "0")
        self.b.start()
        self.a = qmtest.Instance.for_test(self)
        self.a.adduser("alice")
        self.a.set_control("smtproutes",
                           "b.test:[127.0.0.1]:%d" % self.b.ports["smtp"])
        self.a.start()

    def test_delivery_and_bounce_between_instances(self):
        p = self.a.sendmail(["-f", "alice@localhost", "bob@b.test",
                             "nobody@b.test"],
                            b"Subject: a to b\n\nacross\n..dots\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        got = self.b.wait_for_messages("bob", 1, timeout=30)
        raw = got[0].as_bytes()
        self.assertIn(b"Delivered-To: bob@b.test", raw)
        self.assertIn(b"Return-Path: <alice@localhost>", raw)
        self.assertTrue(raw.endswith(b"\n\nacross\n..dots\n"), raw[-60:])
        bounce = self.a.wait_for_messages("alice", 1, timeout=30)[0]
        braw = bounce.as_bytes()
        self.assertEqual(bounce.get_content_type(), "multipart/report")
        self.assertIn(b"Final-Recipient: rfc822; nobody@b.test", braw)
        self.assertIn(b"Status: 5.1.1", braw)
        self.assertNotIn(b"Final-Recipient: rfc822; bob@b.test", braw)

"""Black-box tests of qmail-smtpd with real clients: Python's smtplib,
swaks (plain and --pipeline) and curl, against bin/qmail-smtpd run by
Debian's tcpserver for a real instance whose qmail-send delivers what is
accepted (checked in the users' Maildirs and with qmail-qread).  The
relay rules, the recipient check, the control files, and finally the
same server started by `qmailctl start` through qmail-tcpd.

Hostile input is in test_smtpd_hostile.py.  See qmail-smtpd(8)."""

import email
import email.policy
import os
import re
import smtplib
import subprocess
import tempfile
import time
import unittest
import uuid

import qmtest
from test_smtpd_lib import SmtpdCase, Raw, make_cdb, wait_for


def token():
    return "t" + uuid.uuid4().hex[:16]


class TestClients(SmtpdCase):

    def test_ehlo_extensions_in_one_write(self):
        with smtplib.SMTP("127.0.0.1", self.port, local_hostname="c.test",
                          timeout=10) as s:
            code, _ = s.ehlo()
            self.assertEqual(code, 250)
            for ext in ("pipelining", "8bitmime", "size",
                        "enhancedstatuscodes"):
                self.assertTrue(s.has_extn(ext), ext)
            self.assertEqual(s.esmtp_features["size"], "")  # no limit
        # the whole EHLO reply arrives in one segment (one write)
        r = self.raw()
        r.send(b"EHLO c.test\r\n")
        data = r.sock.recv(65536)
        self.assertTrue(data.endswith(b"250 ENHANCEDSTATUSCODES\r\n"), data)
        self.assertEqual(data.count(b"\r\n"), 5, data)
        self.assertTrue(data.startswith(b"250-localhost\r\n"), data)

    def test_greeting_and_helo(self):
        r = self.raw()
        self.assertEqual(r.greeting, (220, b"220 localhost ESMTP\r\n"))
        self.assertEqual(r.cmd("HELO c.test"), (250, b"250 localhost\r\n"))

    def test_smtplib_delivery_and_received_line(self):
        t = token()
        body = ("Subject: %s\r\nFrom: a@client.test\r\n\r\nline one\r\n"
                ".starts with a dot\r\n..two dots\r\n.\r\nlast\r\n" % t)
        with smtplib.SMTP("127.0.0.1", self.port,
                          local_hostname="client.test", timeout=30) as s:
            refused = s.sendmail("a@client.test", ["alice@localhost"],
                                 body.encode())
            self.assertEqual(refused, {})
            code, text = s.noop()
            self.assertEqual(code, 250)
        raw = self.wait_message("alice", t)[0]
        head, _, rest = raw.partition(b"\n\n")
        self.assertIn(b"\nReceived: from client.test ([127.0.0.1])\n\tby "
                      b"localhost with ESMTP; ", raw)
        m = re.search(rb"Received: from client\.test \(\[127\.0\.0\.1\]\)\n"
                      rb"\tby localhost with ESMTP; (.*)\n", raw)
        self.assertIsNotNone(m, raw)
        self.assertIsNotNone(email.utils.parsedate_tz(m.group(1).decode()))
        # dot-stuffing undone, CRLF stored as LF, no CR anywhere
        self.assertNotIn(b"\r", raw)
        self.assertTrue(rest.endswith(b"line one\n.starts with a dot\n"
                                      b"..two dots\n.\nlast\n"), rest)
        self.assertIn(b"Delivered-To: alice@localhost\n", raw)

    def test_8bit_body(self):
        t = token()
        body = ("Subject: %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: 8bit\r\n\r\nGr\u00fc\u00dfe, "
                "\u65e5\u672c\r\n" % t).encode("utf-8")
        with smtplib.SMTP("127.0.0.1", self.port, local_hostname="c.test",
                          timeout=30) as s:
            s.ehlo()
            # smtplib adds SIZE= itself
            s.sendmail("a@client.test", ["bob@localhost"], body,
                       mail_options=["BODY=8BITMIME"])
        raw = self.wait_message("bob", t)[0]
        self.assertIn("Gr\u00fc\u00dfe, \u65e5\u672c\n".encode("utf-8"), raw)

    def test_several_recipients_and_addresses(self):
        t = token()
        with smtplib.SMTP("127.0.0.1", self.port, local_hostname="c.test",
                          timeout=30) as s:
            s.ehlo()
            refused = s.sendmail(
                "", ["Bob@LocalHost", "<\"alice\"@localhost>",
                     "postmaster@[127.0.0.1]", "@relay.test:alice@localhost",
                     "<Postmaster>"],
                ("Subject: %s\r\n\r\nhi\r\n" % t).encode())
            self.assertEqual(refused, {})
        self.wait_message("alice", t)
        self.wait_message("bob", t)
        log = self.server.log()
        # quotes removed, source route dropped, [our address] is
        # localiphost, <postmaster> kept for qmail-send to qualify
        self.assertIn("rcpt to <alice@localhost> accepted", log)
        self.assertIn("rcpt to <postmaster@localhost> accepted", log)
        self.assertIn("rcpt to <postmaster> accepted", log)
        self.assertIn("rcpt to <Bob@LocalHost> accepted", log)
        self.assertIn("mail from <> accepted", log)

    def test_commands_and_sequence(self):
        r = self.raw()
        self.assertEqual(r.cmd("NOOP")[0], 250)
        self.assertEqual(r.cmd("RSET")[0], 250)
        self.assertEqual(r.cmd("HELP")[0], 214)
        self.assertEqual(r.cmd("VRFY alice")[0], 252)
        code, text = r.cmd("MAIL FROM:<a@c.test>")
        self.assertEqual((code, text[:10]), (503, b"503 5.5.1 "))
        self.assertIn(b"HELO", text)
        self.assertEqual(r.cmd("EHLO c.test")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<alice@localhost>")[0], 503)
        self.assertEqual(r.cmd("DATA")[0], 503)
        self.assertEqual(r.cmd("EXPN list")[:1], (502,))
        self.assertEqual(r.cmd("BDAT 10 LAST")[0], 502)
        self.assertEqual(r.cmd("XYZZY")[1][:10], b"502 5.5.1 ")
        self.assertEqual(r.cmd("MAIL FROM:<a@c.test>")[1],
                         b"250 2.1.0 sender ok\r\n")
        self.assertEqual(r.cmd("MAIL FROM:<b@c.test>")[0], 503)  # nested
        self.assertEqual(r.cmd("RCPT TO:<nobody-here@localhost>")[0], 550)
        # no valid recipient yet
        self.assertEqual(r.cmd("DATA")[1][:10], b"554 5.5.1 ")
        self.assertEqual(r.cmd("RCPT TO:<alice@localhost>")[1],
                         b"250 2.1.5 recipient ok\r\n")
        self.assertEqual(r.cmd("DATA now")[1][:10], b"501 5.5.4 ")
        self.assertEqual(r.cmd("RSET")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<alice@localhost>")[0], 503)
        self.assertEqual(r.cmd("QUIT"), (221, b"221 2.0.0 localhost closing "
                                              b"connection\r\n"))
        self.assertTrue(r.closed())

    def test_syntax_errors(self):
        r = self.session()
        cases = [
            ("MAIL", 501), ("MAIL TO:<a@b.test>", 501),
            ("MAIL FROM:a@b.test", 501), ("MAIL FROM:<a@b.test", 501),
            ("MAIL FROM:<a@@b.test>", 501), ("MAIL FROM:<postmaster>", 501),
            ("MAIL FROM:<a@b.test> SIZE=x", 501),
            ("MAIL FROM:<a@b.test> BODY=BINARYMIME", 501),
            ("MAIL FROM:<a@b.test> SIZE=1 SIZE=2", 501),
            ("MAIL FROM:<a@b.test> AUTH=<>", 555),
            ("MAIL FROM:<a@b.test>junk", 501),
            ("HELO", 501), ("EHLO", 501), ("VRFY", 501), ("RSET x", 501),
        ]
        for line, want in cases:
            code, text = r.cmd(line)
            self.assertEqual(code, want, "%s: %r" % (line, text))
            self.assertRegex(text, rb"^\d{3} [45]\.\d\.\d ", line)
        r = self.session()   # a fresh error count
        # a space after the colon is tolerated
        self.assertEqual(r.cmd("MAIL FROM: <a@b.test>")[0], 250)
        for line, want in [("RCPT TO:alice@localhost", 501),
                           ("RCPT TO:<alice@localhost> NOTIFY=NEVER", 555),
                           ("RCPT TO:<alice>", 501),
                           ("RCPT TO:<al ice@localhost>", 501),
                           ("RCPT TO:<alice@local_host>", 501)]:
            self.assertEqual(r.cmd(line)[0], want, line)
        # an error does not end the transaction
        self.assertEqual(r.cmd("RCPT TO:<alice@localhost>")[0], 250)

    def test_swaks(self):
        for extra in ([], ["--pipeline"]):
            t = token()
            p = subprocess.run(
                ["swaks", "--server", "127.0.0.1:%d" % self.port,
                 "--helo", "swaks.test", "--from", "s@swaks.test",
                 "--to", "alice@localhost,bob@localhost",
                 "--header", "Subject: %s" % t, "--body", "hello " + t,
                 "--timeout", "20"] + extra,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
            out = p.stdout.decode("utf-8", "replace")
            self.assertEqual(p.returncode, 0, out)
            self.assertIn("250 2.0.0 ok", out)
            if extra:
                self.assertIn("PIPELINING", out)
            self.wait_message("alice", t)
            self.wait_message("bob", t)

    def test_curl(self):
        t = token()
        with tempfile.NamedTemporaryFile(suffix=".eml") as f:
            f.write(("From: c@curl.test\r\nSubject: %s\r\n\r\nvia curl\r\n"
                     % t).encode())
            f.flush()
            p = subprocess.run(
                ["curl", "-sS", "--max-time", "30",
                 "smtp://127.0.0.1:%d/curl.test" % self.port,
                 "--mail-from", "c@curl.test", "--mail-rcpt",
                 "alice@localhost", "-T", f.name],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout)
        raw = self.wait_message("alice", t)[0]
        self.assertIn(b"Received: from curl.test ([127.0.0.1])", raw)
        # curl refused at RCPT: a clear error, exit code non-zero
        with tempfile.NamedTemporaryFile(suffix=".eml") as f:
            f.write(b"Subject: x\r\n\r\nx\r\n")
            f.flush()
            p = subprocess.run(
                ["curl", "-sS", "--max-time", "30",
                 "smtp://127.0.0.1:%d/curl.test" % self.port,
                 "--mail-from", "c@curl.test", "--mail-rcpt",
                 "someone@far.test", "-T", f.name],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn(b"553", p.stdout)

    def test_log_lines(self):
        t = token()
        with smtplib.SMTP("127.0.0.1", self.port, local_hostname="log.test",
                          timeout=30) as s:
            s.sendmail("logger@client.test", ["alice@localhost"],
                       ("Subject: %s\r\n\r\nsecret-body-%s\r\n"
                        % (t, t)).encode())
        self.wait_message("alice", t)
        log = wait_for(lambda: ("logger@client.test" in self.server.log()
                                and "disconnect: quit" in self.server.log()
                                and self.server.log()), 5)
        self.assertRegex(log, r"qmail-smtpd: \d+: connect from 127\.0\.0\.1 ")
        self.assertRegex(log, r"\d+: mail from <logger@client\.test> "
                              r"accepted")
        self.assertRegex(log, r"\d+: rcpt to <alice@localhost> accepted")
        self.assertRegex(log, r"\d+: message accepted: from "
                              r"<logger@client\.test>, 1 recipient, \d+ "
                              r"bytes, qp \d+")
        self.assertRegex(log, r"\d+: disconnect: quit; 1 message accepted")
        self.assertNotIn("secret-body", log)  # never message contents


class TestPolicy(SmtpdCase):

    def test_relay_refused_without_relayclient(self):
        r = self.session()
        self.assertEqual(r.cmd("MAIL FROM:<a@client.test>")[0], 250)
        for rcpt in ("x@far.test", "x@localhost.far.test", "x@sub.localhost",
                     "x@[192.0.2.1]", "alice%far.test@far.test"):
            code, text = r.cmd("RCPT TO:<%s>" % rcpt)
            self.assertEqual(code, 553, rcpt)
            self.assertTrue(text.startswith(b"553 5.7.1 "), text)
        # smtplib sees the refusal as such
        with smtplib.SMTP("127.0.0.1", self.port, local_hostname="c.test",
                          timeout=10) as s:
            with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
                s.sendmail("a@client.test", ["x@far.test"], b"x\r\n")
            self.assertEqual(cm.exception.recipients["x@far.test"][0], 553)
        self.assertRegex(self.server.log(),
                         r"rcpt to <x@far\.test> refused: relaying denied")

    def test_relay_allowed_with_relayclient(self):
        t = token()
        with smtplib.SMTP("127.0.0.1", self.relay_port,
                          local_hostname="c.test", timeout=30) as s:
            refused = s.sendmail("a@client.test",
                                 ["%s@far.test" % t, "alice@localhost"],
                                 ("Subject: %s\r\n\r\nrelayed\r\n" % t).encode())
            self.assertEqual(refused, {})
        self.wait_message("alice", t)
        # the remote recipient was queued: it waits in the queue (qmail-qread)
        # or, with remote delivery built, qmail-send has tried it already
        rcpt = "%s@far.test" % t
        self.assertTrue(wait_for(lambda: rcpt in self.qread() or
                                 ("<%s>" % rcpt) in self.q.log_text()),
                        self.qread() + self.q.describe())
        # RELAYCLIENT does not open the recipient check of local domains
        r = self.session(self.relay_port)
        r.cmd("MAIL FROM:<a@client.test>")
        self.assertEqual(r.cmd("RCPT TO:<nosuchuser@localhost>")[0], 550)

    def test_relayclient_value_is_appended(self):
        # qmail appends RELAYCLIENT's value to every recipient
        srv = self.start_server({"RELAYCLIENT": ".relay.test"})
        r = Raw(srv.port)
        self.addCleanup(r.close)
        r.cmd("EHLO c.test")
        r.cmd("MAIL FROM:<a@client.test>")
        self.assertEqual(r.cmd("RCPT TO:<x@far.test>")[0], 250)
        r.cmd("QUIT")
        self.assertTrue(wait_for(lambda: "rcpt to <x@far.test.relay.test> "
                                 "accepted" in srv.log(), 5), srv.log())

    def start_server(self, env):
        from test_smtpd_lib import Tcpserver
        srv = Tcpserver(self.q, env, name="extra")
        self.addCleanup(srv.stop)
        return srv

    def test_unknown_local_recipient_refused_at_rcpt(self):
        r = self.session()
        r.cmd("MAIL FROM:<a@client.test>")
        code, text = r.cmd("RCPT TO:<nosuchuser@localhost>")
        self.assertEqual((code, text[:10]), (550, b"550 5.1.1 "))
        self.assertEqual(r.cmd("RCPT TO:<alice-nosuchext@localhost>")[0], 550)
        self.assertEqual(r.cmd("RCPT TO:<ALICE@LOCALHOST>")[0], 250)
        # postmaster always, with and without the domain
        self.assertEqual(r.cmd("RCPT TO:<postmaster@localhost>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<Postmaster>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<postmaster@far.test>")[0], 553)
        self.assertRegex(self.server.log(), r"rcpt to <nosuchuser@localhost> "
                                            r"refused: ")

    def test_extension_with_dot_qmail_file_accepted(self):
        home = self.q.path("mail", "alice")
        path = os.path.join(home, ".qmail-lists")
        with open(path, "w") as f:
            f.write("./Maildir/\n")
        self.addCleanup(os.unlink, path)
        r = self.session()
        r.cmd("MAIL FROM:<a@client.test>")
        self.assertEqual(r.cmd("RCPT TO:<alice-lists@localhost>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<alice-other@localhost>")[0], 550)

    def test_rcptcheck_off(self):
        self.set_control("rcptcheck", "0")
        r = self.session()
        r.cmd("MAIL FROM:<>")
        self.assertEqual(r.cmd("RCPT TO:<nosuchuser@localhost>")[0], 250)
        self.assertEqual(r.cmd("RSET")[0], 250)

    def test_badmailfrom(self):
        self.set_control("badmailfrom", ["spammer@bad.test", "@evil.test"])
        r = self.session()
        for sender, want in (("spammer@bad.test", 553), ("x@EVIL.test", 553),
                             ("x@bad.test", 250)):
            code, text = r.cmd("MAIL FROM:<%s>" % sender)
            self.assertEqual(code, want, sender)
            if code == 553:
                self.assertTrue(text.startswith(b"553 5.7.1 "))
            else:
                r.cmd("RSET")
        self.assertEqual(r.cmd("MAIL FROM:<>")[0], 250)

    def test_missing_rcpthosts_refuses_everything(self):
        path = self.q.path("control", "rcpthosts")
        with open(path) as f:
            old = f.read()
        os.unlink(path)
        self.addCleanup(self.q.set_control, "rcpthosts", old)
        r = self.session()
        r.cmd("MAIL FROM:<a@client.test>")
        self.assertEqual(r.cmd("RCPT TO:<alice@localhost>")[0], 553)
        self.assertIn("control/rcpthosts is missing", self.server.log())

    def test_morercpthosts_cdb(self):
        path = self.q.path("control", "morercpthosts.cdb")
        make_cdb(path, [(b"other.test", b""), (b".wild.test", b"")])
        self.addCleanup(os.unlink, path)
        r = self.session()
        r.cmd("MAIL FROM:<a@client.test>")
        self.assertEqual(r.cmd("RCPT TO:<x@other.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<x@a.wild.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<x@wild.test>")[0], 553)

    def test_databytes(self):
        self.set_control("databytes", "2000")
        with smtplib.SMTP("127.0.0.1", self.port, local_hostname="c.test",
                          timeout=30) as s:
            s.ehlo()
            self.assertEqual(s.esmtp_features["size"], "2000")
            code, text = s.docmd("MAIL FROM:<a@client.test> SIZE=5000")
            self.assertEqual((code, text[:5]), (552, b"5.3.4"))
            s.rset()
        # over the limit during DATA: refused at the end, nothing queued
        t = token()
        r = self.session()
        r.cmd("MAIL FROM:<a@client.test>")
        r.cmd("RCPT TO:<alice@localhost>")
        self.assertEqual(r.cmd("DATA")[0], 354)
        r.send(("Subject: %s\r\n\r\n" % t) + ("x" * 70 + "\r\n") * 40 +
               ".\r\n")
        code, text = r.reply()
        self.assertEqual((code, text[:10]), (552, b"552 5.3.4 "))
        # the session goes on: a small message passes
        t2 = token()
        self.assertEqual(r.cmd("MAIL FROM:<a@client.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<alice@localhost>")[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)
        r.send("Subject: %s\r\n\r\nsmall\r\n.\r\n" % t2)
        self.assertEqual(r.reply()[0], 250)
        self.wait_message("alice", t2)
        self.assertEqual(self.messages_with("alice", t), [])
        # DATABYTES in the environment wins over the control file
        srv = self.start_server({"DATABYTES": "100"})
        with smtplib.SMTP("127.0.0.1", srv.port, local_hostname="c.test",
                          timeout=30) as s:
            s.ehlo()
            self.assertEqual(s.esmtp_features["size"], "100")

    def test_maxrcpt(self):
        self.set_control("maxrcpt", "3")
        r = self.session()
        r.cmd("MAIL FROM:<a@client.test>")
        for rcpt in ("alice", "bob", "postmaster"):
            self.assertEqual(r.cmd("RCPT TO:<%s@localhost>" % rcpt)[0], 250)
        code, text = r.cmd("RCPT TO:<alice-x@localhost>")
        self.assertEqual((code, text[:10]), (452, b"452 4.5.3 "))
        t = token()
        self.assertEqual(r.cmd("DATA")[0], 354)
        r.send("Subject: %s\r\n\r\nthree\r\n.\r\n" % t)
        self.assertEqual(r.reply()[0], 250)
        self.wait_message("alice", t)
        self.wait_message("bob", t)

    def test_smtpgreeting_and_me(self):
        self.set_control("smtpgreeting", "mx.example.test welcomes you")
        r = self.raw()
        self.assertEqual(r.greeting[1],
                         b"220 mx.example.test welcomes you ESMTP\r\n")

    def test_qmail_queue_failure_is_temporary(self):
        fake = os.path.join(self.q.tmp, "fake-queue")
        with open(fake, "w") as f:
            f.write("#!/bin/sh\ncat >/dev/null\nexit %s\n")
        codes = {53: 451, 31: 554, 81: 451}
        for qq_exit, want in codes.items():
            with open(fake, "w") as f:
                f.write("#!/bin/sh\ncat >/dev/null\nexit %d\n" % qq_exit)
            os.chmod(fake, 0o755)
            srv = self.start_server({"QMAILQUEUE": fake})
            with smtplib.SMTP("127.0.0.1", srv.port, local_hostname="c.test",
                              timeout=30) as s:
                with self.assertRaises(smtplib.SMTPDataError) as cm:
                    s.sendmail("a@client.test", ["alice@localhost"],
                               b"Subject: x\r\n\r\nx\r\n")
                self.assertEqual(cm.exception.smtp_code, want, qq_exit)
            srv.stop()
        # a qmail-queue that cannot be run: 451 at DATA, nothing lost
        srv = self.start_server({"QMAILQUEUE": "/nonexistent/qq"})
        r = Raw(srv.port)
        self.addCleanup(r.close)
        r.cmd("EHLO c.test")
        r.cmd("MAIL FROM:<a@client.test>")
        r.cmd("RCPT TO:<alice@localhost>")
        code, text = r.cmd("DATA")
        self.assertEqual((code, text[:10]), (451, b"451 4.3.0 "))


class TestQmailctl(unittest.TestCase):
    """qmailctl start serves SMTP on the instance's port through
    qmail-tcpd (with its access rules: 127. may relay)."""

    def setUp(self):
        qmtest.require(self, "qmailctl", "qmail-start", "qmail-send",
                       "qmail-smtpd", "qmail-tcpd", "qmail-queue")
        self.q = qmtest.Instance.for_test(self)
        self.q.adduser("carol")
        self.q.set_control("greetdelay", "0")
        self.q.start()

    def test_smtp_through_qmailctl(self):
        t = token()
        port = self.q.ports["smtp"]
        with smtplib.SMTP("127.0.0.1", port, local_hostname="ctl.test",
                          timeout=30) as s:
            code, banner = s.ehlo()
            self.assertEqual(code, 250)
            self.assertTrue(s.has_extn("pipelining"))
            refused = s.sendmail("a@client.test", ["carol@localhost"],
                                 ("Subject: %s\r\n\r\nvia qmailctl\r\n"
                                  % t).encode())
            self.assertEqual(refused, {})
        self.assertTrue(wait_for(lambda: any(
            t.encode() in open(p, "rb").read()
            for p in self.q.message_files("carol")), 15), self.q.describe())
        raw = [open(p, "rb").read() for p in self.q.message_files("carol")
               if t.encode() in open(p, "rb").read()][0]
        self.assertIn(b"Received: from ctl.test (", raw)
        self.assertIn(b"[127.0.0.1])\n\tby localhost with ESMTP; ", raw)


class TestQmailctlIPv6(unittest.TestCase):
    """The same on ::1: the Received line names the client [IPv6:::1]."""

    def setUp(self):
        qmtest.require(self, "qmailctl", "qmail-start", "qmail-send",
                       "qmail-smtpd", "qmail-tcpd", "qmail-queue")
        try:
            import socket
            with socket.socket(socket.AF_INET6) as s:
                s.bind(("::1", 0))
        except OSError:
            self.skipTest("no IPv6 loopback here")
        self.q = qmtest.Instance.for_test(self, bind="::1")
        self.q.adduser("dave")
        self.q.set_control("greetdelay", "0")
        self.q.start()

    def test_smtp_over_ipv6(self):
        t = token()
        with smtplib.SMTP("::1", self.q.ports["smtp"],
                          local_hostname="v6.test", timeout=30) as s:
            self.assertEqual(s.sendmail("a@client.test", ["dave@localhost"],
                                        ("Subject: %s\r\n\r\nv6\r\n"
                                         % t).encode()), {})
        msgs = self.q.wait_for_messages("dave", 1, timeout=15)
        raw = msgs[0].as_bytes()
        self.assertIn(t.encode(), raw)
        self.assertIn(b"Received: from v6.test ([IPv6:::1])\n\tby localhost "
                      b"with ESMTP; ", raw)


if __name__ == "__main__":
    unittest.main()

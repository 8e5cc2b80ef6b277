"""Black-box tests of qmail-qmtpd: a QMTP client written here from the
protocol description (netstrings; a package is the message, whose first
byte says its line-ending encoding, the sender, and a netstring of
recipient netstrings; one K/Z/D netstring per recipient comes back),
against a real instance started by `qmailctl start` (qmail-tcpd on
control/qmtpport).  What is accepted is checked in the users' Maildirs;
what is refused, cut short or malformed must never be delivered or left
in the queue.  See qmail-qmtpd(8)."""

import os
import socket
import subprocess
import time
import unittest
import uuid

import qmtest

PROGRAMS = ("qmailctl", "qmail-tcpd", "qmail-tcprules", "qmail-start",
            "qmail-send", "qmail-lspawn", "qmail-local", "qmail-clean",
            "qmail-queue", "qmail-qmtpd", "qmail-qmqpd", "qmail-qread")


def token():
    return "t" + uuid.uuid4().hex[:16]


def ns(data):
    """The netstring of data (bytes or str)."""
    if isinstance(data, str):
        data = data.encode()
    return str(len(data)).encode() + b":" + data + b","


def qmtp_package(message, sender, rcpts, encoding=b"\n"):
    """A QMTP package: message is a list of lines (bytes) joined with the
    encoding's separator (LF for encoding #2, CRLF for encoding #1, whose
    first byte is CR)."""
    sep = b"\n" if encoding == b"\n" else b"\r\n"
    body = encoding + sep.join(message)
    return ns(body) + ns(sender) + ns(b"".join(ns(r) for r in rcpts))


class Conn:
    """A raw connection that reads netstring replies strictly."""

    def __init__(self, port, timeout=30):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _more(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("server closed the connection")
        self.buf += chunk

    def reply(self):
        """One netstring from the server (its payload)."""
        while b":" not in self.buf:
            if len(self.buf) > 20:
                raise AssertionError("not a netstring: %r" % self.buf)
            self._more()
        head, _, rest = self.buf.partition(b":")
        if not head.isdigit() or (head.startswith(b"0") and head != b"0"):
            raise AssertionError("bad netstring length %r" % head)
        n = int(head)
        while len(rest) < n + 1:
            self._more()
            head, _, rest = self.buf.partition(b":")
        if rest[n:n + 1] != b",":
            raise AssertionError("netstring without comma: %r" % self.buf)
        self.buf = rest[n + 1:]
        return rest[:n]

    def replies(self, n):
        return [self.reply() for _ in range(n)]

    def closed(self, timeout=30):
        """True once the server closed the connection (any pending bytes
        are kept in buf)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


class QmtpCase(unittest.TestCase):
    """One instance per class: users alice and bob, delivery running, the
    QMTP and QMQP servers under qmail-tcpd.  RULES (class attribute)
    replaces control/tcp.qmtp before the start when set."""

    RULES = None
    QMQP_RULES = None

    @classmethod
    def setUpClass(cls):
        for p in PROGRAMS:
            if not qmtest.have(p):
                raise unittest.SkipTest("%s not built" % p)
        cls.q = qmtest.Instance()
        cls.addClassCleanup(cls.q.cleanup)
        cls.q.init()
        for u in ("alice", "bob"):
            cls.q.adduser(u)
        for name, rules in (("tcp.qmtp", cls.RULES),
                            ("tcp.qmqp", cls.QMQP_RULES)):
            if rules is not None:
                cls.q.set_control(name, rules)
                with open(cls.q.path("control", name), "rb") as f:
                    subprocess.run([qmtest.bin_path("qmail-tcprules"),
                                    cls.q.path("control", name + ".cdb"),
                                    cls.q.path("control", name + ".tmp")],
                                   stdin=f, check=True, timeout=30)
        cls.q.start()
        cls.qmtp_port = cls.q.ports["qmtp"]
        cls.qmqp_port = cls.q.ports["qmqp"]

    def setUp(self):
        # per-test settings go back to the defaults
        for name in ("databytes",):
            try:
                os.unlink(self.q.path("control", name))
            except FileNotFoundError:
                pass

    def conn(self, port=None):
        c = Conn(port or self.qmtp_port)
        self.addCleanup(c.close)
        return c

    def messages_with(self, user, t):
        out = []
        for path in self.q.message_files(user):
            with open(path, "rb") as f:
                data = f.read()
            if t.encode() in data:
                out.append(data)
        return out

    def wait_message(self, user, t, timeout=20):
        if not qmtest.wait_until(lambda: self.messages_with(user, t),
                                 timeout):
            self.fail("no message with %s for %s\n%s" % (t, user,
                                                         self.q.describe()))
        return self.messages_with(user, t)

    def qread(self):
        p = subprocess.run([qmtest.bin_path("qmail-qread")],
                           env=self.q.env(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=30)
        return p.stdout

    def assert_never_queued(self, t):
        """A marker message sent afterwards is delivered; by then the
        refused one (token t) is neither delivered nor queued."""
        marker = token()
        c = self.conn()
        c.send(qmtp_package([b"Subject: " + marker.encode(), b"", b"m"],
                            b"m@client.test", [b"alice@localhost"]))
        self.assertTrue(c.reply().startswith(b"K"))
        self.wait_message("alice", marker)
        self.assertEqual(self.messages_with("alice", t), [])
        self.assertEqual(self.messages_with("bob", t), [])
        qmtest.wait_until(lambda: "alice" not in self.qread(), 10)
        self.assertNotIn(t, self.qread())

    def log(self):
        return self.q.log_text("qmtpd")


class TestQmtp(QmtpCase):
    """Default rules: 127.0.0.1 is a RELAYCLIENT."""

    def test_one_message_lf_encoding(self):
        t = token()
        c = self.conn()
        c.send(qmtp_package([b"Subject: " + t.encode(), b"From: a@c.test",
                             b"", b"line one", b"line two", b""],
                            b"a@client.test", [b"alice@localhost"]))
        r = c.reply()
        self.assertTrue(r.startswith(b"Kok "), r)
        self.assertIn(b" qp ", r)
        data = self.wait_message("alice", t)[0]
        self.assertIn(b"\nline one\nline two\n", data)
        self.assertNotIn(b"\r", data)
        # our Received line comes first after the delivery headers
        self.assertRegex(data, rb"Received: from unknown \(\[127\.0\.0\.1\]\)"
                               rb"\n\tby localhost with QMTP; ")
        self.assertIn(b"Return-Path: <a@client.test>", data)

    def test_crlf_encoding_is_converted(self):
        t = token()
        c = self.conn()
        c.send(qmtp_package([b"Subject: " + t.encode(), b"", b"dos line",
                             b"bare\rcr stays", b"end"],
                            b"a@client.test", [b"bob@localhost"],
                            encoding=b"\r"))
        self.assertTrue(c.reply().startswith(b"K"))
        data = self.wait_message("bob", t)[0]
        self.assertIn(b"\ndos line\nbare\rcr stays\nend", data)
        self.assertNotIn(b"\r\n", data)

    def test_several_packages_pipelined_and_per_recipient_replies(self):
        t1, t2, t3 = token(), token(), token()
        c = self.conn()
        # all three packages at once: the server answers each in order
        c.send(qmtp_package([b"Subject: " + t1.encode(), b"", b"1"],
                            b"a@client.test",
                            [b"alice@localhost", b"nosuchuser@localhost",
                             b"bob@localhost"]) +
               qmtp_package([b"Subject: " + t2.encode(), b"", b"2"],
                            b"", [b"bob@localhost"], encoding=b"\r") +
               qmtp_package([b"Subject: " + t3.encode(), b"", b"3"],
                            b"a@client.test", [b"nosuchuser@localhost"]))
        r = c.replies(5)
        self.assertTrue(r[0].startswith(b"K"), r)
        self.assertEqual(r[1], b"Dno such user here")
        self.assertTrue(r[2].startswith(b"K"), r)
        self.assertTrue(r[3].startswith(b"K"), r)
        self.assertEqual(r[4], b"Dno such user here")
        self.wait_message("alice", t1)
        self.wait_message("bob", t1)
        self.wait_message("bob", t2)
        # the client closes: the server ends the connection too
        c.sock.shutdown(socket.SHUT_WR)
        self.assertTrue(c.closed())
        self.assert_never_queued(t3)

    def test_postmaster_and_relayclient(self):
        t = token()
        c = self.conn()
        c.send(qmtp_package([b"Subject: " + t.encode(), b"", b"x"],
                            b"a@client.test",
                            [b"postmaster@localhost", b"far@remote.test"]))
        r = c.replies(2)
        # RELAYCLIENT (127.0.0.1 in tcp.qmtp): a remote domain is accepted
        self.assertTrue(all(x.startswith(b"K") for x in r), r)
        self.assertTrue(qmtest.wait_until(lambda: self._alias_has(t), 20),
                        self.q.describe())

    def _alias_has(self, t):
        for sub in ("new", "cur"):
            d = self.q.path("alias", "Maildir", sub)
            for f in os.listdir(d) if os.path.isdir(d) else ():
                with open(os.path.join(d, f), "rb") as fh:
                    if t.encode() in fh.read():
                        return True
        return False

    def test_bad_recipient_addresses(self):
        t = token()
        c = self.conn()
        c.send(qmtp_package([b"Subject: " + t.encode(), b"", b"x"],
                            b"a@client.test",
                            [b"al\nice@localhost", b"", b"x" * 1001 +
                             b"@localhost", b"alice@localhost"]))
        r = c.replies(4)
        self.assertEqual(r[0], b"Dbad recipient address syntax")
        self.assertEqual(r[1], b"Dbad recipient address syntax")
        self.assertEqual(r[2], b"Drecipient address too long")
        self.assertTrue(r[3].startswith(b"K"), r)
        self.wait_message("alice", t)

    def test_bad_sender_addresses(self):
        """A sender with a line break, a NUL or DEL would forge header
        lines (Return-Path) downstream: the package is refused for every
        recipient and nothing is queued."""
        tokens = []
        for sender in (b"a@client.test\r\nX-Forged: 1", b"a\x00b@client.test",
                       b"a\x7f@client.test"):
            t = token()
            tokens.append(t)
            c = self.conn()
            c.send(qmtp_package([b"Subject: " + t.encode(), b"", b"x"],
                                sender, [b"alice@localhost", b"bob@localhost"]))
            self.assertEqual(c.replies(2), [b"Dbad sender address syntax"] * 2)
        for t in tokens:
            self.assert_never_queued(t)
        # the log shows the sender on one line (log injection)
        self.assertFalse([l for l in self.log().splitlines()
                          if l.startswith("X-Forged")])

    def test_empty_message_and_bad_encoding_refused(self):
        t = token()
        c = self.conn()
        c.send(ns(b"") + ns(b"a@client.test") +
               ns(ns(b"alice@localhost")) +
               ns(b"XSubject: " + t.encode() + b"\n\nbody") +
               ns(b"a@client.test") + ns(ns(b"alice@localhost")))
        r = c.replies(2)
        self.assertTrue(r[0].startswith(b"Dmessage refused: it is empty"), r)
        self.assertTrue(r[1].startswith(b"Dmessage refused: unknown "
                                        b"encoding"), r)
        self.assert_never_queued(t)

    def test_databytes(self):
        self.q.set_control("databytes", "1000")
        t = token()
        c = self.conn()
        # over the limit, but within what is read through (twice it)
        big = [b"Subject: " + t.encode(), b""] + [b"y" * 99] * 14
        c.send(qmtp_package(big, b"a@client.test",
                            [b"alice@localhost", b"bob@localhost"]) +
               qmtp_package([b"Subject: small " + t.encode(), b"", b"ok"],
                            b"a@client.test", [b"bob@localhost"]))
        r = c.replies(3)
        self.assertEqual(r[0], b"Dmessage too big: the limit is 1000 bytes")
        self.assertEqual(r[1], r[0])
        # the connection goes on: the next package is accepted
        self.assertTrue(r[2].startswith(b"K"), r)
        msgs = self.wait_message("bob", t)
        self.assertEqual(len(msgs), 1)
        self.assertIn(b"small", msgs[0])
        self.assertEqual(self.messages_with("alice", t), [])
        # a declared length far over the limit: refused at once
        c2 = self.conn()
        c2.send(b"999999999:\n")
        self.assertEqual(c2.reply(),
                         b"Dmessage too big: the limit is 1000 bytes")
        self.assertTrue(c2.closed())

    def framing_error(self, data, want=b"Dprotocol error"):
        """data is a broken package containing a token; the server must
        answer one D (framing error) and close, and queue nothing."""
        t = token()
        c = self.conn()
        c.send(data.replace(b"TOKEN", t.encode()))
        r = c.reply()
        self.assertTrue(r.startswith(want), r)
        self.assertTrue(c.closed())
        return t

    def test_malformed_netstrings(self):
        good_tail = ns(b"a@client.test") + ns(ns(b"alice@localhost"))
        msg = b"\nSubject: TOKEN\n\nbody\n"
        cases = [
            b"x" + ns(msg) + good_tail,                    # leading garbage
            b" " + ns(msg) + good_tail,                    # leading space
            b"0" + ns(msg) + good_tail,                    # leading zero
            str(len(msg)).encode() + b";" + msg + b"," + good_tail,
            str(len(msg)).encode() + b":" + msg + b";" + good_tail,
            ns(msg) + b"-1:," + ns(ns(b"alice@localhost")),
            ns(msg) + ns(b"a@client.test") + b"1x:" + ns(b"alice@localhost")
            + b",",
            # a recipient netstring missing its comma inside the list
            ns(msg) + ns(b"a@client.test") +
            ns(b"15:alice@localhost;"),
        ]
        tokens = [self.framing_error(d) for d in cases]
        # a length of more digits than any limit
        tokens.append(self.framing_error(b"1" * 30 + b":" + msg + b","))
        for t in tokens:
            self.assertEqual(self.messages_with("alice", t), [], t)
        self.assert_never_queued(tokens[0])

    def test_lengths_that_lie(self):
        msg = b"\nSubject: TOKEN\n\nbody\n"
        tail = ns(b"a@client.test") + ns(ns(b"alice@localhost"))
        # shorter than the message: the byte after it is not ','
        t1 = self.framing_error(str(len(msg) - 3).encode() + b":" + msg +
                                b"," + tail)
        # the recipient list says it is longer than its recipients
        t2 = self.framing_error(ns(msg) + ns(b"a@client.test") + b"30:" +
                                ns(b"alice@localhost") + b"," +
                                ns(b"") + ns(b"s") + ns(b""))
        # the recipient list is shorter than the recipient inside it
        t3 = self.framing_error(ns(msg) + ns(b"a@client.test") + b"10:" +
                                ns(b"alice@localhost") + b",")
        for t in (t1, t2, t3):
            self.assert_never_queued(t)

    def test_longer_length_then_close_queues_nothing(self):
        """A message length longer than what is sent swallows the rest;
        the client then closes: nothing is queued, no reply."""
        t = token()
        msg = b"\nSubject: " + t.encode() + b"\n\nbody\n"
        c = self.conn()
        c.send(str(len(msg) + 500).encode() + b":" + msg + b"," +
               ns(b"a@client.test") + ns(ns(b"alice@localhost")))
        time.sleep(0.5)
        c.sock.shutdown(socket.SHUT_WR)
        self.assertTrue(c.closed())
        self.assertEqual(c.buf, b"")
        self.assert_never_queued(t)

    def test_truncated_connections_queue_nothing(self):
        tokens = []
        for i in range(4):
            t = token()
            tokens.append(t)
            msg = b"\nSubject: " + t.encode() + b"\n\n" + b"z" * 100000
            full = (ns(msg) + ns(b"a@client.test") +
                    ns(ns(b"alice@localhost")))
            # cut inside the message, in the sender, in the recipient
            # list, and just before the list's final comma
            cut = (5000, len(ns(msg)) + 3, len(full) - 8, len(full) - 1)[i]
            c = self.conn()
            c.send(full[:cut])
            time.sleep(0.2)
            c.sock.shutdown(socket.SHUT_WR)
            self.assertTrue(c.closed())
            self.assertEqual(c.buf, b"", cut)
        for t in tokens:
            self.assert_never_queued(t)
        self.assertIn("connection closed inside a package", self.log())


class TestQmtpNoRelay(QmtpCase):
    """tcp.qmtp without RELAYCLIENT: rcpthosts decides."""

    RULES = "127.:allow\n::1:allow\n"

    def test_relay_refused_local_accepted(self):
        t = token()
        c = self.conn()
        c.send(qmtp_package([b"Subject: " + t.encode(), b"", b"x"],
                            b"a@client.test",
                            [b"far@remote.test", b"alice@LOCALHOST",
                             b"nobody-here@localhost", b"noat"]))
        r = c.replies(4)
        self.assertEqual(r[0], b"Drelaying denied: this server does not "
                               b"accept mail for that domain")
        self.assertTrue(r[1].startswith(b"K"), r)
        self.assertEqual(r[2], b"Dno such user here")
        self.assertEqual(r[3], r[0])
        data = self.wait_message("alice", t)[0]
        self.assertNotIn(b"far@remote.test", self.qread().encode())
        self.assertIn(b"Delivered-To: alice@localhost", data)

    def test_badmailfrom(self):
        self.q.set_control("badmailfrom", "@spam.test")
        self.addCleanup(os.unlink, self.q.path("control", "badmailfrom"))
        t = token()
        c = self.conn()
        c.send(qmtp_package([b"Subject: " + t.encode(), b"", b"x"],
                            b"x@SPAM.test",
                            [b"alice@localhost", b"far@remote.test"]))
        r = c.replies(2)
        self.assertEqual(r[0], b"Dsender refused by this server's policy")
        # the recipient's own refusal comes first
        self.assertTrue(r[1].startswith(b"Drelaying denied"), r)
        self.assert_never_queued(t)


def parse_replies(data):
    """Every netstring in data (a server's whole output), strictly."""
    out, pos = [], 0
    while pos < len(data):
        colon = data.index(b":", pos)
        head = data[pos:colon]
        if not head.isdigit() or (head.startswith(b"0") and head != b"0"):
            raise AssertionError("bad netstring length %r" % head)
        end = colon + 1 + int(head)
        if data[end:end + 1] != b",":
            raise AssertionError("netstring without comma at %d" % end)
        out.append(data[colon + 1:end])
        pos = end + 1
    return out


class TestQmtpDirect(unittest.TestCase):
    """qmail-qmtpd run the ucspi way (the connection on fd 0/1, no
    listener) on an instance that is not started, so that a test can set
    the server's own resource limits."""

    PROGRAM = "qmail-qmtpd"

    def setUp(self):
        for p in ("qmailctl", "qmail-queue", self.PROGRAM):
            if not qmtest.have(p):
                self.skipTest("%s not built" % p)
        self.q = qmtest.Instance.for_test(self)

    def run_server(self, data, env=None, as_limit=None, timeout=120):
        def limit():
            if as_limit:
                import resource
                resource.setrlimit(resource.RLIMIT_AS, (as_limit, as_limit))
        env = dict(self.q.env(), **(env or {}))
        env.pop("RELAYCLIENT", None)
        return subprocess.run([qmtest.bin_path(self.PROGRAM)], input=data,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=env, preexec_fn=limit, timeout=timeout)

    def test_millions_of_recipients_bounded_memory(self):
        """A recipient list of the largest size accepted, all empty
        netstrings (5.5 million recipients): every one gets its reply, in
        order, from a server limited to 96 MB of address space (the replies
        alone are 134 MB: they must not be gathered in memory)."""
        n = (16 * 1024 * 1024 - 16) // 3
        pkg = (ns(b"\nSubject: many\n\nx\n") + ns(b"a@client.test") +
               ns(b"0:," * n))
        p = self.run_server(pkg, as_limit=96 * 1024 * 1024)
        self.assertNotIn(b"out of memory", p.stderr)
        r = parse_replies(p.stdout)
        self.assertEqual(len(r), n, p.stderr[-500:])
        # the first maxrcpt (100) are judged, the rest are too many
        self.assertEqual(r[0], b"Dbad recipient address syntax")
        self.assertEqual(r[99], r[0])
        self.assertEqual(r[100], b"Ztoo many recipients")
        self.assertEqual(r[-1], r[100])

    def test_idle_timeout_sends_no_stray_reply(self):
        """After a package is answered, a client that says nothing until
        the timeout gets the connection closed, not a reply: replies may
        only answer a package (a stray Z would be read as the answer to
        the client's next package).  Inside a package a timeout still
        gets its Z."""
        self.q.set_control("timeoutsmtpd", "1")
        t = token()
        for tail, want in ((b"", b""), (b"12:\nSubject", b"28:Ztimeout")):
            p = subprocess.Popen([qmtest.bin_path(self.PROGRAM)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=self.q.env())
            self.addCleanup(p.kill)
            # a package with no recipient gets no reply at all
            p.stdin.write(qmtp_package([b"Subject: " + t.encode()],
                                       b"a@client.test", []) + tail)
            p.stdin.flush()
            # stdin stays open: the server must end the session itself
            out = p.stdout.read()
            p.wait(timeout=60)
            p.stdin.close()
            err = p.stderr.read()
            p.stderr.close()
            p.stdout.close()
            self.assertTrue(out.startswith(want) if want else out == b"",
                            (out, err))
            self.assertIn(b"timeout", err)


if __name__ == "__main__":
    unittest.main()

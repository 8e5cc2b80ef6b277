"""Black-box tests of qmail-qmqpd: a QMQP client written here from the
protocol description (one netstring holding the message, the sender and
the recipients as netstrings; one K/Z/D netstring back; the server
closes), against a real instance started by `qmailctl start` (qmail-tcpd
on control/qmqpport, access from control/tcp.qmqp).  See qmail-qmqpd(8)."""

import socket
import time
import unittest

import qmtest
from test_qmtpd import QmtpCase, ns, token


def qmqp_package(message, sender, rcpts):
    return ns(ns(message) + ns(sender) + b"".join(ns(r) for r in rcpts))


class TestQmqp(QmtpCase):

    def send(self, data, shut=False):
        c = self.conn(self.qmqp_port)
        c.send(data)
        if shut:
            time.sleep(0.2)
            c.sock.shutdown(socket.SHUT_WR)
        return c

    def test_message_queued_and_delivered(self):
        t = token()
        msg = b"Subject: " + t.encode() + b"\nFrom: a@mini.test\n\nhello\n"
        c = self.send(qmqp_package(msg, b"a@mini.test",
                                   [b"alice@localhost", b"bob@localhost",
                                    b"far@remote.test"]))
        r = c.reply()
        self.assertTrue(r.startswith(b"Kok "), r)
        self.assertTrue(c.closed())
        for u in ("alice", "bob"):
            data = self.wait_message(u, t)[0]
            self.assertIn(b"\n\nhello\n", data)
            self.assertRegex(data, rb"Received: from unknown "
                                   rb"\(\[127\.0\.0\.1\]\)\n\tby localhost "
                                   rb"with QMQP; ")

    def test_empty_recipient_list_and_bad_addresses(self):
        for rcpts, want in (([], b"Dno recipients"),
                            ([b"a\x00b@localhost"],
                             b"Dbad recipient address syntax"),
                            ([b"x" * 1200], b"Drecipient address too long")):
            t = token()
            c = self.send(qmqp_package(b"Subject: " + t.encode() + b"\n\nx",
                                       b"a@mini.test", rcpts))
            self.assertEqual(c.reply(), want)
            self.assertTrue(c.closed())
            self.assert_never_queued(t)

    def test_databytes(self):
        self.q.set_control("databytes", "500")
        t = token()
        c = self.send(qmqp_package(b"Subject: " + t.encode() + b"\n\n" +
                                   b"y" * 600, b"a@mini.test",
                                   [b"alice@localhost"]))
        self.assertEqual(c.reply(), b"Dmessage too big: the limit is 500 "
                                    b"bytes")
        self.assertTrue(c.closed())
        self.assert_never_queued(t)

    def test_malformed_and_lying(self):
        msg = b"Subject: TOKEN\n\nbody\n"
        inner = ns(msg) + ns(b"a@mini.test") + ns(b"alice@localhost")
        cases = [
            b"x" + ns(inner),                       # leading garbage
            b"0" + ns(inner),                       # leading zero
            str(len(inner)).encode() + b":" + inner + b";",  # no comma
            # the package says it is shorter than its contents
            str(len(inner) - 4).encode() + b":" + inner + b",",
            # a recipient that runs past the package's end
            str(len(inner) - 4).encode() + b":" + inner[:-4] + b",",
            b"9" * 25 + b":" + inner + b",",        # huge length
        ]
        tokens = []
        for d in cases:
            t = token()
            tokens.append(t)
            c = self.send(d.replace(b"TOKEN", t.encode()))
            r = c.reply()
            self.assertTrue(r.startswith(b"D"), (d, r))
            self.assertTrue(c.closed())
        for t in tokens:
            self.assert_never_queued(t)

    def test_truncated_queues_nothing(self):
        tokens = []
        for cut in (100, 3000, -3, -1):
            t = token()
            tokens.append(t)
            msg = b"Subject: " + t.encode() + b"\n\n" + b"z" * 5000
            c = self.send(qmqp_package(msg, b"a@mini.test",
                                       [b"alice@localhost"])[:cut],
                          shut=True)
            self.assertTrue(c.closed())
            self.assertEqual(c.buf, b"", cut)
        for t in tokens:
            self.assert_never_queued(t)


class TestQmqpDenied(QmtpCase):
    """tcp.qmqp denies this client: the listener closes before
    qmail-qmqpd ever runs, so nothing can be queued."""

    QMQP_RULES = "127.0.0.1:deny\n:deny\n"

    def test_denied_client(self):
        t = token()
        c = self.conn(self.qmqp_port)
        try:
            c.send(qmqp_package(b"Subject: " + t.encode() + b"\n\nx",
                                b"a@mini.test", [b"alice@localhost"]))
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.assertTrue(c.closed())
        self.assertEqual(c.buf, b"")
        self.assert_never_queued(t)
        log = self.q.log_text("qmqpd")
        self.assertIn("deny remote 127.0.0.1", log)
        self.assertNotIn("connect from", log)  # qmail-qmqpd never ran


if __name__ == "__main__":
    unittest.main()

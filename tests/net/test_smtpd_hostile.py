"""Black-box tests of qmail-smtpd against hostile clients, on raw sockets:
overlong lines, NUL bytes, bare CR and LF, SMTP smuggling, early talkers,
too many errors, timeouts and slowloris, and a long session of random and
malformed commands that must leave memory bounded and the server serving.
The server is bin/qmail-smtpd under Debian's tcpserver for a real
instance, so what gets through is really delivered (and what does not,
is really not).  See qmail-smtpd(8), "Hostile clients"."""

import random
import socket
import threading
import time
import unittest
import uuid

from test_smtpd_lib import Raw, SmtpdCase, Tcpserver, elapsed, wait_for


def token():
    return "t" + uuid.uuid4().hex[:16]


class TestHostile(SmtpdCase):

    def start_transaction(self, r, rcpt="alice@localhost"):
        self.assertEqual(r.cmd("MAIL FROM:<x@client.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<%s>" % rcpt)[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)

    def test_overlong_command_lines(self):
        r = self.session()
        code, text = r.cmd(b"NOOP " + b"x" * 600)
        self.assertEqual((code, text[:10]), (500, b"500 5.5.2 "))
        # 512 with CRLF is still fine
        self.assertEqual(r.cmd(b"NOOP " + b"x" * 505)[0], 250)
        # MAIL may carry SIZE= and BODY= beyond 512
        route = b",".join([b"@" + b"r" * 50 + b".test"] * 4) + b":"
        addr = route + b"a" * 240 + b"@c.test"
        line = b"MAIL FROM:<" + addr + b"> SIZE=1000 BODY=8BITMIME"
        self.assertGreater(len(line) + 2, 512)
        self.assertLessEqual(len(line) + 2, 552)
        self.assertEqual(r.cmd(line)[0], 250)
        self.assertEqual(r.cmd("RSET")[0], 250)
        # a megabyte without a line end: consumed, not stored, one reply
        r.send(b"HELO " + b"y" * (1 << 20))
        r.send(b"\r\n")
        code, text = r.reply()
        self.assertEqual(code, 500, text)
        self.assertEqual(r.cmd("NOOP")[0], 250)
        # an address longer than a path may be
        r.cmd("MAIL FROM:<a@c.test>")
        code, _ = r.cmd(b"RCPT TO:<" + b"b" * 300 + b"@localhost>")
        self.assertEqual(code, 501)

    def test_control_characters_in_commands(self):
        r = self.session()
        for line in (b"NOOP a\x00b", b"HELO a\rb", b"MAIL FROM:<a@b.test>\r"
                     b"RCPT TO:<alice@localhost>", b"\x1b[31mNOOP"):
            code, text = r.cmd(line)
            self.assertEqual((code, text[:10]), (500, b"500 5.5.2 "), line)
        # a bare CR never splits a command: nothing was accepted above
        self.assertEqual(r.cmd("RCPT TO:<alice@localhost>")[0], 503)
        # commands ending in a bare LF are accepted (the end of DATA is not)
        r.send(b"NOOP\n")
        self.assertEqual(r.reply()[0], 250)

    def refused_message(self, payload, want_code, want_text):
        """Send payload as message text (it must contain the real end);
        the message must be refused with want_code and never delivered."""
        t = token()
        r = self.session()
        self.start_transaction(r)
        r.send(b"Subject: " + t.encode() + b"\r\n\r\n" + payload)
        code, text = r.reply()
        self.assertEqual(code, want_code, text)
        self.assertIn(want_text, text)
        # the session is still in step
        self.assertEqual(r.cmd("NOOP")[0], 250)
        self.assertEqual(r.cmd("QUIT")[0], 221)
        return t

    def assert_not_delivered(self, *tokens):
        self.marker("alice")
        for t in tokens:
            self.assertEqual(self.messages_with("alice", t), [], t)
            self.assertEqual(self.messages_with("bob", t), [], t)
        self.assertNotIn(tokens[0], self.qread())

    def test_overlong_data_line(self):
        t = self.refused_message(b"x" * 1500 + b"\r\nok\r\n.\r\n", 554,
                                 b"5.6.0")
        # 998 + CRLF is fine
        t2 = token()
        r = self.session()
        self.start_transaction(r)
        r.send(("Subject: %s\r\n\r\n" % t2).encode() + b"y" * 998 +
               b"\r\n.\r\n")
        self.assertEqual(r.reply()[0], 250)
        self.wait_message("alice", t2)
        self.assert_not_delivered(t)

    def test_huge_line_in_data_is_not_buffered(self):
        # 8 MB in one line: consumed at network speed, refused at the end
        t = token()
        r = self.session()
        self.start_transaction(r)
        r.send(("Subject: %s\r\n\r\n" % t).encode())
        chunk = b"z" * 65536
        for _ in range(128):
            r.send(chunk)
        pids = self.server.children()
        if pids:
            with open("/proc/%d/status" % pids[0]) as f:
                rss = [l for l in f if l.startswith("VmHWM")][0]
            self.assertLess(int(rss.split()[1]), 32 * 1024, rss)
        r.send(b"\r\n.\r\n")
        self.assertEqual(r.reply()[0], 554)
        self.assert_not_delivered(t)

    def test_nul_in_data(self):
        t = self.refused_message(b"a\x00b\r\n.\r\n", 554, b"5.6.0")
        self.assert_not_delivered(t)

    def test_bare_lf_and_cr_in_data(self):
        t1 = self.refused_message(b"one\ntwo\r\n.\r\n", 550, b"bare LF")
        t2 = self.refused_message(b"one\rtwo\r\n.\r\n", 550, b"bare CR")
        self.assert_not_delivered(t1, t2)

    def test_smuggling_sequences(self):
        """<LF>.<LF>, <CR>.<CR>, <LF>.<CR><LF>, <CR><LF>.<LF> followed by a
        second transaction: the server keeps reading the first message
        (no reply), and the second message never exists on its own."""
        tokens = []
        for seq in (b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\n", b"\r\n.\r"):
            first, second = token(), token()
            tokens += [first, second]
            r = self.session()
            self.start_transaction(r)
            r.send(b"Subject: " + first.encode() + b"\r\n\r\nfirst" + seq +
                   b"MAIL FROM:<evil@client.test>\r\n"
                   b"RCPT TO:<bob@localhost>\r\nDATA\r\n"
                   b"Subject: " + second.encode() + b"\r\n\r\nsmuggled\r\n")
            # not the end of DATA: no reply at all
            self.assertTrue(r.nothing_within(0.5), (seq, r.buf))
            r.send(b".\r\n")
            code, text = r.reply()
            self.assertEqual(code, 550, (seq, text))
            self.assertEqual(r.cmd("NOOP")[0], 250, seq)
            self.assertEqual(r.cmd("QUIT")[0], 221)
        self.assert_not_delivered(*tokens)

    def test_pipelined_after_end_of_data(self):
        """The bytes after <CRLF>.<CRLF> in the same packet are the next
        commands, and the replies come in order."""
        t1, t2 = token(), token()
        r = self.session()
        r.send("MAIL FROM:<a@client.test>\r\nRCPT TO:<alice@localhost>\r\n"
               "RCPT TO:<nobody-at-all@localhost>\r\nDATA\r\n")
        self.assertEqual([r.reply()[0] for _ in range(4)],
                         [250, 250, 550, 354])
        r.send("Subject: %s\r\n\r\none\r\n.\r\nMAIL FROM:<a@client.test>\r\n"
               "RCPT TO:<bob@localhost>\r\nDATA\r\n" % t1)
        self.assertEqual([r.reply()[0] for _ in range(4)],
                         [250, 250, 250, 354])
        r.send("Subject: %s\r\n\r\ntwo\r\n.\r\nQUIT\r\n" % t2)
        self.assertEqual([r.reply()[0] for _ in range(2)], [250, 221])
        self.wait_message("alice", t1)
        self.wait_message("bob", t2)

    def test_early_talker(self):
        srv = Tcpserver(self.q, {"GREETDELAY": "1"}, name="greet")
        self.addCleanup(srv.stop)
        # talks at once: refused, connection closed
        r = Raw(srv.port, greet=False)
        self.addCleanup(r.close)
        r.send(b"EHLO rude.test\r\nMAIL FROM:<a@b.test>\r\n")
        code, text = r.reply()
        self.assertEqual((code, text[:10]), (554, b"554 5.5.0 "))
        self.assertTrue(r.closed())
        self.assertIn("early talker", srv.log())
        # waits: greeted after the delay
        start = time.monotonic()
        r = Raw(srv.port)
        self.addCleanup(r.close)
        self.assertEqual(r.greeting[0], 220)
        self.assertGreaterEqual(elapsed(start), 0.9)
        self.assertEqual(r.cmd("EHLO polite.test")[0], 250)

    def test_too_many_errors(self):
        r = self.session()
        for i in range(19):
            self.assertEqual(r.cmd("BOGUS %d" % i)[0], 502)
        code, text = r.cmd("BOGUS last")
        self.assertEqual(code, 502)
        code, text = r.reply()
        self.assertEqual((code, text[:10]), (421, b"421 4.7.0 "))
        self.assertTrue(r.closed())
        # the limit is a control file
        self.set_control("maxerrors", "3")
        r = self.session()
        r.cmd("X")
        r.cmd("Y")
        self.assertEqual(r.cmd("Z")[0], 502)
        self.assertEqual(r.reply()[0], 421)
        self.assertTrue(r.closed())

    def test_too_many_recipients_end_the_session(self):
        r = self.session()
        r.cmd("MAIL FROM:<a@client.test>")
        for i in range(100):
            self.assertEqual(r.cmd("RCPT TO:<alice@localhost>")[0], 250, i)
        # beyond maxrcpt: 452 each, counted as errors, then the end
        codes = []
        for i in range(25):
            try:
                codes.append(r.cmd("RCPT TO:<bob@localhost>")[0])
            except (EOFError, OSError):
                break
        self.assertEqual(codes, [452] * 20 + [421])

    def test_http_request_closes(self):
        r = self.raw()
        r.send(b"POST / HTTP/1.1\r\nHost: x\r\n\r\nMAIL FROM:<a@b.test>\r\n")
        code, _ = r.reply()
        self.assertEqual(code, 421)
        self.assertTrue(r.closed())

    def test_timeout(self):
        self.set_control("timeoutsmtpd", "2")
        start = time.monotonic()
        r = self.session()
        code, text = r.reply()     # waits for the server's 421
        self.assertEqual((code, text[:10]), (421, b"421 4.4.2 "))
        self.assertTrue(r.closed())
        self.assertLess(elapsed(start), 6)
        self.assertGreaterEqual(elapsed(start), 1.9)

    def test_timeout_during_data(self):
        self.set_control("timeoutsmtpd", "2")
        t = token()
        r = self.session()
        self.start_transaction(r)
        r.send("Subject: %s\r\n\r\nhalf a message\r\n" % t)
        code, _ = r.reply()
        self.assertEqual(code, 421)
        self.assertTrue(r.closed())
        self.assert_not_delivered(t)

    def test_slowloris(self):
        """One byte a second: each line must be complete within the
        timeout, so trickling does not keep the session alive."""
        self.set_control("timeoutsmtpd", "2")
        r = self.session()
        start = time.monotonic()
        closed = False
        for b in b"NOOP and a long trickle of bytes\r\n":
            try:
                r.send(bytes([b]))
            except OSError:
                closed = True
                break
            if not r.nothing_within(1.0):
                break
        self.assertTrue(closed or r.buf.startswith(b"421 4.4.2 "), r.buf)
        self.assertLess(elapsed(start), 5)
        # the same in DATA
        r = self.session()
        self.start_transaction(r)
        start = time.monotonic()
        for b in b"Subject: slow\r\n\r\n" + b"x" * 20:
            try:
                r.send(bytes([b]))
            except OSError:
                break
            if not r.nothing_within(1.0):
                break
        self.assertTrue(r.buf.startswith(b"421 4.4.2 "), r.buf)
        self.assertLess(elapsed(start), 5)

    def test_session_time_limit(self):
        self.set_control("timeoutsmtpdsession", "2")
        r = self.session()
        start = time.monotonic()
        code = None
        while elapsed(start) < 6:
            try:
                code, text = r.cmd("NOOP")
            except (EOFError, OSError):
                break
            if code != 250:
                break
            time.sleep(0.2)
        self.assertEqual(code, 421)
        self.assertIn(b"session time limit", text)
        self.assertLess(elapsed(start), 4)

    def test_many_random_commands(self):
        """10,000 random and malformed commands in one pipelined session:
        one reply each, memory bounded, then the session still works and
        the next client is served."""
        self.set_control("maxerrors", "1000000")
        rnd = random.Random(4242)
        forbidden = (b"QUIT", b"DATA", b"GET", b"POST", b"HEAD", b"PUT",
                     b"CONNECT", b"OPTIONS", b"DELETE", b"EHLO", b"HELP")

        def line():
            kind = rnd.randrange(10)
            if kind == 0:
                body = bytes(rnd.randrange(256) for _ in
                             range(rnd.randrange(80)))
            elif kind == 1:
                body = b"MAIL FROM:" + bytes(rnd.choice(b"<>@.\"\\[]:, ax")
                                             for _ in range(rnd.randrange(40)))
            elif kind == 2:
                body = b"RCPT TO:" + bytes(rnd.choice(b"<>@.\"\\[]:, ax")
                                           for _ in range(rnd.randrange(40)))
            elif kind == 3:
                body = b"x" * rnd.randrange(400, 3000)
            elif kind == 4:
                body = rnd.choice([b"NOOP", b"RSET", b"VRFY x", b"HELO a.b",
                                   b"MAIL FROM:<a@b.test>", b"RCPT TO:<>",
                                   b"mail from:<> size=99999999999999999999",
                                   b"EXPN x", b"NOOP \x00", b"RSET x"])
            else:
                body = bytes(rnd.choice(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ :<>@\r\t"
                                        b"\x00\x80") for _ in
                             range(rnd.randrange(1, 30)))
            body = body.replace(b"\n", b" ")
            if body.lstrip().split(b" ")[0].upper().rstrip(b"\r") in forbidden:
                body = b"X" + body
            if body.upper().startswith(forbidden):
                body = b"X" + body
            return body + b"\r\n"

        lines = [line() for _ in range(10000)]
        r = self.session()
        codes = []

        def reader():
            try:
                while len(codes) < len(lines):
                    codes.append(r.reply()[0])
            except Exception as e:   # reported below through the count
                codes.append(repr(e))

        th = threading.Thread(target=reader)
        th.start()
        for i in range(0, len(lines), 200):
            r.send(b"".join(lines[i:i + 200]))
        pids = self.server.children()
        th.join(60)
        self.assertFalse(th.is_alive())
        self.assertEqual(len(codes), len(lines), codes[-5:])
        self.assertTrue(all(isinstance(c, int) and 200 <= c < 600
                            for c in codes), set(codes))
        self.assertNotIn(421, codes)
        # memory: the high-water mark of the session's process
        for pid in pids:
            try:
                with open("/proc/%d/status" % pid) as f:
                    hwm = [l for l in f if l.startswith("VmHWM")]
            except OSError:
                continue
            if hwm:
                self.assertLess(int(hwm[0].split()[1]), 32 * 1024, hwm)
        self.assertEqual(r.cmd("RSET")[0], 250)
        self.assertEqual(r.cmd("QUIT")[0], 221)
        # and the next client is served
        self.marker("bob")


if __name__ == "__main__":
    unittest.main()

"""Black-box tests of POP3: qmail-popup -> qmail-checkpw -> qmail-pop3d on a
real instance, served by Debian's tcpserver exactly as an administrator
would run it:

    tcpserver -R -H -l localhost 127.0.0.1 PORT env QMAILHOME=DIR \\
        bin/qmail-popup localhost bin/qmail-checkpw bin/qmail-pop3d Maildir

and, when bin/qmail-tcpd exists, through `qmailctl start`.  Clients we did
not write: Python's poplib, curl pop3://, fetchmail; a raw socket for the
misbehaving client.  Messages are put into the Maildir directly (fast) or
delivered through bin/sendmail and the queue.

See qmail-popup(8), qmail-pop3d(8), qmail-checkpw(8)."""

import concurrent.futures
import fcntl
import os
import poplib
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import uuid

import qmtest

PROGRAMS = ("qmailctl", "qmail-popup", "qmail-pop3d", "qmail-checkpw")
PASSWORD = "alice secret"   # with a space: PASS takes the rest of the line
AUTH_FAILED = b"-ERR [AUTH] authorization failed"
# sha512-crypt of "sixer secret": much faster to check than the yescrypt
# that qmail-checkpw spends on a name that does not exist
SIXER_HASH = ("$6$qmailtestsalt$XBFSPxEa431RZce9JcTPzJrPoxc9Kd1HKgoUP8uMfViw"
              "4mJJN1BElPBJ1DtvRR8zSws0TaMV0/WN2hrmqt0as0")


def token():
    return "t" + uuid.uuid4().hex[:16]


class Pop3Server:
    """tcpserver on a free loopback port running a POP3 command line for an
    instance, its stderr (the programs' logs) in a file.  stop() ends it
    and every session it started (its own process group)."""

    def __init__(self, inst, argv, env=(), pass_fds=()):
        self.inst = inst
        self.argv = list(argv)
        self.env = ["QMAILHOME=" + inst.dir] + list(env)
        self.pass_fds = tuple(pass_fds)
        self.proc = None
        self.port = None
        self.logpath = os.path.join(inst.tmp, "pop3-%s.log" % token())

    def start(self):
        for _ in range(5):
            port = qmtest.free_port()
            log = open(self.logpath, "ab")
            try:
                self.proc = subprocess.Popen(
                    ["tcpserver", "-R", "-H", "-l", "localhost", "127.0.0.1",
                     str(port), "env"] + self.env + self.argv,
                    cwd=qmtest.ROOT, stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL, stderr=log,
                    pass_fds=self.pass_fds, start_new_session=True)
            finally:
                log.close()
            if qmtest.wait_until(lambda: self._up(port), 5):
                self.port = port
                return self
            self.stop()     # the port was taken meanwhile: another one
        raise AssertionError("tcpserver did not start:\n" + self.log())

    def _up(self, port):
        if self.proc.poll() is not None:
            return True     # exited: start() sees it through the connect
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            return False

    def stop(self):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self.proc = None

    def log(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""


class Raw:
    """A bare POP3 client on a socket, for what poplib will not do."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed; got %r" % self.buf)
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def cmd(self, text):
        self.send(text if isinstance(text, bytes) else
                  text.encode() + b"\r\n")
        return self.line()

    def multi(self):
        lines = []
        while True:
            line = self.line()
            if line == b".":
                return lines
            lines.append(line[1:] if line.startswith(b".") else line)

    def until_eof(self):
        """Everything until the server closes the connection."""
        while True:
            data = self.sock.recv(65536)
            if not data:
                out, self.buf = self.buf, b""
                return out
            self.buf += data

    def login(self, user="alice", password=PASSWORD):
        assert self.line().startswith(b"+OK")
        assert self.cmd("USER " + user).startswith(b"+OK")
        return self.cmd("PASS " + password)

    def close(self):
        self.sock.close()


def wire(data):
    """A message as POP3 sends it, before byte-stuffing: CR LF line ends
    (a bare LF and a bare CR both become CR LF), a final line end
    added."""
    data = re.sub(rb"\r(?!\n)|(?<!\r)\n", b"\r\n", data)
    if data and not data.endswith(b"\n"):
        data += b"\r\n"
    return data


def parallel(fn, args):
    """fn(arg) for each arg at the same time; the results in order."""
    with concurrent.futures.ThreadPoolExecutor(len(args)) as pool:
        return list(pool.map(fn, args))


class Pop3Case(unittest.TestCase):
    """One instance with users alice (password) and bob (no password),
    served by tcpserver with the command line from qmail-popup(8)."""

    ARGV = ["bin/qmail-popup", "localhost", "bin/qmail-checkpw",
            "bin/qmail-pop3d", "Maildir"]

    @classmethod
    def setUpClass(cls):
        missing = [p for p in PROGRAMS if not qmtest.have(p)]
        if missing:
            raise unittest.SkipTest("bin/%s not built yet"
                                    % ", bin/".join(missing))
        if not shutil.which("tcpserver"):
            raise unittest.SkipTest("tcpserver (ucspi-tcp) not installed")
        cls.q = qmtest.Instance()
        cls.addClassCleanup(cls.q.cleanup)
        cls.q.init()
        # as in a real installation, the instance's control files are
        # readable by the mailbox owner (qmail-pop3d reads timeoutpop3d)
        os.chmod(cls.q.tmp, 0o711)
        cls.q.adduser("alice", password=PASSWORD)
        cls.q.adduser("bob")
        cls.q.set_control("pop3faildelay", "1")     # the minimum
        cls.q.set_control("pop3addrfailures", "0")
        st = os.stat(cls.q.maildir_path("alice"))
        cls.owner = (st.st_uid, st.st_gid)
        cls.server = Pop3Server(cls.q, cls.ARGV).start()
        cls.addClassCleanup(cls.server.stop)
        cls.port = cls.server.port
        cls.seq = 0

    def setUp(self):
        for sub in ("new", "cur", "tmp"):
            d = os.path.join(self.q.maildir_path("alice"), sub)
            for name in os.listdir(d):
                os.unlink(os.path.join(d, name))
        try:
            os.unlink(self.q.path("run", "pop3-failures"))
        except FileNotFoundError:
            pass

    # ---- helpers -------------------------------------------------------

    def put(self, data, sub="new", name=None):
        """A message file in alice's Maildir (written in tmp/, renamed),
        owned like a delivered one; returns its unique name.  Files get
        increasing modification times: delivery order."""
        type(self).seq += 1
        if isinstance(data, str):
            data = data.encode()
        unique = name or "%d.M%dP%d.test" % (1700000000 + self.seq,
                                             self.seq, os.getpid())
        md = self.q.maildir_path("alice")
        tmp = os.path.join(md, "tmp", unique)
        with open(tmp, "wb") as f:
            f.write(data)
        os.chown(tmp, *self.owner)
        os.utime(tmp, (1700000000 + self.seq, 1700000000 + self.seq))
        final = unique + (":2," if sub == "cur" else "")
        os.rename(tmp, os.path.join(md, sub, final))
        return unique

    def files(self):
        """{unique name: (dir, file name)} of alice's messages."""
        out = {}
        for sub in ("new", "cur"):
            d = os.path.join(self.q.maildir_path("alice"), sub)
            for name in os.listdir(d):
                out[name.split(":")[0]] = (sub, name)
        return out

    def pop(self, port=None, user="alice", password=PASSWORD):
        p = poplib.POP3("127.0.0.1", port or self.port, timeout=10)
        self.addCleanup(p.close)
        p.user(user)
        p.pass_(password)
        return p

    def raw(self, port=None):
        r = Raw(port or self.port)
        self.addCleanup(r.close)
        return r

    def set_control(self, name, value, restore):
        self.q.set_control(name, value)
        self.addCleanup(self.q.set_control, name, restore)

    def log(self):
        return self.server.log()


class TestPop3(Pop3Case):

    def test_greeting_capa_and_apop_refused(self):
        p = poplib.POP3("127.0.0.1", self.port, timeout=10)
        self.addCleanup(p.close)
        welcome = p.getwelcome()
        self.assertTrue(welcome.startswith(b"+OK localhost"), welcome)
        # no APOP timestamp: APOP is refused, and clients (curl) would
        # use it and fail
        self.assertNotIn(b"<", welcome)
        capa = p.capa()
        for name in ("USER", "TOP", "UIDL", "PIPELINING", "RESP-CODES"):
            self.assertIn(name, capa)
        self.assertNotIn("STLS", capa)
        self.assertNotIn("SASL", capa)
        with self.assertRaises(poplib.error_proto) as cm:
            p._shortcmd("APOP alice 0123456789abcdef0123456789abcdef")
        self.assertIn(b"APOP", cm.exception.args[0])
        # the session goes on: a USER/PASS login works after it
        p.user("alice")
        self.assertTrue(p.pass_(PASSWORD).startswith(b"+OK"))
        capa = p.capa()
        for name in ("USER", "TOP", "UIDL", "PIPELINING"):
            self.assertIn(name, capa)
        self.assertTrue(p.quit().startswith(b"+OK"))

    def test_every_command(self):
        t = token()
        bodies = [b"Subject: one %s\n\nfirst\n.starts with a dot\n" % t.encode(),
                  b"Subject: two\r\n\r\nsecond, with CR LF\r\n",
                  b"Subject: three\n\nno final newline"]
        uniques = [self.put(b) for b in bodies]
        p = self.pop()
        count, size = p.stat()
        self.assertEqual(count, 3)
        resp, listing, _ = p.list()
        sizes = [int(l.split()[1]) for l in listing]
        self.assertEqual([int(l.split()[0]) for l in listing], [1, 2, 3])
        self.assertEqual(sum(sizes), size)
        self.assertEqual(p.list(2), b"+OK 2 %d" % sizes[1])
        resp, ids, _ = p.uidl()
        self.assertEqual([l.split()[1].decode() for l in ids], uniques)
        self.assertEqual(p.uidl(3), b"+OK 3 " + uniques[2].encode())
        for i, body in enumerate(bodies):
            resp, lines, octets = p.retr(i + 1)
            self.assertEqual(octets, sizes[i])          # LIST == RETR
            self.assertEqual(b"\r\n".join(lines) + b"\r\n", wire(body))
        resp, lines, _ = p.top(1, 0)
        self.assertEqual(lines, [b"Subject: one %s" % t.encode(), b""])
        resp, lines, _ = p.top(1, 1)
        self.assertEqual(lines[-1], b"first")
        self.assertTrue(p.noop().startswith(b"+OK"))
        self.assertEqual(p._shortcmd("LAST"), b"+OK 3")
        p.dele(2)
        self.assertEqual(p.stat(), (2, sizes[0] + sizes[2]))
        with self.assertRaises(poplib.error_proto):
            p.retr(2)
        with self.assertRaises(poplib.error_proto):
            p.list(2)
        self.assertTrue(p.rset().startswith(b"+OK"))
        self.assertEqual(p._shortcmd("LAST"), b"+OK 0")
        self.assertEqual(p.stat()[0], 3)
        p.dele(3)
        self.assertTrue(p.quit().startswith(b"+OK"))
        left = self.files()
        self.assertIn(uniques[0], left)
        self.assertIn(uniques[1], left)
        self.assertNotIn(uniques[2], left)

    def test_sizes_equal_octets_sent(self):
        cases = [b"", b"x", b"\n", b".", b"..\n.\n", b"a\r\nb\r\n",
                 b"bare\rcr\n", b"cr at end\r", b"mixed\r\nends\nhere",
                 b"Subject: s\n\n" + b".line\n" * 50,
                 # a lone CR is a line end on the wire: never "CR . CR LF"
                 b"x\r.\r\nafter\n", b"\r\r\r", b"a\r.\nb\r\r\n"]
        for c in cases:
            self.put(c)
        p = self.pop()
        _, listing, _ = p.list()
        for i, c in enumerate(cases):
            size = int(listing[i].split()[1])
            _, lines, octets = p.retr(i + 1)
            self.assertEqual(size, octets, c)
            self.assertEqual(size, len(wire(c)), c)
            got = b"".join(l + b"\r\n" for l in lines)
            self.assertEqual(got, wire(c), c)
        p.quit()
        # what a client that ends lines at a lone CR sees
        r = self.raw()
        self.assertTrue(r.login().startswith(b"+OK"))
        self.assertTrue(r.cmd("RETR %d" % (len(cases) - 2)).startswith(
            b"+OK"))
        self.assertEqual(r.multi(), [b"x", b".", b"after"])
        r.cmd("QUIT")

    def test_uidl_stable_across_sessions_new_moved_to_cur(self):
        uniques = [self.put("Subject: %d\n\nx\n" % i) for i in range(3)]
        self.put("Subject: old\n\nseen\n", sub="cur")
        p = self.pop()
        first = [l.split()[1].decode() for l in p.uidl()[1]]
        p.quit()
        self.assertEqual(first[:3], uniques)
        # the Maildir spec: new/ moved to cur/ with the info ":2,"
        for unique in uniques:
            self.assertEqual(self.files()[unique], ("cur", unique + ":2,"))
        self.assertEqual(os.listdir(os.path.join(
            self.q.maildir_path("alice"), "new")), [])
        # a mail reader marks one seen: same UIDL
        cur = os.path.join(self.q.maildir_path("alice"), "cur")
        os.rename(os.path.join(cur, uniques[1] + ":2,"),
                  os.path.join(cur, uniques[1] + ":2,S"))
        p = self.pop()
        second = [l.split()[1].decode() for l in p.uidl()[1]]
        p.quit()
        self.assertEqual(first, second)

    def test_deletions_only_at_quit(self):
        a = self.put("Subject: a\n\na\n")
        b = self.put("Subject: b\n\nb\n")
        p = self.pop()
        p.dele(1)
        p.dele(2)
        self.assertIn(a, self.files())       # still there before QUIT
        self.assertIn(b, self.files())
        p.quit()
        self.assertEqual(self.files(), {})

    def test_dropped_connection_deletes_nothing(self):
        a = self.put("Subject: a\n\na\n")
        b = self.put("Subject: b\n\nb\n")
        r = self.raw()
        self.assertTrue(r.login().startswith(b"+OK"))
        self.assertTrue(r.cmd("DELE 1").startswith(b"+OK"))
        self.assertTrue(r.cmd("DELE 2").startswith(b"+OK"))
        r.sock.shutdown(socket.SHUT_RDWR)
        r.close()
        # poplib too, closed without QUIT
        p = self.pop()
        p.dele(1)
        p.close()
        ok = qmtest.wait_until(
            lambda: "nothing removed" in self.log() and
            self.log().count("nothing removed") >= 2, 5)
        self.assertTrue(ok, self.log())
        self.assertIn(a, self.files())
        self.assertIn(b, self.files())

    def test_wrong_password_and_unknown_user_look_the_same(self):
        names = ["alice", "nosuchuser", "bob", "Alice", "../alice", "x" * 60]
        if os.geteuid() == 0:
            names.append("root")     # never served, same answer

        def attempt(name):
            r = Raw(self.port)
            try:
                r.line()
                self.assertEqual(r.cmd("USER " + name), b"+OK send PASS")
                return r.cmd("PASS wrong password")
            finally:
                r.close()
        self.assertEqual(set(parallel(attempt, names)), {AUTH_FAILED})
        with self.assertRaises(poplib.error_proto) as cm:
            self.pop(password="wrong")
        self.assertEqual(cm.exception.args[0], AUTH_FAILED)
        # the log names the user, never the password
        self.assertIn("login failed: user nosuchuser from 127.0.0.1",
                      self.log())
        self.assertNotIn("wrong password", self.log())

    def test_password_never_logged(self):
        self.put("Subject: x\n\nx\n")
        p = self.pop()
        p.quit()
        self.assertTrue(qmtest.wait_until(
            lambda: "removed 0" in self.log(), 5), self.log())
        self.assertIn("login: user alice from 127.0.0.1: 1 messages",
                      self.log())
        self.assertNotIn(PASSWORD, self.log())

    def test_too_many_failures_end_the_connection(self):
        r = self.raw()
        r.line()
        for i in range(2):
            r.cmd("USER alice")
            self.assertEqual(r.cmd("PASS bad%d" % i), AUTH_FAILED)
        r.cmd("USER alice")
        last = r.cmd("PASS bad2")
        self.assertTrue(last.startswith(AUTH_FAILED), last)
        self.assertEqual(r.until_eof(), b"")

    def test_commands_before_login(self):
        self.put("Subject: x\n\nx\n")
        r = self.raw()
        r.line()
        for c in ("STAT", "LIST", "RETR 1", "DELE 1", "UIDL", "TOP 1 0",
                  "NOOP", "RSET", "LAST"):
            self.assertTrue(r.cmd(c).startswith(b"-ERR"), c)
        self.assertEqual(r.cmd("PASS " + PASSWORD), b"-ERR send USER first")
        self.assertTrue(r.cmd("USER alice").startswith(b"+OK"))
        self.assertTrue(r.cmd("PASS " + PASSWORD).startswith(b"+OK"))
        self.assertEqual(r.cmd("STAT").split()[:2], [b"+OK", b"1"])
        # and after the login, the login commands are refused
        self.assertTrue(r.cmd("USER alice").startswith(b"-ERR"))
        self.assertTrue(r.cmd("PASS x").startswith(b"-ERR"))
        self.assertTrue(r.cmd("QUIT").startswith(b"+OK"))
        self.assertEqual([d for d, _ in self.files().values()], ["cur"])

    def test_malformed_commands(self):
        self.put("Subject: x\n\nx\n")
        r = self.raw()
        r.line()
        for c in (b"\r\n", b"   \r\n", b"FOO\r\n", b"USER\r\n",
                  b"USER a b\r\n", b"USER a\x00b\r\n", b"USER a\x1b[2J\r\n",
                  b"\xff\xfe\r\n", b"QUIT now\r\n"):
            self.assertTrue(r.cmd(c).startswith(b"-ERR"), c)
        # lower case and a bare LF are fine
        self.assertTrue(r.cmd(b"user alice\n").startswith(b"+OK"))
        self.assertTrue(r.cmd(b"pass " + PASSWORD.encode() + b"\r\n")
                        .startswith(b"+OK"))
        for c in (b"RETR\r\n", b"RETR abc\r\n", b"RETR 0\r\n", b"RETR 2\r\n",
                  b"RETR -1\r\n", b"RETR +1\r\n",
                  b"RETR 99999999999999999999999\r\n", b"TOP 1\r\n",
                  b"TOP 1 x\r\n", b"LIST 1 2\r\n", b"DELE\r\n",
                  b"STAT 1\r\n", b"NOOP\x00\r\n", b"XYZZY\r\n"):
            self.assertTrue(r.cmd(c).startswith(b"-ERR"), c)
        self.assertEqual(r.cmd("NOOP"), b"+OK")
        self.assertEqual(r.cmd("STAT").split()[:2], [b"+OK", b"1"])
        self.assertTrue(r.cmd("QUIT").startswith(b"+OK"))
        self.assertEqual(len(self.files()), 1)

    def test_overlong_lines(self):
        # before the login, 253 octets before CR LF are allowed (RFC 2449:
        # 255 with them); the first longer line ends the connection
        for line in (b"USER " + b"a" * 249 + b"\r\n",
                     b"USER " + b"a" * 249 + b"\n",
                     b"USER " + b"a" * 300 + b"\r\n"):
            r = self.raw()
            r.line()
            self.assertEqual(r.cmd(b"USER " + b"a" * 248 + b"\r\n"),
                             b"+OK send PASS")
            self.assertEqual(r.cmd(line), b"-ERR command line too long; bye")
            self.assertEqual(r.until_eof(), b"")
        r = self.raw()
        r.line()
        self.assertTrue(r.cmd("USER alice").startswith(b"+OK"))
        self.assertTrue(r.cmd("PASS " + PASSWORD).startswith(b"+OK"))
        self.assertEqual(r.cmd(b"NOOP " + b"x" * 5000 + b"\r\n"),
                         b"-ERR command line too long")
        self.assertEqual(r.cmd("NOOP"), b"+OK")
        # a line that never ends: the connection is closed
        r.send(b"x" * 100000)
        rest = r.until_eof()
        self.assertIn(b"-ERR command line too long; bye", rest)
        # before the login too, at once
        r2 = self.raw()
        r2.line()
        r2.send(b"USER " + b"y" * 100000)
        self.assertIn(b"too long; bye", r2.until_eof())
        self.assertTrue(qmtest.wait_until(
            lambda: "no login (command line too long)" in self.log(), 5),
            self.log())

    def test_pipelining(self):
        self.put("Subject: p\n\npipelined\n")
        r = self.raw()
        r.line()
        # everything in one write, the password step included: the commands
        # after PASS must reach qmail-pop3d
        r.send(b"CAPA\r\nUSER alice\r\nPASS " + PASSWORD.encode() +
               b"\r\nSTAT\r\nLIST\r\nRETR 1\r\nQUIT\r\n")
        out = r.until_eof()
        self.assertRegex(out, rb"^\+OK capability list follows\r\n"
                              rb"(?:[A-Z-]+\r\n)+\.\r\n"
                              rb"\+OK send PASS\r\n"
                              rb"\+OK 1 messages \(\d+ octets\)\r\n"
                              rb"\+OK 1 \d+\r\n"
                              rb"\+OK 1 messages .*\r\n1 \d+\r\n\.\r\n"
                              rb"\+OK \d+ octets\r\nSubject: p\r\n\r\n"
                              rb"pipelined\r\n\.\r\n"
                              rb"\+OK bye, 0 messages removed\r\n$")

    def test_two_sessions(self):
        a = self.put("Subject: a\n\na\n")
        b = self.put("Subject: b\n\nb\n")
        c = self.put("Subject: c\n\nc\n")
        first = self.pop()
        self.assertEqual(first.stat()[0], 3)
        second = self.pop()
        second.dele(1)
        second.quit()
        self.assertNotIn(a, self.files())
        # message 1 vanished under the first session: -ERR, nothing broken
        with self.assertRaises(poplib.error_proto) as cm:
            first.retr(1)
        self.assertIn(b"gone", cm.exception.args[0])
        self.assertEqual(first.retr(2)[1][-1], b"b")
        first.dele(1)     # already gone: fine
        first.dele(2)
        self.assertTrue(first.quit().startswith(b"+OK"))
        self.assertEqual(set(self.files()), {c})
        self.assertNotIn(b, self.files())

    def test_large_message_byte_exact(self):
        line = b"0123456789abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUV\n"
        parts = [b"Subject: big\n\n"]
        size = 0
        i = 0
        while size < 10 * 1024 * 1024:
            chunk = (b"." if i % 97 == 0 else b"") + line
            if i % 1001 == 0:
                chunk = chunk[:-1] + b"\r\n"
            parts.append(chunk)
            size += len(chunk)
            i += 1
        parts.append(b"..final line without newline")
        data = b"".join(parts)
        unique = self.put(data)
        r = self.raw()
        self.assertTrue(r.login().startswith(b"+OK"))
        listed = int(r.cmd("LIST 1").split()[2])
        r.send(b"RETR 1\r\n")
        first = r.line()
        self.assertEqual(first, b"+OK %d octets" % listed)
        body = r.buf
        while not body.endswith(b"\r\n.\r\n"):
            chunk = r.sock.recv(1 << 20)
            self.assertTrue(chunk, "connection closed during RETR")
            body += chunk
        r.buf = b""
        payload = body[:-3]
        unstuffed = re.sub(rb"(^|\r\n)\.", rb"\1", payload)
        self.assertEqual(len(unstuffed), listed)
        self.assertEqual(unstuffed, wire(data))
        # undoing CR LF gives the file back (plus the final line end)
        with open(os.path.join(self.q.maildir_path("alice"), "cur",
                               unique + ":2,"), "rb") as f:
            stored = f.read()
        self.assertEqual(unstuffed.replace(b"\r\n", b"\n"),
                         stored.replace(b"\r\n", b"\n") + b"\n")
        self.assertTrue(r.cmd("QUIT").startswith(b"+OK"))

    def test_thousand_messages(self):
        md = self.q.maildir_path("alice")
        for i in range(1000):
            name = "%d.M%dP1.bulk" % (1600000000 + i, i)
            path = os.path.join(md, "new", name)
            with open(path, "wb") as f:
                f.write(b"Subject: %d\n\nbody %d\n" % (i, i))
            os.chown(path, *self.owner)
            os.utime(path, (1600000000 + i, 1600000000 + i))
        t0 = time.monotonic()
        p = self.pop()
        count, _ = p.stat()
        _, listing, _ = p.list()
        _, ids, _ = p.uidl()
        elapsed = time.monotonic() - t0
        self.assertEqual(count, 1000)
        self.assertEqual(len(listing), 1000)
        self.assertEqual(len({l.split()[1] for l in ids}), 1000)
        self.assertEqual(ids[999].split()[1], b"1600000999.M999P1.bulk")
        self.assertEqual(p.retr(1000)[1][-1], b"body 999")
        p.quit()
        self.assertLess(elapsed, 10)

    def test_curl(self):
        if not shutil.which("curl"):
            self.skipTest("curl not installed")
        t = token()
        self.put("Subject: curl %s\n\nfirst\n.dot\n" % t)
        self.put("Subject: second\n\nsecond\n")
        url = "pop3://127.0.0.1:%d/" % self.port
        user = ["-u", "alice:" + PASSWORD]

        def curl(*args):
            return subprocess.run(["curl", "-sS", "--max-time", "20"] + user +
                                  list(args), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=30)
        p = curl(url)
        self.assertEqual(p.returncode, 0, p.stderr)
        sizes = [int(l.split()[1]) for l in p.stdout.splitlines()]
        self.assertEqual(len(sizes), 2)
        p = curl(url + "1")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, wire(b"Subject: curl %s\n\nfirst\n.dot\n"
                                        % t.encode()))
        self.assertEqual(len(p.stdout), sizes[0])
        p = curl(url, "-X", "UIDL")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(p.stdout.splitlines()), 2)
        p = curl(url, "-X", "TOP 2 0")
        self.assertEqual(p.stdout, b"Subject: second\r\n\r\n")
        p = curl(url + "1", "-X", "DELE", "-I")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(self.files()), 1)
        p = subprocess.run(["curl", "-sS", "-u", "alice:wrong", url],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        self.assertEqual(p.returncode, 67, p.stderr)    # login denied

    def test_fetchmail(self):
        if not shutil.which("fetchmail"):
            self.skipTest("fetchmail not installed")
        t = token()
        bodies = [b"Subject: fm1 %s\n\none\n.dot line\n" % t.encode(),
                  b"Subject: fm2 %s\n\ntwo\n" % t.encode()]
        for b in bodies:
            self.put(b)
        home = tempfile.mkdtemp(prefix="fetchmail-", dir=self.q.tmp)
        out = os.path.join(home, "out")
        os.mkdir(out)
        rc = os.path.join(home, "fetchmailrc")
        with open(rc, "w") as f:
            f.write('poll 127.0.0.1 protocol pop3 port %d\n'
                    '  user "alice" password "%s"\n'
                    '  sslproto ""\n'
                    '  mda "cat > %s/msg.$$"\n' % (self.port, PASSWORD, out))
        os.chmod(rc, 0o600)
        p = subprocess.run(["fetchmail", "-f", rc, "-N", "--nosyslog",
                            "--invisible", "--pidfile",
                            os.path.join(home, "pid")],
                           env=dict(os.environ, HOME=home),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        got = sorted(open(os.path.join(out, n), "rb").read()
                     for n in os.listdir(out))
        self.assertEqual(len(got), 2)
        for b in bodies:
            self.assertIn(b, [g.replace(b"\r\n", b"\n") for g in got])
        self.assertEqual(self.files(), {})      # fetchmail deleted them

    def test_failure_delay(self):
        # a failed login is answered pop3faildelay (1) after the PASS,
        # however long the check took: an unknown name (a dummy yescrypt),
        # a yescrypt user, a sha512-crypt user, a user without a password
        self.q.adduser("sixer")
        with open(self.q.path("users", "passwd"), "a") as f:
            f.write("sixer:%s\n" % SIXER_HASH)

        def attempt(name):
            r = Raw(self.port)
            try:
                r.line()
                r.cmd("USER " + name)
                r.send(b"PASS wrong\r\n")
                t0 = time.monotonic()
                self.assertEqual(r.line(), AUTH_FAILED)
                return time.monotonic() - t0
            finally:
                r.close()
        took = parallel(attempt, ["alice", "nosuchuser", "sixer", "bob"])
        for t in took:
            self.assertGreaterEqual(t, 0.95, took)
            self.assertLess(t, 1.5, took)
        self.assertLess(max(took) - min(took), 0.3, took)
        # the right password is not delayed
        t0 = time.monotonic()
        self.pop(user="sixer", password="sixer secret").quit()
        self.assertLess(time.monotonic() - t0, 0.9)
        # and no delay of 0: that would show how long the check took
        self.set_control("pop3faildelay", "0", "1")
        r = self.raw()
        self.assertTrue(r.line().startswith(b"-ERR [SYS/TEMP]"))
        self.assertIn("pop3faildelay: 0 is out of range", self.log())

    def test_login_deadline(self):
        # each command in time, but the login as a whole takes too long
        self.set_control("timeoutpop3login", "2", "120")
        r = self.raw()
        r.line()
        t0 = time.monotonic()
        got = []
        with self.assertRaises((EOFError, BrokenPipeError,
                                ConnectionResetError)):
            for _ in range(20):
                got.append(r.cmd("CAPA"))
                if got[-1].startswith(b"+OK"):
                    r.multi()
                time.sleep(0.5)
        self.assertLess(time.monotonic() - t0, 4)
        self.assertEqual(got[-1], b"-ERR login took too long; bye")
        self.assertIn("no login (login took too long)", self.log())
        # the deadline ends at the login
        r = self.raw()
        self.assertTrue(r.login().startswith(b"+OK"))
        time.sleep(2.2)
        self.assertEqual(r.cmd("STAT").split()[:2], [b"+OK", b"0"])
        r.cmd("QUIT")

    def test_failed_logins_per_address(self):
        self.set_control("pop3addrfailures", "3", "0")
        self.addCleanup(lambda: os.path.exists(self.q.path(
            "run", "pop3-failures")) and os.unlink(self.q.path(
                "run", "pop3-failures")))
        # logins that succeed do not count
        for i in range(4):
            self.pop().quit()

        def guess(i):
            with self.assertRaises(poplib.error_proto):
                self.pop(password="guess%d" % i)
        parallel(guess, range(3))
        # now even the right password is refused from this address
        with self.assertRaises(poplib.error_proto) as cm:
            self.pop()
        self.assertIn(b"[SYS/TEMP] too many failed logins",
                      cm.exception.args[0])
        self.assertIn("at least 3 failed logins", self.log())
        # the table has a fixed size
        size = os.path.getsize(self.q.path("run", "pop3-failures"))
        self.assertLessEqual(size, 4096 * 32)
        # with the limit off again, the address may log in
        self.q.set_control("pop3addrfailures", "0")
        self.pop().quit()

    def test_address_limit_holds_for_parallel_logins(self):
        # a slow checkpassword program: the attempts overlap
        runs = os.path.join(self.q.tmp, "runs-%s" % token())
        script = os.path.join(self.q.tmp, "slowcheck.sh")
        with open(script, "w") as f:
            f.write('#!/bin/sh\ncat <&3 >/dev/null\necho run >> "$RUNS"\n'
                    'sleep 0.5\nexit 1\n')
        os.chmod(script, 0o755)
        self.set_control("pop3addrfailures", "5", "0")
        s = Pop3Server(self.q, ["bin/qmail-popup", "localhost", script,
                                "true"], ["RUNS=" + runs]).start()
        self.addCleanup(s.stop)

        def attempt(i):
            r = Raw(s.port)
            try:
                r.line()
                r.cmd("USER alice")
                return r.cmd("PASS guess%d" % i)
            finally:
                r.close()
        answers = parallel(attempt, range(15))
        with open(runs) as f:
            checked = len(f.read().splitlines())
        self.assertLessEqual(checked, 5, answers)
        self.assertEqual(answers.count(AUTH_FAILED), checked)
        self.assertEqual(len([a for a in answers if a.startswith(
            b"-ERR [SYS/TEMP] too many failed logins")]), 15 - checked)

    def test_address_limit_without_tcpremoteip(self):
        # inetd and systemd set no $TCPREMOTEIP: the socket tells
        self.set_control("pop3addrfailures", "2", "0")
        s = Pop3Server(self.q, ["env", "-u", "TCPREMOTEIP"] +
                       self.ARGV).start()
        self.addCleanup(s.stop)

        def guess(i):
            with self.assertRaises(poplib.error_proto) as cm:
                self.pop(port=s.port, password="guess%d" % i)
            return cm.exception.args[0]
        self.assertEqual(parallel(guess, range(2)), [AUTH_FAILED] * 2)
        with self.assertRaises(poplib.error_proto) as cm:
            self.pop(port=s.port)
        self.assertIn(b"too many failed logins", cm.exception.args[0])
        self.assertIn("login failed: user alice from 127.0.0.1", s.log())

    def test_timeouts(self):
        self.set_control("timeoutpop3d", "1", "600")
        r = self.raw()
        r.line()
        t0 = time.monotonic()
        self.assertEqual(r.until_eof(), b"")
        self.assertLess(time.monotonic() - t0, 5)
        # a slow client sending a command one octet at a time
        r = self.raw()
        r.line()
        t0 = time.monotonic()
        with self.assertRaises((EOFError, BrokenPipeError,
                                ConnectionResetError)):
            for ch in b"USER alice\r\n":
                r.send(bytes([ch]))
                time.sleep(0.2)
            r.line()
        self.assertLess(time.monotonic() - t0, 5)
        # after the login
        r = self.raw()
        self.assertTrue(r.login().startswith(b"+OK"))
        self.assertEqual(r.until_eof(), b"")
        self.assertTrue(qmtest.wait_until(
            lambda: "timeout; retrieved 0" in self.log(), 5), self.log())


class TestCheckpassword(Pop3Case):
    """qmail-checkpw's side of the interface, seen from the program it
    runs, and another checkpassword program in its place."""

    ARGV = Pop3Case.ARGV  # the default chain for the class server

    def serve(self, argv, env=()):
        s = Pop3Server(self.q, argv, env).start()
        self.addCleanup(s.stop)
        return s

    def test_environment_and_privileges(self):
        pop3d = qmtest.bin_path("qmail-pop3d")
        record = ('{ id -u; id -g; id -G; echo "$USER"; echo "$HOME"; pwd; '
                  'if [ -e /proc/$$/fd/3 ]; then echo fd3-open; '
                  'else echo fd3-closed; fi; echo "${SHELL-unset}"; '
                  'ls /proc/self/fd | tr "\\n" " "; echo; '
                  'grep "^Max core" /proc/$PPID/limits; '
                  '} > record.txt; exec "$@"')
        # a descriptor the server's parent left open is not for the user
        devnull = os.open(os.devnull, os.O_RDONLY)
        stray = fcntl.fcntl(devnull, fcntl.F_DUPFD_CLOEXEC, 50)
        os.close(devnull)
        self.addCleanup(os.close, stray)
        s = Pop3Server(self.q, ["bin/qmail-popup", "localhost",
                                "bin/qmail-checkpw", "/bin/sh", "-c", record,
                                "sh", pop3d, "Maildir"],
                       pass_fds=(stray,)).start()
        self.addCleanup(s.stop)
        self.put("Subject: e\n\ne\n")
        p = self.pop(port=s.port)
        self.assertEqual(p.stat()[0], 1)
        p.quit()
        home = self.q.path("mail", "alice")
        with open(os.path.join(home, "record.txt")) as f:
            uid, gid, groups, user, env_home, cwd, fd3, shell, fds, core = \
                f.read().splitlines()
        os.unlink(os.path.join(home, "record.txt"))
        self.assertEqual((int(uid), int(gid)), self.owner)
        self.assertEqual(groups.split(), [str(self.owner[1])])
        self.assertNotEqual(uid, "0")
        self.assertEqual(user, "alice")
        self.assertEqual(os.path.realpath(env_home), os.path.realpath(home))
        self.assertEqual(os.path.realpath(cwd), os.path.realpath(home))
        self.assertEqual(fd3, "fd3-closed")
        self.assertEqual(shell, "unset")
        # ls: its directory on 3
        self.assertEqual(fds.split(), ["0", "1", "2", "3"])
        # qmail-popup (the parent of qmail-checkpw) dumps no core
        self.assertEqual(core.split()[4:6], ["0", "0"], core)

    def test_checkpw_exit_codes(self):
        chk = qmtest.bin_path("qmail-checkpw")

        def run(data, args=("true",), env=None):
            r, w = os.pipe()
            os.write(w, data)
            os.close(w)
            try:
                return subprocess.run([chk] + list(args), pass_fds=(r,),
                                      env=self.q.env(env),
                                      preexec_fn=lambda: os.dup2(r, 3),
                                      stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE,
                                      timeout=30).returncode
            finally:
                os.close(r)
        pw = PASSWORD.encode()
        self.assertEqual(run(b"alice\0" + pw + b"\0<1@x>\0"), 0)
        self.assertEqual(run(b"alice\0" + pw + b"\0"), 0)  # no timestamp
        self.assertEqual(run(b"alice\0wrong\0<1@x>\0"), 1)
        self.assertEqual(run(b"nobody-here\0" + pw + b"\0<1@x>\0"), 1)
        self.assertEqual(run(b"bob\0\0<1@x>\0"), 1)         # no password
        self.assertEqual(run(b"alice\0" + pw + b"\0<1@x>\0", ("false",)), 1)
        self.assertEqual(run(b"alice\0" + pw), 2)           # malformed
        self.assertEqual(run(b"a" * 600), 2)                # too long
        self.assertEqual(run(b"alice\0" + pw + b"\0\0", ()), 2)  # no program
        self.assertEqual(run(b"alice\0" + pw + b"\0\0",
                             ("/nonexistent/program",)), 111)
        # no core dumps while it holds the password (the subprogram
        # inherits the limit)
        self.assertEqual(run(b"alice\0" + pw + b"\0\0", (
            "/bin/sh", "-c", 'grep "^Max core" /proc/self/limits > '
            'limits.txt')), 0)
        out = self.q.path("mail", "alice", "limits.txt")
        with open(out) as f:
            self.assertEqual(f.read().split()[4:6], ["0", "0"])
        os.unlink(out)

    def test_home_with_group_root_refused(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        # the mailbox owner is not root, but the home's group is
        self.q.adduser("carol", password="carol secret")
        os.chown(self.q.path("mail", "carol"), self.owner[0], 0)
        chk = qmtest.bin_path("qmail-checkpw")
        r, w = os.pipe()
        os.write(w, b"carol\0carol secret\0<1@x>\0")
        os.close(w)
        try:
            p = subprocess.run([chk, "/bin/sh", "-c", "id -g"],
                               pass_fds=(r,), env=self.q.env(),
                               preexec_fn=lambda: os.dup2(r, 3),
                               stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=30)
        finally:
            os.close(r)
        self.assertEqual(p.returncode, 111, p.stdout + p.stderr)
        self.assertEqual(p.stdout, b"")
        self.assertIn(b"group root", p.stderr)
        with self.assertRaises(poplib.error_proto) as cm:
            self.pop(user="carol", password="carol secret")
        self.assertIn(b"[SYS/TEMP]", cm.exception.args[0])

    def test_shell_checkpassword(self):
        # any checkpassword program works in qmail-checkpw's place
        script = os.path.join(self.q.tmp, "checkpassword.sh")
        with open(script, "w") as f:
            f.write("""#!/bin/sh
# a checkpassword program: NAME\\0PASSWORD\\0TIMESTAMP\\0 on fd 3
input=$(tr '\\0' '\\n' <&3)
name=$(printf '%s\\n' "$input" | sed -n 1p)
pass=$(printf '%s\\n' "$input" | sed -n 2p)
stamp=$(printf '%s\\n' "$input" | sed -n 3p)
[ "$name" = alice ] && [ "$pass" = "shell secret" ] || exit 1
case $stamp in "<"*"@localhost>") ;; *) exit 111 ;; esac
cd "$MAILHOME" || exit 111
USER=$name HOME=$MAILHOME
export USER HOME
if [ "$(id -u)" = 0 ]; then
  exec setpriv --reuid="$OWNER_UID" --regid="$OWNER_GID" --clear-groups "$@"
fi
exec "$@"
""")
        os.chmod(script, 0o755)
        if os.geteuid() == 0 and not shutil.which("setpriv"):
            self.skipTest("setpriv (util-linux) not installed")
        s = self.serve(["bin/qmail-popup", "localhost", script,
                        qmtest.bin_path("qmail-pop3d"), "Maildir"],
                       ["MAILHOME=" + self.q.path("mail", "alice"),
                        "OWNER_UID=%d" % self.owner[0],
                        "OWNER_GID=%d" % self.owner[1]])
        t = token()
        self.put("Subject: %s\n\nvia shell\n" % t)
        p = self.pop(port=s.port, password="shell secret")
        _, lines, _ = p.retr(1)
        self.assertEqual(lines, [b"Subject: " + t.encode(), b"",
                                 b"via shell"])
        p.quit()
        with self.assertRaises(poplib.error_proto) as cm:
            self.pop(port=s.port, password=PASSWORD)
        self.assertEqual(cm.exception.args[0], AUTH_FAILED)

    def test_pop3d_refuses_root(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        # a checkpassword program that forgets to drop privileges
        script = os.path.join(self.q.tmp, "careless.sh")
        with open(script, "w") as f:
            f.write('#!/bin/sh\ncat <&3 >/dev/null\ncd "$MAILHOME" && '
                    'exec "$@"\n')
        os.chmod(script, 0o755)
        s = self.serve(["bin/qmail-popup", "localhost", script,
                        qmtest.bin_path("qmail-pop3d"), "Maildir"],
                       ["MAILHOME=" + self.q.path("mail", "alice")])
        self.put("Subject: x\n\nx\n")
        with self.assertRaises(poplib.error_proto) as cm:
            self.pop(port=s.port)
        self.assertIn(b"[SYS/TEMP]", cm.exception.args[0])
        self.assertTrue(qmtest.wait_until(
            lambda: "refusing to serve a mailbox as root" in s.log(), 5),
            s.log())
        self.assertEqual(len(self.files()), 1)
        self.assertEqual(list(self.files().values())[0][0], "new")


class TestPop3Service(unittest.TestCase):
    """Mail delivered through sendmail and the queue, fetched over POP3:
    through `qmailctl start` when bin/qmail-tcpd exists, else tcpserver."""

    def setUp(self):
        qmtest.require(self, "qmailctl", "qmail-start", "sendmail",
                       *PROGRAMS)
        self.q = qmtest.Instance.for_test(self)
        self.q.adduser("alice", password=PASSWORD)
        self.q.set_control("pop3faildelay", "1")
        self.q.start()
        if qmtest.have("qmail-tcpd"):
            self.port = self.q.ports["pop3"]
        else:
            if not shutil.which("tcpserver"):
                self.skipTest("neither qmail-tcpd nor tcpserver")
            s = Pop3Server(self.q, Pop3Case.ARGV).start()
            self.addCleanup(s.stop)
            self.port = s.port

    def test_delivered_mail_over_pop3(self):
        t = token()
        msg = ("From: sender@example.org\nTo: alice@localhost\n"
               "Subject: %s\n\nhello over POP3\n.\n" % t).encode()
        p = self.q.sendmail(["alice@localhost"], msg)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.q.wait_for_messages("alice", 1)
        with open(self.q.message_files("alice")[0], "rb") as f:
            stored = f.read()
        if qmtest.have("qmail-tcpd"):
            self.assertIn("pop3", self.q.status().stdout)
        pop = poplib.POP3("127.0.0.1", self.port, timeout=10)
        self.addCleanup(pop.close)
        pop.user("alice")
        pop.pass_(PASSWORD)
        self.assertEqual(pop.stat()[0], 1)
        _, lines, octets = pop.retr(1)
        self.assertEqual(b"\r\n".join(lines) + b"\r\n", wire(stored))
        self.assertEqual(octets, len(wire(stored)))
        self.assertIn(b"Subject: " + t.encode(), lines)
        pop.dele(1)
        pop.quit()
        self.assertEqual(self.q.message_files("alice"), [])


if __name__ == "__main__":
    unittest.main()

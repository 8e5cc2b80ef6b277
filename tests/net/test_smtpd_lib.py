"""test_smtpd_lib: helpers for the qmail-smtpd black-box tests (no tests here).

- Tcpserver: Debian's ucspi-tcp `tcpserver` running bin/qmail-smtpd for a
  qmtest.Instance on a free loopback port, with its own environment
  (RELAYCLIENT, GREETDELAY...), stopped with its whole process group.
  $QMTEST_SMTPD names another qmail-smtpd binary to test (a sanitizer
  build, in a copy of bin/).
- Raw: a raw-socket SMTP client that sends exact bytes and reads whole
  (multi-line) replies, for the hostile cases no real client would send.

Standard library only; run by /usr/bin/python3.
"""

import os
import re
import signal
import smtplib
import socket
import struct
import subprocess
import time
import unittest
import uuid

import qmtest

REPLY_END = re.compile(rb"^(\d{3}) ", re.M)


def smtpd_bin():
    """bin/qmail-smtpd, or $QMTEST_SMTPD (e.g. a sanitizer build placed
    in a copy of bin/, so that it still finds its qmail-queue)."""
    return os.environ.get("QMTEST_SMTPD") or qmtest.bin_path("qmail-smtpd")


class Tcpserver:
    """tcpserver -R -H -l localhost 127.0.0.1 PORT bin/qmail-smtpd, with
    QMAILHOME set to the instance.  Its log (qmail-smtpd's stderr) goes to
    a file in the instance's temporary directory."""

    def __init__(self, inst, env=None, name="smtpd"):
        self.inst = inst
        self.port = qmtest.free_port()
        self.log_path = os.path.join(inst.tmp, "%s-%d.log" % (name, self.port))
        full_env = inst.env(env)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            ["tcpserver", "-R", "-H", "-l", "localhost", "127.0.0.1",
             str(self.port), smtpd_bin()],
            env=full_env, stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=self._log, start_new_session=True)
        if not qmtest.wait_until(self._listening, 10):
            self.stop()
            raise AssertionError("tcpserver did not start on port %d"
                                 % self.port)

    def _listening(self):
        if self.proc.poll() is not None:
            raise AssertionError("tcpserver exited: %s" % self.log())
        try:
            with socket.create_connection(("127.0.0.1", self.port), 1):
                # an early close: qmail-smtpd logs it and exits
                return True
        except OSError:
            return False

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def children(self):
        """Pids of the qmail-smtpd processes tcpserver runs now."""
        try:
            with open("/proc/%d/task/%d/children" % (self.proc.pid,
                                                     self.proc.pid)) as f:
                return [int(p) for p in f.read().split()]
        except OSError:
            return []

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except OSError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        try:   # sessions still running in the group
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()


class Raw:
    """A raw SMTP connection: send() exact bytes, reply() one whole reply
    as (code, text) with text the bytes of all its lines."""

    def __init__(self, port, host="127.0.0.1", timeout=10, greet=True):
        self.sock = socket.create_connection((host, port), timeout)
        self.buf = b""
        self.greeting = self.reply() if greet else None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed; buffered %r" % self.buf[:200])
        self.buf += data

    def reply(self):
        """The next whole reply: (int code, bytes text)."""
        while True:
            m = REPLY_END.search(self.buf)
            if m:
                nl = self.buf.find(b"\n", m.start())
                if nl >= 0:
                    text, self.buf = self.buf[:nl + 1], self.buf[nl + 1:]
                    return int(m.group(1)), text
            self._fill()

    def cmd(self, line):
        """Send one command line (CRLF added) and return its reply."""
        if isinstance(line, str):
            line = line.encode()
        self.send(line + b"\r\n")
        return self.reply()

    def closed(self, timeout=5):
        """True if the server closes the connection within timeout
        (anything it still sends is kept in buf)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.buf += data
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def nothing_within(self, seconds):
        """True if no byte arrives within seconds (the server waits)."""
        self.sock.settimeout(seconds)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return True
        finally:
            self.sock.settimeout(10)
        self.buf += data
        return False


def wait_for(predicate, timeout=10.0):
    return qmtest.wait_until(predicate, timeout)


def elapsed(start):
    return time.monotonic() - start


PROGRAMS = ("qmailctl", "qmail-start", "qmail-send", "qmail-lspawn",
            "qmail-local", "qmail-clean", "qmail-queue", "qmail-smtpd",
            "qmail-qread")


def have_tcpserver():
    return any(os.access(os.path.join(d, "tcpserver"), os.X_OK)
               for d in os.environ.get("PATH", "/usr/bin").split(":"))


class SmtpdCase(unittest.TestCase):
    """One real instance per TestCase class (users alice and bob, greeting
    delay 0), its delivery running, and qmail-smtpd under tcpserver on a
    free port (self.port); self.relay_port serves with RELAYCLIENT set.
    Control files changed by a test are restored by set_control()."""

    USERS = ("alice", "bob")
    CONTROL = {"greetdelay": "0"}

    @classmethod
    def setUpClass(cls):
        missing = [p for p in PROGRAMS if not qmtest.have(p)]
        if missing:
            raise unittest.SkipTest("bin/%s not built yet"
                                    % ", bin/".join(missing))
        if not have_tcpserver():
            raise unittest.SkipTest("tcpserver (ucspi-tcp) not installed")
        cls.q = qmtest.Instance()
        cls.addClassCleanup(cls.q.cleanup)
        cls.q.init()
        for name in cls.USERS:
            cls.q.adduser(name)
        for name, value in cls.CONTROL.items():
            cls.q.set_control(name, value)
        cls.q.start()
        cls.server = Tcpserver(cls.q)
        cls.addClassCleanup(cls.server.stop)
        cls.port = cls.server.port
        cls.relay = Tcpserver(cls.q, {"RELAYCLIENT": ""}, name="relay")
        cls.addClassCleanup(cls.relay.stop)
        cls.relay_port = cls.relay.port

    def set_control(self, name, value):
        """Write control/NAME for this test only."""
        old = self.q.control(name)

        def restore():
            if old is None:
                try:
                    os.unlink(self.q.path("control", name))
                except FileNotFoundError:
                    pass
            else:
                self.q.set_control(name, old)
        self.addCleanup(restore)
        self.q.set_control(name, value)

    def raw(self, port=None, **kw):
        r = Raw(port or self.port, **kw)
        self.addCleanup(r.close)
        return r

    def session(self, port=None, helo="client.test"):
        """A raw session after the greeting and EHLO."""
        r = self.raw(port)
        self.assertEqual(r.greeting[0], 220, r.greeting)
        code, text = r.cmd("EHLO " + helo)
        self.assertEqual(code, 250, text)
        return r

    def messages_with(self, user, token):
        """Delivered messages of user whose bytes contain token."""
        out = []
        for path in self.q.message_files(user):
            with open(path, "rb") as f:
                data = f.read()
            if token.encode() in data:
                out.append(data)
        return out

    def wait_message(self, user, token, timeout=15):
        found = wait_for(lambda: self.messages_with(user, token), timeout)
        if not found:
            self.fail("no message with %s for %s\n%s\n--- smtpd log:\n%s" % (
                token, user, self.q.describe(), self.server.log()[-3000:]))
        return found

    def qread(self):
        p = subprocess.run([qmtest.bin_path("qmail-qread")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=self.q.env(), timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.decode("utf-8", "replace")

    def marker(self, user="alice"):
        """Send a plain message through qmail-smtpd and wait for it: every
        message accepted earlier has been through the queue by then (one
        queue, delivered in arrival order for one user; we also wait a
        little for stragglers)."""
        token = "marker-" + uuid.uuid4().hex[:12]
        with smtplib.SMTP("127.0.0.1", self.port,
                          local_hostname="client.test", timeout=30) as s:
            s.sendmail("sender@client.test", [user + "@localhost"],
                       ("Subject: %s\r\n\r\n%s\r\n" % (token, token)).encode())
        self.wait_message(user, token)
        time.sleep(0.3)


def make_cdb(path, pairs):
    """Write a cdb file (D. J. Bernstein's constant database format, as
    tinycdb reads it) holding the (key, value) byte pairs."""
    def cdb_hash(key):
        h = 5381
        for c in key:
            h = ((h << 5) + h) & 0xffffffff ^ c
        return h

    records = bytearray()
    entries = []   # (hash, position)
    pos = 2048
    for k, v in pairs:
        entries.append((cdb_hash(k), pos))
        rec = struct.pack("<II", len(k), len(v)) + k + v
        records += rec
        pos += len(rec)
    header = bytearray()
    tables = bytearray()
    for i in range(256):
        mine = [(h, p) for h, p in entries if h & 255 == i]
        n = 2 * len(mine)
        slots = [(0, 0)] * n
        for h, p in mine:
            j = (h >> 8) % n
            while slots[j][1] != 0:
                j = (j + 1) % n
            slots[j] = (h, p)
        header += struct.pack("<II", pos + len(tables), n)
        for h, p in slots:
            tables += struct.pack("<II", h, p)
    with open(path + ".tmp", "wb") as f:
        f.write(bytes(header) + bytes(records) + bytes(tables))
    os.rename(path + ".tmp", path)

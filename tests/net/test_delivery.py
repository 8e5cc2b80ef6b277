"""Black-box tests of the local delivery path: bin/sendmail and
bin/qmail-inject -> qmail-queue -> qmail-send -> qmail-lspawn -> qmail-local
-> Maildir / mbox, on a real instance (qmailctl init/start in a temporary
directory).  Results are read with Python's mailbox and email modules, the
queue with bin/qmail-qread and bin/qmail-qstat.

See qmail-send(8), qmail-local(8), qmail-lspawn(8), qmail-queue(8),
sendmail(8), qmail-qread(8)."""

import collections
import concurrent.futures
import email
import email.utils
import mailbox
import os
import random
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import uuid

import qmtest

PROGRAMS = ("qmailctl", "qmail-start", "qmail-send", "qmail-lspawn",
            "qmail-local", "qmail-clean", "qmail-queue", "sendmail",
            "qmail-inject", "qmail-qread", "qmail-qstat")

# Maildir spec: new/ holds time.unique.host, no ':' (no info part yet)
MAILDIR_NAME = re.compile(r"^(\d+)\.([^./:]+(?:\.[^./:]+)*)$")


def token():
    """A string unique to one test message."""
    return "t" + uuid.uuid4().hex[:16]


def header_and_body(raw):
    """Split raw message bytes at the first empty line."""
    i = raw.find(b"\n\n")
    if i < 0:
        return raw, b""
    return raw[:i + 1], raw[i + 2:]


def header_lines(raw):
    """Unfolded header lines of raw bytes, as str."""
    head, _ = header_and_body(raw)
    lines = []
    for line in head.decode("utf-8", "replace").split("\n"):
        if not line:
            continue
        if line[0] in " \t" and lines:
            lines[-1] += "\n" + line
        else:
            lines.append(line)
    return lines


def field_names(raw):
    return [l.split(":", 1)[0].lower() for l in header_lines(raw)]


def mboxrd_unquote(body):
    """Undo mboxrd From-quoting: ^>+From  loses one '>'."""
    out = []
    for line in body.split(b"\n"):
        if re.match(rb"^>+From ", line):
            line = line[1:]
        out.append(line)
    return b"\n".join(out)


class InstanceCase(unittest.TestCase):
    """One real instance per TestCase class, set up in setUpClass and always
    cleaned up (addClassCleanup)."""

    USERS = ("demo", "alice")
    DEFAULT_USERS = ()    # users given a .qmail-default (./Maildir/)
    CONTROL = {}          # control files written before start
    START = True

    @classmethod
    def setUpClass(cls):
        missing = [p for p in PROGRAMS if not qmtest.have(p)]
        if missing:
            raise unittest.SkipTest("bin/%s not built yet"
                                    % ", bin/".join(missing))
        cls.q = qmtest.Instance()
        cls.addClassCleanup(cls.q.cleanup)
        cls.q.init()
        for name in cls.USERS:
            cls.q.adduser(name)
        # extension addresses exist only through .qmail files
        for name in cls.DEFAULT_USERS:
            cls.q.dotqmail(name, "default", "./Maildir/")
        for name, value in cls.CONTROL.items():
            cls.q.set_control(name, value)
        if cls.START:
            cls.q.start()

    # ---- running the instance's programs -------------------------------

    def run_prog(self, name, *args, timeout=30):
        return subprocess.run([qmtest.bin_path(name)] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=self.q.env(), timeout=timeout)

    def send(self, args, data, program="sendmail", env=None, timeout=30):
        """Submit with bin/sendmail (or qmail-inject); it must exit 0."""
        sub = self.q.sendmail if program == "sendmail" else self.q.inject
        p = sub(args, data, env=env, timeout=timeout)
        self.assertEqual(p.returncode, 0, "%s %s failed: %r" % (
            program, " ".join(args), p.stderr))
        return p

    def qread(self):
        p = self.run_prog("qmail-qread")
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.decode("utf-8", "replace")

    def qstat(self):
        """{'messages in queue': n, 'recipients to deliver': n,
        'messages being written': n}"""
        p = self.run_prog("qmail-qstat")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = {}
        for line in p.stdout.decode().splitlines():
            m = re.match(r"^\s*(.*?):\s*(\d+)\s*$", line)
            if m:
                out[m.group(1)] = int(m.group(2))
        self.assertIn("messages in queue", out, p.stdout)
        return out

    def settle(self, timeout=20):
        """Wait until the queue is empty (every delivery and bounce done)."""
        def empty():
            s = self.qstat()
            return (s.get("messages in queue") == 0
                    and s.get("messages being written", 0) == 0)
        if not qmtest.wait_until(empty, timeout, 0.05):
            self.fail("queue not empty after %d s:\n%s\n%s" % (
                timeout, self.qread(), self.q.describe()))

    def qread_has(self, state, rcpt):
        return re.search(r"^\s+%s\s+%s\s*$" % (state, re.escape(rcpt)),
                         self.qread(), re.M) is not None

    # ---- looking at mailboxes -----------------------------------------

    def files(self, user):
        return self.q.message_files(user)

    def raw_messages(self, user):
        out = []
        for path in self.files(user):
            try:
                with open(path, "rb") as f:
                    out.append((path, f.read()))
            except FileNotFoundError:     # moved new -> cur meanwhile
                pass
        return out

    def copies(self, user, tok):
        """Delivered copies (not bounces) of the message whose Subject
        holds tok: list of (path, raw bytes)."""
        out = []
        for path, raw in self.raw_messages(user):
            head, _ = header_and_body(raw)
            if raw.startswith(b"Return-Path: <>\n"):
                continue
            if re.search(rb"^Subject: .*" + tok.encode(), head, re.M):
                out.append((path, raw))
        return out

    def bounces(self, user, tok):
        """Bounces (Return-Path <>) that mention tok."""
        return [(p, raw) for p, raw in self.raw_messages(user)
                if raw.startswith(b"Return-Path: <>\n")
                and tok.encode() in raw]

    def wait_copies(self, user, tok, n=1, timeout=15):
        got = qmtest.wait_until(lambda: len(self.copies(user, tok)) >= n,
                                timeout)
        if not got:
            self.fail("%s: %d copies of %s after %d s, wanted %d\n%s" % (
                user, len(self.copies(user, tok)), tok, timeout, n,
                self.q.describe()))
        return self.copies(user, tok)

    def wait_bounces(self, user, tok, n=1, timeout=15):
        got = qmtest.wait_until(lambda: len(self.bounces(user, tok)) >= n,
                                timeout)
        if not got:
            self.fail("%s: no bounce for %s after %d s\n%s" % (
                user, tok, timeout, self.q.describe()))
        return self.bounces(user, tok)

    def all_mail_files(self):
        """Every message file of every user (and the alias home)."""
        out = []
        for top in (self.q.path("mail"), self.q.path("alias")):
            for dirpath, dirs, files in os.walk(top):
                if os.path.basename(dirpath) in ("new", "cur", "tmp"):
                    out += [os.path.join(dirpath, f) for f in files]
                elif top.endswith("alias"):
                    out += [os.path.join(dirpath, f) for f in files
                            if not f.startswith(".qmail")]
        return out

    def log_after(self, offset):
        return self.q.log_text()[offset:]

    def wait_log(self, pattern, offset=0, timeout=15):
        """Wait until the qmail-send log (after offset) matches pattern;
        return the match."""
        rx = re.compile(pattern, re.M)
        m = qmtest.wait_until(lambda: rx.search(self.log_after(offset)),
                              timeout)
        if not m:
            self.fail("log never matched %r\n%s" % (pattern,
                                                    self.q.describe()))
        return m

    # ---- bounces --------------------------------------------------------

    def check_bounce(self, raw, rcpts, status, subject, to):
        """raw is an RFC 3464 bounce to `to` for exactly the recipients
        rcpts (each with status), carrying the original with subject."""
        lines = header_lines(raw)
        self.assertEqual(lines[0], "Return-Path: <>")
        self.assertEqual(lines[1], "Delivered-To: %s" % to)
        msg = email.message_from_bytes(raw)
        self.assertEqual(msg.get_content_type(), "multipart/report")
        self.assertEqual(msg.get_param("report-type"), "delivery-status")
        parts = msg.get_payload()
        self.assertIsInstance(parts, list)
        types = [p.get_content_type() for p in parts]
        self.assertIn("message/delivery-status", types)
        self.assertIn("message/rfc822", types)
        dsn = parts[types.index("message/delivery-status")]
        blocks = dsn.get_payload()
        self.assertIsInstance(blocks, list)
        per_rcpt = [b for b in blocks if b["Final-Recipient"]]
        self.assertEqual(len(per_rcpt), len(rcpts),
                         [str(b) for b in per_rcpt])
        for block, rcpt in zip(per_rcpt, rcpts):
            self.assertIn(rcpt, block["Final-Recipient"])
            self.assertTrue(block["Final-Recipient"].lower()
                            .startswith("rfc822;"), block["Final-Recipient"])
            self.assertEqual(block["Action"].strip(), "failed")
            self.assertEqual(block["Status"].strip(), status)
        orig = parts[types.index("message/rfc822")].get_payload()
        orig = orig[0] if isinstance(orig, list) else orig
        self.assertEqual(orig["Subject"], subject)
        return msg


class TestLocalDelivery(InstanceCase):
    """Several tests on one running instance; each uses its own unique
    Subject and waits until the queue is empty before it counts."""

    USERS = ("demo", "alice", "bob", "big", "conc1", "conc2", "demo-lists",
             "fan")
    DEFAULT_USERS = ("bob", "demo", "demo-lists", "fan")

    def test_sendmail_one_message(self):
        tok = token()
        header = ("Subject: first %s\nTo: demo@localhost\n" % tok).encode()
        body = (b"first line\n\n  leading spaces\tand a tab\n"
                b"trailing spaces   \n..two dots\n.one dot\n"
                b"caf\xc3\xa9 8-bit \xff\xfe bytes\nFrom the start\n"
                b">From quoted\n\n\nafter two empty lines\n\n")
        before = time.time()
        self.send(["demo@localhost"], header + b"\n" + body,
                  env={"QMAILUSER": "tester", "QMAILNAME": "Test Sender"})
        (path, raw), = self.wait_copies("demo", tok)
        self.settle()
        self.assertEqual(len(self.copies("demo", tok)), 1)

        # where and under which name (Maildir spec)
        mdir = self.q.maildir_path("demo")
        self.assertEqual(os.path.dirname(path), os.path.join(mdir, "new"))
        name = os.path.basename(path)
        self.assertNotIn(":", name)
        m = MAILDIR_NAME.match(name)
        self.assertTrue(m, "Maildir file name %r" % name)
        self.assertLessEqual(abs(int(m.group(1)) - before), 120, name)
        self.assertEqual(os.listdir(os.path.join(mdir, "tmp")), [])
        names = [os.path.basename(p) for p in self.files("demo")]
        self.assertEqual(len(names), len(set(names)))

        # the header: added lines first, then what was submitted + fix-up
        lines = header_lines(raw)
        self.assertEqual(lines[0], "Return-Path: <tester@localhost>")
        self.assertEqual(lines[1], "Delivered-To: demo@localhost")
        self.assertTrue(lines[2].startswith("Received: "), lines[2])
        self.assertIn("Subject: first %s" % tok, lines)
        self.assertIn("To: demo@localhost", lines)
        names = field_names(raw)
        for f in ("return-path", "delivered-to", "received", "date",
                  "message-id", "from"):
            self.assertEqual(names.count(f), 1, "%s in %s" % (f, lines))
        msg = email.message_from_bytes(raw)
        date = email.utils.parsedate_to_datetime(msg["Date"])
        self.assertLessEqual(abs(date.timestamp() - before), 120, msg["Date"])
        self.assertRegex(msg["Message-ID"], r"^<[^<>@\s]+@[^<>@\s]+>$")
        self.assertEqual(email.utils.parseaddr(msg["From"])[1],
                         "tester@localhost", msg["From"])
        self.assertIn("Test Sender", msg["From"])

        # the body, byte for byte
        _, got = header_and_body(raw)
        self.assertEqual(got, body)
        # Python's Maildir reads it too
        box = self.q.maildir("demo")
        self.assertIn(name.split(":")[0], box.keys())

    def test_inject_several_recipients(self):
        tok = token()
        data = ("To: the team:;\nSubject: several %s\n\nhello all\n"
                % tok).encode()
        self.send(["Demo@LOCALHOST", "alice@LocalHost", "Bob-Ext@LOCALHOST"],
                  data, program="qmail-inject")
        expect = {"demo": "demo@localhost", "alice": "alice@localhost",
                  "bob": "bob-ext@localhost"}
        for user in expect:
            self.wait_copies(user, tok)
        self.settle()
        for user, dt in expect.items():
            with self.subTest(user=user):
                got = self.copies(user, tok)
                self.assertEqual(len(got), 1)
                lines = header_lines(got[0][1])
                self.assertEqual(lines[1], "Delivered-To: %s" % dt)
                self.assertEqual(field_names(got[0][1]).count("delivered-to"),
                                 1)
                self.assertTrue(got[0][1].endswith(b"\n\nhello all\n"))

    def test_sendmail_t_recipients_from_header(self):
        tok = token()
        data = ("From: Sender <alice@localhost>\nTo: Demo <demo@localhost>\n"
                "Cc: alice@localhost\nBcc: bob@localhost\n"
                "Subject: minus-t %s\n\nbody\n" % tok).encode()
        self.send(["-t", "-i"], data)
        for user in ("demo", "alice", "bob"):
            self.wait_copies(user, tok)
        self.settle()
        for user in ("demo", "alice", "bob"):
            with self.subTest(user=user):
                got = self.copies(user, tok)
                self.assertEqual(len(got), 1)
                raw = got[0][1]
                names = field_names(raw)
                self.assertNotIn("bcc", names)
                self.assertNotIn(b"bob@localhost", header_and_body(raw)[0]
                                 .replace(b"Delivered-To: bob@localhost",
                                          b""))
                self.assertIn("To: Demo <demo@localhost>", header_lines(raw))
                self.assertIn("Cc: alice@localhost", header_lines(raw))
                self.assertEqual(header_lines(raw)[1],
                                 "Delivered-To: %s@localhost" % user)

    def test_ten_megabytes_byte_exact(self):
        tok = token()
        rnd = random.Random(4711)
        # 8-bit bytes, no NUL, CR or LF (the input's line ends are LF)
        table = bytes(b if b not in (0, 10, 13) else 0xA0 for b in range(256))
        noise = rnd.randbytes(11 * 1024 * 1024).translate(table)
        specials = [b"From ", b"From nobody Thu Jan  1 00:00:00 1970", b".",
                    b"..", b". ", b".\t.", b">From ", b"", b"-- ",
                    b"Subject: not a header", b"\xff" * 3000]
        lines, pos, size = [], 0, 0
        while size < 10 * 1024 * 1024:
            r = rnd.random()
            if r < 0.05:
                line = rnd.choice(specials)
            elif r < 0.08:
                n = rnd.choice([998, 999, 1000, 4096, 65536, 200000])
                line = noise[pos:pos + n]
                pos += n
            else:
                n = rnd.randint(0, 200)
                line = noise[pos:pos + n]
                pos += n
            lines.append(line)
            size += len(line) + 1
        body = b"\n".join(lines) + b"\n"
        header = ("Subject: big %s\nMIME-Version: 1.0\n"
                  "Content-Type: application/octet-stream\n"
                  "Content-Transfer-Encoding: 8bit\n" % tok).encode()
        self.assertGreaterEqual(len(body), 10 * 1024 * 1024)
        self.send(["-oi", "big@localhost"], header + b"\n" + body,
                  timeout=120)
        (path, raw), = self.wait_copies("big", tok, timeout=90)
        self.settle(60)
        self.assertEqual(len(self.copies("big", tok)), 1)
        head, got = header_and_body(raw)
        self.assertTrue(head.startswith(b"Return-Path: "), head[:200])
        self.assertIn(header, head)
        if got != body:
            i = next((k for k in range(min(len(got), len(body)))
                      if got[k] != body[k]), min(len(got), len(body)))
            self.fail("body differs: sent %d bytes, got %d; first "
                      "difference at offset %d: sent %r, got %r" % (
                          len(body), len(got), i, body[i:i + 60],
                          got[i:i + 60]))

    def test_unknown_user_bounces(self):
        tok = token()
        subject = "to nobody %s" % tok
        self.send(["-f", "demo@localhost", "nobody@localhost"],
                  ("Subject: %s\n\nanyone there?\n" % subject).encode())
        self.wait_bounces("demo", tok)
        self.settle()
        got = self.bounces("demo", tok)
        self.assertEqual(len(got), 1)
        self.check_bounce(got[0][1], ["nobody@localhost"], "5.1.1", subject,
                          "demo@localhost")
        self.assertTrue(os.path.basename(os.path.dirname(got[0][0])) == "new")
        # nobody else got anything
        for user in ("alice", "bob"):
            self.assertEqual(self.bounces(user, tok), [])

    def test_good_and_bad_recipient(self):
        tok = token()
        subject = "good and bad %s" % tok
        self.send(["-f", "demo@localhost", "alice@localhost",
                   "nobody@localhost"],
                  ("Subject: %s\n\nhalf of it\n" % subject).encode())
        self.wait_copies("alice", tok)
        self.wait_bounces("demo", tok)
        self.settle()
        self.assertEqual(len(self.copies("alice", tok)), 1)
        got = self.bounces("demo", tok)
        self.assertEqual(len(got), 1)
        self.check_bounce(got[0][1], ["nobody@localhost"], "5.1.1", subject,
                          "demo@localhost")
        self.assertNotIn(b"alice@localhost", got[0][1].split(
            b"message/rfc822")[0].split(b"message/delivery-status", 1)[-1])

    def test_null_sender_failure_is_a_double_bounce(self):
        # A failed bounce (sender <>) cannot go back to its sender: it goes
        # to doublebounceto (postmaster) with sender #@[]; qmailctl init
        # makes postmaster an alias delivered into alias/Maildir/.
        self.settle()
        offset = len(self.q.log_text())
        tok = token()
        self.send(["-f", "", "nobody@localhost"],
                  ("Subject: null sender %s\n\nlost\n" % tok).encode())
        m = self.wait_log(r"msg (\S+) to <nobody@localhost>: failure", offset)
        msgid = m.group(1)
        self.wait_log(r"msg %s: double bounce sent to <postmaster@localhost>"
                      % re.escape(msgid), offset)
        self.settle()
        self.assertEqual(self.qstat()["messages in queue"], 0)
        self.wait_log(r"end msg %s$" % re.escape(msgid), offset)
        found = []
        for path in self.all_mail_files():
            with open(path, "rb") as f:
                raw = f.read()
            if tok.encode() in raw:
                found.append((path, raw))
        self.assertEqual(len(found), 1, [p for p, _ in found])
        self.assertIn(os.path.join("alias", "Maildir", "new"), found[0][0])
        self.assertTrue(found[0][1].startswith(b"Return-Path: <#@[]>\n"))

    def test_double_bounce_failure_is_discarded(self):
        # with postmaster's .qmail broken for good, the double bounce fails
        # too; from #@[] nothing more is sent: logged and discarded
        self.settle()
        path = self.q.path("alias", ".qmail-postmaster")
        with open(path) as f:
            saved = f.read()
        self.addCleanup(lambda: self.q.dotqmail("alias", "postmaster", saved))
        self.q.dotqmail("alias", "postmaster", "|exit 100")
        offset = len(self.q.log_text())
        tok = token()
        self.send(["-f", "", "nobody@localhost"],
                  ("Subject: lost %s\n\nlost\n" % tok).encode())
        self.wait_log(r"double bounce: discarded", offset)
        self.settle()
        for p in self.all_mail_files():
            with open(p, "rb") as f:
                self.assertNotIn(tok.encode(), f.read(), p)

    def test_loop_detected(self):
        tok = token()
        subject = "looping %s" % tok
        data = ("Delivered-To: demo@localhost\nSubject: %s\n\nround and "
                "round\n" % subject).encode()
        self.send(["-f", "alice@localhost", "demo@localhost"], data)
        self.wait_bounces("alice", tok)
        self.settle()
        self.assertEqual(self.copies("demo", tok), [])
        got = self.bounces("alice", tok)
        self.assertEqual(len(got), 1)
        self.check_bounce(got[0][1], ["demo@localhost"], "5.4.6", subject,
                          "alice@localhost")

    def test_loop_detected_after_long_header(self):
        """The Delivered-To line is found after 300 KB of header fields,
        some folded; the sender gets the 5.4.6 bounce."""
        tok = token()
        subject = "long loop %s" % tok
        received = "".join(
            "Received: from host%d.example.org by relay%d.example.net;\n"
            "\tFri, 04 Dec 2026 10:00:%02d +0000 (padding %s)\n"
            % (i, i, i % 60, "x" * (i % 97)) for i in range(2500))
        data = ("Subject: %s\n%sDelivered-To: someone@example.org\n"
                "Delivered-To: demo@localhost\nX-After: 1\n\nloop\n"
                % (subject, received)).encode()
        self.assertGreater(len(data), 300000)
        self.send(["-f", "alice@localhost", "demo@localhost"], data)
        self.wait_bounces("alice", tok)
        self.settle()
        self.assertEqual(self.copies("demo", tok), [])
        got = self.bounces("alice", tok)
        self.assertEqual(len(got), 1)
        self.check_bounce(got[0][1], ["demo@localhost"], "5.4.6", subject,
                          "alice@localhost")

    def test_other_delivered_to_is_not_a_loop(self):
        tok = token()
        # other addresses in the header, and our own in the body, are no loop
        data = ("Delivered-To: demo-list@localhost\nDelivered-To: "
                "alice@localhost\nSubject: not looping %s\n\nok\n"
                "Delivered-To: demo@localhost\n" % tok).encode()
        self.send(["-f", "alice@localhost", "demo@localhost"], data)
        (_, raw), = self.wait_copies("demo", tok)
        self.settle()
        self.assertEqual(len(self.copies("demo", tok)), 1)
        self.assertEqual(self.bounces("alice", tok), [])
        lines = header_lines(raw)
        self.assertEqual(lines[1], "Delivered-To: demo@localhost")
        self.assertEqual(field_names(raw).count("delivered-to"), 3)

    def test_qmail_queue_binary_body(self):
        """Straight through qmail-queue: NUL, CR and 8-bit bytes arrive as
        they were; the recipient's domain is matched without regard to
        case."""
        tok = token()
        body = (b"nul \x00 byte\ncr \r in the middle\r\n"
                b"\x00\x00\x00\n\xff\xfe\x80\n.\nFrom x\nend")
        data = ("Subject: binary %s\n\n" % tok).encode() + body
        p = self.q.queue([], data, b"Falice@localhost\0Tdemo@LocalHost\0\0")
        self.assertEqual(p.returncode, 0, p.stderr)
        (_, raw), = self.wait_copies("demo", tok)
        self.settle()
        self.assertEqual(len(self.copies("demo", tok)), 1)
        self.assertEqual(self.bounces("alice", tok), [])
        lines = raw.split(b"\n")
        self.assertEqual(lines[0], b"Return-Path: <alice@localhost>")
        self.assertEqual(lines[1], b"Delivered-To: demo@localhost")
        self.assertTrue(lines[2].startswith(b"Received: "))
        self.assertEqual(header_and_body(raw)[1], body)

    def test_recipient_without_at_gets_envnoathost(self):
        """An envelope recipient without @ is bob@envnoathost (default
        control/me), in the delivery and in its Delivered-To line."""
        tok = token()
        p = self.q.queue([], ("Subject: bare %s\n\nhi\n" % tok).encode(),
                         b"Falice@localhost\0Tbob\0\0")
        self.assertEqual(p.returncode, 0, p.stderr)
        (_, raw), = self.wait_copies("bob", tok)
        self.settle()
        self.assertEqual(len(self.copies("bob", tok)), 1)
        self.assertEqual(header_lines(raw)[1], "Delivered-To: bob@localhost")

    def test_odd_recipients_fail(self):
        """Local parts that are not user names (path tricks, leading dot
        or dash, empty) fail permanently; nothing is written outside
        the users' Maildirs; one bounce lists them all."""
        for d in (self.q.path("mail", ".hid", "Maildir"),
                  self.q.path("evil", "Maildir")):
            for sub in ("tmp", "new", "cur"):
                os.makedirs(os.path.join(d, sub), exist_ok=True)
        tok = token()
        bad = ["../evil@localhost", "demo/../alice@localhost",
               ".hid@localhost", "-demo@localhost", "@localhost"]
        env = b"Falice@localhost\0" + b"".join(
            b"T" + r.encode() + b"\0" for r in bad) + b"\0"
        p = self.q.queue([], ("Subject: odd %s\n\nx\n" % tok).encode(), env)
        self.assertEqual(p.returncode, 0, p.stderr)
        (_, raw), = self.wait_bounces("alice", tok)
        self.settle()
        self.assertEqual(len(self.bounces("alice", tok)), 1)
        for d in (self.q.path("mail", ".hid", "Maildir"),
                  self.q.path("evil", "Maildir")):
            for sub in ("tmp", "new", "cur"):
                self.assertEqual(os.listdir(os.path.join(d, sub)), [], d)
        for user in ("demo", "alice"):
            self.assertEqual(self.copies(user, tok), [])
        msg = email.message_from_bytes(raw)
        dsn = [p for p in msg.walk()
               if p.get_content_type() == "message/delivery-status"][0]
        blocks = [b for b in dsn.get_payload() if b["Final-Recipient"]]
        finals = sorted(b["Final-Recipient"].split(";", 1)[1].strip()
                        for b in blocks)
        self.assertEqual(finals, sorted(bad))
        for b in blocks:
            self.assertEqual(b["Action"], "failed")
            self.assertRegex(b["Status"], r"^5\.1\.\d$")

    def test_longest_user_prefix(self):
        """demo-lists is a user of its own; demo-listsx is demo with the
        extension listsx; demo-lists-x is demo-lists with extension x."""
        tok = token()
        self.send(["demo-lists@localhost", "Demo-Lists-X@localhost",
                   "demo-listsx@localhost"],
                  ("Subject: prefix %s\n\nwhich user?\n" % tok).encode())
        self.wait_copies("demo-lists", tok, 2)
        self.wait_copies("demo", tok, 1)
        self.settle()
        dts = sorted(header_lines(raw)[1]
                     for _, raw in self.copies("demo-lists", tok))
        self.assertEqual(dts, ["Delivered-To: demo-lists-x@localhost",
                               "Delivered-To: demo-lists@localhost"])
        got = self.copies("demo", tok)
        self.assertEqual(len(got), 1)
        self.assertEqual(header_lines(got[0][1])[1],
                         "Delivered-To: demo-listsx@localhost")

    def test_bounce_to_unknown_sender_does_not_loop(self):
        """The bounce to a sender that does not exist fails too; as its
        sender is empty, it becomes one double bounce to the postmaster
        (from #@[]), and that is the end of it."""
        self.settle()
        offset = len(self.q.log_text())
        tok = token()
        self.send(["-f", "ghost@localhost", "nobody@localhost"],
                  ("Subject: double %s\n\nto and from nobody\n"
                   % tok).encode())
        self.wait_log(r"to <ghost@localhost>: failure", offset)
        self.settle()
        log = self.log_after(offset)
        self.assertEqual(len(re.findall(r"new msg \S+ from <>", log)), 1,
                         log)
        self.assertEqual(len(re.findall(r"new msg \S+ from <#@\[\]>", log)),
                         1, log)
        found = []
        for path in self.all_mail_files():
            with open(path, "rb") as f:
                if tok.encode() in f.read():
                    found.append(path)
        self.assertEqual(len(found), 1, found)
        self.assertIn(os.path.join("alias", "Maildir", "new"), found[0])

    def test_many_recipients_one_message(self):
        """One message to 300 extension addresses of one user: 300 copies,
        one per address, more than concurrencylocal at once."""
        tok = token()
        rcpts = ["fan-r%03d@localhost" % i for i in range(300)]
        self.send(["-f", "alice@localhost"] + rcpts,
                  ("Subject: fan-out %s\n\nfor each of you\n" % tok).encode())
        self.wait_copies("fan", tok, 300, timeout=60)
        self.settle(60)
        got = self.copies("fan", tok)
        dts = collections.Counter(header_lines(raw)[1] for _, raw in got)
        self.assertEqual(dts, collections.Counter(
            "Delivered-To: " + r for r in rcpts))
        self.assertEqual(self.bounces("alice", tok), [])

    def test_log_lines(self):
        tok = token()
        sender = "log-%s@example.org" % tok
        self.send(["-f", sender, "demo@localhost", "alice@localhost"],
                  ("Subject: log %s\n\nlogged\n" % tok).encode())
        (_, raw), = self.wait_copies("demo", tok)
        self.wait_copies("alice", tok)
        self.settle()
        log = self.q.log_text()
        new = [l for l in log.splitlines()
               if "new msg" in l and "<%s>" % sender in l]
        self.assertEqual(len(new), 1, log)
        m = re.search(r"new msg (\S+) from <%s> size (\d+)"
                      % re.escape(sender), new[0])
        self.assertTrue(m, new[0])
        msgid, size = m.group(1), int(m.group(2))
        # the size is the queued message: the delivered copy less the
        # Return-Path and Delivered-To lines qmail-local added
        lines = raw.split(b"\n")
        self.assertEqual(size, len(raw) - len(lines[0]) - len(lines[1]) - 2,
                         new[0])
        for rcpt in ("demo@localhost", "alice@localhost"):
            with self.subTest(rcpt=rcpt):
                ok = [l for l in log.splitlines()
                      if msgid in l and "<%s>" % rcpt in l
                      and "success" in l]
                self.assertEqual(len(ok), 1, log)
                self.assertRegex(ok[0], r"delay \d+(\.\d+)?s")
        ends = [l for l in log.splitlines()
                if re.search(r"end msg %s$" % re.escape(msgid), l)]
        self.assertEqual(len(ends), 1, log)

    def test_concurrent_submissions(self):
        tag = token()
        subjects = ["conc %s %03d" % (tag, i) for i in range(100)]

        def submit(subject):
            return self.q.sendmail(
                ["-f", "alice@localhost", "conc1@localhost",
                 "conc2@localhost"],
                ("Subject: %s\n\nmessage %s\n" % (subject, subject)).encode(),
                timeout=60)

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(submit, subjects))
        for s, p in zip(subjects, results):
            self.assertEqual(p.returncode, 0, "%s: %r" % (s, p.stderr))
        for user in ("conc1", "conc2"):
            self.wait_copies(user, tag, 100, timeout=60)
        self.settle(60)
        for user in ("conc1", "conc2"):
            with self.subTest(user=user):
                box = self.q.maildir(user)
                seen = collections.Counter(m["Subject"] for m in box)
                self.assertEqual(set(seen), set(subjects))
                self.assertEqual([s for s, n in seen.items() if n != 1], [])
                self.assertEqual(os.listdir(os.path.join(
                    self.q.maildir_path(user), "tmp")), [])
        self.assertEqual(self.bounces("alice", tag), [])
        self.assertEqual(self.qstat()["messages in queue"], 0)


class TestRetry(InstanceCase):
    """A temporary failure is deferred, kept, and retried on SIGALRM."""

    USERS = ("demo",)

    def test_deferral_and_flush(self):
        tmp = os.path.join(self.q.maildir_path("demo"), "tmp")
        away = tmp + ".away"
        os.rename(tmp, away)
        self.addCleanup(lambda: os.path.isdir(away) and os.rename(away, tmp))
        offset = len(self.q.log_text())
        tok = token()
        self.send(["-f", "demo@localhost", "demo@localhost"],
                  ("Subject: retry %s\n\nlater\n" % tok).encode())
        m = self.wait_log(r"msg (\S+) to <demo@localhost>: deferral", offset)
        msgid = m.group(1)
        self.assertEqual(self.files("demo"), [])
        self.assertTrue(self.qread_has("todo", "demo@localhost"),
                        self.qread())
        self.assertIn(msgid, self.qread())
        stat = self.qstat()
        self.assertEqual(stat["messages in queue"], 1)
        self.assertEqual(stat["recipients to deliver"], 1)

        os.rename(away, tmp)
        self.q.flush()
        self.wait_copies("demo", tok, timeout=15)
        self.settle()
        self.assertEqual(len(self.copies("demo", tok)), 1)
        self.assertEqual(self.bounces("demo", tok), [])
        log = self.log_after(offset)
        ok = [l for l in log.splitlines()
              if msgid in l and "success" in l]
        self.assertEqual(len(ok), 1, log)
        self.assertEqual(os.listdir(tmp), [])


class TestMbox(InstanceCase):
    """control/defaultdelivery ./Mailbox: mboxrd delivery."""

    USERS = ("demo", "many", "large")
    CONTROL = {"defaultdelivery": "./Mailbox"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tok = token()
        cls.bodies = [
            b"plain first message\n\nwith an empty line\n",
            b"From here\n>From there\n>>From far away\nFrom\n"
            b" From indented\nlast line\n",
        ]
        for i, body in enumerate(cls.bodies):
            data = ("Subject: mbox %d %s\n\n" % (i, cls.tok)).encode() + body
            p = cls.q.sendmail(["-f", "alice@example.org", "demo@localhost"],
                               data)
            if p.returncode != 0:
                raise AssertionError("sendmail: %r" % p.stderr)
        cls.mbox = cls.q.path("mail", "demo", "Mailbox")

        def count():
            try:
                with open(cls.mbox, "rb") as f:
                    return f.read().count(cls.tok.encode()) >= 2
            except FileNotFoundError:
                return False
        if not qmtest.wait_until(count, 15):
            raise AssertionError("mbox not delivered\n" + cls.q.describe())

    def setUp(self):
        self.settle()

    def test_mbox_with_python(self):
        with open(self.mbox, "rb") as f:
            text = f.read()
        self.assertIn(b"\n>From here\n", text)
        self.assertIn(b"\n>>From there\n", text)
        self.assertIn(b"\n>>>From far away\n", text)
        self.assertIn(b"\nFrom\n", text)          # no space: not quoted
        self.assertIn(b"\n From indented\n", text)
        self.assertTrue(text.startswith(b"From alice@example.org "), text[:80])
        self.assertTrue(text.endswith(b"\n\n"), text[-80:])
        box = mailbox.mbox(self.mbox, create=False)
        keys = box.keys()
        self.assertEqual(len(keys), 2)
        got = sorted(box.get_bytes(k) for k in keys)
        for raw in got:
            lines = header_lines(raw)
            self.assertEqual(lines[0], "Return-Path: <alice@example.org>")
            self.assertEqual(lines[1], "Delivered-To: demo@localhost")
        bodies = {}
        for k in keys:
            raw = box.get_bytes(k)
            subj = email.message_from_bytes(raw)["Subject"]
            bodies[subj] = mboxrd_unquote(header_and_body(raw)[1])
            self.assertTrue(box.get_message(k).get_from()
                            .startswith("alice@example.org "))
        self.assertEqual(bodies, {"mbox %d %s" % (i, self.tok): b
                                  for i, b in enumerate(self.bodies)})
        self.assertFalse(os.path.exists(self.q.path(
            "mail", "demo", "Maildir", "new")) and
            self.files("demo"), "went to the Maildir too")

    def test_concurrent_mbox_deliveries(self):
        """Parallel deliveries into one mbox (concurrencylocal 10) do not
        interleave: the fcntl lock serializes them."""
        tag = token()
        subjects = ["many %s %02d" % (tag, i) for i in range(30)]
        bodies = {s: (("line of %s\n" % s) * 2000).encode()
                  for s in subjects}

        def submit(subject):
            return self.q.sendmail(
                ["many@localhost"],
                ("Subject: %s\n\n" % subject).encode() + bodies[subject])

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            for p in pool.map(submit, subjects):
                self.assertEqual(p.returncode, 0, p.stderr)
        path = self.q.path("mail", "many", "Mailbox")

        def count():
            try:
                with open(path, "rb") as f:
                    return f.read().count(b"\nSubject: many %s " %
                                          tag.encode()) >= 30
            except FileNotFoundError:
                return False
        if not qmtest.wait_until(count, 30):
            self.fail("30 messages not in %s\n%s" % (path, self.q.describe()))
        self.settle()
        box = mailbox.mbox(path, create=False)
        got = {}
        for k in box.keys():
            raw = box.get_bytes(k)
            subj = email.message_from_bytes(raw)["Subject"]
            self.assertNotIn(subj, got)
            got[subj] = header_and_body(raw)[1]
        self.assertEqual(sorted(got), subjects)
        for s in subjects:
            self.assertEqual(got[s], bodies[s], s)

    def test_large_mbox_message_quoting(self):
        """4 MB with From lines at every kind of offset (buffer
        boundaries): each ^>*From  line is quoted, nothing else changes."""
        tok = token()
        rnd = random.Random(99)
        variants = [b"From ", b"From x", b">From y", b">>>From z", b"From",
                    b">From", b" From ", b"Fromage", b">>", b"FROM x",
                    b"from x"]
        lines, size = [], 0
        while size < 4 * 1024 * 1024:
            n = rnd.choice([0, 1, 7, 100, 4090, 4091, 8187, 65531,
                            rnd.randint(0, 20000)])
            filler = bytes(rnd.choice(b"abcdefgh \t\xc3\xa9") for _ in
                           range(min(n, 50))) * (n // 50 + 1)
            lines.append(filler[:n])
            lines.append(rnd.choice(variants) + filler[:rnd.randint(0, 30)])
            size += n + 40
        body = b"\n".join(lines) + b"\n"
        self.send(["-oi", "large@localhost"],
                  ("Subject: large %s\n\n" % tok).encode() + body,
                  timeout=60)
        path = self.q.path("mail", "large", "Mailbox")

        def delivered():
            try:
                return os.path.getsize(path) > len(body)
            except FileNotFoundError:
                return False
        if not qmtest.wait_until(delivered, 30):
            self.fail("not delivered\n" + self.q.describe())
        self.settle(30)
        box = mailbox.mbox(path, create=False)
        self.assertEqual(len(box), 1)
        raw = box.get_bytes(box.keys()[0])
        got = header_and_body(raw)[1]
        want_quoted = b"\n".join(b">" + l if re.match(rb"^>*From ", l)
                                 else l for l in body.split(b"\n"))
        if got != want_quoted:
            i = next((k for k in range(min(len(got), len(want_quoted)))
                      if got[k] != want_quoted[k]),
                     min(len(got), len(want_quoted)))
            self.fail("mbox body differs at offset %d of %d/%d: want %r, "
                      "got %r" % (i, len(want_quoted), len(got),
                                  want_quoted[max(0, i - 20):i + 40],
                                  got[max(0, i - 20):i + 40]))
        self.assertEqual(mboxrd_unquote(got), body)

    def test_mbox_with_mail_reader(self):
        reader = shutil.which("s-nail") or shutil.which("mutt")
        if not reader:
            self.skipTest("neither s-nail nor mutt installed")
        home = tempfile.mkdtemp(prefix="qmtest-home-")
        self.addCleanup(shutil.rmtree, home, True)
        env = dict(os.environ, HOME=home, MAIL=self.mbox, LC_ALL="C.UTF-8")
        if os.path.basename(reader) == "s-nail":
            p = subprocess.run([reader, "-#", "-:/", "-Rf", self.mbox],
                               input=b"headers\nprint 2\n",
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=env, timeout=30)
        else:
            muttrc = os.path.join(home, "muttrc")
            with open(muttrc, "w") as f:
                f.write("set mbox_type=mbox\nset pager=cat\n")
            p = subprocess.run(
                [reader, "-n", "-F", muttrc, "-R", "-f", self.mbox, "-e",
                 "push '<display-message>'"], stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, env=env, timeout=30)
        out = p.stdout.decode("utf-8", "replace")
        self.assertIn("mbox 0 %s" % self.tok, out)
        self.assertIn("mbox 1 %s" % self.tok, out)
        self.assertIn("From here", out)


class TestRemoteStaysQueued(InstanceCase):
    """Remote recipients that cannot be delivered (here: the only route
    leads to a closed port) wait in the queue and survive a restart; done
    local recipients are not delivered again."""

    USERS = ("demo",)
    CONTROL = {"smtproutes": ":[127.0.0.1]:1"}

    def test_remote_recipient_stays_queued(self):
        tok = token()
        self.send(["-f", "demo@localhost", "demo@localhost",
                   "bob@remote.example"],
                  ("Subject: mixed %s\n\nhalf local\n" % tok).encode())
        self.send(["-f", "demo@localhost", "carol@far.example"],
                  ("Subject: remote %s\n\nall remote\n" % tok).encode())
        self.wait_copies("demo", tok)
        if not qmtest.wait_until(
                lambda: self.qread_has("done", "demo@localhost"), 10):
            self.fail("demo@localhost not shown done:\n" + self.qread())
        out = self.qread()
        self.assertTrue(self.qread_has("todo", "bob@remote.example"), out)
        self.assertTrue(self.qread_has("todo", "carol@far.example"), out)
        self.assertEqual(len(re.findall(r"from <demo@localhost>", out)), 2,
                         out)
        stat = self.qstat()
        self.assertEqual(stat["messages in queue"], 2)
        self.assertEqual(stat["recipients to deliver"], 2)
        before = out

        self.q.stop()
        self.assertEqual(self.qread(), before)     # readable while stopped
        offset = len(self.q.log_text())
        self.q.start()
        self.wait_log(r"ready", offset)
        out = self.qread()
        self.assertTrue(self.qread_has("todo", "bob@remote.example"), out)
        self.assertTrue(self.qread_has("todo", "carol@far.example"), out)
        self.assertTrue(self.qread_has("done", "demo@localhost"), out)
        self.assertEqual(self.qstat()["messages in queue"], 2)
        # the done local recipient is not delivered again
        self.assertIsNone(qmtest.wait_until(
            lambda: len(self.copies("demo", tok)) > 1, 1.0))
        self.assertEqual(len(self.copies("demo", tok)), 1)
        self.assertEqual(self.bounces("demo", tok), [])


class TestDoubleBounce(InstanceCase):
    """With a postmaster mailbox, a failed bounce reaches it, from #@[]."""

    USERS = ("demo", "postmaster")

    def test_double_bounce_reaches_postmaster(self):
        tok = token()
        self.send(["-f", "", "nobody@localhost"],
                  ("Subject: double %s\n\nlost\n" % tok).encode())
        msgs = self.q.wait_for_messages("postmaster", 1)
        self.assertEqual(len(msgs), 1)
        m = msgs[0]
        self.assertEqual(m["Return-Path"], "<#@[]>")
        self.assertEqual(m.get_content_type(), "multipart/report")
        self.assertIn(tok.encode(), m.as_bytes())
        self.assertTrue(qmtest.wait_until(
            lambda: self.qstat()["messages in queue"] == 0, 10))


class TestRestart(InstanceCase):
    """Messages queued while qmail-send is stopped are delivered after
    start, each exactly once."""

    USERS = ("demo",)

    def test_submit_while_stopped(self):
        self.q.stop()
        tok = token()
        subjects = ["stopped %s %d" % (tok, i) for i in range(5)]
        for s in subjects:
            p = self.q.sendmail(["demo@localhost"],
                                ("Subject: %s\n\nqueued\n" % s).encode(),
                                timeout=10)
            self.assertEqual(p.returncode, 0, p.stderr)
        stat = self.qstat()
        self.assertEqual(stat["messages in queue"], 5)
        self.assertEqual(stat["recipients to deliver"], 5)
        self.assertEqual(self.copies("demo", tok), [])
        self.q.start()
        self.wait_copies("demo", tok, 5)
        self.settle()
        seen = collections.Counter(m["Subject"]
                                   for m in self.q.maildir("demo")
                                   if tok in m["Subject"])
        self.assertEqual(seen, collections.Counter(subjects))

    def test_stop_during_deliveries(self):
        """qmail-send stopped while it works through 100 messages: after
        the next start every message is there exactly once."""
        tok = token()
        subjects = ["busy %s %03d" % (tok, i) for i in range(100)]

        def submit(subject):
            return self.q.sendmail(["-f", "demo@localhost", "demo@localhost"],
                                   ("Subject: %s\n\nx\n" % subject).encode(),
                                   timeout=60)

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(submit, s) for s in subjects]
            # stop as soon as the first deliveries have happened
            qmtest.wait_until(lambda: self.copies("demo", tok), 15, 0.01)
            self.q.stop()
            results = [f.result() for f in futures]
        for s, p in zip(subjects, results):
            self.assertEqual(p.returncode, 0, "%s: %r" % (s, p.stderr))
        self.assertFalse(self.q.running())
        self.q.start()
        self.wait_copies("demo", tok, 100, timeout=60)
        self.settle(60)
        seen = collections.Counter(m["Subject"]
                                   for m in self.q.maildir("demo")
                                   if tok in m["Subject"])
        self.assertEqual(seen, collections.Counter(subjects))
        self.assertEqual(self.bounces("demo", tok), [])


if __name__ == "__main__":
    unittest.main()


class TestDeliveryChildHoldsNothingElse(InstanceCase):
    """qmail-lspawn runs each delivery in a forked child without an exec:
    that child must hold no descriptor of another delivery (another user's
    report pipe), and it shows up as qmail-local."""

    USERS = ("demo", "alice", "bob")

    @staticmethod
    def children():
        """{home: (pid, {fd: link})} of the running delivery children."""
        out = {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/comm" % pid) as f:
                    if f.read().strip() != "qmail-local":
                        continue
                cwd = os.readlink("/proc/%s/cwd" % pid)
                fds = {}
                for fd in os.listdir("/proc/%s/fd" % pid):
                    fds[int(fd)] = os.readlink("/proc/%s/fd/%s" % (pid, fd))
                out[cwd] = (int(pid), fds)
            except OSError:
                continue
        return out

    def test_no_foreign_descriptors(self):
        q = self.q
        home_a = os.path.realpath(q.path("mail", "alice"))
        home_b = os.path.realpath(q.path("mail", "bob"))
        # both deliveries stay running for a while, bob's first
        q.dotqmail("bob", "", ["|sleep 6", "./Maildir/"])
        q.dotqmail("alice", "", ["|sleep 4", "./Maildir/"])
        self.send(["bob@localhost"], b"Subject: slow\n\nslow\n")
        self.assertTrue(qmtest.wait_until(
            lambda: home_b in self.children(), 15))
        self.send(["alice@localhost"], b"Subject: probe\n\nprobe\n")
        seen = {}

        def both():
            seen.update(self.children())
            return home_a in seen and home_b in seen
        self.assertTrue(qmtest.wait_until(both, 15), seen)
        bob_report = seen[home_b][1][1]      # bob's fd 1: his report pipe
        self.assertTrue(bob_report.startswith("pipe:"), bob_report)
        alice_fds = seen[home_a][1]
        self.assertNotIn(bob_report, alice_fds.values(), alice_fds)
        # 0 message, 1 report, 2 log, and the pipe of its own program
        self.assertLessEqual(len(alice_fds), 4, alice_fds)
        q.wait_for_messages("alice", 1, timeout=30)
        q.wait_for_messages("bob", 1, timeout=30)

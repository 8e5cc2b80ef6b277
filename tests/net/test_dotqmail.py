"""Black-box tests of local delivery as users script it (issue 3): .qmail
files (Maildir, mbox, |program, &forward and bare-address forwards,
comments), extensions and -default with DEFAULT, the program environment
and exit codes, forwards and their envelope sender (-owner), forwarding
loops, the permission rules, users/assign compiled by qmail-newu,
control/virtualdomains and control/percenthack, and the alias user.

Every test runs against a real instance (qmailctl init/start in a
temporary directory) and looks only at files: Maildirs, mboxes, what the
delivery programs wrote, the qmail-send log, bin/qmail-qread.

See dot-qmail(5), qmail-command(8), qmail-local(8), qmail-users(5),
qmail-newu(8), qmail-send(8)."""

import email
import mailbox
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest

import qmtest
from test_delivery import (InstanceCase, header_and_body, header_lines,
                           mboxrd_unquote, token)


def fnv1a(text):
    """FNV-1a 32 of text (qmail-local hashes the recipient with it for
    its stable Maildir names)."""
    h = 2166136261
    for c in text.encode():
        h ^= c
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def parse_env0(data):
    """`env -0` output as a dict."""
    out = {}
    for item in data.split(b"\0"):
        if item:
            k, _, v = item.partition(b"=")
            out[k.decode()] = v.decode("utf-8", "replace")
    return out


class DotQmailCase(InstanceCase):
    """InstanceCase plus helpers for files in the users' homes."""

    PROGRAMS_EXTRA = ()

    @classmethod
    def setUpClass(cls):
        missing = [p for p in cls.PROGRAMS_EXTRA if not qmtest.have(p)]
        if missing:
            raise unittest.SkipTest("bin/%s not built yet"
                                    % ", bin/".join(missing))
        super().setUpClass()

    # ---- homes -------------------------------------------------------

    def home(self, user):
        return self.q.path("alias") if user == "alias" else \
            self.q.path("mail", user)

    def own(self, user, path):
        """Give path (recursively) to the owner of user's home."""
        if os.geteuid() != 0:
            return
        st = os.stat(self.home(user))
        os.chown(path, st.st_uid, st.st_gid)
        for dirpath, dirs, files in os.walk(path):
            for n in dirs + files:
                os.chown(os.path.join(dirpath, n), st.st_uid, st.st_gid)

    def make_maildir(self, user, path):
        """A Maildir (tmp, new, cur) at path in user's home, owned by
        user (with the directories made above it)."""
        home = self.home(user)
        rel = os.path.relpath(path, home)
        self.assertFalse(rel.startswith(".."), path)
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(path, sub), mode=0o700, exist_ok=True)
        self.own(user, os.path.join(home, rel.split(os.sep)[0]))
        return path

    def read_home(self, user, name, default=None):
        try:
            with open(os.path.join(self.home(user), name), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return default

    def wait_home_file(self, user, name, pred=lambda b: True, timeout=15):
        """Wait until file name in user's home exists and pred(content);
        return the content."""
        def ready():
            b = self.read_home(user, name)
            return (b,) if b is not None and pred(b) else None
        got = qmtest.wait_until(ready, timeout)
        if got is None:
            self.fail("%s/%s never became as expected (now %r)\n%s" % (
                self.home(user), name, self.read_home(user, name),
                self.q.describe()))
        return got[0]

    # ---- any Maildir -------------------------------------------------

    @staticmethod
    def maildir_files(mdir):
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(mdir, sub)
            try:
                names = sorted(os.listdir(d))
            except FileNotFoundError:
                continue
            for n in names:
                if n.startswith("."):
                    continue
                try:
                    with open(os.path.join(d, n), "rb") as f:
                        out.append((os.path.join(d, n), f.read()))
                except FileNotFoundError:
                    pass
        return out

    def copies_at(self, mdir, tok):
        """Copies (not bounces) in Maildir mdir whose Subject holds tok."""
        return [(p, raw) for p, raw in self.maildir_files(mdir)
                if not raw.startswith(b"Return-Path: <>\n")
                and re.search(rb"^Subject: .*" + tok.encode(),
                              header_and_body(raw)[0], re.M)]

    def wait_copies_at(self, mdir, tok, n=1, timeout=15):
        if not qmtest.wait_until(lambda: len(self.copies_at(mdir, tok)) >= n,
                                 timeout):
            self.fail("%s: %d copies of %s, wanted %d\n%s" % (
                mdir, len(self.copies_at(mdir, tok)), tok, n,
                self.q.describe()))
        return self.copies_at(mdir, tok)

    def all_copies(self, tok):
        """Every message file anywhere under mail/ and alias/ that holds
        tok (bounces included)."""
        found = []
        for path in self.all_mail_files():
            try:
                with open(path, "rb") as f:
                    raw = f.read()
            except (FileNotFoundError, IsADirectoryError):
                continue
            if tok.encode() in raw:
                found.append(path)
        return found

    def delivered_to(self, raw):
        return [l[len("Delivered-To: "):] for l in header_lines(raw)
                if l.startswith("Delivered-To: ")]

    # ---- bounces -----------------------------------------------------

    def dsn(self, raw):
        """(message, [per-recipient blocks], human-readable text) of an
        RFC 3464 bounce; fails unless it is one."""
        msg = email.message_from_bytes(raw)
        self.assertEqual(msg.get_content_type(), "multipart/report", raw[:600])
        self.assertEqual(msg.get_param("report-type"), "delivery-status")
        parts = msg.get_payload()
        self.assertIsInstance(parts, list)
        types = [p.get_content_type() for p in parts]
        self.assertEqual(types[0], "text/plain", types)
        self.assertIn("message/delivery-status", types)
        self.assertIn("message/rfc822", types)
        blocks = [b for b in parts[types.index(
            "message/delivery-status")].get_payload() if b["Final-Recipient"]]
        text = parts[0].get_payload(decode=True).decode("utf-8", "replace")
        return msg, blocks, text

    def log_offset(self):
        return len(self.q.log_text())

    # ---- the queue -----------------------------------------------------

    REMOTE = ()   # domains whose recipients stay queued (no remote delivery)

    def setUp(self):
        super().setUp()
        # what an earlier (failed) test left in the queue is not ours to
        # wait for
        self.old_ids = {i for i, _ in self.queue_entries()}

    def queue_entries(self):
        """[(msgid, [(state, rcpt), ...]), ...] from qmail-qread."""
        out = []
        for line in self.qread().splitlines():
            m = re.match(r"^\d{4}-\d\d-\d\d \S+ UTC\s+(\S+)\s+\d+ bytes",
                         line)
            if m:
                out.append((m.group(1), []))
                continue
            m = re.match(r"^  (todo|done|failed)\s+(\S+)\s*$", line)
            if m and out:
                out[-1][1].append((m.group(1), m.group(2)))
        return out

    def remote(self, rcpt):
        dom = rcpt.rsplit("@", 1)[-1].lower()
        return any(dom == d or dom.endswith("." + d) for d in self.REMOTE)

    def settle(self, timeout=20):
        """Wait until every message this test queued is delivered (or
        only waits for remote recipients)."""
        def done():
            if self.qstat().get("messages being written", 0):
                return False
            for msgid, rcpts in self.queue_entries():
                if msgid in self.old_ids:
                    continue
                for state, rcpt in rcpts:
                    if state == "failed" or (state == "todo"
                                             and not self.remote(rcpt)):
                        return False
            return True
        if not qmtest.wait_until(done, timeout, 0.05):
            self.fail("deliveries not done after %d s:\n%s\n%s" % (
                timeout, self.qread(), self.q.describe()))

    def wait_for(self, pred, offset, what, timeout=15):
        """Poll pred() until true and return its value; fail at once when
        the log (after offset) shows a forward that could not be queued."""
        rx = re.compile(r"^.*deferral: .*unable to forward.*$", re.M)
        box = {}

        def check():
            m = rx.search(self.log_after(offset))
            if m:
                box["fwd"] = m.group(0)
                return True
            box["v"] = pred()
            return box["v"]
        if not qmtest.wait_until(check, timeout):
            self.fail("%s: not after %d s\n%s" % (what, timeout,
                                                   self.q.describe()))
        if "fwd" in box:
            self.fail("%s: the forward was deferred:\n%s" % (what,
                                                            box["fwd"]))
        return box["v"]

    def send_ok(self, sender, rcpts, subject, body="hello\n", extra=""):
        self.send(["-f", sender] + list(rcpts),
                  ("Subject: %s\n%s\n%s" % (subject, extra, body)).encode())


class TestDotQmail(DotQmailCase):
    """.qmail files of instance users, on one instance: each test uses
    extensions of its own."""

    USERS = ("demo", "alice", "bob", "carol", "plain", "gwhome")
    CONTROL = {"locals": ["localhost", "a.b.example.test"]}

    # ---- default delivery and .qmail ----------------------------------

    def test_no_dotqmail_and_empty_dotqmail(self):
        """No .qmail, then an empty .qmail: both mean the default
        delivery (./Maildir/); a .qmail then decides for the address
        without extension."""
        tok = token()
        path = os.path.join(self.home("plain"), ".qmail")
        self.assertFalse(os.path.exists(path))
        self.send_ok("carol@localhost", ["plain@localhost"], "none %s" % tok)
        self.wait_copies("plain", tok, 1)
        self.q.dotqmail("plain", "", "")
        self.send_ok("carol@localhost", ["plain@localhost"], "empty %s" % tok)
        self.wait_copies("plain", tok, 2)
        self.q.dotqmail("plain", "", [
            "# the user's own rules",
            "./Maildir/",
            '|echo "[$LOCAL][$EXT][${DEFAULT-unset}]" >> plain.log'])
        self.addCleanup(os.unlink, path)
        self.send_ok("carol@localhost", ["plain@localhost"], "file %s" % tok)
        self.wait_copies("plain", tok, 3)
        self.assertEqual(self.wait_home_file("plain", "plain.log"),
                         b"[plain][][unset]\n")
        self.settle()
        self.assertEqual(len(self.copies("plain", tok)), 3)
        for _, raw in self.copies("plain", tok):
            self.assertEqual(header_lines(raw)[:2], [
                "Return-Path: <carol@localhost>",
                "Delivered-To: plain@localhost"])
        self.assertEqual(self.bounces("carol", tok), [])

    # ---- Maildir and mbox lines -------------------------------------

    def test_maildir_lines(self):
        """./Maildir/, ./sub/dir/ and an absolute /path/ each get one
        copy; comments and blank lines are ignored."""
        tok = token()
        home = self.home("demo")
        sub = self.make_maildir("demo", os.path.join(home, "lists", "md"))
        absdir = self.make_maildir("demo", os.path.join(home, "absolute"))
        self.q.dotqmail("demo", "md", [
            "# comment: ./commented/",
            "",
            "./Maildir/",
            "   ",
            "./lists/md/",
            "#/tmp/not-here/",
            absdir + "/"])
        self.send_ok("carol@localhost", ["demo-md@localhost"],
                     "maildirs %s" % tok, "three copies\n")
        for mdir in (self.q.maildir_path("demo"), sub, absdir):
            self.wait_copies_at(mdir, tok)
        self.settle()
        for mdir in (self.q.maildir_path("demo"), sub, absdir):
            with self.subTest(maildir=mdir):
                got = self.copies_at(mdir, tok)
                self.assertEqual(len(got), 1)
                path, raw = got[0]
                self.assertEqual(os.path.basename(os.path.dirname(path)),
                                 "new")
                self.assertEqual(header_lines(raw)[:2], [
                    "Return-Path: <carol@localhost>",
                    "Delivered-To: demo-md@localhost"])
                self.assertTrue(header_lines(raw)[2].startswith("Received:"))
                self.assertEqual(header_and_body(raw)[1], b"three copies\n")
                self.assertEqual(os.listdir(os.path.join(mdir, "tmp")), [])
        self.assertFalse(os.path.exists(os.path.join(home, "commented")))
        self.assertEqual(self.bounces("carol", tok), [])

    def deliver_mbox(self, ext, names, tok):
        """Two messages (one full of From lines) into the mboxes that
        .qmail-EXT names; returns the bodies by subject."""
        home = self.home("demo")
        lines = [n if n.startswith("/") else "./" + n for n in names]
        self.q.dotqmail("demo", ext, lines)
        bodies = {
            "mbox one %s" % tok: b"plain first message\n\nsecond paragraph\n",
            "mbox two %s" % tok: b"From here\n>From there\n>>From far\n"
                                  b"From\n From indented\nlast line\n",
        }
        for subject, body in sorted(bodies.items()):
            self.send(["-f", "carol@localhost", "demo-%s@localhost" % ext],
                      ("Subject: %s\n\n" % subject).encode() + body)
        paths = [n if n.startswith("/") else os.path.join(home, n)
                 for n in names]

        def both():
            for p in paths:
                try:
                    with open(p, "rb") as f:
                        if f.read().count(tok.encode()) < 2:
                            return False
                except FileNotFoundError:
                    return False
            return True
        if not qmtest.wait_until(both, 15):
            self.fail("mboxes %s not written\n%s" % (paths, self.q.describe()))
        self.settle()
        return paths, bodies

    def test_mbox_lines(self):
        """./file and /absolute/file are mboxes: From_ line with the
        sender, Return-Path and Delivered-To, >From quoting; read back
        by mailbox.mbox."""
        tok = token()
        absmbox = os.path.join(self.home("demo"), "abs-%s.mbox" % tok)
        paths, bodies = self.deliver_mbox("mb", ["mb-%s.mbox" % tok,
                                                 absmbox], tok)
        for path in paths:
            with self.subTest(mbox=path):
                with open(path, "rb") as f:
                    text = f.read()
                self.assertTrue(text.startswith(b"From carol@localhost "),
                                text[:80])
                self.assertIn(b"\n>From here\n>>From there\n>>>From far\n"
                              b"From\n From indented\n", text)
                box = mailbox.mbox(path, create=False)
                self.addCleanup(box.close)
                self.assertEqual(len(box), 2)
                got = {}
                for k in box.keys():
                    m = box.get_message(k)
                    self.assertRegex(
                        m.get_from(), r"^carol@localhost \w{3} \w{3} [ \d]\d "
                                      r"\d\d:\d\d:\d\d \d{4}$")
                    raw = box.get_bytes(k)
                    self.assertEqual(header_lines(raw)[:2], [
                        "Return-Path: <carol@localhost>",
                        "Delivered-To: demo-mb@localhost"])
                    got[m["Subject"]] = mboxrd_unquote(
                        header_and_body(raw)[1])
                self.assertEqual(got, bodies)
                self.assertEqual(os.stat(path).st_uid,
                                 os.stat(self.home("demo")).st_uid)
        self.assertEqual(self.copies("demo", tok), [])
        self.assertEqual(self.bounces("carol", tok), [])

    def test_mbox_read_by_s_nail(self):
        """The mbox a .qmail line wrote is read by s-nail in batch mode."""
        snail = shutil.which("s-nail")
        if not snail:
            self.skipTest("s-nail not installed")
        tok = token()
        (path,), bodies = self.deliver_mbox("mbsn", ["sn-%s.mbox" % tok], tok)
        home = tempfile.mkdtemp(prefix="qmtest-home-")
        self.addCleanup(shutil.rmtree, home, True)
        env = dict(os.environ, HOME=home, MAIL=path, LC_ALL="C.UTF-8",
                   MAILRC="/dev/null")
        p = subprocess.run([snail, "-#", "-:/", "-Rf", path],
                           input=b"headers\nprint 1\nprint 2\n",
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=env, timeout=30)
        out = p.stdout.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 0, (out, p.stderr))
        # two messages listed, each printed whole; s-nail shows the
        # stored (quoted) From lines as they are
        listed = [l for l in out.splitlines() if tok in l and
                  re.search(r"\b[12]\b", l) and "Subject" not in l]
        self.assertEqual(len(listed), 2, out)
        for subject in bodies:
            self.assertIn("Subject: %s\n" % subject, out)
        self.assertIn("\nReturn-Path: <carol@localhost>\nDelivered-To: "
                      "demo-mbsn@localhost\n", out)
        self.assertIn("\nplain first message\n\nsecond paragraph\n", out)
        self.assertIn("\n>From here\n>>From there\n>>>From far\nFrom\n"
                      " From indented\nlast line\n", out)
        self.assertNotIn(b"error", p.stderr.lower(), p.stderr)

    # ---- programs ------------------------------------------------------

    def test_program_environment(self):
        """A |program runs by /bin/sh in the home with qmail's variables
        and the message (without the added lines) on stdin."""
        tok = token()
        prog = ('|env -0 > "env.$LOCAL"; pwd -P > "pwd.$LOCAL"; '
                'cat > "stdin.$LOCAL"')
        self.q.dotqmail("demo", "envt-default", [prog])
        self.q.dotqmail("demo", "envx", [prog])
        self.q.dotqmail("demo", "envn", [prog])
        body = "body of %s\nFrom inside\n" % tok
        self.send_ok("carol@localhost", ["demo-envt-x-y.z@a.b.example.test",
                                         "demo-envx@localhost"],
                     "env %s" % tok, body)
        self.send_ok("", ["demo-envn@localhost"], "null env %s" % tok)
        self.settle()
        home = os.path.realpath(self.home("demo"))
        env = {}
        for local in ("demo-envt-x-y.z", "demo-envx"):
            env[local] = parse_env0(self.wait_home_file(
                "demo", "env." + local))
            self.assertEqual(self.read_home("demo", "pwd." + local),
                             (home + "\n").encode())
            stdin = self.read_home("demo", "stdin." + local)
            self.assertTrue(stdin.startswith(b"Received: "), stdin[:200])
            self.assertNotIn(b"Delivered-To:", stdin)
            self.assertNotIn(b"Return-Path:", stdin)
            self.assertIn(("\nSubject: env %s\n" % tok).encode(), stdin)
            self.assertTrue(stdin.endswith(b"\n\n" + body.encode()),
                            stdin[-200:])
        e = env["demo-envt-x-y.z"]
        want = {
            "SENDER": "carol@localhost",
            "NEWSENDER": "carol@localhost",
            "RECIPIENT": "demo-envt-x-y.z@a.b.example.test",
            "USER": "demo",
            "HOST": "a.b.example.test",
            "HOST2": "a.b.example",
            "HOST3": "a.b",
            "HOST4": "a",
            "LOCAL": "demo-envt-x-y.z",
            "EXT": "envt-x-y.z",
            "EXT2": "x-y.z",
            "EXT3": "y.z",
            "EXT4": "",
            "DEFAULT": "x-y.z",
            "DTLINE": "Delivered-To: demo-envt-x-y.z@a.b.example.test\n",
            "RPLINE": "Return-Path: <carol@localhost>\n",
        }
        for k, v in want.items():
            self.assertEqual(e.get(k), v, "%s in %r" % (k, e))
        self.assertEqual(os.path.realpath(e["HOME"]), home)
        self.assertRegex(e["UFLINE"], r"^From carol@localhost \w{3} \w{3} "
                                      r"[ \d]\d \d\d:\d\d:\d\d \d{4}\n$")
        e = env["demo-envx"]
        want = {"RECIPIENT": "demo-envx@localhost", "LOCAL": "demo-envx",
                "EXT": "envx", "EXT2": "", "EXT3": "", "EXT4": "",
                "HOST": "localhost", "HOST2": "localhost",
                "HOST3": "localhost", "HOST4": "localhost",
                "DTLINE": "Delivered-To: demo-envx@localhost\n"}
        for k, v in want.items():
            self.assertEqual(e.get(k), v, "%s in %r" % (k, e))
        self.assertNotIn("DEFAULT", e)
        # the null sender
        e = parse_env0(self.wait_home_file("demo", "env.demo-envn"))
        self.assertEqual(e.get("SENDER"), "", e)
        self.assertEqual(e.get("NEWSENDER"), "", e)
        self.assertEqual(e.get("RPLINE"), "Return-Path: <>\n", e)
        self.assertRegex(e.get("UFLINE", ""), r"^From MAILER-DAEMON \w{3} ")
        self.assertEqual(self.copies("demo", tok), [])
        self.assertEqual(self.bounces("carol", tok), [])

    def test_program_exit_0_and_99(self):
        """Exit 0: go on with the next line; exit 99: delivered, the
        rest of the file is skipped."""
        tok = token()
        self.q.dotqmail("demo", "p0", ["|echo first >> p0-%s.log" % tok,
                                       "./Maildir/",
                                       "|echo third >> p0-%s.log" % tok])
        self.q.dotqmail("demo", "p99", ["|echo first >> p99-%s.log; exit 99"
                                        % tok,
                                        "./Maildir/",
                                        "|echo third >> p99-%s.log" % tok])
        offset = self.log_offset()
        self.send_ok("carol@localhost", ["demo-p0@localhost",
                                         "demo-p99@localhost"],
                     "exit codes %s" % tok)
        self.wait_copies("demo", tok)
        self.settle()
        self.assertEqual(self.read_home("demo", "p0-%s.log" % tok),
                         b"first\nthird\n")
        self.assertEqual(self.read_home("demo", "p99-%s.log" % tok),
                         b"first\n")
        got = self.copies("demo", tok)
        self.assertEqual(len(got), 1)
        self.assertEqual(self.delivered_to(got[0][1])[0], "demo-p0@localhost")
        self.assertEqual(self.bounces("carol", tok), [])
        log = self.log_after(offset)
        for rcpt in ("demo-p0@localhost", "demo-p99@localhost"):
            self.assertRegex(log, r"to <%s>: success" % re.escape(rcpt))

    def test_program_permanent_exit_codes_bounce(self):
        """Exit 100 (and sendmail's 64, 112) fail for good: one bounce to
        the sender lists each address with the program's output."""
        tok = token()
        for code in (100, 64, 112):
            self.q.dotqmail("demo", "p%d" % code, [
                "|echo 'sorry: box %d of %s is closed'; exit %d"
                % (code, tok, code)])
        subject = "perm %s" % tok
        self.send_ok("carol@localhost", ["demo-p100@localhost",
                                         "demo-p64@localhost",
                                         "demo-p112@localhost"], subject)
        (_, raw), = self.wait_bounces("carol", tok)
        self.settle()
        self.assertEqual(len(self.bounces("carol", tok)), 1)
        self.assertEqual(header_lines(raw)[:2], [
            "Return-Path: <>", "Delivered-To: carol@localhost"])
        msg, blocks, text = self.dsn(raw)
        self.assertEqual(len(blocks), 3, [str(b) for b in blocks])
        seen = {}
        for b in blocks:
            rcpt = b["Final-Recipient"].split(";", 1)[1].strip()
            seen[rcpt] = b
            self.assertEqual(b["Action"], "failed")
            self.assertRegex(b["Status"], r"^5\.\d+\.\d+$")
        self.assertEqual(sorted(seen), ["demo-p100@localhost",
                                        "demo-p112@localhost",
                                        "demo-p64@localhost"])
        for code in (100, 64, 112):
            why = "sorry: box %d of %s is closed" % (code, tok)
            self.assertIn(why, seen["demo-p%d@localhost" % code]
                          ["Diagnostic-Code"])
            self.assertIn(why, text)
        orig = [p for p in msg.walk()
                if p.get_content_type() == "message/rfc822"][0].get_payload()
        orig = orig[0] if isinstance(orig, list) else orig
        self.assertEqual(orig["Subject"], subject)
        self.assertEqual(self.copies("demo", tok), [])

    def test_program_exit_111_retried_one_maildir_copy(self):
        """Exit 111 defers the whole delivery; after qmailctl flush it is
        retried and succeeds; the Maildir line before the program keeps
        exactly one copy (even after a reader moved it to cur/)."""
        tok = token()
        mark, log = "retry-%s.mark" % tok, "retry-%s.log" % tok
        self.q.dotqmail("demo", "retry", [
            "./Maildir/",
            "|if test -f %s; then echo again >> %s; else : > %s; "
            "echo 'not yet %s'; exit 111; fi" % (mark, log, mark, tok),
            "|echo after >> %s" % log])
        offset = self.log_offset()
        self.send_ok("carol@localhost", ["demo-retry@localhost"],
                     "retry %s" % tok)
        m = self.wait_log(r"msg (\S+) to <demo-retry@localhost>: deferral: "
                          r"not yet %s" % tok, offset)
        msgid = m.group(1)
        (path, _), = self.copies("demo", tok)
        self.assertIsNone(self.read_home("demo", log))
        self.assertTrue(self.qread_has("todo", "demo-retry@localhost"),
                        self.qread())
        # a mail reader sees it and moves it to cur/
        cur = os.path.join(self.q.maildir_path("demo"), "cur",
                           os.path.basename(path) + ":2,S")
        os.rename(path, cur)

        self.q.flush()
        self.wait_log(r"msg %s to <demo-retry@localhost>: success"
                      % re.escape(msgid), offset)
        self.settle()
        self.assertEqual(self.read_home("demo", log), b"again\nafter\n")
        got = self.copies("demo", tok)
        self.assertEqual([p for p, _ in got], [cur])
        self.assertEqual(self.bounces("carol", tok), [])
        self.assertEqual(os.listdir(os.path.join(
            self.q.maildir_path("demo"), "tmp")), [])

    def test_program_other_exit_codes_and_signals_defer(self):
        """Any other exit code (75, 1) and death by a signal are
        temporary: deferred, no bounce; delivered once the .qmail is
        fixed and the queue flushed."""
        tok = token()
        cases = {"p75": ("|echo 'busy %s'; exit 75" % tok, "busy %s" % tok),
                 "p1": ("|exit 1", r"program exited 1 \(#4\.0\.0\)"),
                 "pkill": ("|kill -9 $$", r"program crashed \(signal 9\)")}
        for ext, (line, _) in cases.items():
            self.q.dotqmail("demo", ext, [line])
        offset = self.log_offset()
        self.send_ok("carol@localhost", ["demo-%s@localhost" % e
                                         for e in cases], "temp %s" % tok)
        for ext, (_, why) in cases.items():
            self.wait_log(r"to <demo-%s@localhost>: deferral: %s"
                          % (ext, why), offset)
        for ext in cases:
            self.assertTrue(self.qread_has("todo", "demo-%s@localhost" % ext),
                            self.qread())
            self.q.dotqmail("demo", ext, "./Maildir/")
        self.q.flush()
        self.wait_copies("demo", tok, 3)
        self.settle()
        self.assertEqual(sorted(self.delivered_to(raw)[0]
                                for _, raw in self.copies("demo", tok)),
                         sorted("demo-%s@localhost" % e for e in cases))
        self.assertEqual(self.bounces("carol", tok), [])

    def test_recipients_with_colliding_hash_each_get_a_copy(self):
        """Two recipients of one message whose addresses have the same
        length and the same 32-bit FNV-1a hash (so the same 'stable'
        Maildir name) both end up in the Maildir: a distinct recipient
        is never taken for a repeated delivery."""
        a, b = "demo-c0775246@localhost", "demo-c1034780@localhost"
        self.assertEqual(fnv1a(a), fnv1a(b))
        self.assertEqual(len(a), len(b))
        tok = token()
        self.q.dotqmail("demo", "c0775246", "./Maildir/")
        self.q.dotqmail("demo", "c1034780", "./Maildir/")
        offset = self.log_offset()
        self.send_ok("carol@localhost", [a, b], "collide %s" % tok)
        for rcpt in (a, b):
            self.wait_log(r"to <%s>: (success|deferral|failure)"
                          % re.escape(rcpt), offset)
        got = sorted(self.delivered_to(raw)[0]
                     for _, raw in self.copies("demo", tok))
        self.assertEqual(got, [a, b], self.log_after(offset))

    # ---- extensions and -default ---------------------------------------

    def test_extensions_and_default(self):
        """.qmail-EXT, then .qmail-PREFIX-default with DEFAULT the rest,
        then .qmail-default; '.' in the extension is ':' in file names;
        upper case in the address does not matter."""
        tok = token()
        logname = "ext-%s.log" % tok
        line = '|echo "%%s $LOCAL [${DEFAULT-unset}]" >> %s' % logname
        files = {"x-a-b": "exact", "x-a-default": "adef",
                 "x-default": "def", "xdot-a:b": "colon",
                 "xdotw-a.b": "wrong", "xdotw-default": "dotwdef",
                 "xdp-m:n-default": "dpdef"}
        for ext, tag in files.items():
            self.q.dotqmail("demo", ext, [line % tag])
        rcpts = ["demo-x-a-b@localhost", "demo-x-a-c@localhost",
                 "demo-x-a-b-c@localhost", "demo-x-zz@localhost",
                 "demo-x-q-r@localhost", "DEMO-X-A-D@LOCALHOST",
                 "demo-xdot-a.b@localhost", "demo-xdotw-a.b@localhost",
                 "demo-xdp-m.n-o.p@localhost"]
        self.send_ok("carol@localhost", rcpts, "ext %s" % tok)
        self.settle()
        got = sorted(self.read_home("demo", logname, b"").decode()
                     .splitlines())
        self.assertEqual(got, sorted([
            "exact demo-x-a-b [unset]",
            "adef demo-x-a-c [c]",
            "adef demo-x-a-b-c [b-c]",
            "def demo-x-zz [zz]",
            "def demo-x-q-r [q-r]",
            "adef demo-x-a-d [d]",
            "colon demo-xdot-a.b [unset]",
            "dotwdef demo-xdotw-a.b [a.b]",
            "dpdef demo-xdp-m.n-o.p [o.p]",
        ]))
        self.assertEqual(self.bounces("carol", tok), [])

    def test_missing_extension_bounces_5_1_1(self):
        """An extension without .qmail file (and no -default) does not
        exist: the sender gets an RFC 3464 bounce, 5.1.1."""
        tok = token()
        self.q.dotqmail("demo", "exists", "./Maildir/")
        subject = "no such ext %s" % tok
        self.send_ok("carol@localhost", ["demo-nosuch@localhost",
                                         "demo-exists@localhost"], subject)
        self.wait_copies("demo", tok)
        (_, raw), = self.wait_bounces("carol", tok)
        self.settle()
        self.assertEqual(len(self.bounces("carol", tok)), 1)
        self.check_bounce(raw, ["demo-nosuch@localhost"], "5.1.1", subject,
                          "carol@localhost")
        _, blocks, text = self.dsn(raw)
        self.assertIn("demo-nosuch@localhost", text)
        self.assertNotIn("demo-exists", text)
        self.assertEqual(len(self.copies("demo", tok)), 1)

    # ---- permissions -----------------------------------------------------

    def test_writable_dotqmail_deferred_until_fixed(self):
        """A .qmail writable by group or others is refused with a
        temporary failure; after chmod 644 and a flush it is delivered."""
        for mode in (0o664, 0o646):
            with self.subTest(mode=oct(mode)):
                tok = token()
                path = self.q.dotqmail("demo", "gw", "./Maildir/")
                os.chmod(path, mode)
                offset = self.log_offset()
                self.send_ok("carol@localhost", ["demo-gw@localhost"],
                             "writable %s" % tok)
                self.wait_log(r"to <demo-gw@localhost>: deferral: .*"
                              r"\.qmail-gw is writable by others "
                              r"\(#4\.7\.0\)", offset)
                self.assertEqual(self.copies("demo", tok), [])
                self.assertTrue(self.qread_has("todo", "demo-gw@localhost"))
                os.chmod(path, 0o644)
                self.q.flush()
                self.wait_copies("demo", tok)
                self.settle()
                self.assertEqual(len(self.copies("demo", tok)), 1)
                self.assertEqual(self.bounces("carol", tok), [])

    def test_writable_or_sticky_home_deferred_until_fixed(self):
        """A home writable by group or others, or sticky, is refused with
        a temporary failure; fixed and flushed, the mail arrives."""
        home = self.home("gwhome")
        self.addCleanup(os.chmod, home, 0o700)
        cases = [(0o770, r"home directory .* is writable by others "
                         r"\(#4\.7\.0\)"),
                 (0o702, r"home directory .* is writable by others "
                         r"\(#4\.7\.0\)"),
                 (0o1700, r"home directory .* is sticky.*\(#4\.2\.1\)")]
        for mode, why in cases:
            with self.subTest(mode=oct(mode)):
                tok = token()
                os.chmod(home, mode)
                offset = self.log_offset()
                self.send_ok("carol@localhost", ["gwhome@localhost"],
                             "home %s" % tok)
                self.wait_log(r"to <gwhome@localhost>: deferral: " + why,
                              offset)
                self.assertEqual(self.copies("gwhome", tok), [])
                os.chmod(home, 0o700)
                self.q.flush()
                self.wait_copies("gwhome", tok)
                self.settle()
                self.assertEqual(len(self.copies("gwhome", tok)), 1)
                self.assertEqual(self.bounces("carol", tok), [])


class TestForwards(DotQmailCase):
    """Forward lines, -owner, forwarding loops (their own instance: a
    forward that cannot be queued stays deferred)."""

    USERS = ("demo", "alice", "bob", "carol")

    def test_forward_lines(self):
        """&addr and a bare address forward (as one new message, with the
        original envelope sender and the forwarder's Delivered-To);
        commented-out forwards are not."""
        tok = token()
        self.q.dotqmail("demo", "fw", [
            "# forwards",
            "&alice@localhost",
            "#&nobody@localhost",
            "bob@localhost",
            "./Maildir/"])
        offset = self.log_offset()
        subject = "forward %s" % tok
        self.send_ok("carol@localhost", ["demo-fw@localhost"], subject,
                     "forward me\n")
        for user in ("alice", "bob", "demo"):
            self.wait_for(lambda: self.copies(user, tok), offset,
                          "copy for %s" % user)
        self.settle()
        for user in ("alice", "bob"):
            with self.subTest(user=user):
                (_, raw), = self.copies(user, tok)
                lines = header_lines(raw)
                self.assertEqual(lines[0], "Return-Path: <carol@localhost>")
                self.assertEqual(self.delivered_to(raw), [
                    "%s@localhost" % user, "demo-fw@localhost"])
                self.assertEqual(header_and_body(raw)[1], b"forward me\n")
        (_, raw), = self.copies("demo", tok)
        self.assertEqual(self.delivered_to(raw), ["demo-fw@localhost"])
        log = self.log_after(offset)
        new = re.findall(r"new msg \S+ from <carol@localhost> size \d+ "
                         r"rcpts (\d+)", log)
        self.assertEqual(new, ["1", "2"], log)
        self.assertNotIn("nobody@localhost", log)
        self.assertEqual(self.bounces("carol", tok), [])

    def test_forward_owner_changes_sender(self):
        """With .qmail-EXT-owner, forwards go out from local-owner@domain
        (NEWSENDER); a null sender stays null."""
        tok = token()
        logname = "owner-%s.log" % tok
        self.q.dotqmail("demo", "list", [
            "&alice@localhost",
            '|echo "[$SENDER] [$NEWSENDER]" >> %s' % logname])
        self.q.dotqmail("demo", "list-owner", "./Maildir/")
        self.q.dotqmail("demo", "nolist", "&bob@localhost")
        offset = self.log_offset()
        self.send_ok("carol@localhost", ["demo-list@localhost",
                                         "demo-nolist@localhost"],
                     "owner %s" % tok)
        (_, raw), = self.wait_for(lambda: self.copies("alice", tok), offset,
                                  "copy for alice")
        (_, braw), = self.wait_for(lambda: self.copies("bob", tok), offset,
                                   "copy for bob")
        self.settle()
        self.assertEqual(header_lines(raw)[0],
                         "Return-Path: <demo-list-owner@localhost>")
        self.assertEqual(self.delivered_to(raw), ["alice@localhost",
                                                  "demo-list@localhost"])
        self.assertEqual(header_lines(braw)[0],
                         "Return-Path: <carol@localhost>")
        self.assertEqual(self.read_home("demo", logname),
                         b"[carol@localhost] [demo-list-owner@localhost]\n")

        # the null sender (a bounce) is forwarded with the null sender
        tok2 = token()
        self.send_ok("", ["demo-list@localhost"], "null owner %s" % tok2)
        self.wait_for(lambda: [r for _, r in self.raw_messages("alice")
                               if tok2.encode() in r], offset,
                      "null-sender copy for alice")
        self.settle()
        got = [raw for _, raw in self.raw_messages("alice")
               if tok2.encode() in raw]
        self.assertEqual(len(got), 1)
        self.assertEqual(header_lines(got[0])[0], "Return-Path: <>")
        self.assertEqual(self.read_home("demo", logname),
                         b"[carol@localhost] [demo-list-owner@localhost]\n"
                         b"[] []\n")
        self.assertEqual(self.copies("demo", tok), [])

    def test_forward_loop_ends_in_one_bounce(self):
        """a forwards to b, b to a: the message comes back to a with a's
        Delivered-To and bounces (5.4.6), once, to the original sender."""
        tok = token()
        self.q.dotqmail("demo", "loopa", "&demo-loopb@localhost")
        self.q.dotqmail("demo", "loopb", "demo-loopa@localhost")
        offset = self.log_offset()
        subject = "loop %s" % tok
        self.send_ok("carol@localhost", ["demo-loopa@localhost"], subject)
        (_, raw), = self.wait_for(lambda: self.bounces("carol", tok), offset,
                                  "bounce to carol")
        self.settle()
        self.assertEqual(len(self.bounces("carol", tok)), 1)
        self.check_bounce(raw, ["demo-loopa@localhost"], "5.4.6", subject,
                          "carol@localhost")
        self.assertEqual(self.all_copies(tok), [self.bounces("carol",
                                                             tok)[0][0]])
        log = self.log_after(offset)
        self.assertEqual(len(re.findall(r"new msg \S+ from <carol@localhost>",
                                        log)), 3, log)
        self.assertEqual(len(re.findall(r"new msg \S+ from <>", log)), 1,
                         log)


class TestUsersAssign(DotQmailCase):
    """users/assign, compiled by qmail-newu, routes before instance
    users."""

    USERS = ("demo", "alice", "carol")
    PROGRAMS_EXTRA = ("qmail-newu",)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.assign = cls.assign_text()
        cls.write_assign(cls.assign)
        p = cls.newu()
        if p.returncode != 0:
            raise AssertionError("qmail-newu: %r" % p.stderr)
        log = '|echo "$LOCAL $EXT [${DEFAULT-unset}]" >> assign.log'
        cls.q.dotqmail("demo", "chief", ["./Maildir/", log])
        cls.q.dotqmail("demo", "red-default", ["./Maildir/", log])
        cls.q.dotqmail("alice", "t-default", ["./Maildir/", log])

    @classmethod
    def assign_text(cls):
        def who(user):
            home = cls.q.path("mail", user)
            st = os.stat(home)
            return "%s:%d:%d:%s" % (user, st.st_uid, st.st_gid, home)
        return "".join(l + "\n" for l in [
            "=boss:%s:-:chief:" % who("demo"),
            "=joe:%s:::" % who("alice"),
            "=demo-ext:%s:::" % who("alice"),
            "+team-:%s:-:t-:" % who("alice"),
            "+team-red-:%s:-:red-:" % who("demo"),
            "."])

    @classmethod
    def write_assign(cls, text):
        with open(cls.q.path("users", "assign"), "w") as f:
            f.write(text)

    @classmethod
    def newu(cls):
        return subprocess.run([qmtest.bin_path("qmail-newu")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=cls.q.env(), timeout=30)

    def test_assign_routes(self):
        """= lines match the whole local part, + lines the longest
        prefix (ext = pre + the rest); users/assign wins over instance
        users; an address no line matches falls through."""
        tok = token()
        subject = "assign %s" % tok
        self.send_ok("carol@localhost", [
            "boss@localhost", "joe@localhost", "demo-ext@localhost",
            "team-x@localhost", "team-red-1@localhost", "boss-y@localhost"],
            subject)
        (_, bounce), = self.wait_bounces("carol", tok)
        self.settle()
        self.assertEqual(sorted(self.read_home("demo", "assign.log", b"")
                                .decode().splitlines()),
                         ["boss chief [unset]", "team-red-1 red-1 [1]"])
        self.assertEqual(self.read_home("alice", "assign.log"),
                         b"team-x t-x [x]\n")
        dts = {u: sorted(self.delivered_to(raw)[0]
                         for _, raw in self.copies(u, tok))
               for u in ("demo", "alice")}
        self.assertEqual(dts, {
            "demo": ["boss@localhost", "team-red-1@localhost"],
            "alice": ["demo-ext@localhost", "joe@localhost",
                      "team-x@localhost"]})
        self.check_bounce(bounce, ["boss-y@localhost"], "5.1.1", subject,
                          "carol@localhost")

    def test_newu_errors_keep_old_table(self):
        """A bad line or a missing final '.' makes qmail-newu exit non-zero
        with the line and the reason; users/cdb stays as it was."""
        cdb = self.q.path("users", "cdb")
        with open(cdb, "rb") as f:
            before = f.read()
        self.addCleanup(self.write_assign, self.assign)
        home = self.q.path("mail", "demo")
        cases = [
            ("=ok:demo:1:1:%s:::\n=bad:demo:notanumber:1:%s:::\n.\n"
             % (home, home), r"line 2: uid is not a number"),
            ("=x:demo:1:1:%s:::\n" % home,
             r"line 2: missing the final \"\.\" line"),
            ("=x:demo:1:1\n.\n", r"line 1: needs 7 fields"),
            ("=x:demo:1:1:relative/home:::\n.\n",
             r"line 1: home directory must be absolute"),
            ("x:demo:1:1:%s:::\n.\n" % home,
             r"line 1: must start with = or \+"),
            (".\n=x:demo:1:1:%s:::\n" % home,
             r"line 2: text after the final"),
        ]
        for text, why in cases:
            with self.subTest(why=why):
                self.write_assign(text)
                p = self.newu()
                self.assertNotEqual(p.returncode, 0)
                err = p.stderr.decode("utf-8", "replace")
                self.assertRegex(err, r"qmail-newu: .*users/assign " + why)
                with open(cdb, "rb") as f:
                    self.assertEqual(f.read(), before)
                self.assertFalse(os.path.exists(cdb + ".tmp"))
        # the old table still routes
        tok = token()
        self.send_ok("carol@localhost", ["joe@localhost"], "still %s" % tok)
        (_, raw), = self.wait_copies("alice", tok)
        self.settle()
        self.assertEqual(self.delivered_to(raw), ["joe@localhost"])
        self.assertEqual(self.bounces("carol", tok), [])


class TestVirtualDomains(DotQmailCase):
    """control/virtualdomains and control/percenthack (qmail-send)."""

    USERS = ("demo", "alice", "bob", "carol")
    DEFAULT_USERS = ("demo", "alice", "bob", "carol")
    CONTROL = {
        "virtualdomains": ["virt.test:demo", "special@virt.test:alice",
                           ".sub.test:bob", "far.test:", ":carol"],
        "percenthack": ["relay.test"],
        # remote mail goes nowhere: a route to a closed port
        "smtproutes": ":[127.0.0.1]:1",
    }

    def remote(self, rcpt):
        # far.test is remote ('far.test:'), also behind the percent hack
        return "far.test" in rcpt.lower()

    def where(self, tok):
        """{user: sorted Delivered-To of the copies with tok}"""
        out = {}
        for user in self.USERS:
            dts = sorted(self.delivered_to(raw)[0]
                         for _, raw in self.copies(user, tok))
            if dts:
                out[user] = dts
        return out

    def test_virtualdomains(self):
        """domain, user@domain (wins over its domain), .suffix (only
        subdomains), the catch-all; locals win over all of them."""
        tok = token()
        self.send_ok("alice@localhost", [
            "x@virt.test", "special@virt.test", "Other@VIRT.test",
            "y@a.sub.test", "z@deep.a.sub.test", "w@sub.test",
            "v@else.example", "demo@localhost"], "virtual %s" % tok)
        self.wait_copies("carol", tok, 2)
        self.settle()
        self.assertEqual(self.where(tok), {
            "demo": ["demo-other@virt.test", "demo-x@virt.test",
                     "demo@localhost"],
            "alice": ["alice-special@virt.test"],
            "bob": ["bob-y@a.sub.test", "bob-z@deep.a.sub.test"],
            "carol": ["carol-v@else.example", "carol-w@sub.test"],
        })
        self.assertEqual(self.bounces("alice", tok), [])

    def test_empty_prepend_is_remote(self):
        """'far.test:' (empty prepend) keeps far.test remote despite the
        catch-all: the recipient waits in the queue."""
        tok = token()
        offset = self.log_offset()
        self.send_ok("alice@localhost", ["u@far.test", "demo-r@virt.test"],
                     "far %s" % tok)
        self.wait_log(r"to <u@far.test>: deferral", offset)
        self.wait_copies("demo", tok)
        self.settle()
        self.assertTrue(self.qread_has("todo", "u@far.test"), self.qread())
        self.assertTrue(self.qread_has("done", "demo-r@virt.test"),
                        self.qread())
        self.assertEqual(self.where(tok), {"demo": ["demo-demo-r@virt.test"]})
        self.assertNotIn("to local <u@far.test>", self.log_after(offset))

    def test_percenthack(self):
        """u%h@dom is u@h for the domains in control/percenthack, then
        routed like any address; other domains keep the '%'."""
        tok = token()
        offset = self.log_offset()
        self.send_ok("alice@localhost", [
            "demo%localhost@relay.test", "q%virt.test@relay.test",
            "z%far.test@relay.test", "bob%localhost@notrelay.test"],
            "percent %s" % tok)
        self.wait_log(r"to <z%far.test@relay.test>: deferral", offset)
        self.settle()
        self.assertEqual(self.where(tok), {
            "demo": ["demo-q@virt.test", "demo@localhost"],
            "carol": ["carol-bob%localhost@notrelay.test"],
        })
        self.assertTrue(self.qread_has("todo", "z%far.test@relay.test"),
                        self.qread())
        self.assertEqual(self.bounces("alice", tok), [])

    def test_hup_rereads_virtualdomains(self):
        """A new virtualdomains line counts after SIGHUP."""
        tok = token()
        self.send_ok("alice@localhost", ["m@late.test"], "before %s" % tok)
        self.wait_copies("carol", tok)
        path = self.q.path("control", "virtualdomains")
        with open(path) as f:
            saved = f.read()
        self.addCleanup(self.restore_controls, saved)
        self.q.set_control("virtualdomains", "late.test:alice\n" + saved)
        offset = self.log_offset()
        self.hup()
        self.wait_log(r"status: control files reread", offset)
        self.send_ok("alice@localhost", ["m@late.test"], "after %s" % tok)
        self.wait_copies("alice", tok)
        self.settle()
        self.assertEqual(self.where(tok), {
            "carol": ["carol-m@late.test"], "alice": ["alice-m@late.test"]})

    def hup(self):
        with open(self.q.path("run", "qmail-send.pid")) as f:
            os.kill(int(f.read().strip()), signal.SIGHUP)

    def restore_controls(self, saved):
        offset = self.log_offset()
        self.q.set_control("virtualdomains", saved)
        self.hup()
        self.wait_log(r"status: control files reread", offset)


class TestAliases(DotQmailCase):
    """The alias user: postmaster, root, mailer-daemon from qmailctl init,
    and a catch-all ~alias/.qmail-default."""

    USERS = ("demo", "carol")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.q.dotqmail("alias", "default", [
            "./Maildir/",
            '|echo "$LOCAL $EXT [${DEFAULT-unset}]" >> default.log'])

    def alias_maildir(self):
        return self.q.path("alias", "Maildir")

    def test_postmaster_root_mailer_daemon(self):
        tok = token()
        rcpts = ["postmaster@localhost", "root@localhost",
                 "mailer-daemon@localhost", "PostMaster@LocalHost"]
        self.send_ok("carol@localhost", rcpts[:3], "alias %s" % tok)
        self.send_ok("carol@localhost", rcpts[3:], "alias2 %s" % tok)
        self.wait_copies_at(self.alias_maildir(), tok, 4)
        self.settle()
        got = sorted(self.delivered_to(raw)[0] for _, raw in
                     self.copies_at(self.alias_maildir(), tok))
        self.assertEqual(got, sorted(["postmaster@localhost",
                                      "root@localhost",
                                      "mailer-daemon@localhost",
                                      "postmaster@localhost"]))
        for _, raw in self.copies_at(self.alias_maildir(), tok):
            self.assertEqual(header_lines(raw)[0],
                             "Return-Path: <carol@localhost>")
        # the exact alias files, not the catch-all
        log = self.read_home("alias", "default.log", b"").decode()
        for r in ("postmaster", "root", "mailer-daemon"):
            self.assertNotIn("%s %s" % (r, r), log)
        self.assertEqual(self.bounces("carol", tok), [])

    def test_alias_catch_all_default(self):
        """Unknown local parts go to ~alias/.qmail-default with DEFAULT
        the whole local part; an unknown extension of an existing user
        still bounces (the user was found)."""
        tok = token()
        who = "anyone" + tok
        subject = "catch all %s" % tok
        self.send_ok("carol@localhost", ["%s@localhost" % who,
                                         "demo-nosuch@localhost"], subject)
        (_, raw), = self.wait_copies_at(self.alias_maildir(), tok)
        (_, bounce), = self.wait_bounces("carol", tok)
        self.settle()
        self.assertEqual(self.delivered_to(raw), ["%s@localhost" % who])
        self.assertIn("%s %s [%s]\n" % (who, who, who),
                      self.read_home("alias", "default.log", b"").decode())
        self.check_bounce(bounce, ["demo-nosuch@localhost"], "5.1.1",
                          subject, "carol@localhost")
        self.assertEqual(self.copies("demo", tok), [])


if __name__ == "__main__":
    unittest.main()

"""Black-box tests of bin/qmail-inject and bin/sendmail.

No server is needed: QMAILQUEUE points to a fake qmail-queue (written into
a temporary directory) that saves the message it reads on fd 0 and the
envelope it reads on fd 1, then exits with the code in $FAKEQ_EXIT.
QMAILHOME is a temporary directory holding the control files.
"""
import email.parser
import email.utils
import os
import shutil
import stat
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
INJECT = os.path.join(ROOT, "bin", "qmail-inject")
SENDMAIL = os.path.join(ROOT, "bin", "sendmail")

FAKE_QUEUE = r'''#!/usr/bin/python3
import os, sys
def slurp(fd):
    parts = []
    while True:
        b = os.read(fd, 65536)
        if not b:
            return b"".join(parts)
        parts.append(b)
d = os.path.dirname(os.path.abspath(__file__))
msg = slurp(0)
env = slurp(1)
with open(os.path.join(d, "msg"), "wb") as f:
    f.write(msg)
with open(os.path.join(d, "env"), "wb") as f:
    f.write(env)
sys.exit(int(os.environ.get("FAKEQ_EXIT", "0")))
'''


@unittest.skipUnless(os.access(INJECT, os.X_OK) and
                     os.access(SENDMAIL, os.X_OK),
                     "bin/qmail-inject and bin/sendmail are not built")
class InjectTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="test_inject.")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.home = os.path.join(self.tmp, "home")
        os.makedirs(os.path.join(self.home, "control"))
        self.control("me", "mx.example.com")
        self.control("defaulthost", "example.com")
        self.control("defaultdomain", "example.com")
        self.control("plusdomain", "plus.example.net")
        self.queue = os.path.join(self.tmp, "fakeq")
        with open(self.queue, "w") as f:
            f.write(FAKE_QUEUE)
        os.chmod(self.queue, stat.S_IRWXU)

    def control(self, name, value):
        with open(os.path.join(self.home, "control", name), "w") as f:
            f.write(value + "\n")

    def run_prog(self, prog, args, data, **env):
        e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
             "QMAILHOME": self.home, "QMAILQUEUE": self.queue,
             "USER": "tester"}
        e.update(env)
        for f in ("msg", "env"):
            try:
                os.unlink(os.path.join(self.tmp, f))
            except FileNotFoundError:
                pass
        if isinstance(data, str):
            data = data.encode()
        return subprocess.run([prog] + list(args), input=data, env=e,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=20)

    def ok(self, prog, args, data, **env):
        p = self.run_prog(prog, args, data, **env)
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace"))
        self.assertEqual(p.stderr, b"")
        return self.saved("msg"), self.saved("env")

    def fails(self, prog, args, data, code, words, **env):
        p = self.run_prog(prog, args, data, **env)
        err = p.stderr.decode(errors="replace")
        self.assertEqual(p.returncode, code, err)
        lines = err.splitlines()
        self.assertEqual(len(lines), 1, err)
        for w in words:
            self.assertIn(w, lines[0])
        return lines[0]

    def saved(self, name):
        with open(os.path.join(self.tmp, name), "rb") as f:
            return f.read()

    @staticmethod
    def header(msg):
        return email.parser.BytesHeaderParser().parsebytes(msg)

    @staticmethod
    def rcpts(env):
        recs = env.split(b"\0")
        return [r[1:].decode() for r in recs if r.startswith(b"T")]

    # ---- header fix-up -------------------------------------------------

    def test_adds_date_message_id_from(self):
        msg, env = self.ok(INJECT, [], "To: a@b.org\nSubject: hi\n\nbody\n")
        h = self.header(msg)
        self.assertIsNotNone(email.utils.parsedate_to_datetime(h["Date"]))
        self.assertRegex(h["Message-ID"], r"^<[^<>@ ]+@mx\.example\.com>$")
        self.assertEqual(h["From"], "tester@example.com")
        self.assertEqual(h["Subject"], "hi")
        self.assertTrue(msg.endswith(b"\n\nbody\n"))
        self.assertEqual(env, b"Ftester@example.com\0Ta@b.org\0\0")

    def test_keeps_existing_fields(self):
        data = ("From: Boss <boss@corp.org>\nDate: Mon, 1 Jan 2024 00:00:00"
                " +0000\nMessage-ID: <x@y>\nTo: a@b.org\n\nbody\n")
        msg, _ = self.ok(INJECT, [], data)
        self.assertEqual(msg, data.encode())

    def test_message_ids_differ(self):
        m1, _ = self.ok(INJECT, ["a@b.org"], "\n")
        m2, _ = self.ok(INJECT, ["a@b.org"], "\n")
        self.assertNotEqual(self.header(m1)["Message-ID"],
                            self.header(m2)["Message-ID"])

    def test_bcc_removed_and_delivered(self):
        data = ("To: to@b.org\nCc: Cee <cc@b.org>\nBcc: hidden@b.org\n"
                "Return-Path: <rp@b.org>\nSubject: s\n\nbody\n")
        msg, env = self.ok(SENDMAIL, ["-t", "-f", "s@x.org"], data)
        h = self.header(msg)
        self.assertIsNone(h["Bcc"])
        self.assertIsNone(h["Return-Path"])
        self.assertNotIn(b"hidden", msg)
        self.assertEqual(env, b"Fs@x.org\0Tto@b.org\0Tcc@b.org\0"
                              b"Thidden@b.org\0\0")

    def test_header_recipients_groups_and_comments(self):
        data = ('To: "Smith, Joe" <joe@b.org>, friends: amy@c.org,\n'
                ' (comment) bob@d.org (Bob);\nCc: undisclosed:;\n\nx\n')
        _, env = self.ok(INJECT, [], data)
        self.assertEqual(self.rcpts(env),
                         ["joe@b.org", "amy@c.org", "bob@d.org"])

    def test_resent_recipients(self):
        data = ("From: a@b.org\nTo: old@b.org\nResent-To: new@b.org\n"
                "Resent-Bcc: also@b.org\n\nx\n")
        msg, env = self.ok(INJECT, [], data)
        self.assertEqual(self.rcpts(env), ["new@b.org", "also@b.org"])
        h = self.header(msg)
        self.assertIsNotNone(h["Resent-Date"])
        self.assertIsNotNone(h["Resent-Message-ID"])
        self.assertEqual(h["Resent-From"], "tester@example.com")
        self.assertIsNone(h["Resent-Bcc"])

    def test_no_header_and_empty_message(self):
        msg, _ = self.ok(INJECT, ["a@b.org"], "just a body line\nmore\n")
        self.assertTrue(msg.endswith(b"\n\njust a body line\nmore\n"))
        self.assertIsNotNone(self.header(msg)["Date"])
        msg, _ = self.ok(INJECT, ["a@b.org"], "")
        self.assertTrue(msg.endswith(b"\n\n"))
        self.assertIsNotNone(self.header(msg)["From"])

    def test_header_only_no_body_crlf(self):
        msg, _ = self.ok(INJECT, ["a@b.org"], "Subject: x\r\n\r\nl1\r\nl2")
        self.assertNotIn(b"\r", msg)
        self.assertTrue(msg.startswith(b"Subject: x\n"))
        self.assertTrue(msg.endswith(b"\n\nl1\nl2\n"))

    def test_folded_field_kept(self):
        data = "Subject: one\n two\nTo: a@b.org,\n\tc@d.org\n\nx\n"
        msg, env = self.ok(INJECT, [], data)
        self.assertTrue(msg.startswith(data.split("\n\n")[0].encode()))
        self.assertEqual(self.rcpts(env), ["a@b.org", "c@d.org"])

    # ---- envelope --------------------------------------------------------

    def test_envelope_exact(self):
        _, env = self.ok(INJECT, ["-f", "s@x.org", "a@b.org",
                                  "Joe <c@d.org>"], "Subject: s\n\n")
        self.assertEqual(env, b"Fs@x.org\0Ta@b.org\0Tc@d.org\0\0")

    def test_null_sender(self):
        for arg in ("", "<>"):
            _, env = self.ok(SENDMAIL, ["-f", arg, "a@b.org"], "x\n")
            self.assertEqual(env, b"F\0Ta@b.org\0\0")
        _, env = self.ok(INJECT, ["-f<>", "a@b.org"], "x\n")
        self.assertEqual(env, b"F\0Ta@b.org\0\0")

    def test_sender_from_environment(self):
        _, env = self.ok(INJECT, ["a@b.org"], "x\n",
                         QMAILSUSER="bounce", QMAILSHOST="lists.org")
        self.assertEqual(env, b"Fbounce@lists.org\0Ta@b.org\0\0")
        msg, env = self.ok(INJECT, ["a@b.org"], "x\n",
                           QMAILUSER="qu", QMAILHOST="qh.org")
        self.assertEqual(env, b"Fqu@qh.org\0Ta@b.org\0\0")
        self.assertEqual(self.header(msg)["From"], "qu@qh.org")

    def test_sendmail_r_is_f(self):
        _, env = self.ok(SENDMAIL, ["-rs@x.org", "a@b.org"], "x\n")
        self.assertEqual(env, b"Fs@x.org\0Ta@b.org\0\0")

    def test_return_path_sets_sender_for_qmail_inject_only(self):
        data = "Return-Path: <rp@x.org>\nTo: a@b.org\n\nx\n"
        msg, env = self.ok(INJECT, [], data)
        self.assertEqual(env, b"Frp@x.org\0Ta@b.org\0\0")
        self.assertNotIn(b"Return-Path", msg)
        _, env = self.ok(SENDMAIL, ["-t"], data)
        self.assertEqual(env, b"Ftester@example.com\0Ta@b.org\0\0")

    def test_fullname(self):
        msg, _ = self.ok(SENDMAIL, ["-F", "Joe Q. Public", "a@b.org"], "x\n")
        self.assertEqual(self.header(msg)["From"],
                         '"Joe Q. Public" <tester@example.com>')
        msg, _ = self.ok(INJECT, ["-FAnn Other", "a@b.org"], "x\n",
                         NAME="Not Used")
        self.assertEqual(self.header(msg)["From"],
                         "Ann Other <tester@example.com>")
        msg, _ = self.ok(INJECT, ["a@b.org"], "x\n", QMAILNAME="Env Name")
        self.assertEqual(self.header(msg)["From"],
                         "Env Name <tester@example.com>")

    def test_qualification(self):
        data = "To: joe, bob@box, amy@site+, lit@[192.0.2.1]\n\nx\n"
        msg, env = self.ok(INJECT, ["-H", "zed"], data)
        self.assertIn(b"To: joe@example.com, bob@box.example.com, "
                      b"amy@site.plus.example.net, lit@[192.0.2.1]\n", msg)
        self.assertEqual(self.rcpts(env),
                         ["joe@example.com", "bob@box.example.com",
                          "amy@site.plus.example.net", "lit@[192.0.2.1]",
                          "zed@example.com"])

    def test_qualification_defaults_from_me(self):
        for f in ("defaulthost", "defaultdomain", "plusdomain"):
            os.unlink(os.path.join(self.home, "control", f))
        _, env = self.ok(INJECT, ["joe", "amy@box"], "x\n")
        self.assertEqual(self.rcpts(env), ["joe@mx.example.com",
                                           "amy@box.mx.example.com"])

    def test_recipient_modes(self):
        data = "To: hdr@b.org\n\nx\n"
        _, env = self.ok(INJECT, ["arg@b.org"], data)
        self.assertEqual(self.rcpts(env), ["arg@b.org"])
        _, env = self.ok(INJECT, ["-h", "arg@b.org"], data)
        self.assertEqual(self.rcpts(env), ["hdr@b.org"])
        _, env = self.ok(INJECT, ["-H", "arg@b.org"], data)
        self.assertEqual(self.rcpts(env), ["hdr@b.org", "arg@b.org"])
        _, env = self.ok(SENDMAIL, ["arg@b.org"], data)
        self.assertEqual(self.rcpts(env), ["arg@b.org"])

    # ---- the "." line ----------------------------------------------------

    def test_dot_line(self):
        data = "Subject: d\n\nline1\n.\nline2\n"
        msg, _ = self.ok(SENDMAIL, ["a@b.org"], data)
        self.assertTrue(msg.endswith(b"\n\nline1\n"))
        for flag in ("-i", "-oi"):
            msg, _ = self.ok(SENDMAIL, [flag, "a@b.org"], data)
            self.assertTrue(msg.endswith(b"\n\nline1\n.\nline2\n"))
        msg, _ = self.ok(INJECT, ["a@b.org"], data)
        self.assertTrue(msg.endswith(b"\n\nline1\n.\nline2\n"))
        msg, _ = self.ok(SENDMAIL, ["a@b.org"], "S: x\n\n..x\n.y\n.\r\nz\n")
        self.assertTrue(msg.endswith(b"\n\n..x\n.y\n"))

    def test_large_body_streamed(self):
        body = (b"0123456789" * 9 + b"\n") * 60000  # about 5.5 MB
        msg, _ = self.ok(SENDMAIL, ["-i", "a@b.org"], b"Subject: big\n\n" + body)
        self.assertTrue(msg.endswith(b"\n\n" + body))

    # ---- errors ------------------------------------------------------------

    def test_no_recipients(self):
        self.fails(SENDMAIL, [], "Subject: x\n\n", 100, ["no recipients"])
        self.fails(SENDMAIL, ["-t"], "Subject: x\n\n", 100,
                   ["no recipients"])
        self.fails(INJECT, [], "Subject: x\n\n", 100, ["no recipients"])

    def test_recipient_too_long(self):
        long_addr = "a" * 995 + "@b.org"
        self.fails(INJECT, [long_addr], "x\n", 100, ["too long", "1000"])
        self.fails(SENDMAIL, ["-t"], "To: %s\n\nx\n" % long_addr, 100,
                   ["too long"])

    def test_queue_temporary_failure(self):
        line = self.fails(INJECT, ["a@b.org"], "x\n", 111, ["qmail-queue"],
                          FAKEQ_EXIT="53")
        self.assertIn("53", line)
        self.assertIn("write error", line)

    def test_queue_permanent_failure(self):
        line = self.fails(SENDMAIL, ["a@b.org"], "x\n", 100, ["qmail-queue"],
                          FAKEQ_EXIT="11")
        self.assertIn("11", line)

    def test_queue_cannot_run(self):
        self.fails(INJECT, ["a@b.org"], "x\n", 111, ["unable to run"],
                   QMAILQUEUE=os.path.join(self.tmp, "missing"))

    def test_unreadable_control_file(self):
        # a directory cannot be read as a file, even by root
        path = os.path.join(self.home, "control", "defaultdomain")
        os.unlink(path)
        os.mkdir(path)
        self.fails(INJECT, ["a@b.org"], "x\n", 111,
                   ["control/defaultdomain"])

    def test_header_too_large(self):
        data = "X-Big: " + "y" * 100 + "\n"
        data = data * 11000 + "\nbody\n"
        self.fails(INJECT, ["a@b.org"], data, 100, ["header"])

    def test_bad_usage(self):
        self.fails(INJECT, ["-x", "a@b.org"], "", 100, ["usage"])
        self.fails(SENDMAIL, ["-Z"], "", 100, ["usage"])
        self.fails(SENDMAIL, ["-bp"], "", 100, ["qmail-qread"])
        self.fails(SENDMAIL, ["-bs"], "", 100, ["-bs"])
        self.fails(SENDMAIL, ["-bd"], "", 100, ["-bd"])
        self.fails(SENDMAIL, ["-q"], "", 100, ["-q"])

    def test_ignored_sendmail_options(self):
        _, env = self.ok(SENDMAIL, ["-oem", "-odb", "-v", "-N", "never",
                                    "-B", "8BITMIME", "-bm", "--",
                                    "a@b.org"], "x\n")
        self.assertEqual(self.rcpts(env), ["a@b.org"])

    def test_print_only(self):
        p = self.run_prog(INJECT, ["-n"], "To: joe\n\nbody\n")
        self.assertEqual(p.returncode, 0)
        self.assertTrue(p.stdout.startswith(b"To: joe@example.com\n"))
        self.assertTrue(p.stdout.endswith(b"\n\nbody\n"))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "env")))


if __name__ == "__main__":
    unittest.main()

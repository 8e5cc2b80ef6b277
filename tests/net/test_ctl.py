"""Black-box tests of bin/qmailctl: init, adduser, and the start / status /
stop / flush / run life cycle (DESIGN.md section 5, qmailctl(8))."""

import os
import socket
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import unittest
import warnings

import qmtest

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
except ImportError:     # gone from Python 3.13
    crypt = None


def one_line(testcase, proc):
    """The command failed with exactly one line on stderr; return it."""
    testcase.assertNotEqual(proc.returncode, 0, proc.stdout)
    lines = proc.stderr.strip().splitlines()
    testcase.assertEqual(len(lines), 1, "stderr: %r" % proc.stderr)
    return lines[0]


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


class CtlCase(unittest.TestCase):
    def setUp(self):
        qmtest.require(self, "qmailctl")
        self.tmp = tempfile.mkdtemp(prefix="qmtest-ctl-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def ctl(self, *args, **kw):
        return subprocess.run([qmtest.bin_path("qmailctl")] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=60, **kw)

    def read(self, *parts):
        with open(os.path.join(*parts)) as f:
            return f.read()


class TestInit(CtlCase):
    def test_defaults(self):
        d = os.path.join(self.tmp, "var")
        p = self.ctl("init", d)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, "")
        for name, value in [("me", "localhost"), ("locals", "localhost"),
                            ("rcpthosts", "localhost"),
                            ("defaultdomain", "localhost"),
                            ("plusdomain", "localhost"),
                            ("bindaddress", "127.0.0.1"), ("smtpport", "2525"),
                            ("pop3port", "1110"), ("qmtpport", "2209"),
                            ("qmqpport", "6280"), ("submissionport", "5870")]:
            self.assertEqual(self.read(d, "control", name), value + "\n", name)
        for sub in ("control", "queue", "queue/tmp", "queue/mess",
                    "queue/lock", "users", "alias", "mail", "log", "run"):
            self.assertTrue(os.path.isdir(os.path.join(d, sub)), sub)
        buckets = sorted(os.listdir(os.path.join(d, "queue/mess")))
        self.assertEqual(buckets, ["%02d" % i for i in range(64)])
        trigger = os.path.join(d, "queue/lock/trigger")
        self.assertTrue(stat.S_ISFIFO(os.lstat(trigger).st_mode))
        self.assertEqual(mode(trigger), 0o622)
        sendlock = os.path.join(d, "queue/lock/sendlock")
        self.assertTrue(stat.S_ISREG(os.lstat(sendlock).st_mode))
        self.assertEqual(os.path.getsize(sendlock), 0)
        self.assertEqual(mode(sendlock), 0o600)
        self.assertTrue(os.path.isfile(os.path.join(d, "users/assign")))
        # nothing left over from the build
        self.assertEqual(os.listdir(self.tmp), ["var"])

    def test_options(self):
        d = os.path.join(self.tmp, "x")
        p = self.ctl("init", d, "--hostname", "Mail.Example.ORG",
                     "--smtp-port", "3025", "--pop3-port=3110",
                     "--qmtp-port", "3209", "--qmqp-port", "3628",
                     "--submission-port", "3587", "--bind", "::1")
        self.assertEqual(p.returncode, 0, p.stderr)
        c = lambda n: self.read(d, "control", n).strip()
        self.assertEqual(c("me"), "mail.example.org")
        self.assertEqual(c("locals"), "mail.example.org")
        self.assertEqual(c("rcpthosts"), "mail.example.org")
        self.assertEqual(c("defaultdomain"), "example.org")
        self.assertEqual(c("plusdomain"), "example.org")
        self.assertEqual(c("bindaddress"), "::1")
        self.assertEqual([c(n) for n in ("smtpport", "pop3port", "qmtpport",
                                         "qmqpport", "submissionport")],
                         ["3025", "3110", "3209", "3628", "3587"])

    def test_relative_dir_and_missing_parents(self):
        p = self.ctl("init", "a/b/var", cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(os.path.isfile(os.path.join(self.tmp,
                                                    "a/b/var/control/me")))

    def refused(self, *opts):
        d = os.path.join(self.tmp, "var")
        p = self.ctl("init", d, *opts)
        line = one_line(self, p)
        self.assertFalse(os.path.exists(d), "refused init created %s" % d)
        self.assertEqual(os.listdir(self.tmp), [])
        return line

    def test_bad_hostname(self):
        for h in ["bad_host", "-a.example", "a-.example", "a..b", "",
                  "a" * 64 + ".example", "1.2.3.4", "x.example.", "a b",
                  "é.example"]:
            with self.subTest(hostname=h):
                self.assertIn("--hostname", self.refused("--hostname", h))

    def test_bad_port(self):
        for opt in ("--smtp-port", "--pop3-port", "--submission-port"):
            for v in ["0", "65536", "abc", "-1", "", "25x", "99999999999"]:
                with self.subTest(opt=opt, value=v):
                    self.assertIn(opt, self.refused(opt, v))

    def test_same_port_twice(self):
        line = self.refused("--smtp-port", "3000", "--pop3-port", "3000")
        self.assertIn("3000", line)

    def test_bad_bind(self):
        for v in ["1.2.3", "localhost", "::g", "300.1.1.1", ""]:
            with self.subTest(bind=v):
                self.assertIn("--bind", self.refused("--bind", v))

    def test_usage(self):
        for args in (["init"], ["init", "a", "b"], ["init", "a", "--nope", "1"],
                     ["init", "a", "--hostname"], ["frobnicate"], []):
            with self.subTest(args=args):
                p = self.ctl(*args, cwd=self.tmp)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertTrue(p.stderr.strip())
        self.assertEqual(os.listdir(self.tmp), [])

    def test_help(self):
        p = self.ctl("help")
        self.assertEqual(p.returncode, 0)
        for word in ("init", "adduser", "start", "stop", "status", "run",
                     "flush"):
            self.assertIn(word, p.stdout)

    def test_refuses_non_empty_directory(self):
        d = os.path.join(self.tmp, "var")
        os.mkdir(d)
        with open(os.path.join(d, "precious"), "w") as f:
            f.write("keep me\n")
        line = one_line(self, self.ctl("init", d))
        self.assertIn(d, line)
        self.assertEqual(os.listdir(d), ["precious"])

    def test_refuses_a_file(self):
        f = os.path.join(self.tmp, "var")
        open(f, "w").close()
        one_line(self, self.ctl("init", f))
        self.assertTrue(os.path.isfile(f))

    def test_empty_directory_is_used(self):
        d = os.path.join(self.tmp, "var")
        os.mkdir(d)
        p = self.ctl("init", d)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(os.path.isfile(os.path.join(d, "control/me")))

    def test_again_fills_in_only_what_is_missing(self):
        d = os.path.join(self.tmp, "var")
        self.assertEqual(self.ctl("init", d, "--smtp-port", "3025").returncode,
                         0)
        with open(os.path.join(d, "control/locals"), "a") as f:
            f.write("example.net\n")
        os.unlink(os.path.join(d, "control/plusdomain"))
        os.unlink(os.path.join(d, "queue/lock/trigger"))
        os.rmdir(os.path.join(d, "queue/mess/17"))
        p = self.ctl("init", d)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("plusdomain", p.stdout)
        self.assertEqual(self.read(d, "control/locals"),
                         "localhost\nexample.net\n")
        self.assertEqual(self.read(d, "control/smtpport"), "3025\n")
        self.assertEqual(self.read(d, "control/plusdomain"), "localhost\n")
        self.assertTrue(stat.S_ISFIFO(
            os.lstat(os.path.join(d, "queue/lock/trigger")).st_mode))
        self.assertTrue(os.path.isdir(os.path.join(d, "queue/mess/17")))
        # complete now: nothing more to do
        p = self.ctl("init", d, "--smtp-port", "3025")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("nothing changed", p.stdout)

    def test_again_with_other_settings_is_refused(self):
        d = os.path.join(self.tmp, "var")
        self.assertEqual(self.ctl("init", d).returncode, 0)
        os.unlink(os.path.join(d, "control/plusdomain"))
        line = one_line(self, self.ctl("init", d, "--smtp-port", "4025"))
        self.assertIn("control/smtpport", line)
        line = one_line(self, self.ctl("init", d, "--hostname", "example.com"))
        self.assertIn("control/me", line)
        # refused before anything was written
        self.assertFalse(os.path.exists(os.path.join(d, "control/plusdomain")))
        self.assertEqual(self.read(d, "control/smtpport"), "2525\n")


class TestAdduser(CtlCase):
    def setUp(self):
        super().setUp()
        self.dir = os.path.join(self.tmp, "var")
        p = self.ctl("init", self.dir)
        self.assertEqual(p.returncode, 0, p.stderr)

    def passwd(self):
        try:
            text = self.read(self.dir, "users/passwd")
        except FileNotFoundError:
            return {}
        return dict(line.split(":", 1) for line in text.splitlines())

    def check_hash(self, password, hashed):
        self.assertNotIn(password, hashed)
        self.assertTrue(hashed.startswith(("$y$", "$6$")), hashed)
        if crypt is not None:
            self.assertEqual(crypt.crypt(password, hashed), hashed)
            self.assertNotEqual(crypt.crypt(password + "x", hashed), hashed)

    def test_user_with_password(self):
        p = self.ctl("adduser", self.dir, "alice", "--password", "s3cret pw")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("alice@localhost", p.stdout)
        home = os.path.join(self.dir, "mail/alice")
        for sub in ("cur", "new", "tmp"):
            self.assertTrue(os.path.isdir(os.path.join(home, "Maildir", sub)))
        self.assertEqual(mode(os.path.join(self.dir, "users/passwd")), 0o600)
        pw = self.passwd()
        self.assertEqual(list(pw), ["alice"])
        self.check_hash("s3cret pw", pw["alice"])
        self.assertNotIn("s3cret", self.read(self.dir, "users/passwd"))
        # leaves no temporary homes behind
        self.assertEqual(os.listdir(os.path.join(self.dir, "mail")), ["alice"])
        # python's mailbox can open it
        box = qmtest.mailbox.Maildir(os.path.join(home, "Maildir"),
                                     create=False)
        self.assertEqual(len(box), 0)

    def test_password_file(self):
        pwfile = os.path.join(self.tmp, "pw")
        with open(pwfile, "w") as f:
            f.write("from a file\n")
        p = self.ctl("adduser", self.dir, "bob", "--password-file", pwfile)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.check_hash("from a file", self.passwd()["bob"])
        p = self.ctl("adduser", self.dir, "carol", "--password-file", "-",
                     input="from stdin\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.check_hash("from stdin", self.passwd()["carol"])
        # two users, two lines, different salts
        self.assertEqual(sorted(self.passwd()), ["bob", "carol"])

    def test_no_password(self):
        p = self.ctl("adduser", self.dir, "nopw")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("no POP3 password", p.stdout)
        self.assertTrue(os.path.isdir(
            os.path.join(self.dir, "mail/nopw/Maildir/new")))
        self.assertNotIn("nopw", self.passwd())

    def test_existing_user(self):
        self.assertEqual(self.ctl("adduser", self.dir, "dave", "--password",
                                  "one").returncode, 0)
        before = self.passwd()["dave"]
        marker = os.path.join(self.dir, "mail/dave/Maildir/new/1.2.host")
        with open(marker, "w") as f:
            f.write("Subject: kept\n\nbody\n")
        line = one_line(self, self.ctl("adduser", self.dir, "dave"))
        self.assertIn("dave", line)
        self.assertEqual(self.passwd()["dave"], before)
        # with a password: the password changes, the mailbox stays
        p = self.ctl("adduser", self.dir, "dave", "--password", "two")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.check_hash("two", self.passwd()["dave"])
        self.assertTrue(os.path.exists(marker))
        self.assertEqual(list(self.passwd()), ["dave"])

    def test_bad_names(self):
        for name in ["Bob", ".x", "-x", "a/b", "a b", "a" * 65, "", "..",
                     "x:y", "é"]:
            with self.subTest(name=name):
                one_line(self, self.ctl("adduser", self.dir, name, "--password",
                                        "pw"))
        self.assertEqual(os.listdir(os.path.join(self.dir, "mail")), [])
        self.assertEqual(self.passwd(), {})
        # the longest name allowed
        self.assertEqual(self.ctl("adduser", self.dir, "a" * 64).returncode, 0)

    def test_bad_password(self):
        empty = os.path.join(self.tmp, "empty")
        open(empty, "w").close()
        one_line(self, self.ctl("adduser", self.dir, "eve", "--password", ""))
        one_line(self, self.ctl("adduser", self.dir, "eve", "--password-file",
                                empty))
        one_line(self, self.ctl("adduser", self.dir, "eve", "--password-file",
                                os.path.join(self.tmp, "missing")))
        p = self.ctl("adduser", self.dir, "eve", "--password", "a",
                     "--password-file", empty)
        self.assertEqual(p.returncode, 2)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "mail/eve")))

    def test_not_an_instance(self):
        other = os.path.join(self.tmp, "other")
        os.mkdir(other)
        line = one_line(self, self.ctl("adduser", other, "frank"))
        self.assertIn(other, line)
        for cmd, code in (("start", 1), ("stop", 1), ("flush", 1),
                          ("run", 1), ("status", 4)):
            with self.subTest(cmd=cmd):
                p = self.ctl(cmd, other)
                self.assertEqual(p.returncode, code)
                self.assertIn(other, one_line(self, p))
        self.assertEqual(os.listdir(other), [])


class TestLifecycle(unittest.TestCase):
    """start / status / flush / stop / run with the real bin/qmail-start."""

    def setUp(self):
        qmtest.require(self, "qmailctl", "qmail-start", "qmail-send")
        self.q = qmtest.Instance.for_test(self)
        self.pidfile = self.q.path("run", "qmail-send.pid")

    def pid(self):
        with open(self.pidfile) as f:
            return int(f.read())

    def test_start_status_flush_stop(self):
        p = self.q.start()
        self.assertIn("qmail-send", p.stdout)
        pid = self.pid()
        os.kill(pid, 0)
        st = self.q.status()
        self.assertEqual(st.returncode, 0, st.stdout + st.stderr)
        self.assertIn("qmail-send: running (pid %d)" % pid, st.stdout)
        self.assertTrue(self.q.log_text())

        # a second start is refused, and changes nothing
        line = one_line(self, self.q.start(check=False))
        self.assertIn("already running", line)
        self.assertEqual(self.pid(), pid)

        p = self.q.flush()
        self.assertEqual(p.returncode, 0)

        p = self.q.stop()
        self.assertIn("stopped", p.stdout)
        self.assertFalse(os.path.exists(self.pidfile))
        self.assertTrue(qmtest.wait_until(lambda: not _alive(pid), 5))
        st = self.q.status()
        self.assertEqual(st.returncode, 3)
        self.assertIn("qmail-send: stopped", st.stdout)
        # the queue is kept
        self.assertTrue(os.path.isdir(self.q.path("queue/mess/00")))

        # start again works
        self.q.start()
        self.assertEqual(self.q.status().returncode, 0)
        self.q.stop()

    def test_concurrency_per_client(self):
        """control/concurrencyperip limits one client's SMTP sessions; the
        limit is per client, so the first session is unaffected."""
        self.q.set_control("concurrencyperip", "1")
        self.q.start()
        port = int(self.q.control("smtpport"))
        first = socket.create_connection(("127.0.0.1", port), timeout=10)
        try:
            self.assertTrue(first.recv(512).startswith(b"220 "))
            with socket.create_connection(("127.0.0.1", port),
                                          timeout=10) as second:
                self.assertTrue(second.recv(512).startswith(b"421 "))
        finally:
            first.close()
        # a bad value stops start with one clear line
        self.q.stop()
        self.q.set_control("concurrencyperip", "0")
        p = self.q.start(check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("concurrencyperip", p.stderr)

    def test_network_servers_never_run_as_root(self):
        """Every mail server reads what strangers send: in an instance
        run by root, qmail-smtpd, qmail-qmtpd and qmail-qmqpd sessions
        run under another uid."""
        if os.geteuid() != 0:
            self.skipTest("needs root: an ordinary user's instance runs "
                          "everything as that user")
        qmtest.require(self, "qmail-qmtpd", "qmail-qmqpd")
        self.q.start()
        for svc in ("smtp", "qmtp", "qmqp"):
            port = int(self.q.control(svc + "port"))
            with socket.create_connection(("127.0.0.1", port),
                                          timeout=10) as c:
                if svc == "smtp":
                    c.recv(512)
                uids = []

                def session_uid():
                    for pid in os.listdir("/proc"):
                        if not pid.isdigit():
                            continue
                        try:
                            with open("/proc/%s/comm" % pid) as f:
                                comm = f.read().strip()
                            if comm != "qmail-%sd" % svc:
                                continue
                            with open("/proc/%s/status" % pid) as f:
                                for line in f:
                                    if line.startswith("Uid:"):
                                        uids.append(int(line.split()[2]))
                        except OSError:
                            continue
                    return uids
                self.assertTrue(qmtest.wait_until(session_uid, 5), svc)
                self.assertNotIn(0, uids, svc)

    def test_stop_and_flush_when_not_running(self):
        p = self.q.stop()
        self.assertEqual(p.returncode, 0)
        self.assertIn("not running", p.stdout)
        line = one_line(self, self.q.flush(check=False))
        self.assertIn("not running", line)
        self.assertEqual(self.q.status().returncode, 3)

    def test_stale_pid_file(self):
        # a pid that certainly is not qmail-send (our own)
        with open(self.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
        st = self.q.status()
        self.assertEqual(st.returncode, 3)
        self.assertIn("stale", st.stdout)
        self.q.start()
        self.assertNotEqual(self.pid(), os.getpid())
        self.q.stop()

    def test_run_in_foreground(self):
        proc = subprocess.Popen([qmtest.bin_path("qmailctl"), "run",
                                 self.q.dir], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            self.assertTrue(qmtest.wait_until(self.q.running, 10),
                            self.q.describe())
            # start is refused while run runs
            one_line(self, self.q.start(check=False))
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=40)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn("qmail-send", err)       # its log went to our stderr
        self.assertEqual(self.q.status().returncode, 3)
        self.assertFalse(os.path.exists(self.pidfile))

    def test_first_mail(self):
        """The three lines `make run` prints work."""
        qmtest.require(self, "sendmail", "qmail-queue", "qmail-lspawn",
                       "qmail-local")
        self.q.adduser("demo", password="demo")
        self.q.start()
        p = self.q.sendmail(["demo@localhost"], b"test\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        msgs = self.q.wait_for_messages("demo", 1, timeout=20)
        self.assertIn(b"test", msgs[0].as_bytes())


class TestHelper(unittest.TestCase):
    """qmtest.Instance cleans up whatever happened."""

    def test_cleanup_stops_and_removes(self):
        qmtest.require(self, "qmailctl", "qmail-start", "qmail-send")
        q = qmtest.Instance()
        try:
            q.init()
            self.assertEqual(len(set(q.ports.values())), 5)
            self.assertEqual(q.control("smtpport"), "%d\n" % q.ports["smtp"])
            q.start()
            with open(q.path("run", "qmail-send.pid")) as f:
                pid = int(f.read())
        finally:
            q.cleanup()
        self.assertFalse(os.path.exists(q.tmp))
        self.assertTrue(qmtest.wait_until(lambda: not _alive(pid), 5))
        q.cleanup()     # twice is fine

    def test_free_ports_are_distinct(self):
        ports = qmtest.free_ports(10)
        self.assertEqual(len(set(ports)), 10)


class TestStartFailure(CtlCase):
    """start with a qmail-start that fails: a copy of qmailctl in a bin dir
    of its own finds the fake beside it."""

    def setUp(self):
        super().setUp()
        self.bin = os.path.join(self.tmp, "bin")
        os.mkdir(self.bin)
        shutil.copy2(qmtest.bin_path("qmailctl"), self.bin)
        self.dir = os.path.join(self.tmp, "var")
        p = self.ctl("init", self.dir)
        self.assertEqual(p.returncode, 0, p.stderr)

    def fake_ctl(self, *args):
        return subprocess.run([os.path.join(self.bin, "qmailctl")] +
                              list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=60)

    def test_missing_qmail_start(self):
        line = one_line(self, self.fake_ctl("start", self.dir))
        self.assertIn("qmail-start", line)

    def test_failing_qmail_start(self):
        fake = os.path.join(self.bin, "qmail-start")
        with open(fake, "w") as f:
            f.write("#!/bin/sh\necho 'qmail-start: fatal: test breakage' >&2\n"
                    "exit 111\n")
        os.chmod(fake, 0o755)
        t0 = time.monotonic()
        p = self.fake_ctl("start", self.dir)
        self.assertEqual(p.returncode, 1)
        self.assertLess(time.monotonic() - t0, 8)
        first = p.stderr.splitlines()[0]
        self.assertIn("qmail-send", first)
        self.assertIn("111", first)
        self.assertIn("test breakage", p.stderr)    # the log lines are shown
        self.assertFalse(os.path.exists(os.path.join(self.dir,
                                                     "run/qmail-send.pid")))
        self.assertEqual(self.fake_ctl("status", self.dir).returncode, 3)


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


if __name__ == "__main__":
    unittest.main()

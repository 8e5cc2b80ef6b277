"""Kernel sandboxes of the daemons that read input from strangers
(sandbox.h, SECURITY.md "Sandboxes"): no_new_privs, seccomp, no
capabilities, Landlock, and the POP3 privilege split (qmail-popup(8)).

A real instance started by qmailctl; the self-test hook
QMAIL_SANDBOX_SELFTEST is set through the tcprules files (the
administrator's), never by a client.  Runs as root and as an ordinary
user."""

import ctypes
import os
import poplib
import smtplib
import socket
import subprocess
import time
import unittest

import qmtest

PROGRAMS = ("qmailctl", "qmail-tcpd", "qmail-tcprules", "qmail-smtpd",
            "qmail-popup", "qmail-pop3d", "qmail-checkpw", "qmail-start")
PASSWORD = "sandbox-Pw-1"
ROOT = os.geteuid() == 0
CAP_DAC_READ_SEARCH = 1 << 2


def landlock_abi():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    v = libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint(1))
    return v if v > 0 else 0


def status(pid):
    """/proc/PID/status as a dict, or None if it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            return dict(line.rstrip("\n").split(":\t", 1) for line in f
                        if ":\t" in line)
    except (FileNotFoundError, ProcessLookupError):
        return None


def processes(comm):
    """[(pid, status)] of the processes named comm."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = status(int(name))
        if st and st.get("Name") == comm:
            out.append((int(name), st))
    return out


def descendants(root_pid):
    """Pids below root_pid."""
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = status(int(name))
            if st:
                children.setdefault(int(st["PPid"]), []).append(int(name))
    out, todo = [], [root_pid]
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            out.append(c)
            todo.append(c)
    return out


class TestSandbox(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        missing = [p for p in PROGRAMS if not qmtest.have(p)]
        if missing:
            raise unittest.SkipTest("bin/%s not built yet"
                                    % ", bin/".join(missing))
        cls.q = qmtest.Instance()
        cls.addClassCleanup(cls.q.cleanup)
        cls.q.init()
        os.chmod(cls.q.tmp, 0o711)
        cls.q.adduser("alice", password=PASSWORD)
        cls.q.adduser("bob", password=PASSWORD + "b")
        cls.q.set_control("pop3faildelay", "1")
        # a file of bob's that his own uid (and the instance's) could read:
        # only Landlock keeps qmail-smtpd and alice's qmail-pop3d out
        md = cls.q.maildir_path("bob")
        cls.bobfile = os.path.join(md, "cur", "1700000000.secret.test:2,")
        with open(cls.bobfile, "w") as f:
            f.write("Subject: bob's\n\nsecret\n")
        st = os.stat(md)
        os.chown(cls.bobfile, st.st_uid, st.st_gid)
        os.chmod(cls.bobfile, 0o644)
        cls.q.start()
        cls.smtp_port = cls.q.ports["smtp"]
        cls.pop3_port = cls.q.ports["pop3"]

    def rules(self, service, lines):
        """Rewrite and compile control/tcp.SERVICE (qmail-tcpd rereads it
        for every connection); the defaults come back after the test."""
        name = "tcp." + service
        old = self.q.control(name)

        def write(text):
            self.q.set_control(name, text)
            with open(self.q.path("control", name), "rb") as f:
                subprocess.run([qmtest.bin_path("qmail-tcprules"),
                                self.q.path("control", name + ".cdb"),
                                self.q.path("control", name + ".tmp")],
                               stdin=f, check=True, timeout=30)
        write(lines)
        self.addCleanup(write, old)

    def tcpd_pid(self, service):
        with open(self.q.path("run", service + ".pid")) as f:
            return int(f.read().strip())

    def wait_log(self, service, text, timeout=15):
        if not qmtest.wait_until(lambda: text in self.q.log_text(service),
                                 timeout):
            self.fail("no %r in log/%s.log\n%s" % (text, service,
                                                   self.q.describe()))

    def assert_sandboxed(self, st, what, bounding_empty):
        self.assertEqual(st["NoNewPrivs"], "1", what)
        self.assertEqual(st["Seccomp"], "2", what)
        eff = int(st["CapEff"], 16)
        prm = int(st["CapPrm"], 16)
        uid = int(st["Uid"].split()[1])
        # a process still running as root keeps CAP_DAC_READ_SEARCH alone
        allowed = CAP_DAC_READ_SEARCH if uid == 0 else 0
        self.assertEqual(eff & ~allowed, 0, what)
        self.assertEqual(prm & ~allowed, 0, what)
        self.assertEqual(int(st["CapInh"], 16), 0, what)
        self.assertEqual(int(st["CapAmb"], 16), 0, what)
        if bounding_empty:
            self.assertEqual(int(st["CapBnd"], 16) & ~allowed, 0, what)

    def smtp_session_pid(self, sock):
        tcpd = self.tcpd_pid("smtpd")
        found = []

        def look():
            found[:] = [p for p in descendants(tcpd)
                        if (status(p) or {}).get("Name") == "qmail-smtpd"]
            return found
        self.assertTrue(qmtest.wait_until(look, 10), "no qmail-smtpd")
        return found[0]

    # ---- qmail-smtpd ------------------------------------------------

    def test_smtpd_session_is_sandboxed(self):
        with socket.create_connection(("127.0.0.1", self.smtp_port),
                                      timeout=10) as s:
            self.assertTrue(s.recv(512).startswith(b"220"))
            pid = self.smtp_session_pid(s)
            st = status(pid)
            self.assert_sandboxed(st, "qmail-smtpd", ROOT)
            if ROOT:
                self.assertNotEqual(st["Uid"].split()[1], "0")
            s.sendall(b"QUIT\r\n")

    def test_forbidden_syscall_kills_only_that_session(self):
        self.rules("smtp", '127.:allow,RELAYCLIENT="",GREETDELAY="0",'
                           'QMAIL_SANDBOX_SELFTEST="syscall:ptrace"\n:allow\n')
        with socket.create_connection(("127.0.0.1", self.smtp_port),
                                      timeout=10) as s:
            # killed before its greeting: the connection just closes
            self.assertEqual(s.recv(512), b"")
        self.wait_log("smtpd", "killed by signal 31 SIGSYS")
        self.assertIn("sandbox selftest: qmail-smtpd calls ptrace",
                      self.q.log_text("smtpd"))
        # the listener keeps serving: the next session (without the
        # test) takes a message
        self.rules("smtp", '127.:allow,RELAYCLIENT="",GREETDELAY="0"\n'
                           ':allow\n')
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30) as c:
            refused = c.sendmail("a@client.test", ["alice@localhost"],
                                 b"Subject: after\r\n\r\nstill here\r\n")
            self.assertEqual(refused, {})
        self.assertEqual(self.q.wait_for_messages("alice", 1, 20) and 1, 1)

    def selftest_smtpd(self, test):
        self.rules("smtp", '127.:allow,RELAYCLIENT="",GREETDELAY="0",'
                           'QMAIL_SANDBOX_SELFTEST="%s"\n:allow\n' % test)
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30) as c:
            self.assertEqual(c.noop()[0], 250)   # the session goes on

    def test_smtpd_cannot_open_shadow(self):
        self.selftest_smtpd("open:/etc/shadow")
        self.wait_log("smtpd", "qmail-smtpd cannot open /etc/shadow: ")
        self.assertRegex(self.q.log_text("smtpd"),
                         r"cannot open /etc/shadow: (Permission denied|"
                         r"No such file)")

    def test_smtpd_cannot_open_another_users_maildir(self):
        if not landlock_abi():
            self.skipTest("no Landlock in this kernel: only uids separate "
                          "mailboxes")
        self.selftest_smtpd("open:" + self.bobfile)
        self.wait_log("smtpd", "qmail-smtpd cannot open %s: Permission "
                               "denied" % self.bobfile)

    def test_smtpd_selftest_can_pass(self):
        # the hook itself works: a file smtpd needs opens fine
        path = self.q.path("control", "me")
        self.selftest_smtpd("open:" + path)
        self.wait_log("smtpd", "qmail-smtpd opened %s" % path)

    # ---- POP3 -------------------------------------------------------

    def popup_processes(self):
        tcpd = self.tcpd_pid("pop3d")
        return [(p, status(p)) for p in descendants(tcpd)
                if (status(p) or {}).get("Name") in ("qmail-popup",
                                                     "qmail-pop3d")]

    def test_popup_speaks_pop3_unprivileged_in_a_sandbox(self):
        with socket.create_connection(("127.0.0.1", self.pop3_port),
                                      timeout=10) as s:
            self.assertTrue(s.recv(512).startswith(b"+OK"))
            procs = []
            self.assertTrue(qmtest.wait_until(
                lambda: procs.__setitem__(slice(None),
                                          self.popup_processes()) or
                len(procs) == 2, 10), procs)
            pids = {p for p, _ in procs}
            child = [(p, st) for p, st in procs if int(st["PPid"]) in pids]
            parent = [(p, st) for p, st in procs if p not in
                      {c for c, _ in child}]
            self.assertEqual(len(child), 1, procs)
            cst = child[0][1]
            self.assert_sandboxed(cst, "qmail-popup (dialogue)", ROOT)
            if ROOT:
                self.assertNotEqual(cst["Uid"].split()[1], "0")
                # the parent, which reads nothing from the client, is root
                self.assertEqual(parent[0][1]["Uid"].split()[1], "0")
            s.sendall(b"QUIT\r\n")

    def test_pop3d_after_login_is_sandboxed(self):
        p = poplib.POP3("127.0.0.1", self.pop3_port, timeout=10)
        self.addCleanup(p.close)
        p.user("alice")
        p.pass_(PASSWORD)
        procs = [(pid, st) for pid, st in self.popup_processes()
                 if st["Name"] == "qmail-pop3d"]
        self.assertEqual(len(procs), 1, procs)
        st = procs[0][1]
        self.assert_sandboxed(st, "qmail-pop3d", ROOT)
        self.assertNotEqual(st["Uid"].split()[1], "0")
        p.quit()

    def test_pop3d_cannot_open_another_users_maildir(self):
        if not landlock_abi():
            self.skipTest("no Landlock in this kernel")
        self.rules("pop3", ':allow,QMAIL_SANDBOX_SELFTEST="open:%s"\n'
                   % self.bobfile)
        p = poplib.POP3("127.0.0.1", self.pop3_port, timeout=10)
        self.addCleanup(p.close)
        p.user("alice")
        p.pass_(PASSWORD)
        self.assertEqual(p.stat()[0] >= 0, True)
        p.quit()
        self.wait_log("pop3d", "qmail-pop3d cannot open %s: Permission "
                               "denied" % self.bobfile)

    def test_wrong_password_still_refused_through_the_split(self):
        p = poplib.POP3("127.0.0.1", self.pop3_port, timeout=10)
        self.addCleanup(p.close)
        p.user("alice")
        with self.assertRaises(poplib.error_proto) as cm:
            p.pass_("wrong")
        self.assertIn(b"authorization failed", cm.exception.args[0])
        p.user("alice")
        p.pass_(PASSWORD)           # the same connection may try again
        p.quit()

    # ---- qmail-send -------------------------------------------------

    def test_qmail_send_is_sandboxed(self):
        home = os.path.realpath(self.q.dir)
        found = []
        for pid, st in processes("qmail-send"):
            try:
                cwd = os.readlink("/proc/%d/cwd" % pid)
            except OSError:
                continue
            if cwd.startswith(home + "/"):
                found.append(st)
        self.assertEqual(len(found), 1, "qmail-send of %s" % home)
        self.assert_sandboxed(found[0], "qmail-send", ROOT)


if __name__ == "__main__":
    unittest.main()

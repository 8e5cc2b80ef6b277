"""test_install: `make install` and the root install's privilege split
(issue 8; INSTALL.md, SECURITY.md, qmailctl(8)).

Root only: installing creates system users, sets owners and a setuid
qmail-queue.  Everything lives in temporary directories (never /var/qmail);
the two test accounts are removed again.  The qmail users and groups that
make install creates (alias, qmaild, ..., qmail, nofiles) are kept, as a
real install keeps them: other tests may use them at the same time.

  - DESTDIR: the tree, its owners and modes, setuid only on qmail-queue,
    a second run keeps configuration and mail, uninstall keeps them too;
  - a real install into a temporary home on free ports: each process's
    uid, gid and capabilities in /proc, delivery to two system accounts
    through SMTP (files owned by them) and through the installed sendmail
    (setuid qmail-queue, home found without $QMAILHOME), a .qmail owned by
    someone else refused, and qmaild unable to read another user's Maildir
    or /etc/shadow.
"""

import grp
import os
import pwd
import shutil
import smtplib
import socket
import stat
import subprocess
import tempfile
import time
import unittest

import qmtest

ROOT = qmtest.ROOT

# user -> primary group, as make install creates them
QMAIL_USERS = {"alias": "nofiles", "qmaild": "nofiles", "qmaill": "nofiles",
               "qmailp": "nofiles", "qmailq": "qmail", "qmailr": "qmail",
               "qmails": "qmail"}
HOST = "install.test"


def need_root(testcase):
    if os.geteuid() != 0:
        testcase.skipTest("needs root: make install creates system users, "
                          "sets owners and installs a setuid qmail-queue")
    for tool in ("useradd", "userdel", "groupadd", "setpriv", "runuser"):
        if not shutil.which(tool):
            testcase.skipTest("needs %s" % tool)
    qmtest.require(testcase, "qmailctl", "qmail-queue", "qmail-start",
                   "qmail-smtpd", "qmail-tcpd", "sendmail")


def run(args, check=True, **kw):
    proc = subprocess.run([str(a) for a in args], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True,
                          timeout=kw.pop("timeout", 300), **kw)
    if check and proc.returncode != 0:
        raise AssertionError("%s exited %d:\n%s" % (
            " ".join(map(str, args)), proc.returncode, proc.stdout))
    return proc


def make(target, destdir, home):
    """make install|uninstall DESTDIR=destdir QMAILHOME=home, without the
    rebuild that make would do first (make test has just built bin/, and
    other work in the tree must not fail this test)."""
    return run([os.path.join(ROOT, "scripts", target), destdir, home])


def ensure_qmail_users():
    """The qmail accounts, made as make install makes them (DESTDIR installs
    do not make them, but set owners only for those that exist)."""
    for g in ("qmail", "nofiles"):
        try:
            grp.getgrnam(g)
        except KeyError:
            run(["groupadd", "-r", g])
    for u, g in QMAIL_USERS.items():
        try:
            pwd.getpwnam(u)
        except KeyError:
            run(["useradd", "-r", "-g", g, "-d", "/var/qmail", "-M", "-s",
                 "/usr/sbin/nologin", u])


def uid(name):
    return pwd.getpwnam(name).pw_uid


def gid(name):
    return grp.getgrnam(name).gr_gid


def proc_status(pid):
    """uid, gid, groups and effective capabilities of a process."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()
    return {"uid": [int(x) for x in out["Uid"]],
            "gid": [int(x) for x in out["Gid"]],
            "groups": [int(x) for x in out.get("Groups", [])],
            "capeff": int(out["CapEff"][0], 16),
            "name": out["Name"][0]}


def children(ppid):
    """{pid: comm} of the processes whose parent is ppid."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        fields = s[s.rindex(")") + 2:].split()
        if int(fields[1]) == ppid and fields[0] != "Z":
            out[int(d)] = comm
    return out


class TestDestdir(unittest.TestCase):
    def setUp(self):
        need_root(self)
        ensure_qmail_users()
        self.dest = tempfile.mkdtemp(prefix="qmi-destdir-")
        self.addCleanup(shutil.rmtree, self.dest, True)
        self.home = "/var/qmail"
        self.t = self.dest + self.home

    def p(self, *parts):
        return os.path.join(self.t, *parts)

    def read(self, rel):
        with open(self.p(rel)) as f:
            return f.read()

    def assert_owner(self, rel, user, group, mode):
        st = os.lstat(self.p(rel))
        self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)),
                         (uid(user), gid(group), mode),
                         "%s: owner/group/mode" % rel)

    def test_tree_owners_modes_rerun_uninstall(self):
        out = make("install", self.dest, self.home).stdout
        self.assertIn("not creating the qmail users", out)
        programs = sorted(n for n in os.listdir(os.path.join(ROOT, "bin"))
                          if os.access(os.path.join(ROOT, "bin", n), os.X_OK))
        for name in programs:
            if name == "qmail-queue":
                self.assert_owner("bin/qmail-queue", "qmailq", "qmail",
                                  0o4711)
            else:
                self.assert_owner("bin/" + name, "root", "root", 0o755)
        with open(self.p("bin", "qmailhome")) as f:
            self.assertEqual(f.read(), "/var/qmail\n")
        self.assertTrue(os.path.exists(self.p("man", "man8", "qmailctl.8")))
        # set-id bits on qmail-queue only; nothing of root's writable by
        # anyone else
        for top, dirs, files in os.walk(self.t):
            for n in dirs + files:
                path = os.path.join(top, n)
                st = os.lstat(path)
                rel = os.path.relpath(path, self.t)
                if stat.S_ISREG(st.st_mode) and st.st_mode & 0o6000:
                    self.assertEqual(rel, "bin/qmail-queue")
                if rel.split("/")[0] in ("bin", "control", "users", "man") \
                        and rel != "bin/qmail-queue":
                    self.assertEqual(st.st_uid, 0, rel)
                    self.assertFalse(st.st_mode & 0o022, rel)
        # the instance: a root install, queue part by part
        self.assertTrue(os.path.exists(self.p("control", "privsep")))
        me = self.read("control/me")
        self.assertEqual(self.read("control/locals"), me)
        self.assertEqual(self.read("control/rcpthosts"), me)
        self.assert_owner("queue", "qmailq", "qmail", 0o751)
        self.assert_owner("queue/tmp", "qmailq", "qmail", 0o2750)
        self.assert_owner("queue/mess", "qmailq", "qmail", 0o750)
        self.assert_owner("queue/mess/00", "qmailq", "qmail", 0o2750)
        self.assert_owner("queue/mess/63", "qmailq", "qmail", 0o2750)
        self.assert_owner("queue/lock", "qmailq", "qmail", 0o750)
        self.assert_owner("queue/lock/sendlock", "qmails", "qmail", 0o600)
        self.assert_owner("queue/lock/trigger", "qmails", "qmail", 0o622)
        self.assertTrue(stat.S_ISFIFO(os.lstat(self.p(
            "queue/lock/trigger")).st_mode))
        self.assert_owner("queue/lock/tcpto", "qmailr", "qmail", 0o644)
        self.assert_owner("queue/lock/inflow", "qmails", "qmail", 0o644)
        self.assert_owner("queue/free", "qmailq", "qmail", 0o700)
        self.assert_owner("queue/sock", "qmailq", "qmail", 0o755)
        self.assert_owner("alias", "alias", "nofiles", 0o755)
        self.assert_owner("alias/Maildir", "alias", "nofiles", 0o700)
        for name in ("postmaster", "root", "mailer-daemon"):
            self.assert_owner("alias/.qmail-" + name, "alias", "nofiles",
                              0o644)
            with open(self.p("alias", ".qmail-" + name)) as f:
                self.assertEqual(f.read(), "./Maildir/\n")
        for rel in ("control", "users", "log", "run", "mail"):
            self.assert_owner(rel, "root", "root", 0o755)

        # a second run keeps configuration, queue and mail
        with open(self.p("control", "me"), "w") as f:
            f.write("changed.test\n")
        queued = self.p("queue", "mess", "07", "1.2.3")
        with open(queued, "w") as f:
            f.write("queued")
        mail = self.p("alias", "Maildir", "new", "1.x.test")
        with open(mail, "w") as f:
            f.write("mail")
        out = make("install", self.dest, self.home).stdout
        self.assertIn("already an instance", out)
        self.assertEqual(self.read("control/me"), "changed.test\n")
        self.assertTrue(os.path.exists(queued) and os.path.exists(mail))
        self.assert_owner("bin/qmail-queue", "qmailq", "qmail", 0o4711)
        self.assert_owner("queue/tmp", "qmailq", "qmail", 0o2750)

        # uninstall: programs and manual pages go, nothing else
        make("uninstall", self.dest, self.home)
        self.assertFalse(os.path.exists(self.p("bin")))
        self.assertFalse(os.path.exists(self.p("man")))
        for rel in ("control/me", "queue/mess/07/1.2.3",
                    "alias/Maildir/new/1.x.test", "alias/.qmail-root",
                    "users/assign"):
            self.assertTrue(os.path.exists(self.p(rel)), rel)


class TestRootInstall(unittest.TestCase):
    """A real install into a temporary home, started on free ports."""

    def setUp(self):
        need_root(self)
        self.base = tempfile.mkdtemp(prefix="qmi-install-")
        os.chmod(self.base, 0o755)
        self.addCleanup(shutil.rmtree, self.base, True)
        self.home = os.path.join(self.base, "qmail")
        self.ctl = os.path.join(self.home, "bin", "qmailctl")
        self.users = []
        self.addCleanup(self._remove_users)
        self.addCleanup(self._stop)
        make("install", "", self.home)

    # ---- set-up and clean-up helpers ----------------------------------

    def p(self, *parts):
        return os.path.join(self.home, *parts)

    def _stop(self):
        if os.path.exists(self.ctl):
            try:
                run([self.ctl, "stop", self.home], check=False, timeout=90)
            except subprocess.TimeoutExpired:
                pass
        rundir = self.p("run")
        if os.path.isdir(rundir):
            for name in os.listdir(rundir):
                try:
                    with open(os.path.join(rundir, name)) as f:
                        pid = int(f.read().strip())
                except (OSError, ValueError):
                    continue
                for target in (-pid, pid):
                    try:
                        os.kill(target, 9)
                    except OSError:
                        pass

    def _remove_users(self):
        for name in self.users:
            subprocess.run(["userdel", "-r", name], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)

    def add_user(self, tag):
        """A system account with its own 0700 home and Maildir."""
        name = "qmti%s%d" % (tag, os.getpid() % 100000)
        home = os.path.join(self.base, "home", name)
        os.makedirs(os.path.dirname(home), mode=0o755, exist_ok=True)
        self.users.append(name)
        run(["useradd", "-m", "-d", home, "-s", "/usr/sbin/nologin", name])
        os.chmod(home, 0o700)
        run(["runuser", "-u", name, "--", "sh", "-c",
             "umask 077 && mkdir -p Maildir/new Maildir/cur Maildir/tmp"],
            cwd=home)
        return name, home

    def set_control(self, name, value):
        with open(self.p("control", name), "w") as f:
            f.write(value + "\n")

    def configure(self):
        ports = qmtest.free_ports(6)
        for name, port in zip(("smtpport", "pop3port", "qmtpport",
                               "qmqpport", "submissionport"), ports):
            self.set_control(name, str(port))
        self.remote_port = ports[5]
        self.smtp_port = ports[0]
        self.set_control("bindaddress", "127.0.0.1")
        for name in ("me", "locals", "rcpthosts"):
            self.set_control(name, HOST)
        self.set_control("smtproutes",
                         "far.test:[127.0.0.1]:%d" % self.remote_port)
        # The sandbox stays on: qmail-smtpd (qmaild) and qmail-send
        # (qmails) run with no_new_privs, so a setuid qmail-queue would not
        # help them; they queue through qmail-queued (qmailq) instead.

    def log(self, name="qmail-send"):
        try:
            with open(self.p("log", name + ".log"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def describe(self):
        return "\n".join("--- %s:\n%s" % (n, self.log(n)[-3000:])
                         for n in ("qmail-send", "smtpd"))

    def maildir_files(self, home):
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(home, "Maildir", sub)
            out += [os.path.join(d, f) for f in os.listdir(d)]
        return out

    def wait_files(self, home, n):
        if not qmtest.wait_until(lambda: len(self.maildir_files(home)) >= n,
                                 20):
            self.fail("%s: %d message(s), wanted %d\n%s" % (
                home, len(self.maildir_files(home)), n, self.describe()))
        return self.maildir_files(home)

    def pidfile(self, name):
        with open(self.p("run", name + ".pid")) as f:
            return int(f.read())

    def assert_ids(self, pid, user, group, caps=False):
        st = proc_status(pid)
        what = "%s (pid %d)" % (st["name"], pid)
        self.assertEqual(st["uid"], [uid(user)] * 4, what + ": uids")
        self.assertEqual(st["gid"], [gid(group)] * 4, what + ": gids")
        if user != "root":
            self.assertEqual(st["groups"], [gid(group)], what + ": groups")
        if not caps:
            self.assertEqual(st["capeff"], 0, what + ": CapEff")

    # ---- the test -------------------------------------------------------

    def test_privilege_split(self):
        # a second install over the first keeps what was configured
        self.configure()
        out = make("install", "", self.home).stdout
        self.assertIn("already an instance", out)
        with open(self.p("control", "me")) as f:
            self.assertEqual(f.read(), HOST + "\n")
        a, a_home = self.add_user("a")
        b, b_home = self.add_user("b")

        # a root install refuses to start for an ordinary user
        proc = run(["setpriv", "--reuid", "nobody", "--regid", "nogroup",
                    "--clear-groups", self.ctl, "start", self.home],
                   check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("start it as root", proc.stdout)

        run([self.ctl, "start", self.home])

        # the delivery side: qmail-send and the helpers qmail-start forked
        send = self.pidfile("qmail-send")
        self.assert_ids(send, "qmails", "qmail")
        kids = {comm: pid for pid, comm in children(send).items()}
        self.assertEqual(sorted(kids), ["qmail-clean", "qmail-lspawn",
                                        "qmail-rspawn"])
        self.assert_ids(kids["qmail-clean"], "qmailq", "qmail")
        self.assert_ids(kids["qmail-rspawn"], "qmailr", "qmail")
        self.assert_ids(kids["qmail-lspawn"], "root", "root", caps=True)
        # the queue writer the sandboxed servers reach over its socket
        def find_queued():
            out = []
            for d in os.listdir("/proc"):
                try:
                    if (d.isdigit() and os.readlink("/proc/%s/cwd" % d)
                            .startswith(self.home) and proc_status(
                                int(d))["name"] == "qmail-queued"):
                        out.append(int(d))
                except OSError:
                    pass
            return out
        queued = qmtest.wait_until(find_queued, 10)
        self.assertTrue(queued, "qmail-queued is not running")
        self.assert_ids(queued[0], "qmailq", "qmail")

        # the listener and a live SMTP session hold qmaild's ids only
        tcpd = self.pidfile("smtpd")
        self.assert_ids(tcpd, "qmaild", "nofiles")
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30) as s:
            s.ehlo("client.test")
            smtpd = qmtest.wait_until(lambda: [
                pid for pid, comm in children(tcpd).items()
                if comm == "qmail-smtpd"], 10)
            self.assertTrue(smtpd, "no qmail-smtpd child of qmail-tcpd")
            self.assert_ids(smtpd[0], "qmaild", "nofiles")
            # in its sandbox: no setuid exec could help it queue
            with open("/proc/%d/status" % smtpd[0]) as f:
                status = f.read()
            self.assertRegex(status, r"NoNewPrivs:\s+1")
            self.assertRegex(status, r"Seccomp:\s+2")
            # two system accounts, one message each way
            s.sendmail("sender@client.test", ["%s@%s" % (a, HOST),
                                              "%s@%s" % (b, HOST)],
                       b"Subject: to both\r\n\r\nhello\r\n")
        for user, home in ((a, a_home), (b, b_home)):
            files = self.wait_files(home, 1)
            for path in files:
                st = os.stat(path)
                self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)),
                                 (uid(user), 0o600), path)

        # qmail-remote runs as qmailr: hold its connection open
        peer = socket.socket()
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        peer.bind(("127.0.0.1", self.remote_port))
        peer.listen(5)
        try:
            with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30) as s:
                s.sendmail("%s@%s" % (a, HOST), ["x@far.test"],
                           b"Subject: far\r\n\r\nfar away\r\n")
            peer.settimeout(20)
            conn, _ = peer.accept()
            try:
                rspawn = kids["qmail-rspawn"]
                remote = qmtest.wait_until(lambda: [
                    pid for pid, comm in children(rspawn).items()
                    if comm == "qmail-remote"], 10)
                self.assertTrue(remote, "no qmail-remote running\n" +
                                self.describe())
                self.assert_ids(remote[0], "qmailr", "qmail")
            finally:
                conn.close()
        finally:
            peer.close()

        # local submission through the installed sendmail, as user a,
        # without $QMAILHOME: the setuid qmail-queue finds the home from
        # bin/qmailhome and writes the qmailq-owned queue
        env = {k: v for k, v in os.environ.items() if k != "QMAILHOME"}
        run(["runuser", "-u", a, "--", self.p("bin", "sendmail"),
             "%s@%s" % (b, HOST)], input="Subject: local\n\nfrom a\n",
            env=env, cwd="/")
        files = self.wait_files(b_home, 2)
        texts = []
        for path in files:
            with open(path, "rb") as f:
                texts.append(f.read())
        self.assertTrue(any(b"invoked by uid %d" % uid(a) in t
                            for t in texts), texts)
        # a bounce: qmail-send (qmails) queues it through qmail-queue too
        run(["runuser", "-u", a, "--", self.p("bin", "sendmail"), "-f",
             "%s@%s" % (a, HOST), "nosuchuser@%s" % HOST],
            input="Subject: lost\n\nnobody here\n", env=env, cwd="/")
        files = self.wait_files(a_home, 2)
        bounce = b""
        for path in files:
            with open(path, "rb") as f:
                bounce += f.read()
        self.assertIn(b"nosuchuser", bounce)
        # the sandboxed daemons went through qmail-queued, with the
        # kernel's uid of each caller: qmaild (SMTP), qmails (the bounce);
        # sendmail (no deadline: it may read a slow pipe for hours) ran
        # the setuid qmail-queue as a
        for who, prog in (("qmaild", rb"qmail-queued"),
                          ("qmails", rb"qmail-queued"),
                          (a, rb"qmail-queue")):
            self.assertRegex(bounce + b"".join(texts),
                             rb"Received: \(" + prog + rb" \d+ invoked by "
                             rb"uid " + str(uid(who)).encode() + rb"\)")
        # a forward: qmail-local (as a, no deadline) runs the setuid
        # qmail-queue too
        fwd = os.path.join(a_home, ".qmail-fwd")
        with open(fwd, "w") as f:
            f.write("&%s@%s\n" % (a, HOST))
        os.chown(fwd, uid(a), pwd.getpwnam(a).pw_gid)
        run([self.p("bin", "sendmail"), "%s-fwd@%s" % (a, HOST)],
            input="Subject: forwarded\n\nvia fwd\n", env=env, cwd="/")
        files = self.wait_files(a_home, 3)
        fwded = b""
        for path in files:
            with open(path, "rb") as f:
                text = f.read()
            if b"via fwd" in text:
                fwded = text
        self.assertRegex(fwded, rb"^(.*\n)*?Received: \(qmail-queue \d+ "
                         rb"invoked by uid " + str(uid(a)).encode())

        # a .qmail owned by someone else is refused, and the mail waits
        dot = os.path.join(b_home, ".qmail")
        with open(dot, "w") as f:
            f.write("./Maildir/\n")
        os.chmod(dot, 0o644)
        os.chown(dot, uid(a), pwd.getpwnam(a).pw_gid)
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30) as s:
            s.sendmail("sender@client.test", ["%s@%s" % (b, HOST)],
                       b"Subject: foreign dotqmail\r\n\r\nwait\r\n")
        if not qmtest.wait_until(
                lambda: ".qmail is not owned by the user" in self.log(), 20):
            self.fail("no refusal logged\n" + self.describe())
        self.assertIn("deferral", self.log().split(
            ".qmail is not owned by the user")[0].splitlines()[-1])
        self.assertEqual(len(self.maildir_files(b_home)), 2)
        # given back to b, the same message is delivered
        os.chown(dot, uid(b), pwd.getpwnam(b).pw_gid)
        run([self.ctl, "flush", self.home])
        self.wait_files(b_home, 3)

        # what qmail-smtpd's uid may not read: another user's Maildir and
        # /etc/shadow (root may: the probe works)
        probe = ["setpriv", "--reuid", "qmaild", "--regid", "nofiles",
                 "--clear-groups", "--inh-caps=-all", "--"]
        for cmd in (["ls", os.path.join(a_home, "Maildir", "new")],
                    ["cat", self.maildir_files(a_home)[0]],
                    ["cat", "/etc/shadow"]):
            ok = run(cmd, check=False)
            self.assertEqual(ok.returncode, 0, ok.stdout)
            denied = run(probe + cmd, check=False)
            self.assertNotEqual(denied.returncode, 0, cmd)
            self.assertIn("Permission denied", denied.stdout)
        # nor write the queue behind qmail-queue's back
        denied = run(probe + ["touch", self.p("queue", "tmp", "x")],
                     check=False)
        self.assertIn("Permission denied", denied.stdout)

        # uninstall keeps the queue and the mail
        run([self.ctl, "stop", self.home], timeout=90)
        make("uninstall", "", self.home)
        self.assertFalse(os.path.exists(self.ctl))
        self.assertEqual(len(self.maildir_files(b_home)), 3)
        for rel in ("queue/lock/trigger", "control/me", "alias/.qmail-root"):
            self.assertTrue(os.path.exists(self.p(rel)), rel)


if __name__ == "__main__":
    unittest.main()

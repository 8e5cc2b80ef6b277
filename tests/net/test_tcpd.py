"""Black-box tests of the listener: bin/qmail-tcpd run directly on loopback
with small programs that show what they were given (the environment,
their uid), bin/qmail-tcprules compiling access rules, and qmailctl
running a service through qmail-tcpd.

See qmail-tcpd(8) and qmail-tcprules(8)."""

import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import unittest

import qmtest

TCPD = qmtest.bin_path("qmail-tcpd")
TCPRULES = qmtest.bin_path("qmail-tcprules")
ENV = shutil.which("env") or "/usr/bin/env"
TRUE = shutil.which("true") or "/bin/true"
ID = shutil.which("id") or "/usr/bin/id"

# holds the connection until the client closes it; says "ready" first so
# the client knows the server runs (and is not just queued in the backlog)
HOLD = "#!/bin/sh\necho ready\nexec cat\n"


def have_ipv6():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            s.bind(("::1", 0))
        finally:
            s.close()
        return True
    except OSError:
        return False


def parse_env(data):
    env = {}
    for line in data.decode("utf-8", "replace").splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            env[k] = v
    return env


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class TcpdCase(unittest.TestCase):
    def setUp(self):
        qmtest.require(self, "qmail-tcpd", "qmail-tcprules")
        self.tmp = tempfile.mkdtemp(prefix="qmtest-tcpd-")
        os.chmod(self.tmp, 0o755)
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.nlogs = 0

    # ---- helpers -------------------------------------------------------

    def script(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o755)
        return path

    def rules(self, text, name="rules"):
        """Compile text into NAME.cdb; returns its path."""
        src = os.path.join(self.tmp, name)
        with open(src, "w") as f:
            f.write(text)
        cdb = src + ".cdb"
        with open(src, "rb") as f:
            p = subprocess.run([TCPRULES, cdb, src + ".tmp"], stdin=f,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr)
        return cdb

    def start(self, *opts, host="127.0.0.1", program=(ENV,), env=None,
              wait=True):
        """Run qmail-tcpd OPTS HOST PORT PROGRAM; it is killed at cleanup.
        Returns (process, port); waits until it listens."""
        port = qmtest.free_port(host)
        self.nlogs += 1
        logpath = os.path.join(self.tmp, "tcpd%d.log" % self.nlogs)
        log = open(logpath, "wb")
        self.addCleanup(log.close)
        proc = subprocess.Popen([TCPD] + list(opts) +
                                [host, str(port)] + list(program),
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=log,
                                env=env, start_new_session=True)
        proc.logpath = logpath
        self.addCleanup(self.kill, proc)
        if wait:
            # -q logs nothing: then wait until the port accepts
            ok = qmtest.wait_until(
                lambda: proc.poll() is not None or
                ("-q" in opts and self._accepts(host, port)) or
                "listening on" in self.log(proc), 10)
            self.assertTrue(ok and proc.poll() is None,
                            "qmail-tcpd did not start:\n" + self.log(proc))
        return proc, port

    def _accepts(self, host, port):
        try:
            socket.create_connection((host, port), 1).close()
            return True
        except OSError:
            return False

    def kill(self, proc):
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        # children of a test (cat, sh) are in its session: end them too
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass

    def log(self, proc):
        with open(proc.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def connect(self, host, port, source=None, timeout=5):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(family, socket.SOCK_STREAM)
        self.addCleanup(s.close)
        s.settimeout(timeout)
        if source:
            s.bind((source, 0))
        s.connect((host, port))
        return s

    def read_all(self, s):
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                return out
            out += b

    def talk(self, host, port, source=None):
        s = self.connect(host, port, source)
        try:
            return s, self.read_all(s)
        finally:
            s.close()

    def env_of(self, host, port, source=None):
        s, data = self.talk(host, port, source)
        return parse_env(data)

    def hold(self, host, port, source=None):
        """A session of HOLD that runs: its socket."""
        s = self.connect(host, port, source)
        got = b""
        while not got.endswith(b"ready\n"):
            b = s.recv(100)
            if not b:
                self.fail("closed instead of served (got %r)" % got)
            got += b
        return s

    def refused_at_once(self, host, port, source=None):
        """The connection is accepted and closed without a server; returns
        what was sent before the close."""
        s = self.connect(host, port, source, timeout=3)
        t0 = time.monotonic()
        data = self.read_all(s)
        self.assertLess(time.monotonic() - t0, 2)
        s.close()
        return data

    def wait_log(self, proc, text, timeout=5):
        ok = qmtest.wait_until(lambda: text in self.log(proc), timeout)
        self.assertTrue(ok, "no %r in the log:\n%s" % (text, self.log(proc)))


class TestEnvironment(TcpdCase):
    def test_ipv4(self):
        stale = dict(os.environ, TCPREMOTEHOST="forged.example",
                     TCPREMOTEINFO="forged", TCPLOCALHOST="forged.example")
        proc, port = self.start(env=stale)
        s = self.connect("127.0.0.1", port)
        myport = s.getsockname()[1]
        env = parse_env(self.read_all(s))
        self.assertEqual(env["PROTO"], "TCP")
        self.assertEqual(env["TCPLOCALIP"], "127.0.0.1")
        self.assertEqual(env["TCPLOCALPORT"], str(port))
        self.assertEqual(env["TCPREMOTEIP"], "127.0.0.1")
        self.assertEqual(env["TCPREMOTEPORT"], str(myport))
        for name in ("TCPREMOTEHOST", "TCPREMOTEINFO", "TCPLOCALHOST",
                     "RELAYCLIENT"):
            self.assertNotIn(name, env)
        # the rest of the daemon's environment is passed on
        self.assertEqual(env.get("PATH"), os.environ.get("PATH"))
        # one line when it starts and one when it ends, with the pid
        self.wait_log(proc, "end pid")
        log = self.log(proc)
        self.assertRegex(log, r"start pid \d+ remote 127\.0\.0\.1 port %d "
                         r"local 127\.0\.0\.1 port %d" % (myport, port))
        self.assertRegex(log, r"end pid \d+ remote 127\.0\.0\.1 port %d "
                         r"status 0" % myport)

    def test_ipv6(self):
        if not have_ipv6():
            self.skipTest("no IPv6 loopback (::1) on this machine")
        proc, port = self.start(host="::1")
        s = self.connect("::1", port)
        myport = s.getsockname()[1]
        env = parse_env(self.read_all(s))
        self.assertEqual(env["PROTO"], "TCP6")
        self.assertEqual(env["TCPLOCALIP"], "::1")
        self.assertEqual(env["TCPLOCALPORT"], str(port))
        self.assertEqual(env["TCPREMOTEIP"], "::1")
        self.assertEqual(env["TCPREMOTEPORT"], str(myport))
        # IPV6_V6ONLY: the IPv6 socket does not take IPv4 clients
        if socket.has_ipv6:
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", port), 1).close()

    def test_local_host_name(self):
        proc, port = self.start("-l", "mx.example.org")
        env = self.env_of("127.0.0.1", port)
        self.assertEqual(env["TCPLOCALHOST"], "mx.example.org")

    def test_remote_host_lookup(self):
        try:
            name = socket.gethostbyaddr("127.0.0.1")[0].lower()
            forward = socket.gethostbyname_ex(name)[2]
        except OSError:
            self.skipTest("127.0.0.1 has no name on this machine")
        if "127.0.0.1" not in forward:
            self.skipTest("%s does not resolve back to 127.0.0.1" % name)
        proc, port = self.start("-h", "-t", "3")
        self.assertEqual(self.env_of("127.0.0.1", port)["TCPREMOTEHOST"],
                         name)
        # -H (the default) takes it away again
        proc, port = self.start("-h", "-H")
        self.assertNotIn("TCPREMOTEHOST", self.env_of("127.0.0.1", port))

    def test_program_arguments_and_options_after_it(self):
        # options after PROGRAM belong to the program
        proc, port = self.start(program=("/bin/sh", "-c",
                                         'echo "$0 $1"', "-x", "-c"))
        s, data = self.talk("127.0.0.1", port)
        self.assertEqual(data, b"-x -c\n")


class TestRules(TcpdCase):
    RULES = ("# test rules\n"
             "127.0.0.2:deny\n"
             "127.0.0.3:allow,FOO=\"a b,c\",TCPLOCALHOST=/rule.example/\n"
             "127.0.0.4-5:allow,RANGE=yes\n"
             "127.0.0.0/24:allow,NET=\"/24\"\n"
             "127.:allow,RELAYCLIENT=\"\"\n"
             "::1:allow,SIX=yes,RELAYCLIENT=\"\"\n"
             ":deny\n")

    def test_allow_deny_and_variables(self):
        cdb = self.rules(self.RULES)
        proc, port = self.start("-x", cdb)
        env = self.env_of("127.0.0.1", port)
        self.assertEqual(env["NET"], "/24")
        self.assertNotIn("RELAYCLIENT", env)
        # denied: closed without a word, and logged
        self.assertEqual(self.refused_at_once("127.0.0.1", port,
                                              source="127.0.0.2"), b"")
        self.wait_log(proc, "deny remote 127.0.0.2")
        self.assertIn("rule line 2", self.log(proc))
        env = self.env_of("127.0.0.1", port, source="127.0.0.3")
        self.assertEqual(env["FOO"], "a b,c")
        self.assertEqual(env["TCPLOCALHOST"], "rule.example")
        self.assertEqual(self.env_of("127.0.0.1", port,
                                     source="127.0.0.5")["RANGE"], "yes")
        # the longest prefix wins: /24 over 127.
        self.assertEqual(self.env_of("127.0.0.1", port,
                                     source="127.0.0.9")["NET"], "/24")
        env = self.env_of("127.0.0.1", port, source="127.0.1.1")
        self.assertEqual(env["RELAYCLIENT"], "")
        self.assertNotIn("NET", env)

    def test_ipv6_rules(self):
        if not have_ipv6():
            self.skipTest("no IPv6 loopback (::1) on this machine")
        cdb = self.rules(self.RULES)
        proc, port = self.start("-x", cdb, host="::1")
        env = self.env_of("::1", port)
        self.assertEqual(env["SIX"], "yes")
        self.assertEqual(env["RELAYCLIENT"], "")
        cdb2 = self.rules("::/0:deny\n:allow\n", "rules2")
        proc, port = self.start("-x", cdb2, host="::1")
        self.assertEqual(self.refused_at_once("::1", port), b"")

    def test_new_rules_apply_without_restart(self):
        cdb = self.rules("127.0.0.1:deny\n")
        proc, port = self.start("-x", cdb)
        self.assertEqual(self.refused_at_once("127.0.0.1", port), b"")
        self.rules("127.0.0.1:allow,NEW=1\n")
        self.assertEqual(self.env_of("127.0.0.1", port)["NEW"], "1")

    def test_missing_rules(self):
        cdb = os.path.join(self.tmp, "none.cdb")
        proc, port = self.start("-x", cdb, wait=False)
        self.assertEqual(proc.wait(10), 111)
        lines = self.log(proc).splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertIn(cdb, lines[0])
        # removed while running: clients are refused, the daemon goes on
        cdb = self.rules(":allow\n")
        proc, port = self.start("-x", cdb)
        os.unlink(cdb)
        self.assertEqual(self.refused_at_once("127.0.0.1", port), b"")
        self.wait_log(proc, "cannot read the rules")
        self.rules(":allow,BACK=1\n")
        self.assertEqual(self.env_of("127.0.0.1", port)["BACK"], "1")

    def test_foreign_cdb_is_refused(self):
        # a cdb made by another tool (here: ucspi-tcp's tcprules format)
        path = os.path.join(self.tmp, "foreign.cdb")
        cdbmake = shutil.which("cdb")
        if not cdbmake:
            self.skipTest("no cdb tool")
        p = subprocess.run([cdbmake, "-c", path], input=b"+4,4:127.->+X=1\n\n",
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 0, p.stderr)
        proc, port = self.start("-x", path, wait=False)
        self.assertEqual(proc.wait(10), 111)
        self.assertIn("not a rules file made by qmail-tcprules",
                      self.log(proc))


class TestTcprules(TcpdCase):
    def compile(self, text, name="r"):
        src = os.path.join(self.tmp, name)
        with open(src, "w") as f:
            f.write(text)
        with open(src, "rb") as f:
            return subprocess.run([TCPRULES, src + ".cdb", src + ".tmp"],
                                  stdin=f, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True,
                                  timeout=10)

    def check(self, cdb, addr):
        p = subprocess.run([TCPRULES, "-t", cdb, addr],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def test_bad_lines_are_refused_by_line(self):
        good = self.compile("127.:allow\n")
        self.assertEqual(good.returncode, 0, good.stderr)
        cdb = os.path.join(self.tmp, "r.cdb")
        with open(cdb, "rb") as f:
            before = f.read()
        for bad in ("1.2.3.256:allow", "1.2.3:allow", "just words",
                    "127.:allow,RELAYCLIENT", "127.:allow,TCPREMOTEIP=x",
                    "::1/129:allow", "10.0.0.1/8:allow", "127.:permit",
                    "127.:allow,X=\"unterminated", "1.2.3.4-2:allow",
                    "2001:db8::1-2:allow", "127.:allow,1X=y",
                    "127.:allow,X=1,X=2", "010.:allow"):
            p = self.compile("# comment\n\n%s\n:allow\n" % bad)
            self.assertEqual(p.returncode, 100, bad)
            self.assertIn("line 3:", p.stderr, bad)
            self.assertEqual(len([l for l in p.stderr.splitlines()
                                  if "line 3" in l]), 1, p.stderr)
            with open(cdb, "rb") as f:
                self.assertEqual(f.read(), before, bad)
            self.assertFalse(os.path.exists(cdb[:-4] + ".tmp"))

    def test_matching(self):
        p = self.compile("10.:allow,A=10\n"
                         "10.1.0.0/16:deny\n"
                         "10.1.2.:allow,A=10.1.2\n"
                         "2001:db8::allow,A=db8\n"
                         "2001:db8:1::/48:deny\n"
                         "::ffff:192.168.0.0/112:allow,A=mapped\n"
                         "0.0.0.0/0:allow,A=v4\n"
                         ":deny\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        cdb = os.path.join(self.tmp, "r.cdb")
        self.assertIn("allow 10.9.9.9: rule line 1", self.check(cdb, "10.9.9.9"))
        self.assertIn("deny 10.1.9.9: rule line 2", self.check(cdb, "10.1.9.9"))
        self.assertIn("A=10.1.2", self.check(cdb, "10.1.2.3"))
        self.assertIn("A=db8", self.check(cdb, "2001:DB8:0::5"))
        self.assertIn("deny 2001:db8:1::5", self.check(cdb, "2001:db8:1::5"))
        self.assertIn("A=mapped", self.check(cdb, "192.168.7.7"))
        self.assertIn("A=mapped", self.check(cdb, "::ffff:192.168.7.7"))
        self.assertIn("A=v4", self.check(cdb, "8.8.8.8"))
        self.assertIn("deny 2001:db9::1: rule line 8",
                      self.check(cdb, "2001:db9::1"))

    def test_duplicates_warn_and_first_wins(self):
        p = self.compile("1.2.3.4-7:deny\n1.2.3.5:allow\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("line 2", p.stderr)
        self.assertIn("deny", self.check(os.path.join(self.tmp, "r.cdb"),
                                         "1.2.3.5"))

    def test_usage_and_unwritable(self):
        p = subprocess.run([TCPRULES], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        self.assertEqual(p.returncode, 100)
        p = subprocess.run([TCPRULES, "/nonexistent/x.cdb",
                            "/nonexistent/x.tmp"], input=":allow\n",
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        self.assertEqual(p.returncode, 111)
        self.assertIn("/nonexistent/x.tmp", p.stderr)


class TestLimits(TcpdCase):
    def test_global_limit(self):
        hold = self.script("hold", HOLD)
        proc, port = self.start("-c", "3", "-C", "10", "-m", "421 busy",
                                program=(hold,))
        held = [self.hold("127.0.0.1", port) for _ in range(3)]
        # the 4th: one line and closed at once, from any address
        self.assertEqual(self.refused_at_once("127.0.0.1", port,
                                              source="127.0.0.7"),
                         b"421 busy\r\n")
        self.wait_log(proc, "refuse remote 127.0.0.7")
        held.pop().close()
        # once that session ends, there is room again
        s = qmtest.wait_until(lambda: self._try_hold(port), 5)
        self.assertTrue(s, self.log(proc))
        for h in held:
            h.close()

    def _try_hold(self, port):
        s = self.connect("127.0.0.1", port)
        data = s.recv(100)
        if data.startswith(b"ready"):
            return s
        s.close()
        return None

    def test_per_address_limit(self):
        hold = self.script("hold", HOLD)
        proc, port = self.start("-c", "10", "-C", "2", program=(hold,))
        held = [self.hold("127.0.0.1", port) for _ in range(2)]
        self.assertEqual(self.refused_at_once("127.0.0.1", port), b"")
        self.wait_log(proc, "from this address (-C 2)")
        # another client is not affected
        other = self.hold("127.0.0.1", port, source="127.0.0.2")
        other.sendall(b"ping\n")
        self.assertEqual(other.recv(100), b"ping\n")
        for h in held:
            h.close()
        self.assertTrue(qmtest.wait_until(lambda: self._try_hold(port), 5))


class TestRobustness(TcpdCase):
    def test_sigterm_stops_listening_sessions_go_on(self):
        hold = self.script("hold", HOLD)
        proc, port = self.start(program=(hold,))
        s = self.hold("127.0.0.1", port)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(5), 0)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), 2).close()
        s.sendall(b"still here\n")
        self.assertEqual(s.recv(100), b"still here\n")
        self.assertIn("SIGTERM", self.log(proc))

    def test_connect_and_close_at_once(self):
        proc, port = self.start("-C", "100")
        for i in range(50):
            s = socket.socket()
            s.connect(("127.0.0.1", port))
            if i % 2:   # RST instead of FIN
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
        self.assertEqual(self.env_of("127.0.0.1", port)["PROTO"], "TCP")
        self.assertIsNone(proc.poll())

    def test_many_sequential_connections(self):
        proc, port = self.start("-q", program=(TRUE,))
        self.talk("127.0.0.1", port)
        before = fd_count(proc.pid)
        for _ in range(2000):
            s = socket.create_connection(("127.0.0.1", port), 5)
            s.settimeout(5)
            self.assertEqual(s.recv(10), b"")
            s.close()
        self.assertIsNone(proc.poll())
        self.assertEqual(fd_count(proc.pid), before)
        self.assertEqual(self.log(proc), "")  # -q: nothing to say

    def test_many_concurrent_connections(self):
        hold = self.script("hold", HOLD)
        proc, port = self.start("-c", "400", "-C", "400", program=(hold,))
        before = fd_count(proc.pid)
        socks = [self.connect("127.0.0.1", port, timeout=20)
                 for _ in range(300)]
        for s in socks:
            self.assertEqual(s.recv(6), b"ready\n")
        for i, s in enumerate(socks):
            s.sendall(b"%d\n" % i)
        for i, s in enumerate(socks):
            self.assertEqual(s.recv(100), b"%d\n" % i)
        self.assertIn("sessions 300/400", self.log(proc))
        for s in socks:
            s.close()
        self.wait_log(proc, "sessions 0/400", 15)
        self.assertEqual(fd_count(proc.pid), before)
        self.assertTrue(self._served(port))

    def _served(self, port):
        s = self.hold("127.0.0.1", port)
        s.close()
        return True

    def test_bad_command_lines(self):
        def run(*args):
            return subprocess.run([TCPD] + list(args),
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True,
                                  timeout=10)
        for args in ([], ["127.0.0.1", "25"], ["-c", "0", "127.0.0.1", "1",
                                               TRUE],
                     ["-Z", "127.0.0.1", "1", TRUE],
                     ["127.0.0.1", "99999", TRUE],
                     ["localhost", "2525", TRUE],
                     ["-m", "bad\x01", "127.0.0.1", "1", TRUE]):
            p = run(*args)
            self.assertEqual(p.returncode, 100, (args, p.stderr))
            self.assertTrue(p.stderr.strip(), args)
        # the port is taken: one line naming it
        busy = socket.socket()
        self.addCleanup(busy.close)
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        taken = busy.getsockname()[1]
        p = run("127.0.0.1", str(taken), TRUE)
        self.assertEqual(p.returncode, 111)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        self.assertIn(str(taken), p.stderr)
        p = run("127.0.0.1", str(qmtest.free_port()),
                os.path.join(self.tmp, "no-such-program"))
        self.assertEqual(p.returncode, 111)
        self.assertIn("no-such-program", p.stderr)

    def test_privileges_are_dropped(self):
        if os.geteuid() != 0:
            self.skipTest("needs root (-u/-g)")
        cdb = self.rules(":allow,R=1\n")
        os.chmod(cdb, 0o644)
        proc, port = self.start("-u", "nobody", "-g", "nogroup", "-x", cdb,
                                program=(ID,))
        s, data = self.talk("127.0.0.1", port)
        out = data.decode()
        nobody = subprocess.run([ID, "-u", "nobody"], stdout=subprocess.PIPE,
                                text=True).stdout.strip()
        self.assertIn("uid=%s(" % nobody, out)
        self.assertNotIn("(root)", out)
        with open("/proc/%d/status" % proc.pid) as f:
            status = f.read()
        uid_line = [l for l in status.splitlines() if l.startswith("Uid:")][0]
        self.assertEqual(uid_line.split()[1:], [nobody] * 4)
        groups = [l for l in status.splitlines()
                  if l.startswith("Groups:")][0].split()[1:]
        self.assertNotIn("0", groups)
        # rules the servers' user cannot read: refused at start, one line
        private = os.path.join(self.tmp, "private")
        os.mkdir(private, 0o700)
        shutil.copy(cdb, private)
        proc, port = self.start("-u", "nobody", "-g", "nogroup", "-x",
                                os.path.join(private, "rules.cdb"),
                                wait=False)
        self.assertEqual(proc.wait(10), 111)
        self.assertIn("Permission denied", self.log(proc))


class TestQmailctl(unittest.TestCase):
    """qmailctl init writes and compiles the rules; start runs the network
    services under qmail-tcpd with them."""

    def setUp(self):
        qmtest.require(self, "qmailctl", "qmail-tcpd", "qmail-tcprules",
                       "qmail-start", "qmail-send")
        self.q = qmtest.Instance.for_test(self)

    def check(self, name, addr):
        p = subprocess.run([TCPRULES, "-t", self.q.path("control",
                                                        name + ".cdb"),
                            addr], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def test_init_writes_default_rules(self):
        text = self.q.control("tcp.smtp")
        self.assertIn('127.:allow,RELAYCLIENT=""', text)
        self.assertIn('::1:allow,RELAYCLIENT=""', text)
        self.assertIn("RELAYCLIENT=", self.check("tcp.smtp", "127.0.0.1"))
        self.assertIn("RELAYCLIENT=", self.check("tcp.smtp", "::1"))
        out = self.check("tcp.smtp", "192.0.2.1")
        self.assertTrue(out.startswith("allow"), out)
        self.assertNotIn("RELAYCLIENT", out)
        self.assertTrue(self.check("tcp.qmqp", "192.0.2.1").startswith("deny"))
        self.assertTrue(self.check("tcp.qmqp", "127.0.0.1").startswith("allow"))
        self.assertTrue(self.check("tcp.pop3", "192.0.2.1").startswith("allow"))
        # init again: a removed cdb is compiled again, edits are kept
        os.unlink(self.q.path("control", "tcp.smtp.cdb"))
        with open(self.q.path("control", "tcp.smtp"), "a") as f:
            f.write("192.0.2.1:deny\n")
        p = self.q.ctl("init", self.q.dir)
        self.assertIn("tcp.smtp.cdb", p.stdout)
        self.assertTrue(self.check("tcp.smtp", "192.0.2.1").startswith("deny"))

    def test_smtp_port_is_served_by_tcpd(self):
        """With a stand-in qmail-smtpd that prints its environment (the
        real one is another part of the work), in a bin directory of its
        own beside a copy of qmailctl."""
        fakebin = os.path.join(self.q.tmp, "bin")
        os.mkdir(fakebin)
        for name in os.listdir(qmtest.BIN):
            if name in ("qmailctl", "qmail-smtpd"):
                continue
            os.symlink(qmtest.bin_path(name), os.path.join(fakebin, name))
        shutil.copy2(qmtest.bin_path("qmailctl"), fakebin)
        with open(os.path.join(fakebin, "qmail-smtpd"), "w") as f:
            f.write("#!/bin/sh\nenv\n")
        os.chmod(os.path.join(fakebin, "qmail-smtpd"), 0o755)
        ctl = os.path.join(fakebin, "qmailctl")

        def run(*args):
            return subprocess.run([ctl] + list(args), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True,
                                  timeout=60)
        self.addCleanup(run, "stop", self.q.dir)
        p = run("start", self.q.dir)
        self.assertEqual(p.returncode, 0, p.stderr + self.q.describe())
        port = self.q.ports["smtp"]
        with socket.create_connection(("127.0.0.1", port), 5) as s:
            s.settimeout(5)
            data = b""
            while True:
                b = s.recv(4096)
                if not b:
                    break
                data += b
        env = parse_env(data)
        self.assertEqual(env["TCPLOCALPORT"], str(port))
        self.assertEqual(env["RELAYCLIENT"], "")
        self.assertEqual(env["QMAILHOME"], self.q.dir)
        with open(self.q.path("run", "smtpd.pid")) as f:
            pid = int(f.read())
        with open("/proc/%d/comm" % pid) as f:
            self.assertEqual(f.read().strip(), "qmail-tcpd")
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv = f.read().split(b"\0")
        self.assertIn(self.q.path("control", "tcp.smtp.cdb").encode(), argv)
        st = run("status", self.q.dir)
        self.assertIn("smtpd: running", st.stdout)
        p = run("stop", self.q.dir)
        self.assertEqual(p.returncode, 0, p.stderr)
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", port), 1).close()

    def test_real_smtpd(self):
        qmtest.require(self, "qmail-smtpd")
        self.q.start()
        with socket.create_connection(("127.0.0.1", self.q.ports["smtp"]),
                                      5) as s:
            s.settimeout(5)
            self.assertTrue(s.recv(512).startswith(b"220"))


if __name__ == "__main__":
    unittest.main()

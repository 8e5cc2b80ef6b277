"""Reused SMTP servers: qmail-tcpd -R N hands connection after connection
to the same qmail-smtpd (qmail-tcpd(8) "Reused servers",
control/serverreuse).

Checks that many sessions from several clients are served, that a worker
serves several of them, that nothing of one connection's environment
(RELAYCLIENT, DATABYTES) reaches the next on the same worker, that
control-file changes apply at once, that the per-client limit still
holds, that a worker killed by SIGKILL or by its sandbox is logged and
the service goes on, and that -R 1 is a fresh process per connection.

A real instance started by qmailctl, clients on 127.0.0.1, 127.0.0.2 and
127.0.0.3 (all loopback), with rules that differ per address."""

import os
import re
import signal
import smtplib
import socket
import subprocess
import threading
import unittest

import qmtest

PROGRAMS = ("qmailctl", "qmail-tcpd", "qmail-tcprules", "qmail-smtpd",
            "qmail-start")

RULES = ('127.0.0.1:allow,RELAYCLIENT="",GREETDELAY="0"\n'
         '127.0.0.2:allow,GREETDELAY="0",DATABYTES="300"\n'
         '127.:allow,RELAYCLIENT="",GREETDELAY="0"\n'
         ':allow\n')

CONNECT = re.compile(r"qmail-smtpd: (\d+): connect from (\S+)")
START = re.compile(r"qmail-tcpd: start pid (\d+) remote (\S+) port (\d+)"
                   r".*?( worker session (\d+)/(\d+))? sessions")


def message(size=100, subject="reuse"):
    body = b"x" * 60 + b"\r\n"
    text = b"Subject: " + subject.encode() + b"\r\n\r\n"
    while len(text) < size:
        text += body
    return text


class ReuseBase(unittest.TestCase):

    def setUp(self):
        missing = [p for p in PROGRAMS if not qmtest.have(p)]
        if missing:
            self.skipTest("bin/%s not built yet" % ", bin/".join(missing))

    # ---- helpers -----------------------------------------------------

    def instance(self, reuse="5", perip=None, start=True):
        q = qmtest.Instance.for_test(self)
        q.adduser("alice")
        q.set_control("greetdelay", "0")
        q.set_control("serverreuse", reuse)
        if perip:
            q.set_control("concurrencyperip", perip)
        self.rules(q, RULES)
        self.q = q
        self.base = 0
        if start:
            q.start()
            # qmailctl start's own test connection is a session too: wait
            # for its end, then look only at what follows
            self.wait_log(lambda t: self.ends() >= 1, "no first session")
            self.base = len(q.log_text("smtpd"))
        return q

    def rules(self, q, text):
        q.set_control("tcp.smtp", text)
        with open(q.path("control", "tcp.smtp"), "rb") as f:
            subprocess.run([qmtest.bin_path("qmail-tcprules"),
                            q.path("control", "tcp.smtp.cdb"),
                            q.path("control", "tcp.smtp.tmp")],
                           stdin=f, check=True, timeout=30,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)

    def log(self):
        """The smtpd log since the instance was ready."""
        return self.q.log_text("smtpd")[self.base:]

    def wait_log(self, pred, what, timeout=20):
        if not qmtest.wait_until(lambda: pred(self.log()), timeout):
            self.fail("%s\n%s" % (what, self.q.describe()))

    def smtp(self, source="127.0.0.1"):
        c = smtplib.SMTP("127.0.0.1", self.q.ports["smtp"], timeout=30,
                         source_address=(source, 0))
        self.addCleanup(self._close, c)
        return c

    @staticmethod
    def _close(c):
        try:
            c.close()
        except OSError:
            pass

    def ends(self):
        return self.log().count(" done after ") + \
            len(re.findall(r"qmail-tcpd: end pid \d+ .* (status|killed)",
                           self.log()))

    def session(self, source, fn):
        """One whole session from source; waits until qmail-tcpd has seen
        it end, so the next one finds the worker idle.  Returns (the
        worker's pid, what fn returned)."""
        before = self.ends()
        c = self.smtp(source)
        port = c.sock.getsockname()[1]
        out = fn(c)
        try:
            c.quit()
        except smtplib.SMTPServerDisconnected:
            pass
        self.wait_log(lambda t: self.ends() > before,
                      "session from %s port %d did not end" % (source, port))
        pids = [int(m.group(1)) for m in START.finditer(self.log())
                if m.group(2) == source and int(m.group(3)) == port]
        self.assertEqual(len(pids), 1, self.log())
        return pids[0], out

    def relay(self, c):
        c.ehlo("client.test")
        c.mail("a@client.test")
        return c.rcpt("someone@far.test")[0]

    def send_big(self, c):
        c.ehlo("client.test")
        c.mail("a@client.test")
        c.rcpt("alice@localhost")
        try:
            return c.data(message(1000))[0]
        except smtplib.SMTPResponseException as e:
            return e.smtp_code

    def tcpd_pid(self):
        with open(self.q.path("run", "smtpd.pid")) as f:
            return int(f.read().strip())

    def workers(self):
        """Pids of the qmail-smtpd processes below qmail-tcpd."""
        tcpd = self.tcpd_pid()
        out = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % name) as f:
                    st = f.read()
            except OSError:
                continue
            comm = st[st.index("(") + 1:st.rindex(")")]
            ppid = int(st[st.rindex(")") + 2:].split()[1])
            if ppid == tcpd and comm == "qmail-smtpd":
                out.append(int(name))
        return out



class ReuseTest(ReuseBase):

    def test_worker_serves_several_sessions(self):
        self.instance(reuse="3")
        pids = [self.session("127.0.0.1", self.relay)[0] for _ in range(7)]
        # qmailctl start's test connection was the first worker's first
        # session: then 3 per worker
        self.assertEqual(len(set(pids[0:2])), 1, pids)
        self.assertEqual(len(set(pids[2:5])), 1, pids)
        self.assertEqual(len(set(pids[5:7])), 1, pids)
        self.assertEqual(len(set(pids)), 3, pids)
        # the log names the session of each worker
        self.assertEqual(
            [int(m.group(5)) for m in START.finditer(self.log())],
            [2, 3, 1, 2, 3, 1, 2])

    def test_relayclient_does_not_leak_to_next_client(self):
        self.instance(reuse="50")
        p1, code1 = self.session("127.0.0.1", self.relay)
        p2, code2 = self.session("127.0.0.2", self.relay)
        p3, code3 = self.session("127.0.0.1", self.relay)
        p4, code4 = self.session("127.0.0.2", self.relay)
        self.assertEqual({p1, p2, p3, p4}, {p1}, "not one worker")
        self.assertEqual(code1, 250)     # RELAYCLIENT from the rule
        self.assertEqual(code2, 553)     # not for 127.0.0.2
        self.assertEqual(code3, 250)
        self.assertEqual(code4, 553)

    def test_databytes_does_not_leak_to_next_client(self):
        self.instance(reuse="50")
        p1, code1 = self.session("127.0.0.2", self.send_big)
        p2, code2 = self.session("127.0.0.1", self.send_big)
        self.assertEqual(p1, p2, "not one worker")
        self.assertEqual(code1, 552)     # DATABYTES=300 for 127.0.0.2
        self.assertEqual(code2, 250)
        self.assertTrue(self.q.wait_for_messages("alice", 1, 20))
        # and the log says which client each session was
        clients = [m.group(2) for m in CONNECT.finditer(self.log())]
        self.assertEqual(clients, ["127.0.0.2", "127.0.0.1"])

    def test_control_change_applies_to_next_session(self):
        self.instance(reuse="50")
        p1, banner1 = self.session("127.0.0.1", lambda c: c.ehlo()[1])
        self.q.set_control("me", "changed.test")
        p2, banner2 = self.session("127.0.0.1", lambda c: c.ehlo()[1])
        self.assertEqual(p1, p2, "not one worker")
        self.assertTrue(banner1.startswith(b"localhost"), banner1)
        self.assertTrue(banner2.startswith(b"changed.test"), banner2)

    def test_many_sessions_from_several_clients(self):
        self.instance(reuse="20")
        sources = ["127.0.0.1", "127.0.0.3"]
        per_thread, threads = 8, 6
        errors = []

        def client(source, n):
            try:
                for i in range(per_thread):
                    with smtplib.SMTP("127.0.0.1", self.q.ports["smtp"],
                                      timeout=60,
                                      source_address=(source, 0)) as c:
                        refused = c.sendmail(
                            "a@client.test", ["alice@localhost"],
                            message(200, "t%d-%d" % (n, i)))
                        if refused:
                            errors.append(refused)
            except Exception as e:   # reported below
                errors.append(repr(e))
        ts = [threading.Thread(target=client, args=(sources[n % 2], n))
              for n in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        self.assertEqual(errors, [])
        total = per_thread * threads
        self.assertTrue(self.q.wait_for_messages("alice", total, 60),
                        self.q.describe())
        self.assertEqual(len(self.q.message_files("alice")), total)
        subjects = set()
        for path in self.q.message_files("alice"):
            with open(path, "rb") as f:
                m = re.search(rb"Subject: (t\d+-\d+)", f.read())
            subjects.add(m.group(1))
        self.assertEqual(len(subjects), total)
        starts = list(START.finditer(self.log()))
        self.assertEqual(len(starts), total)
        # fewer processes than sessions: workers were reused
        self.assertLess(len({m.group(1) for m in starts}), total)

    def test_per_client_limit_holds(self):
        self.instance(reuse="50", perip="2")
        a = self.smtp("127.0.0.1")
        b = self.smtp("127.0.0.1")
        self.assertEqual(a.noop()[0], 250)
        self.assertEqual(b.noop()[0], 250)
        # a third from the same address is refused, another address not
        with socket.create_connection(("127.0.0.1", self.q.ports["smtp"]),
                                      timeout=10) as s3:
            self.assertTrue(s3.recv(512).startswith(b"421"))
        other = self.smtp("127.0.0.2")
        self.assertEqual(other.noop()[0], 250)
        # when one ends (its worker says so), there is room again
        before = self.ends()
        a.quit()
        self.wait_log(lambda t: self.ends() > before, "no end")
        c = self.smtp("127.0.0.1")
        self.assertEqual(c.noop()[0], 250)
        for x in (b, other, c):
            x.quit()

    def test_killed_worker_does_not_stop_the_service(self):
        self.instance(reuse="50", perip="2")
        # an idle worker
        self.session("127.0.0.1", self.relay)
        idle = self.workers()
        self.assertEqual(len(idle), 1, idle)
        os.kill(idle[0], signal.SIGKILL)
        self.wait_log(lambda t: "worker pid %d killed by signal 9" % idle[0]
                      in t, "idle worker's death not logged")
        # a busy one: its client loses the connection, nothing else
        c = self.smtp("127.0.0.1")
        self.assertEqual(c.noop()[0], 250)
        busy = [int(m.group(1)) for m in CONNECT.finditer(self.log())][-1]
        os.kill(busy, signal.SIGKILL)
        with self.assertRaises((smtplib.SMTPServerDisconnected, OSError)):
            c.noop()
            c.noop()
        self.wait_log(lambda t: re.search(r"end pid %d remote 127.0.0.1 .*"
                                          r"killed by signal 9" % busy, t),
                      "busy worker's death not logged")
        # the service goes on, and the per-client count was given back:
        # two more sessions from the same address fit under -C 2
        d = self.smtp("127.0.0.1")
        e = self.smtp("127.0.0.1")
        self.assertEqual(d.noop()[0], 250)
        self.assertEqual(e.noop()[0], 250)
        refused = d.sendmail("a@client.test", ["alice@localhost"],
                             message(100))
        self.assertEqual(refused, {})
        d.quit()
        e.quit()

    def test_selftest_rule_gets_a_fresh_process(self):
        # variables read at start (QMAIL...) cannot apply to a worker:
        # such a rule gets a fresh process, which its sandbox kills
        self.instance(reuse="50")
        self.session("127.0.0.1", self.relay)
        self.rules(self.q, '127.0.0.2:allow,GREETDELAY="0",'
                           'QMAIL_SANDBOX_SELFTEST="syscall:ptrace"\n'
                   + RULES)
        with socket.create_connection(("127.0.0.1", self.q.ports["smtp"]),
                                      timeout=10,
                                      source_address=("127.0.0.2", 0)) as s:
            self.assertEqual(s.recv(512), b"")
        self.wait_log(lambda t: "killed by signal 31 SIGSYS" in t,
                      "no SIGSYS")
        line = [x for x in self.log().splitlines()
                if "remote 127.0.0.2" in x and "start pid" in x][0]
        self.assertNotIn("worker session", line)
        # the worker of the other clients is still there and serving
        p, code = self.session("127.0.0.1", self.relay)
        self.assertEqual(code, 250)
        self.assertIn("worker session 2/50", self.log())

    def test_reuse_1_is_a_fresh_process_per_connection(self):
        self.instance(reuse="1")
        pids = [self.session("127.0.0.1", self.relay)[0] for _ in range(3)]
        self.assertEqual(len(set(pids)), 3, pids)
        self.assertNotIn("worker session", self.log())
        self.assertIn("status 0", self.log())


class SandboxAtStartTest(ReuseBase):
    """qmail-tcpd run by hand with QMAIL_SANDBOX_SELFTEST in its own
    environment: every worker runs the self-test once, when it enters its
    sandbox at start, not per session."""

    def tcpd(self, selftest):
        q = self.instance(reuse="50", start=False)
        port = qmtest.free_port()
        q.ports["smtp"] = port
        logpath = q.path("log", "smtpd.log")
        os.makedirs(os.path.dirname(logpath), exist_ok=True)
        log = open(logpath, "ab")
        self.addCleanup(log.close)
        env = dict(os.environ, QMAILHOME=q.dir,
                   QMAIL_SANDBOX_SELFTEST=selftest)
        proc = subprocess.Popen(
            [qmtest.bin_path("qmail-tcpd"), "-R", "50", "-x",
             q.path("control", "tcp.smtp.cdb"), "127.0.0.1", str(port),
             qmtest.bin_path("qmail-smtpd")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=log, env=env, start_new_session=True)

        def stop():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
        self.addCleanup(stop)
        self.wait_log(lambda t: "listening on" in t, "qmail-tcpd not up")
        return proc

    def test_selftest_runs_once_per_worker(self):
        self.tcpd("open:control/me")
        pids = [self.session("127.0.0.1", self.relay)[0] for _ in range(3)]
        self.assertEqual(len(set(pids)), 1, pids)
        self.assertEqual(self.log().count("qmail-smtpd opened control/me"),
                         1, self.log())

    def test_worker_killed_by_its_sandbox_is_logged_and_replaced(self):
        proc = self.tcpd("syscall:ptrace")
        for n in (1, 2):
            with socket.create_connection(("127.0.0.1",
                                           self.q.ports["smtp"]),
                                          timeout=10) as s:
                self.assertEqual(s.recv(512), b"")
            self.wait_log(lambda t: t.count("killed by signal 31 SIGSYS")
                          >= n, "no SIGSYS")
        self.assertIsNone(proc.poll(), "qmail-tcpd died")
        killed = re.findall(r"end pid (\d+) remote 127.0.0.1 .*killed by "
                            r"signal 31 SIGSYS", self.log())
        self.assertEqual(len(set(killed)), 2, self.log())



class ByHandTest(ReuseBase):
    """qmail-tcpd run by hand (cwd, environment and limits chosen by the
    test): what a worker's later sessions see must be what a fresh
    server would."""

    def by_hand(self, reuse="50", env=None, relative_home=False, args=(),
                rules=None, nofile=None):
        q = self.instance(reuse=reuse, start=False)
        if rules is not None:
            self.rules(q, rules)
        port = qmtest.free_port()
        q.ports["smtp"] = port
        logpath = q.path("log", "smtpd.log")
        os.makedirs(os.path.dirname(logpath), exist_ok=True)
        log = open(logpath, "ab")
        self.addCleanup(log.close)
        full = dict(os.environ, QMAILHOME=q.dir)
        full.update(env or {})
        cwd = None
        if relative_home:
            cwd, full["QMAILHOME"] = os.path.split(q.dir)

        def limits():
            if nofile:
                import resource
                hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, hard))
        proc = subprocess.Popen(
            [qmtest.bin_path("qmail-tcpd"), "-R", reuse] + list(args) +
            ["-x", q.path("control", "tcp.smtp.cdb"), "127.0.0.1",
             str(port), qmtest.bin_path("qmail-smtpd")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=log, env=full, cwd=cwd, start_new_session=True,
            preexec_fn=limits)

        def stop():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
        self.addCleanup(stop)
        self.wait_log(lambda t: "listening on" in t, "qmail-tcpd not up")
        return proc

    def send(self, c):
        c.ehlo("client.test")
        c.mail("a@client.test")
        c.rcpt("alice@localhost")
        try:
            return c.data(message(100))[0]
        except smtplib.SMTPResponseException as e:
            return e.smtp_code

    def test_later_sessions_keep_absolute_qmailhome(self):
        # qmail-smtpd makes $QMAILHOME absolute for qmail-queue once it is
        # in its home; a worker's later sessions must get that too, not
        # the listener's relative one (qmail-queue would not find it)
        self.by_hand(relative_home=True)
        got = [self.session("127.0.0.1", self.send) for _ in range(3)]
        self.assertEqual(len({p for p, _ in got}), 1, got)
        self.assertEqual([code for _, code in got], [250, 250, 250],
                         self.log())

    def test_listener_host_variables_do_not_reach_later_sessions(self):
        # a fresh server never has the listener's own TCPREMOTEHOST (it is
        # removed, like TCPREMOTEINFO); a worker whose first client's
        # rule set one must not give the listener's to the next client
        self.by_hand(env={"TCPREMOTEHOST": "listener.example",
                          "TCPREMOTEINFO": "listener-info"},
                     rules='127.0.0.2:allow,GREETDELAY="0",'
                           'TCPREMOTEHOST="rule.example",'
                           'TCPREMOTEINFO="rule-info"\n' + RULES)
        p1, _ = self.session("127.0.0.2", lambda c: c.noop())
        p2, _ = self.session("127.0.0.1", lambda c: c.noop())
        self.assertEqual(p1, p2, "not one worker")
        lines = [m.group(0) for m in
                 re.finditer(r"connect from \S+.*", self.log())]
        self.assertIn("(rule.example)", lines[0])
        self.assertNotIn("listener.example", lines[1], lines)
        self.assertNotIn("(", lines[1], lines)

    def test_many_workers_within_a_low_descriptor_limit(self):
        # one socket per worker in qmail-tcpd: -c sessions must fit even
        # when its soft descriptor limit is low (fresh servers need none)
        self.by_hand(args=("-c", "60", "-C", "60"), nofile=32)
        conns = []
        for i in range(40):
            s = socket.create_connection(("127.0.0.1", self.q.ports["smtp"]),
                                         timeout=20)
            self.addCleanup(s.close)
            conns.append(s)
        for s in conns:
            self.assertTrue(s.recv(512).startswith(b"220"), self.log())
        for s in conns:
            s.sendall(b"QUIT\r\n")
            self.assertTrue(s.recv(512).startswith(b"221"))


HOSTILE_WORKER = r"""
import array, os, socket, sys, time
ctl = socket.socket(fileno=3)
ctl.recv(200000)                       # the B message
os.write(1, b"220 hostile\r\n")
fds = array.array("i", [0, 1, 2, 0, 1, 2, 0, 1])
ctl.sendmsg([b"D"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
ctl.send(b"D")                         # done twice
ctl.sendmsg([b"X"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
try:
    ctl.send(b"Q" * 150000)            # far more than one byte
except OSError:
    pass
os.close(0)
os.close(1)
time.sleep(int(sys.argv[1]))
"""


class HostileWorkerTest(ReuseBase):
    """A worker that lies: qmail-tcpd takes nothing from it but the one
    byte, keeps no descriptor it sends, and goes on serving."""

    def test_hostile_worker(self):
        q = self.instance(reuse="5", start=False)
        script = q.path("hostile.py")
        with open(script, "w") as f:
            f.write(HOSTILE_WORKER)
        port = qmtest.free_port()
        logpath = q.path("log", "hostile.log")
        os.makedirs(os.path.dirname(logpath), exist_ok=True)
        log = open(logpath, "ab")
        self.addCleanup(log.close)
        proc = subprocess.Popen(
            [qmtest.bin_path("qmail-tcpd"), "-R", "5", "-C", "1",
             "127.0.0.1", str(port), "/usr/bin/python3", script, "30"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=log, start_new_session=True)

        def stop():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
        self.addCleanup(stop)

        def text():
            with open(logpath, errors="replace") as f:
                return f.read()
        self.assertTrue(qmtest.wait_until(lambda: "listening on" in text(),
                                          20), text())
        fdir = "/proc/%d/fd" % proc.pid
        before = len(os.listdir(fdir))
        for n in range(1, 4):
            with socket.create_connection(("127.0.0.1", port),
                                          timeout=20) as s:
                self.assertTrue(s.recv(512).startswith(b"220 hostile"))
                self.assertEqual(s.recv(512), b"")
            self.assertEqual(text().count("worker session 1/5"), n, text())
            # each worker is let go after its lies (its socket closed, no
            # descriptor it sent kept): none is handed another connection
            self.assertTrue(qmtest.wait_until(
                lambda: len(os.listdir(fdir)) <= before, 20), text())
        self.assertIsNone(proc.poll(), "qmail-tcpd died\n" + text())
        self.assertNotIn("worker session 2/5", text())
        # and the per-client count (-C 1) was given back every time
        self.assertNotIn("refuse", text())


if __name__ == "__main__":
    unittest.main()

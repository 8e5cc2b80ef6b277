"""qmtest: the helper every black-box test imports.

It runs a real instance in a temporary directory on free loopback ports,
through bin/qmailctl, and cleans up after itself even when a test fails.
Standard library only; run by /usr/bin/python3.

Typical use in a unittest.TestCase:

    import qmtest

    class TestDelivery(unittest.TestCase):
        def setUp(self):
            qmtest.require(self, "qmail-start", "sendmail")
            self.q = qmtest.Instance.for_test(self)  # init'ed, cleaned up
            self.q.adduser("alice", password="pw")
            self.q.start()

        def test_local(self):
            self.q.sendmail(["alice@localhost"], b"Subject: hi\\n\\nhello\\n")
            msgs = self.q.wait_for_messages("alice", 1)
            self.assertIn(b"hello", msgs[0].as_bytes())

Outside unittest, use it as a context manager:

    with qmtest.Instance() as q:
        q.init(); q.start(); ...

Instance.cleanup() stops whatever the instance runs (qmailctl stop, then
SIGKILL to what is left, by the pid files) and removes the temporary
directory.  Set QMTEST_KEEP=1 to keep the directory for a post-mortem.
"""

import mailbox
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.join(ROOT, "bin")

# option of `qmailctl init` -> control file, per service
PORTS = {
    "smtp": "control/smtpport",
    "pop3": "control/pop3port",
    "qmtp": "control/qmtpport",
    "qmqp": "control/qmqpport",
    "submission": "control/submissionport",
}


def bin_path(name):
    """Absolute path of a program in bin/."""
    return os.path.join(BIN, name)


def have(name):
    """True if bin/NAME exists and is executable."""
    return os.access(bin_path(name), os.X_OK)


def require(testcase, *programs):
    """Skip the test (with a clear message) unless every program exists in
    bin/: parts of the system arrive in later issues."""
    missing = [p for p in programs if not have(p)]
    if missing:
        testcase.skipTest("bin/%s not built yet" % ", bin/".join(missing))


def free_port(host="127.0.0.1"):
    """A TCP port that is free on host right now."""
    return free_ports(1, host)[0]


def free_ports(n, host="127.0.0.1"):
    """n distinct free ports (all held open together while choosing)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(family, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_until(predicate, timeout=10.0, interval=0.05):
    """Poll predicate() until it returns something true; return that value,
    or None after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


class CommandError(AssertionError):
    """A command that should have worked did not.  An AssertionError, so a
    test reports it as a failure with the command's output."""


def _describe(proc):
    def text(b):
        if isinstance(b, bytes):
            b = b.decode("utf-8", "replace")
        return (b or "").rstrip()
    return "%s exited %s\n--- stdout:\n%s\n--- stderr:\n%s" % (
        " ".join(map(str, proc.args)), proc.returncode,
        text(proc.stdout), text(proc.stderr))


class Instance:
    """A qmail instance in a fresh temporary directory.

    Attributes: tmp (the temporary directory), dir (the instance, tmp/var),
    ports (dict service -> port, after init), hostname, started."""

    def __init__(self, hostname="localhost", prefix="qmtest-"):
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        # like a real install: mailbox owners (nobody, as root) may pass
        os.chmod(self.tmp, 0o711)
        self.dir = os.path.join(self.tmp, "var")
        self.hostname = hostname
        self.ports = {}
        self.bind = "127.0.0.1"
        self.started = False
        self._cleaned = False

    # ---- life cycle --------------------------------------------------

    @classmethod
    def for_test(cls, testcase, init=True, **init_opts):
        """An instance whose cleanup is registered with testcase.addCleanup
        (so it runs even if setUp fails later), init'ed unless init=False."""
        inst = cls(hostname=init_opts.pop("hostname", "localhost"))
        testcase.addCleanup(inst.cleanup)
        if init:
            inst.init(**init_opts)
        return inst

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False

    def ctl(self, *args, check=True, timeout=60, input=None):
        """Run bin/qmailctl ARGS; returns a CompletedProcess with text
        stdout/stderr.  check=True raises CommandError on non-zero exit."""
        proc = subprocess.run([bin_path("qmailctl")] + [str(a) for a in args],
                              input=input, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise CommandError(_describe(proc))
        return proc

    def init(self, check=True, **opts):
        """qmailctl init with free ports for every service.  Keyword
        options: hostname, bind, smtp_port, pop3_port, qmtp_port,
        qmqp_port, submission_port (given ones win)."""
        hostname = opts.pop("hostname", self.hostname)
        bind = opts.pop("bind", self.bind)
        ports = dict(zip(PORTS, free_ports(len(PORTS),
                                           "::1" if ":" in bind else
                                           "127.0.0.1")))
        for name in PORTS:
            key = name + "_port"
            if key in opts:
                ports[name] = int(opts.pop(key))
        if opts:
            raise TypeError("unknown init options: %s" % ", ".join(opts))
        args = ["init", self.dir, "--hostname", hostname, "--bind", bind]
        for name, port in ports.items():
            args += ["--%s-port" % name, port]
        proc = self.ctl(*args, check=check)
        if proc.returncode == 0:
            self.hostname, self.bind, self.ports = hostname, bind, ports
        return proc

    def adduser(self, name, password=None, check=True):
        """qmailctl adduser; the password goes through --password-file -
        (stdin), so it never shows in the process list."""
        if password is None:
            return self.ctl("adduser", self.dir, name, check=check)
        return self.ctl("adduser", self.dir, name, "--password-file", "-",
                        input=password + "\n", check=check)

    def start(self, check=True):
        proc = self.ctl("start", self.dir, check=check)
        if proc.returncode == 0:
            self.started = True
        return proc

    def stop(self, check=True):
        proc = self.ctl("stop", self.dir, check=check, timeout=90)
        if proc.returncode == 0:
            self.started = False
        return proc

    def status(self):
        """qmailctl status (never raises: its exit code is the answer)."""
        return self.ctl("status", self.dir, check=False)

    def flush(self, check=True):
        return self.ctl("flush", self.dir, check=check)

    def running(self):
        return self.status().returncode == 0

    def cleanup(self):
        """Stop everything this instance runs and remove its directory.
        Safe to call more than once and after any failure."""
        if self._cleaned:
            return
        self._cleaned = True
        try:
            if os.path.isdir(os.path.join(self.dir, "run")) and have("qmailctl"):
                try:
                    self.ctl("stop", self.dir, check=False, timeout=60)
                except subprocess.TimeoutExpired:
                    pass
            self._kill_leftovers()
        finally:
            if os.environ.get("QMTEST_KEEP") == "1":
                print("qmtest: kept %s" % self.tmp)
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)

    def _kill_leftovers(self):
        rundir = os.path.join(self.dir, "run")
        if not os.path.isdir(rundir):
            return
        for name in os.listdir(rundir):
            if not name.endswith(".pid"):
                continue
            try:
                with open(os.path.join(rundir, name)) as f:
                    pid = int(f.read().strip())
            except (OSError, ValueError):
                continue
            if pid <= 1:
                continue
            for target in (-pid, pid):   # its process group, then itself
                try:
                    os.kill(target, signal.SIGKILL)
                except OSError:
                    pass

    # ---- submitting mail -----------------------------------------------

    def env(self, extra=None):
        """The environment for programs of this instance."""
        env = dict(os.environ, QMAILHOME=self.dir)
        if extra:
            env.update(extra)
        return env

    def _submit(self, program, args, data, env, timeout):
        if isinstance(data, str):
            data = data.encode()
        return subprocess.run([bin_path(program)] + [str(a) for a in args],
                              input=data, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=self.env(env),
                              timeout=timeout)

    def sendmail(self, args, data, env=None, timeout=30):
        """Run bin/sendmail ARGS with data (bytes or str) on stdin and
        QMAILHOME set; returns the CompletedProcess (bytes output)."""
        return self._submit("sendmail", args, data, env, timeout)

    def inject(self, args, data, env=None, timeout=30):
        """Run bin/qmail-inject the same way."""
        return self._submit("qmail-inject", args, data, env, timeout)

    def queue(self, args, data, envelope, env=None, timeout=30):
        """Run bin/qmail-queue: message data on fd 0, envelope bytes on
        fd 1 (qmail-queue's protocol)."""
        if isinstance(data, str):
            data = data.encode()
        with tempfile.TemporaryFile() as envfile:
            envfile.write(envelope)
            envfile.flush()
            envfile.seek(0)
            return subprocess.run([bin_path("qmail-queue")] + list(args),
                                  input=data, stdout=envfile,
                                  stderr=subprocess.PIPE, env=self.env(env),
                                  timeout=timeout)

    # ---- looking at the results --------------------------------------

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def maildir_path(self, name):
        return self.path("mail", name, "Maildir")

    def maildir(self, name):
        """The user's Maildir as a mailbox.Maildir (messages as
        mailbox.MaildirMessage)."""
        return mailbox.Maildir(self.maildir_path(name), create=False)

    def message_files(self, name):
        """Paths of the files in the user's Maildir new/ and cur/."""
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(self.maildir_path(name), sub)
            try:
                out += [os.path.join(d, f) for f in sorted(os.listdir(d))
                        if not f.startswith(".")]
            except FileNotFoundError:
                pass
        return out

    def wait_for_messages(self, name, count, timeout=10.0):
        """Wait until the user's Maildir (new + cur) holds at least count
        messages; return them (mailbox.MaildirMessage, oldest first).
        Fails the test with the logs when they do not arrive in time."""
        if not wait_until(lambda: len(self.message_files(name)) >= count,
                          timeout):
            raise AssertionError(
                "%s: %d message(s) after %.0f s, wanted %d\n%s" %
                (self.maildir_path(name), len(self.message_files(name)),
                 timeout, count, self.describe()))
        box = self.maildir(name)
        keyed = [(box.get_message(k), k) for k in box.keys()]
        keyed.sort(key=lambda mk: (mk[0].get_date(), mk[1]))
        return [m for m, _ in keyed]

    def dotqmail(self, user, ext, lines):
        """Write the .qmail file for user (an instance user, or "alias")
        and extension ext ("" for .qmail), mode 0644, owned like the home.
        lines: a string or a list of lines."""
        if isinstance(lines, (list, tuple)):
            lines = "".join(l + "\n" for l in lines)
        home = self.path("alias") if user == "alias" else \
            self.path("mail", user)
        name = ".qmail" + ("-" + ext if ext else "")
        path = os.path.join(home, name)
        with open(path, "w") as f:
            f.write(lines)
        os.chmod(path, 0o644)
        st = os.stat(home)
        if os.geteuid() == 0:
            os.chown(path, st.st_uid, st.st_gid)
        return path

    def control(self, name):
        """Contents of control/NAME, or None if missing."""
        try:
            with open(self.path("control", name)) as f:
                return f.read()
        except FileNotFoundError:
            return None

    def set_control(self, name, value):
        """Write control/NAME (a string, or a list of lines)."""
        if isinstance(value, (list, tuple)):
            value = "".join(v + "\n" for v in value)
        elif value and not value.endswith("\n"):
            value += "\n"
        with open(self.path("control", name), "w") as f:
            f.write(value)

    def log_text(self, service="qmail-send"):
        """The service's log (log/SERVICE.log), or "" if none yet."""
        try:
            with open(self.path("log", service + ".log"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def describe(self):
        """Status and the ends of all logs, for failure messages."""
        parts = []
        try:
            parts.append("status:\n" + self.status().stdout)
        except Exception as e:   # the instance may be half made
            parts.append("status: %s" % e)
        logdir = self.path("log")
        if os.path.isdir(logdir):
            for name in sorted(os.listdir(logdir)):
                if name.endswith(".log"):
                    text = self.log_text(name[:-4])
                    parts.append("--- %s (last 40 lines):\n%s" % (
                        name, "\n".join(text.splitlines()[-40:])))
        return "\n".join(parts)


class ThreadedPeer:
    """A TCP peer for tests, served by threads: a subclass calls
    self.listen(testcase, host, port, backlog) at the end of its __init__
    and defines _session(conn, client_ip, info); accepted() (called under
    self.lock for each connection, after self.connections is counted) may
    return per-connection info.  Stopped by the test's cleanup."""

    def listen(self, testcase, host="127.0.0.1", port=0, backlog=16):
        self.lock = threading.Lock()
        self.stopping = False
        self.connections = 0
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(backlog)
        self.host, self.port = host, self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()
        testcase.addCleanup(self.stop)

    def accepted(self):
        return None

    def stop(self):
        self.stopping = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)

    def _accept(self):
        while not self.stopping:
            try:
                conn, client = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                info = self.accepted()
            threading.Thread(target=self._session,
                             args=(conn, client[0], info),
                             daemon=True).start()

"""benchlib: the measuring parts of `make bench` (standard library only).

- Watcher: inotify (through ctypes) on a Maildir's new/, recording when
  each file appears (time.monotonic()), in the asyncio loop of the client.
- run_client(): an asyncio SMTP client, SESSIONS connections at a time,
  one message per connection (like smtp-source), recording the time of
  the 250 after DATA of each message; each message carries a unique token
  in its Message-ID, so a delivered file maps back to its message.
- run_smtp_source(): Postfix's smtp-source, with the watcher running.
- PssSampler: a thread summing PSS (/proc/PID/smaps_rollup) over the
  process trees of a server, keeping the peak.
- fsync_rate(), create_rate(): what the disk can make durable per second.
"""

import asyncio
import ctypes
import math
import os
import re
import struct
import threading
import time

IN_CREATE = 0x100
IN_MOVED_TO = 0x80
IN_Q_OVERFLOW = 0x4000
_EVENT = struct.Struct("iIII")

MSG_SIZE = 4096
TOKEN_RE = re.compile(rb"Message-ID: <(bench-[0-9a-z-]+)@bench\.client>")


class Watcher:
    """Files appearing in directory `path` (a Maildir's new/), with the
    monotonic time at which inotify reported each."""

    def __init__(self, path):
        self.path = path
        self.events = []        # (name, time)
        self.overflow = False
        self._libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        wd = self._libc.inotify_add_watch(self.fd, os.fsencode(path),
                                          IN_CREATE | IN_MOVED_TO)
        if wd < 0:
            err = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(err, "inotify_add_watch %s" % path)
        self._loop = None

    def attach(self, loop):
        self._loop = loop
        loop.add_reader(self.fd, self._read)

    def _read(self):
        now = time.monotonic()
        try:
            buf = os.read(self.fd, 65536)
        except BlockingIOError:
            return
        off = 0
        while off + _EVENT.size <= len(buf):
            _wd, mask, _cookie, n = _EVENT.unpack_from(buf, off)
            off += _EVENT.size
            name = buf[off:off + n].rstrip(b"\0")
            off += n
            if mask & IN_Q_OVERFLOW:
                self.overflow = True
            elif name and not name.startswith(b"."):
                self.events.append((name.decode("utf-8", "replace"), now))

    def count(self):
        if self.overflow:   # events lost: count the directory instead
            return len(os.listdir(self.path))
        return len(self.events)

    async def wait_count(self, n, timeout):
        """Wait until n files appeared; return the time the nth appeared
        (or now, after an inotify overflow), or None after timeout."""
        deadline = time.monotonic() + timeout
        while self.count() < n:
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.005 if not self.overflow else 0.05)
        if self.overflow:
            return time.monotonic()
        return sorted(t for _, t in self.events)[n - 1]

    def reset(self):
        self.events = []
        self.overflow = False

    def close(self):
        if self._loop is not None:
            self._loop.remove_reader(self.fd)
            self._loop = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def tokens(self):
        """{token: time the file appeared}, reading each file's head."""
        out = {}
        for name, t in self.events:
            try:
                with open(os.path.join(self.path, name), "rb") as f:
                    head = f.read(4096)
            except OSError:
                continue
            m = TOKEN_RE.search(head)
            if m:
                out[m.group(1).decode()] = t
        return out


def clear_dir(path):
    """Remove the files in path (a Maildir's new/)."""
    with os.scandir(path) as it:
        for e in it:
            try:
                os.unlink(e.path)
            except OSError:
                pass


def make_message(token, sender, rcpt, size=MSG_SIZE):
    head = ("From: <%s>\r\nTo: <%s>\r\nSubject: bench %s\r\n"
            "Message-ID: <%s@bench.client>\r\n"
            "Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n\r\n" %
            (sender, rcpt, token, token)).encode()
    line = b"x" * 76 + b"\r\n"
    body = bytearray()
    while len(head) + len(body) + len(line) <= size:
        body += line
    rest = size - len(head) - len(body)
    if rest >= 3:
        body += b"y" * (rest - 2) + b"\r\n"
    return head + bytes(body)


async def _reply(reader, timeout=60):
    """One SMTP reply: its code (int)."""
    while True:
        line = await asyncio.wait_for(reader.readline(), timeout)
        if not line:
            raise ConnectionError("connection closed")
        if len(line) < 4 or line[3:4] != b"-":
            return int(line[:3])


async def _one(host, port, sender, rcpt, msg):
    """One connection, one message; return the monotonic time of the 250
    after DATA (or raise)."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port), 30)
    try:
        if await _reply(reader) != 220:
            raise ConnectionError("greeting")
        for cmd, want in ((b"EHLO bench.client\r\n", 250),
                          (b"MAIL FROM:<%s>\r\n" % sender.encode(), 250),
                          (b"RCPT TO:<%s>\r\n" % rcpt.encode(), 250),
                          (b"DATA\r\n", 354)):
            writer.write(cmd)
            code = await _reply(reader)
            if code != want:
                raise ConnectionError("%s -> %d" % (cmd.split()[0], code))
        writer.write(msg + b".\r\n")
        code = await _reply(reader)
        t = time.monotonic()
        if code != 250:
            raise ConnectionError("end of data -> %d" % code)
        writer.write(b"QUIT\r\n")
        try:
            await asyncio.wait_for(reader.read(), 10)
        except (asyncio.TimeoutError, OSError):
            pass
        return t
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass


async def run_client(host, port, n, sessions, sender, rcpt, prefix):
    """Send n messages over `sessions` concurrent sessions.  Returns
    (start time, {token: time of 250}, [errors])."""
    tokens = ["bench-%s-%d" % (prefix, i) for i in range(n)]
    msgs = [make_message(t, sender, rcpt) for t in tokens]
    accepted, errors = {}, []
    it = iter(range(n))

    async def session():
        for i in it:
            try:
                accepted[tokens[i]] = await _one(host, port, sender, rcpt,
                                                 msgs[i])
            except (OSError, ConnectionError, asyncio.TimeoutError,
                    ValueError) as e:
                errors.append("%s: %s" % (tokens[i], e or type(e).__name__))

    t0 = time.monotonic()
    await asyncio.gather(*(session() for _ in range(sessions)))
    return t0, accepted, errors


async def run_smtp_source(host, port, n, sessions, sender, rcpt,
                          extra=(), timeout=600):
    """smtp-source -s SESSIONS -m N -l 4096.  Returns (start, end,
    exit status, stderr text)."""
    args = ["smtp-source", "-s", str(sessions), "-m", str(n),
            "-l", str(MSG_SIZE), "-f", sender, "-t", rcpt] + list(extra) + \
        ["%s:%d" % (host, port)]
    t0 = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *args, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        _, err = await asyncio.wait_for(proc.communicate(), timeout)
    except BaseException:
        try:
            proc.kill()
        except ProcessLookupError:
            pass
        await proc.wait()
        raise
    return t0, time.monotonic(), proc.returncode, err.decode(errors="replace")


# ---- memory -----------------------------------------------------------

def _proc_table():
    """{pid: (ppid, comm)} of every process."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as f:
                s = f.read()
        except OSError:
            continue
        l, r = s.find(b"("), s.rfind(b")")
        fields = s[r + 2:].split()
        out[int(name)] = (int(fields[1]), s[l + 1:r].decode(errors="replace"))
    return out


def descendants(roots):
    """The pids in roots and all their descendants: {pid: comm}."""
    table = _proc_table()
    children = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = {}, [p for p in roots if p in table]
    while todo:
        p = todo.pop()
        if p in out:
            continue
        out[p] = table[p][1]
        todo.extend(children.get(p, ()))
    return out


def pss_kb(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid, "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class PssSampler(threading.Thread):
    """Every `interval` s, sum PSS over roots_fn()'s process trees; keep
    the peak and, for it, a breakdown by program name."""

    def __init__(self, roots_fn, interval=0.2):
        super().__init__(daemon=True)
        self.roots_fn = roots_fn
        self.interval = interval
        self._stop = threading.Event()
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with getattr(self, "lock", threading.Lock()):
            self.peak_kb = 0
            self.peak_procs = {}
            self.peak_nproc = 0

    def sample(self):
        procs = descendants(self.roots_fn())
        by = {}
        total = 0
        for pid, comm in procs.items():
            kb = pss_kb(pid)
            total += kb
            c, k = by.get(comm, (0, 0))
            by[comm] = (c + 1, k + kb)
        with self.lock:
            if total > self.peak_kb:
                self.peak_kb, self.peak_procs = total, by
                self.peak_nproc = len(procs)
        return total

    def run(self):
        while not self._stop.wait(self.interval):
            try:
                self.sample()
            except Exception:   # a sampler must never kill the bench
                pass

    def stop(self):
        self._stop.set()


# ---- the disk -----------------------------------------------------------

def fsync_rate(directory, seconds=1.0):
    """Durable appends per second: write 64 bytes to a file, fsync, again."""
    path = os.path.join(directory, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        n, t0 = 0, time.monotonic()
        while time.monotonic() - t0 < seconds:
            os.write(fd, b"x" * 64)
            os.fsync(fd)
            n += 1
        return n / (time.monotonic() - t0)
    finally:
        os.close(fd)
        os.unlink(path)


def create_rate(directory, seconds=1.0):
    """Durable file creations per second, the way a queue or a Maildir
    makes a message durable: create, write 4 KiB, fsync, rename into
    another directory, fsync that directory."""
    tmp = os.path.join(directory, "probe-tmp")
    new = os.path.join(directory, "probe-new")
    os.mkdir(tmp)
    os.mkdir(new)
    data = b"x" * MSG_SIZE
    try:
        dfd = os.open(new, os.O_RDONLY | os.O_DIRECTORY)
        n, t0 = 0, time.monotonic()
        while time.monotonic() - t0 < seconds:
            p = os.path.join(tmp, str(n))
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, data)
            os.fsync(fd)
            os.close(fd)
            os.rename(p, os.path.join(new, str(n)))
            os.fsync(dfd)
            n += 1
        rate = n / (time.monotonic() - t0)
        os.close(dfd)
        return rate
    finally:
        for d in (tmp, new):
            for name in os.listdir(d):
                os.unlink(os.path.join(d, name))
            os.rmdir(d)


def percentile(values, p):
    """The p-th percentile (0..100) by nearest rank; None if no values."""
    if not values:
        return None
    v = sorted(values)
    # rank ceil(p * n / 100) in exact arithmetic (0.99 * 100 > 99 in floats)
    from fractions import Fraction
    rank = math.ceil(Fraction(p) * len(v) / 100)
    k = max(0, min(len(v) - 1, rank - 1))
    return v[k]

#!/usr/bin/python3
"""make bench: our server against Postfix, same machine, same run.

usage: scripts/bench [quick|full] [--no-postfix] [--keep]

See docs/PERFORMANCE.md for the method and how to read the table.
Both servers get the same messages (4 KiB, one recipient, one message per
SMTP connection) at 1, 8 and 32 concurrent sessions, alternating runs
(ours, postfix, ours, postfix ...), from Postfix's smtp-source and from
our own client (benchlib.run_client), which records per message the time
of the 250 after DATA; inotify on the Maildir's new/ gives the time each
message arrives, hence the accept-to-Maildir delay.  Then a backlog run:
messages queued with delivery paused, released, drained.

Everything runs in one temporary directory, removed at the end, and every
process started is stopped, also on Ctrl-C or an error.  Results also go
to build/bench-last.json (not committed).
"""

import asyncio
import datetime
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "net"))
sys.path.insert(0, HERE)

import benchlib  # noqa: E402
import qmtest    # noqa: E402

PFSCRIPT = os.path.join(ROOT, "scripts", "bench-postfix")

MODES = {
    # messages per run, rounds (ours+postfix pairs) per cell, backlog size,
    # seconds for each disk probe
    "quick": dict(n=200, rounds=1, backlog=2000, probe=0.5),
    "full": dict(n=600, rounds=2, backlog=50000, probe=2.0),
    # for the smoke test: a handful of messages, no backlog
    "smoke": dict(n=5, rounds=1, backlog=0, probe=0.1, sessions=[2],
                  tools=["client"]),
}
SESSIONS = [1, 8, 32]
TOOLS = ["smtp-source", "client"]
SENDER = "sender@bench.client"


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


class Stop(Exception):
    pass


def _sigterm(signum, frame):
    raise KeyboardInterrupt


# ---- the servers ----------------------------------------------------------

class Ours:
    name = "ours"

    def __init__(self):
        self.q = qmtest.Instance(prefix="bench-ours-")
        self.rcpt = "bench@localhost"
        self.tcpd = None

    def setup(self):
        self.q.init()
        self.q.adduser("bench")
        self.newdir = os.path.join(self.q.maildir_path("bench"), "new")
        # all our sessions come from 127.0.0.1: qmail-tcpd's default of 20
        # per client address would refuse some at 32 sessions
        self.q.set_control("concurrencyperip", "1000")
        # BENCH_SERVERREUSE=N: control/serverreuse (1 compares with a fresh
        # qmail-smtpd per connection; unset: qmailctl's default)
        if os.environ.get("BENCH_SERVERREUSE"):
            self.q.set_control("serverreuse",
                               os.environ["BENCH_SERVERREUSE"])
        self.q.start()
        self.port = self.q.ports["smtp"]

    def _pid(self, service):
        try:
            with open(self.q.path("run", service + ".pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return 0

    def roots(self):
        out = []
        try:
            names = os.listdir(self.q.path("run"))
        except OSError:
            return out
        for name in names:
            if name.endswith(".pid"):
                p = self._pid(name[:-4])
                if p:
                    out.append(p)
        return out

    def queued(self):
        n = 0
        mess = self.q.path("queue", "mess")
        for d in os.listdir(mess):
            n += len(os.listdir(os.path.join(mess, d)))
        return n

    def pause(self):
        """Stop qmail-send (and its helpers): SMTP still queues."""
        pid = self._pid("qmail-send")
        os.kill(pid, signal.SIGTERM)
        if not qmtest.wait_until(lambda: not self.q.running() or
                                 not _alive(pid), 30):
            raise RuntimeError("qmail-send does not stop")
        qmtest.wait_until(lambda: not _alive(pid), 30)

    def resume_cmd(self):
        # qmailctl start starts what does not run: qmail-send
        return [qmtest.bin_path("qmailctl"), "start", self.q.dir]

    def cleanup(self):
        try:
            self.q.cleanup()
        finally:
            if self.tcpd is not None:
                try:
                    os.killpg(self.tcpd.pid, signal.SIGKILL)
                except OSError:
                    pass
                self.tcpd.wait()


class Postfix:
    name = "postfix"

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="bench-postfix-")
        os.chmod(self.tmp, 0o755)
        self.dir = os.path.join(self.tmp, "pf")
        self.rcpt = "bench@bench.test"
        self.newdir = os.path.join(self.dir, "mail", "bench", "Maildir",
                                   "new")
        self.started = False

    def pf(self, *args, check=True):
        p = subprocess.run([PFSCRIPT] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=120)
        if check and p.returncode != 0:
            raise RuntimeError("bench-postfix %s: %s" % (
                " ".join(args), p.stderr.strip()))
        return p.stdout.strip()

    def setup(self):
        self.port = qmtest.free_port()
        self.pf("setup", self.dir, str(self.port))
        self.started = True
        self.pf("start", self.dir)

    def master(self):
        try:
            with open(os.path.join(self.dir, "queue", "pid",
                                   "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return 0

    def roots(self):
        m = self.master()
        return [m] if m else []

    def queued(self):
        n = 0
        for sub in ("incoming", "active", "deferred", "maildrop", "hold"):
            for _, _, files in os.walk(os.path.join(self.dir, "queue", sub)):
                n += len(files)
        return n

    def pause(self):
        self.pf("pause", self.dir)
        # the reload restarts the daemons; wait until no qmgr runs
        m = self.master()
        qmtest.wait_until(lambda: "qmgr" not in
                          benchlib.descendants([m]).values(), 30)
        time.sleep(0.5)

    def resume_cmd(self):
        return [PFSCRIPT, "resume", self.dir]

    def cleanup(self):
        try:
            if self.started:
                self.pf("stop", self.dir, check=False)
        finally:
            if os.environ.get("QMTEST_KEEP") == "1":
                print("bench: kept %s" % self.tmp)
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            s = f.read()
        return s[s.rfind(b")") + 2:][:1] != b"Z"
    except OSError:
        return False


def _listening(port):
    want = ":%04X 00000000:0000 0A" % port
    with open("/proc/net/tcp") as f:
        return any(want in line for line in f)


# ---- runs -----------------------------------------------------------------

async def settle(server, timeout=120, clear=True):
    """Wait until the server's queue is empty and empty its Maildir."""
    deadline = time.monotonic() + timeout
    while server.queued() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    if clear:
        benchlib.clear_dir(server.newdir)


async def one_run(server, tool, sessions, n, runid, sampler):
    """One run; returns a dict of what was measured."""
    await settle(server)
    w = benchlib.Watcher(server.newdir)
    w.attach(asyncio.get_running_loop())
    sampler.reset()
    res = dict(server=server.name, tool=tool, sessions=sessions, n=n)
    try:
        if tool == "smtp-source":
            t0, t_acc, rc, err = await benchlib.run_smtp_source(
                "127.0.0.1", server.port, n, sessions, SENDER, server.rcpt)
            want = n
            if rc != 0:
                # some messages were refused: deliver what was queued
                res["error"] = "smtp-source exit %s: %s" % (rc, err.strip())
                await settle(server, timeout=60, clear=False)
                await asyncio.sleep(0.5)
                want = w.count()
        else:
            t0, accepted, errors = await benchlib.run_client(
                "127.0.0.1", server.port, n, sessions, SENDER, server.rcpt,
                "%s-%s" % (server.name, runid))
            t_acc = max(accepted.values()) if accepted else time.monotonic()
            if errors:
                res["error"] = "%d errors, first: %s" % (len(errors),
                                                         errors[0])
            want = len(accepted)
        res["accepted_s"] = t_acc - t0
        t_last = await w.wait_count(want, timeout=120 + n / 20)
        if t_last is None:
            res["error"] = (res.get("error", "") + "; only %d of %d "
                            "delivered" % (w.count(), want)).lstrip("; ")
            t_last = time.monotonic()
        res["delivered"] = w.count()
        res["e2e_s"] = t_last - t0
        res["acc_rate"] = want / res["accepted_s"] if want else 0
        res["e2e_rate"] = min(want, w.count()) / res["e2e_s"]
        if tool == "client" and not w.overflow:
            arrived = w.tokens()
            delays = [arrived[t] - a for t, a in accepted.items()
                      if t in arrived]
            res["delays"] = delays
            res["p50"] = benchlib.percentile(delays, 50)
            res["p99"] = benchlib.percentile(delays, 99)
            res["max"] = max(delays) if delays else None
        sampler.sample()
        res["pss_kb"] = sampler.peak_kb
        res["pss_procs"] = sampler.peak_procs
        res["nproc"] = sampler.peak_nproc
    finally:
        w.close()
    return res


async def backlog_run(server, n, sampler):
    """Queue n messages with delivery paused, release, drain.  A message
    from our client is sent when a tenth of the backlog is delivered."""
    await settle(server, timeout=300)
    res = dict(server=server.name, n=n)
    server.pause()
    w = benchlib.Watcher(server.newdir)
    w.attach(asyncio.get_running_loop())
    sampler.reset()
    try:
        t0, t1, rc, err = await benchlib.run_smtp_source(
            "127.0.0.1", server.port, n, 32, SENDER, server.rcpt,
            timeout=900)
        res["queue_rate"] = n / (t1 - t0)
        if rc != 0:
            res["error"] = "smtp-source exit %s: %s" % (rc, err.strip())
        queued = server.queued()
        res["queued"] = queued
        w.reset()
        # release
        t_rel = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            *server.resume_cmd(), stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE)
        # the new message, once a tenth is delivered
        await w.wait_count(max(1, queued // 10), timeout=300)
        res["probe_behind"] = queued - w.count()
        _, accepted, errors = await benchlib.run_client(
            "127.0.0.1", server.port, 1, 1, SENDER, server.rcpt,
            "%s-backlog" % server.name)
        _, perr = await proc.communicate()
        if proc.returncode != 0:
            res["error"] = "resume failed: %s" % perr.decode().strip()
        t_last = await w.wait_count(queued + len(accepted),
                                    timeout=60 + queued / 20)
        if t_last is None:
            res["error"] = "only %d of %d delivered" % (w.count(),
                                                        queued + 1)
            t_last = time.monotonic()
        times = sorted(t for _, t in w.events)
        res["drain_s"] = t_last - t_rel
        res["drain_rate"] = queued / res["drain_s"]
        if len(times) > 1:
            res["first_s"] = times[0] - t_rel
            res["flow_rate"] = (len(times) - 1) / (times[-1] - times[0])
        if errors:
            res["error"] = errors[0]
        arrived = w.tokens()
        for tok, t in accepted.items():
            if tok in arrived:
                res["probe_delay"] = arrived[tok] - t
        sampler.sample()
        res["pss_kb"] = sampler.peak_kb
    finally:
        w.close()
    return res


# ---- report -----------------------------------------------------------------

def fmt(v, f="%.0f"):
    return "-" if v is None else f % v


def ms(v):
    return "-" if v is None else ("%.1f" % (v * 1000) if v < 0.1
                                   else "%.0f" % (v * 1000))


def ratio(a, b):
    return "-" if not a or not b else "%.2f" % (a / b)


def merge(runs):
    """One cell (server, tool, sessions) from its rounds: rates are the
    median of the rounds, delays pooled, memory the peak."""
    if not runs:
        return None
    acc = sorted(r["acc_rate"] for r in runs)
    e2e = sorted(r["e2e_rate"] for r in runs)
    delays = [d for r in runs for d in r.get("delays", ())]
    return dict(acc=acc[len(acc) // 2], e2e=e2e[len(e2e) // 2],
                p50=benchlib.percentile(delays, 50),
                p99=benchlib.percentile(delays, 99),
                pss=max(r["pss_kb"] for r in runs) / 1024.0,
                nproc=max(r["nproc"] for r in runs),
                errors=[r["error"] for r in runs if r.get("error")])


def report(mode, conf, disk, results, backlog, servers):
    lines = []
    out = lines.append
    now = datetime.datetime.now(datetime.timezone.utc)
    out("make bench (%s), %s" % (mode, now.strftime("%Y-%m-%d %H:%M UTC")))
    out("machine: %s, %d CPUs, %s, kernel %s" % (
        _cpu_model(), os.cpu_count(), _mem(), platform.release()))
    out("load: %d msgs of %d bytes per run, one message per connection, "
        "%d round(s) per cell, ours and postfix alternating" % (
            conf["n"], benchlib.MSG_SIZE, conf["rounds"]))
    out("load average at start %s, at end %s (other work on the machine "
        "skews the numbers)" % (disk["load0"], _load()))
    out("disk (%s): %.0f fsync'd appends/s, %.0f durable file creations/s "
        "(write 4 KiB, fsync, rename, fsync dir)" % (
            disk["dir"], disk["fsync"], disk["create"]))
    out("")
    names = [s.name for s in servers]
    out("%-5s %-11s %-8s %7s %7s %8s %8s %7s %5s" % (
        "sess", "client", "server", "acc/s", "e2e/s", "p50 ms", "p99 ms",
        "PSS MB", "procs"))
    notes = []
    for sessions in conf.get("sessions", SESSIONS):
        for tool in conf.get("tools", TOOLS):
            cells = {}
            for name in names:
                c = merge([r for r in results if r["server"] == name and
                           r["tool"] == tool and r["sessions"] == sessions])
                if c is None:
                    continue
                cells[name] = c
                out("%-5d %-11s %-8s %7s %7s %8s %8s %7s %5d" % (
                    sessions, tool, name, fmt(c["acc"]), fmt(c["e2e"]),
                    ms(c["p50"]), ms(c["p99"]), fmt(c["pss"], "%.1f"),
                    c["nproc"]))
                for e in c["errors"]:
                    notes.append("%s %s %d: %s" % (name, tool, sessions, e))
            if "ours" in cells and "postfix" in cells:
                a, b = cells["ours"], cells["postfix"]
                out("%-5s %-11s %-8s %7s %7s %8s %8s %7s" % (
                    "", "", "ours/pf", ratio(a["acc"], b["acc"]),
                    ratio(a["e2e"], b["e2e"]), ratio(a["p50"], b["p50"]),
                    ratio(a["p99"], b["p99"]), ratio(a["pss"], b["pss"])))
    if backlog:
        out("")
        out("backlog: %d msgs queued by smtp-source -s 32 with delivery "
            "paused, then released" % conf["backlog"])
        out("%-8s %8s %8s %8s %9s %8s %11s %7s" % (
            "server", "queue/s", "drain s", "drain/s", "1st dlv s",
            "flow/s", "new msg ms", "PSS MB"))
        for b in backlog:
            out("%-8s %8s %8s %8s %9s %8s %11s %7s" % (
                b["server"], fmt(b.get("queue_rate")),
                fmt(b.get("drain_s"), "%.1f"), fmt(b.get("drain_rate")),
                fmt(b.get("first_s"), "%.2f"), fmt(b.get("flow_rate")),
                ms(b.get("probe_delay")), fmt(b["pss_kb"] / 1024.0, "%.1f")))
            if b.get("error"):
                notes.append("%s backlog: %s" % (b["server"], b["error"]))
        out("(drain s and drain/s from the release; 1st dlv s = first file "
            "after the release; flow/s = first to last file; new msg = "
            "accept-to-Maildir delay of a message sent when a tenth was "
            "delivered)")
    if notes:
        out("")
        out("errors:")
        for n in notes:
            out("  " + n)
    return "\n".join(lines)


def _load():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def _mem():
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
        return "%.0f GB RAM" % (kb / 1048576.0)
    except (OSError, ValueError, IndexError):
        return "? RAM"


# ---- main -----------------------------------------------------------------

async def bench(mode, conf, servers, workdir):
    disk = dict(dir=os.path.dirname(workdir), load0=_load())
    disk["fsync"] = benchlib.fsync_rate(workdir, conf["probe"])
    disk["create"] = benchlib.create_rate(workdir, conf["probe"])
    log("disk: %.0f fsync'd appends/s, %.0f durable creations/s" %
        (disk["fsync"], disk["create"]))
    samplers = {}
    for s in servers:
        samplers[s.name] = benchlib.PssSampler(s.roots)
        samplers[s.name].start()
    results, backlog = [], []
    try:
        runid = 0
        for sessions in conf.get("sessions", SESSIONS):
            for tool in conf.get("tools", TOOLS):
                for _ in range(conf["rounds"]):
                    for s in servers:
                        runid += 1
                        r = await one_run(s, tool, sessions, conf["n"],
                                          runid, samplers[s.name])
                        log("%-7s %-11s %2d sessions: %5.0f acc/s %5.0f "
                            "e2e/s%s%s" % (
                                s.name, tool, sessions, r["acc_rate"],
                                r["e2e_rate"],
                                "" if r.get("p99") is None else
                                ", p50 %s ms p99 %s ms" % (ms(r["p50"]),
                                                           ms(r["p99"])),
                                ("  ERROR " + r["error"]) if r.get("error")
                                else ""))
                        results.append(r)
        if conf["backlog"]:
            for s in servers:
                log("%s: backlog of %d" % (s.name, conf["backlog"]))
                b = await backlog_run(s, conf["backlog"], samplers[s.name])
                log("%s: backlog %s" % (s.name, {k: v for k, v in b.items()
                                                 if k != "pss_procs"}))
                backlog.append(b)
    finally:
        for sm in samplers.values():
            sm.stop()
    return disk, results, backlog


def main(argv):
    mode, use_postfix, keep = "quick", True, False
    for a in argv:
        if a in MODES:
            mode = a
        elif a == "--no-postfix":
            use_postfix = False
        elif a == "--keep":
            keep = True
        else:
            print("usage: scripts/bench [quick|full] [--no-postfix]",
                  file=sys.stderr)
            return 2
    if keep:
        os.environ["QMTEST_KEEP"] = "1"
    conf = MODES[mode]
    for prog in ("qmailctl", "qmail-start", "qmail-smtpd", "qmail-tcpd"):
        if not qmtest.have(prog):
            print("bench: bin/%s not built (run make)" % prog,
                  file=sys.stderr)
            return 1
    if not shutil.which("smtp-source") and "smtp-source" in \
            conf.get("tools", TOOLS):
        print("bench: smtp-source not found (apt-get install postfix); "
              "using only our client", file=sys.stderr)
        conf = dict(conf, tools=["client"])
    signal.signal(signal.SIGTERM, _sigterm)
    signal.signal(signal.SIGHUP, _sigterm)
    servers = []
    workdir = tempfile.mkdtemp(prefix="bench-disk-")
    os.chmod(workdir, 0o755)
    # run a private copy of bin/, so that a rebuild during the run (make
    # in another terminal) cannot make a program vanish under a delivery
    snap = os.path.join(workdir, "bin")
    shutil.copytree(qmtest.BIN, snap)
    qmtest.BIN = snap
    t_start = time.monotonic()
    try:
        ours = Ours()
        servers.append(ours)
        ours.setup()
        if use_postfix:
            chk = subprocess.run([PFSCRIPT, "check"], stderr=subprocess.PIPE,
                                 text=True)
            if chk.returncode != 0:
                print("bench: Postfix skipped: %s" % chk.stderr.strip(),
                      file=sys.stderr)
            else:
                pf = Postfix()
                servers.append(pf)
                try:
                    pf.setup()
                except RuntimeError as e:
                    print("bench: Postfix skipped: %s" % e, file=sys.stderr)
                    servers.pop()
                    pf.cleanup()
        log("mode %s; %s" % (mode, ", ".join(
            "%s on port %d" % (s.name, s.port) for s in servers)))
        disk, results, backlog = asyncio.run(
            bench(mode, conf, servers, workdir))
        text = report(mode, conf, disk, results, backlog, servers)
        print(text)
        print("(%.0f s)" % (time.monotonic() - t_start))
        try:
            os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
            with open(os.path.join(ROOT, "build", "bench-last.json"),
                      "w") as f:
                json.dump(dict(mode=mode, conf=conf, disk=disk,
                               results=[{k: v for k, v in r.items()
                                         if k != "delays"}
                                        for r in results],
                               backlog=backlog, table=text), f, indent=1)
        except OSError:
            pass
        bad = [r for r in results + backlog if r.get("error")]
        return 1 if bad and mode == "smoke" else 0
    except KeyboardInterrupt:
        print("bench: interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for s in reversed(servers):
            try:
                s.cleanup()
            except Exception as e:
                print("bench: cleanup of %s: %s" % (s.name, e),
                      file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/python3
"""Where the time goes, per message: the figures in docs/PERFORMANCE.md.

usage: tests/bench/profile.py [ours|postfix] [N] [SESSIONS]

Starts the server like `make bench` does, warms it up, then sends N
messages with smtp-source twice:
  1. under `strace -f -c` attached to every process of the server:
     system calls per message (fsync, process creations, execs, ...);
  2. under `perf record -e cpu-clock -a`: CPU milliseconds per message by
     program, user and kernel, and the top kernel and user symbols.
Needs root (strace -p, perf -a).  Prints a report; keeps nothing.
"""

import asyncio
import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench      # noqa: E402
import benchlib   # noqa: E402
import qmtest     # noqa: E402

FREQ = 2000
SHOW = ("fsync", "fdatasync", "sync_file_range", "clone", "clone3", "fork",
        "vfork", "execve", "wait4", "rename", "renameat2", "link", "linkat",
        "unlink", "unlinkat", "openat", "read", "write", "pread64",
        "pwrite64", "mmap", "mprotect", "munmap", "flock", "fcntl",
        "poll", "ppoll", "select", "pselect6", "epoll_wait", "accept4",
        "accept", "getdents64", "newfstatat", "fstat", "statx", "close",
        "sendmsg", "recvmsg", "sendto", "recvfrom", "kill", "rt_sigaction",
        "brk", "seccomp", "prctl", "setuid", "chdir", "pipe2", "dup2",
        "memfd_create", "ftruncate", "lseek", "mkdir", "futex", "socket",
        "connect")


async def send(server, n, sessions, timeout=300):
    benchlib.clear_dir(server.newdir)
    w = benchlib.Watcher(server.newdir)
    w.attach(asyncio.get_running_loop())
    try:
        t0, t1, rc, err = await benchlib.run_smtp_source(
            "127.0.0.1", server.port, n, sessions, bench.SENDER, server.rcpt)
        if rc != 0:
            print("smtp-source: %s" % err.strip(), file=sys.stderr)
        t = await w.wait_count(n, timeout)
        return t0, t1, t
    finally:
        w.close()


def all_pids(server):
    pids = benchlib.descendants(server.roots())
    # qmail-queued is started detached (no descendant of qmail-start)
    home = getattr(getattr(server, "q", None), "dir", None)
    if home:
        for pid, (_, comm) in benchlib._proc_table().items():
            try:
                if comm == "qmail-queued" and os.readlink(
                        "/proc/%d/cwd" % pid).startswith(home):
                    pids[pid] = comm
            except OSError:
                pass
    return sorted(pids)


def strace_counts(server, n, sessions, tmp):
    out = os.path.join(tmp, "strace.out")
    pids = all_pids(server)
    args = ["strace", "-f", "-c", "-U", "name,calls,errors", "-o", out]
    for p in pids:
        args += ["-p", str(p)]
    st = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    asyncio.run(send(server, n, sessions, timeout=600))
    time.sleep(0.5)
    st.send_signal(signal.SIGINT)
    st.wait(60)
    counts = {}
    with open(out) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit() and \
                    re.match(r"^[a-z_0-9]+$", parts[0]):
                counts[parts[0]] = int(parts[1])
    return counts


def _category(frames):
    """What a sample was doing: the system call its kernel stack is in,
    a page fault, other kernel work, or user code by library."""
    if not frames:
        return "?"
    addr, sym, dso = frames[0]
    if "kernel" not in dso:
        return "user " + os.path.basename(dso)
    for _, fsym, _ in frames:
        m = re.match(r"^(?:__x64_sys|__do_sys|__se_sys)_(\w+)", fsym)
        if m:
            return "sys " + m.group(1)
        if "exc_page_fault" in fsym:
            return "page fault"
        if fsym.startswith("ret_from_fork"):
            return "kernel: new process/thread"
    return "kernel: other (irq, softirq, scheduler)"


def perf_profile(server, n, sessions, tmp):
    """CPU samples of the server's processes only: the processes running
    at the start and every process they fork (perf's task events)."""
    data = os.path.join(tmp, "perf.data")
    mine = set(all_pids(server))
    pr = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F",
                           str(FREQ), "-g", "-a", "-o", data],
                          stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    t0, t1, t = asyncio.run(send(server, n, sessions))
    time.sleep(0.2)
    pr.send_signal(signal.SIGINT)
    pr.wait(60)
    script = subprocess.run(["perf", "script", "-i", data,
                             "--show-task-events", "-F",
                             "comm,pid,tid,ip,sym,dso"],
                            stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True).stdout
    by_comm = collections.Counter()
    kernel = collections.Counter()
    syms = collections.Counter()
    cats = collections.Counter()
    fork = re.compile(r"PERF_RECORD_FORK\((\d+):\d+\):\((\d+):\d+\)")
    head = re.compile(r"^(\S.*?)\s+(\d+)/\d+\s*$")
    frame = re.compile(r"^\s+([0-9a-f]+)\s+(.*?)\s*\((.*)\)$")

    def flush(comm, pid, frames):
        if comm is None or pid not in mine or not frames:
            return
        by_comm[comm] += 1
        _, sym, dso = frames[0]
        k = "kernel" in dso
        if k:
            kernel[comm] += 1
        sym = re.sub(r"\+0x[0-9a-f]+$", "", sym)
        syms[(comm, sym, "k" if k else os.path.basename(dso))] += 1
        cats[(comm, _category(frames))] += 1
        cats[("all", _category(frames))] += 1

    comm = pid = None
    frames = []
    for line in script.splitlines():
        if "PERF_RECORD_" in line:
            f = fork.search(line)
            if f and int(f.group(2)) in mine:
                mine.add(int(f.group(1)))
            continue
        m = head.match(line)
        if m:
            flush(comm, pid, frames)
            comm, pid, frames = m.group(1), int(m.group(2)), []
            continue
        m = frame.match(line)
        if m:
            frames.append((m.group(1), re.sub(r"\+0x[0-9a-f]+$", "",
                                              m.group(2)), m.group(3)))
    flush(comm, pid, frames)
    return dict(acc_s=t1 - t0, e2e_s=(t or time.monotonic()) - t0,
                by_comm=by_comm, kernel=kernel, syms=syms, cats=cats)


def main(argv):
    which = argv[0] if argv else "ours"
    n = int(argv[1]) if len(argv) > 1 else 500
    sessions = int(argv[2]) if len(argv) > 2 else 8
    tmp = tempfile.mkdtemp(prefix="bench-prof-")
    os.chmod(tmp, 0o755)
    snap = os.path.join(tmp, "bin")
    shutil.copytree(qmtest.BIN, snap)
    qmtest.BIN = snap
    server = bench.Ours() if which == "ours" else bench.Postfix()
    try:
        server.setup()
        asyncio.run(send(server, 50, sessions))   # warm up
        counts = strace_counts(server, n, sessions, tmp)
        print("== %s: system calls per message (strace -f -c, %d msgs, "
              "%d sessions)" % (which, n, sessions))
        total = sum(v for k, v in counts.items() if k != "total")
        print("  all %.1f" % (total / n))
        for name in sorted(counts, key=lambda k: -counts[k]):
            if name != "total" and (name in SHOW or counts[name] >= n):
                print("  %-16s %7.2f" % (name, counts[name] / n))
        while server.queued():
            time.sleep(0.1)
        prof = perf_profile(server, n, sessions, tmp)
        print("== %s: CPU ms per message (perf cpu-clock %d Hz, %d msgs, "
              "%d sessions; acc %.0f/s, e2e %.0f/s)" % (
                  which, FREQ, n, sessions, n / prof["acc_s"],
                  n / prof["e2e_s"]))
        ms = 1000.0 / FREQ / n
        ours = set(prof["by_comm"])
        tot = sum(prof["by_comm"].values())
        print("  %-18s %8s %8s" % ("program", "ms/msg", "kernel%"))
        for c in sorted(ours, key=lambda k: -prof["by_comm"][k]):
            s = prof["by_comm"][c]
            print("  %-18s %8.3f %7.0f%%" % (c, s * ms,
                                             100.0 * prof["kernel"][c] / s))
        print("  %-18s %8.3f   (all of the server's processes)" % (
            "total", tot * ms))
        print("== top symbols (server programs)")
        top = list(prof["syms"].items())
        top.sort(key=lambda kv: -kv[1])
        for (comm, sym, dso), v in top[:30]:
            print("  %6.1f%%  %-16s %-32s %s" % (100.0 * v / tot, comm,
                                                 sym[:32], dso))
        print("== CPU ms per message by what it was doing")
        for comm in ["all"] + sorted(ours, key=lambda k: -prof["by_comm"][k]):
            rows = sorted(((c, v) for (cm, c), v in prof["cats"].items()
                           if cm == comm), key=lambda cv: -cv[1])
            tot_c = sum(v for _, v in rows)
            print("  %s (%.3f ms):" % (comm, tot_c * ms))
            for c, v in rows[:12]:
                if v * ms >= 0.01:
                    print("    %-40s %7.3f" % (c, v * ms))
    finally:
        server.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

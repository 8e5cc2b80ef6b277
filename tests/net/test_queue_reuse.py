"""Queue file reuse (queue/free, qmail-clean(8), qmail-queue(8)).

qmail-clean moves finished queue files, emptied, to queue/free/ (at most
1000); the queue writers (qmail-queue and qmail-queued's children) claim
one by renaming it into queue/tmp/ instead of creating a file.  These tests
check that reused files carry nothing of their old message, that nothing
but an empty, single-link file of the writer's own, mode 0640, is ever
used, that the cap holds, and that qmail-qread/qstat ignore free/.

Run with /usr/bin/python3 -m unittest test_queue_reuse -v (tests/net).
"""

import os
import smtplib
import subprocess
import tempfile
import unittest

import qmtest

USER = "alice"
ENV = b"Fme@x.test\0Talice@localhost\0\0"


def mess_files(inst):
    out = []
    for root, _, files in os.walk(inst.path("queue", "mess")):
        out += [os.path.join(root, f) for f in files]
    return out


class TestQueueReuse(unittest.TestCase):
    def setUp(self):
        qmtest.require(self, "qmailctl", "qmail-start", "qmail-send",
                       "qmail-clean", "qmail-queue", "qmail-queued",
                       "sendmail", "qmail-qread", "qmail-qstat")
        self.q = qmtest.Instance.for_test(self)
        self.q.adduser(USER)
        self.free = self.q.path("queue", "free")

    def free_stats(self):
        out = {}
        for n in os.listdir(self.free):
            out[n] = os.lstat(os.path.join(self.free, n))
        return out

    def deliver(self, count):
        """Start, wait until the Maildir holds count messages and the
        queue is empty, stop."""
        self.q.start()
        msgs = self.q.wait_for_messages(USER, count, timeout=60)
        self.assertTrue(qmtest.wait_until(lambda: not mess_files(self.q),
                                          30), self.q.describe())
        self.q.stop()
        return msgs

    def queue(self, data):
        p = self.q.queue([], data, ENV)
        self.assertEqual(p.returncode, 0, p.stderr)
        files = mess_files(self.q)
        self.assertEqual(len(files), 1)
        return os.stat(files[0])

    def test_layout(self):
        st = os.stat(self.free)
        self.assertEqual(st.st_mode & 0o7777, 0o700)
        self.assertEqual(st.st_uid, os.stat(self.q.path("queue", "tmp")).st_uid)

    def test_reused_and_emptied(self):
        long_body = b"Subject: long\n\n" + b"0123456789abcdef\n" * 8000
        self.queue(long_body)
        self.deliver(1)
        free = self.free_stats()
        self.assertEqual(len(free), 1, free)
        (name, old), = free.items()
        self.assertEqual(old.st_size, 0)
        self.assertEqual(old.st_mode & 0o7777, 0o640)
        # the next message is written into that file
        short = b"Subject: short\n\nshort body\n"
        new = self.queue(short)
        self.assertEqual(new.st_ino, old.st_ino)
        self.assertEqual(new.st_mode & 0o7777, 0o640)
        self.assertEqual(os.listdir(self.free), [])
        self.assertEqual(os.listdir(self.q.path("queue", "tmp")), [])
        msgs = self.deliver(2)
        files = self.q.message_files(USER)
        raws = []
        for f in files:
            with open(f, "rb") as fh:
                raws.append(fh.read())
        shorts = [r for r in raws if b"Subject: short" in r]
        self.assertEqual(len(shorts), 1)
        self.assertTrue(shorts[0].endswith(short), shorts[0][-200:])
        self.assertNotIn(b"0123456789abcdef", shorts[0])
        self.assertEqual(len(msgs), 2)

    def smtp(self, subject):
        """qmail-smtpd queues through qmail-queued (sendmail runs
        qmail-queue itself)."""
        with smtplib.SMTP("127.0.0.1", int(self.q.control("smtpport")),
                          timeout=30) as c:
            c.sendmail("a@x.test", [USER + "@localhost"],
                       "Subject: %s\n\nx\n" % subject)

    def test_running_instance_reuses(self):
        """Through qmail-queued (sandboxed) too: once free/ holds files,
        sending one message at a time creates no new queue files."""
        self.q.start()
        self.assertTrue(qmtest.wait_until(lambda: os.path.exists(
            self.q.path("queue", "sock", "queued")), 10), self.q.describe())
        n = 5
        for i in range(n):
            self.smtp("first %d" % i)
        self.q.wait_for_messages(USER, n, timeout=60)
        self.assertTrue(qmtest.wait_until(lambda: not mess_files(self.q),
                                          30), self.q.describe())
        # later messages of the batch may already have reused files of
        # earlier ones: at least one file is there, and at most n
        before = {s.st_ino for s in self.free_stats().values()}
        self.assertGreaterEqual(len(before), 1)
        self.assertLessEqual(len(before), n)
        for i in range(n):
            self.smtp("second %d" % i)
            self.q.wait_for_messages(USER, n + i + 1, timeout=60)
            self.assertTrue(qmtest.wait_until(
                lambda: not mess_files(self.q), 30), self.q.describe())
        after = self.free_stats()
        self.assertEqual({s.st_ino for s in after.values()}, before)
        self.assertTrue(all(s.st_size == 0 for s in after.values()))
        for f in self.q.message_files(USER):
            with open(f, "rb") as fh:
                raw = fh.read()
            if b"Subject: second" in raw:
                self.assertIn(b"(qmail-queued ", raw)

    def test_unusable_files_never_used(self):
        planted = {}
        base = 1000000000

        def plant(i, content=b"", mode=0o640):
            name = "%d.000000.%d" % (base + i, 4000 + i)
            path = os.path.join(self.free, name)
            with open(path, "wb") as f:
                f.write(content)
            os.chmod(path, mode)
            planted[name] = path
            return path

        plant(0, b"old message text\n")                # not empty
        p = plant(1)                                    # two links
        outside = os.path.join(self.q.dir, "second-link")
        os.link(p, outside)
        plant(2, mode=0o644)                            # wrong mode
        target = os.path.join(self.q.dir, "target")
        with open(target, "wb") as f:
            f.write(b"")
        os.chmod(target, 0o640)
        name = "%d.000000.%d" % (base + 3, 4003)        # symlink
        os.symlink(target, os.path.join(self.free, name))
        planted[name] = os.path.join(self.free, name)
        if os.geteuid() == 0:                           # another owner
            o = plant(4)
            os.chown(o, 65534, -1)
        # hold them open: a name removed from free/ must not free its
        # inode for the new queue file to get by chance
        held = [os.open(p, os.O_RDONLY) for p in planted.values()
                if not os.path.islink(p)] + [os.open(target, os.O_RDONLY)]
        for fd in held:
            self.addCleanup(os.close, fd)
        inodes = {os.fstat(fd).st_ino for fd in held}
        data = b"Subject: fresh\n\nfresh body\n"
        new = self.queue(data)
        self.assertNotIn(new.st_ino, inodes)
        self.assertEqual(os.listdir(self.q.path("queue", "tmp")), [])
        # the other names are untouched
        with open(outside, "rb") as f:
            self.assertEqual(f.read(), b"")
        self.assertEqual(os.pread(held[0], 100, 0), b"old message text\n")
        self.assertTrue(os.path.exists(target))
        msgs = self.deliver(1)
        self.assertEqual(len(msgs), 1)
        with open(self.q.message_files(USER)[0], "rb") as f:
            raw = f.read()
        self.assertTrue(raw.endswith(data), raw[-200:])
        # whatever of the planted names is left in free/ is still not a
        # usable file, except the finished one qmail-clean put there
        for n, s in self.free_stats().items():
            if n in planted:
                self.assertIn(s.st_ino, inodes | {os.lstat(planted[n]).st_ino})

    def test_cap(self):
        for i in range(1000):
            path = os.path.join(self.free, "junk%d" % i)
            with open(path, "wb"):
                pass
        for i in range(3):
            self.queue_only(b"Subject: cap %d\n\nx\n" % i)
        self.deliver(3)
        names = os.listdir(self.free)
        self.assertEqual(len(names), 1000)
        self.assertTrue(all(n.startswith("junk") for n in names))

    def queue_only(self, data):
        p = self.q.queue([], data, ENV)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_clean_never_recycles_an_empty_file(self):
        """qmail-clean renames a finished file to free/ and only then
        empties it.  Writers take only empty files, so the file must not be
        empty already: else a writer could claim it in between and have
        its message (even an acknowledged one) emptied by the truncate."""
        ident = "1000000000.000000.4242"
        h = 0x811c9dc5
        for c in ident.encode():
            h = ((h ^ c) * 0x01000193) & 0xffffffff
        bucket = self.q.path("queue", "mess", "%02d" % (h % 64))
        path = os.path.join(bucket, ident)
        with open(path, "wb"):
            pass
        os.chmod(path, 0o640)
        os.chown(path, -1, os.stat(self.q.path("queue", "tmp")).st_gid)
        r = subprocess.run([qmtest.bin_path("qmail-clean")],
                           input=b"R" + ident.encode() + b"\0",
                           env=self.q.env(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(r.stdout, b"+", r.stderr)
        self.assertFalse(os.path.exists(path))
        self.assertEqual(os.listdir(self.free), [])

    def test_qread_ignores_free(self):
        self.queue(b"Subject: a\n\nx\n")
        self.deliver(1)
        self.assertEqual(len(os.listdir(self.free)), 1)
        env = self.q.env()
        r = subprocess.run([qmtest.bin_path("qmail-qread")], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"")
        r = subprocess.run([qmtest.bin_path("qmail-qstat")], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"messages in queue: 0\n", r.stdout)
        self.assertIn(b"messages being written: 0\n", r.stdout)


if __name__ == "__main__":
    unittest.main()

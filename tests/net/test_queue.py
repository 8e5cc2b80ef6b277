"""qmail-queue: protocol, exit codes, on-disk format, and failure paths.

Every failure must give qmail's exit code, one stderr line, and leave the
queue as it was: nothing in queue/mess, nothing left in queue/tmp.
"""

import os
import shutil
import subprocess
import unittest

import qmtest

GOOD_ENV = b"Fme@x.test\0Tdemo@localhost\0\0"


def mess_files(inst):
    out = []
    for root, _, files in os.walk(inst.path("queue", "mess")):
        out += [os.path.join(root, f) for f in files]
    return out


class TestQueue(unittest.TestCase):
    def setUp(self):
        qmtest.require(self, "qmail-queue", "qmailctl")
        self.q = qmtest.Instance.for_test(self)   # not started

    def assertQueueUnchanged(self, before=0):
        self.assertEqual(len(mess_files(self.q)), before)
        self.assertEqual(os.listdir(self.q.path("queue", "tmp")), [])

    def refused(self, envelope, code, data=b"Subject: x\n\nbody\n"):
        p = self.q.queue([], data, envelope)
        self.assertEqual(p.returncode, code, p.stderr)
        err = p.stderr.decode()
        self.assertEqual(err.count("\n"), 1, err)
        self.assertIn("qmail-queue: fatal:", err)
        self.assertQueueUnchanged()
        return err

    def test_good_message_format(self):
        data = b"Subject: x\n\nbody with \0 NUL and \r bare CR\n"
        p = self.q.queue([], data, b"Fme@x.test\0Ta@b\0Tc@d\0\0")
        self.assertEqual(p.returncode, 0, p.stderr)
        files = mess_files(self.q)
        self.assertEqual(len(files), 1)
        with open(files[0], "rb") as f:
            raw = f.read()
        self.assertTrue(raw.startswith(b"#qmq1 "))
        msglen = int(raw[6:26])
        body = raw[48:48 + msglen]
        self.assertTrue(body.startswith(b"Received: (qmail-queue "))
        self.assertTrue(body.endswith(data))
        self.assertEqual(raw[48 + msglen:], b"Fme@x.test\0Ta@b\0Tc@d\0")
        # bucket directory is two digits under mess/
        self.assertRegex(os.path.relpath(files[0], self.q.path("queue")),
                         r"^mess/\d\d/\d+\.\d{6}\.\d+$")
        self.assertEqual(os.listdir(self.q.path("queue", "tmp")), [])

    def test_null_sender_and_many_recipients(self):
        env = b"F\0" + b"".join(b"Tu%d@x.test\0" % i for i in range(500)) \
            + b"\0"
        p = self.q.queue([], b"x\n", env)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_envelope_errors(self):
        self.refused(b"", 91)                            # nothing at all
        self.refused(b"Fme@x.test\0", 91)                # no final NUL
        self.refused(b"Tme@x.test\0\0", 91)              # no F first
        self.refused(b"Fme@x.test\0Xbad\0\0", 91)        # not T
        self.refused(b"Fme@x.test\0Ta@b", 91)            # cut mid-address
        self.refused(b"\0", 91)                          # no sender
        self.refused(GOOD_ENV + b"junk", 91)             # data after end
        # control characters would reach header lines and mbox From lines
        self.refused(b"Fme@x.test\n\nFrom y\0Ta@b\0\0", 91)
        self.refused(b"Fme@x.test\0Ta@b\rc\0\0", 91)
        self.refused(b"Fme@x.test\0Ta\x7f@b\0\0", 91)

    def test_address_length_limit(self):
        ok = b"a" * 990 + b"@x.test"                     # 997 bytes
        p = self.q.queue([], b"x\n", b"Fme@x.test\0T" + ok + b"\0\0")
        self.assertEqual(p.returncode, 0, p.stderr)
        shutil.rmtree(self.q.path("queue", "mess"))
        os.mkdir(self.q.path("queue", "mess"))
        for b in range(64):
            os.mkdir(self.q.path("queue", "mess", "%02d" % b))
        err = self.refused(b"Fme@x.test\0T" + b"a" * 1001 + b"\0\0", 11)
        self.assertIn("1000 bytes", err)
        self.refused(b"F" + b"s" * 1001 + b"\0Ta@b\0\0", 11)

    def fault(self, inject, code, left=0):
        if not shutil.which("strace"):
            self.skipTest("strace not installed")
        envfile = self.q.path("env")
        with open(envfile, "wb") as f:
            f.write(GOOD_ENV)
        with open(envfile, "rb") as envin:
            p = subprocess.run(
                ["strace", "-f", "-qq", "-o", "/dev/null", "-e",
                 "inject=" + inject, qmtest.bin_path("qmail-queue")],
                input=b"Subject: x\n\n" + b"y" * 200000 + b"\n",
                stdout=envin, stderr=subprocess.PIPE, env=self.q.env())
        self.assertEqual(p.returncode, code, p.stderr)
        self.assertQueueUnchanged(left)
        return p.stderr.decode()

    def test_disk_full(self):
        err = self.fault("write:error=ENOSPC:when=3", 53)
        self.assertIn("No space left on device", err)

    def test_fsync_fails(self):
        self.fault("fsync:error=EIO", 53)

    def test_directory_fsync_fails(self):
        # the message was renamed into place, but its directory could not
        # be synced: the caller hears "failed" (53), never success; the
        # file stays, since qmail-send may already have seen it (a retry
        # by the caller can at worst deliver it twice)
        self.fault("fsync:error=EIO:when=2", 53, left=1)

    def test_rename_fails(self):
        self.fault("renameat2:error=EIO", 64)

    def test_bad_home_and_queue(self):
        p = self.q.queue([], b"x\n", GOOD_ENV,
                         env={"QMAILHOME": self.q.path("nonexistent")})
        self.assertEqual(p.returncode, 61, p.stderr)
        os.rename(self.q.path("queue"), self.q.path("queue.away"))
        p = self.q.queue([], b"x\n", GOOD_ENV)
        self.assertEqual(p.returncode, 62, p.stderr)
        os.rename(self.q.path("queue.away"), self.q.path("queue"))

    def test_relative_qmailhome(self):
        # children of sendmail must find the same home
        qmtest.require(self, "sendmail")
        parent = os.path.dirname(self.q.dir)
        p = subprocess.run([qmtest.bin_path("sendmail"), "demo@localhost"],
                           input=b"Subject: rel\n\nx\n", cwd=parent,
                           env=dict(os.environ,
                                    QMAILHOME=os.path.basename(self.q.dir)),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(mess_files(self.q)), 1)


if __name__ == "__main__":
    unittest.main()

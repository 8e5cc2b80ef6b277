"""Transcript tests of qmail-smtpd (tests/proto/smtpd-*.in, see
tests/proto/README): each transcript is piped into bin/qmail-smtpd on fd
0 and its replies on fd 1 are compared byte for byte with the .ref file;
the message handed to a fake qmail-queue ($QMAILQUEUE) with the .msg
file.  No sockets: this is the server as a filter (STYLE.md, Testing)."""

import glob
import os
import re
import shutil
import subprocess
import unittest

import qmtest
from test_smtpd_lib import smtpd_bin

PROTO = os.path.join(qmtest.ROOT, "tests", "proto")

FAKE_QUEUE = """#!/bin/sh
# a fake qmail-queue: message on fd 0, envelope on fd 1, both saved
cat > "$FAKEQ_DIR/msg" || exit 54
cat <&1 > "$FAKEQ_DIR/env" || exit 54
exit 0
"""


def decode_line(line):
    """A transcript line to bytes: escapes, and CRLF unless it ends in a
    lone backslash."""
    raw = line.encode("latin-1")
    if raw.endswith(b"\\") and not raw.endswith(b"\\\\"):
        return raw[:-1].decode("unicode_escape").encode("latin-1")
    return raw.decode("unicode_escape").encode("latin-1") + b"\r\n"


class TestTranscripts(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for p in ("qmailctl", "qmail-smtpd"):
            if not qmtest.have(p):
                raise unittest.SkipTest("bin/%s not built yet" % p)
        cls.q = qmtest.Instance()
        cls.addClassCleanup(cls.q.cleanup)
        cls.q.init()
        cls.q.adduser("alice")
        cls.q.set_control("greetdelay", "0")
        cls.fakeq_dir = os.path.join(cls.q.tmp, "fakeq")
        os.mkdir(cls.fakeq_dir)
        cls.fakeq = os.path.join(cls.q.tmp, "fake-qmail-queue")
        with open(cls.fakeq, "w") as f:
            f.write(FAKE_QUEUE)
        os.chmod(cls.fakeq, 0o755)

    def run_transcript(self, name):
        env = {"QMAILQUEUE": self.fakeq, "FAKEQ_DIR": self.fakeq_dir}
        for v in ("TCPREMOTEIP", "TCPREMOTEHOST", "TCPLOCALIP",
                  "RELAYCLIENT", "DATABYTES", "GREETDELAY"):
            env[v] = None
        controls = {}
        data = b""
        with open(os.path.join(PROTO, name + ".in"), encoding="latin-1") as f:
            for line in f.read().split("\n")[:-1]:
                if line.startswith("#env "):
                    k, v = line[5:].split("=", 1)
                    env[k] = v
                elif line.startswith("#control "):
                    k, v = line[9:].split(" ", 1)
                    controls[k] = v
                elif not line.startswith("#"):
                    data += decode_line(line)
        for k, v in controls.items():
            old = self.q.control(k)
            self.q.set_control(k, v)
            self.addCleanup(self.restore, k, old)
        for f in os.listdir(self.fakeq_dir):
            os.unlink(os.path.join(self.fakeq_dir, f))
        full_env = self.q.env()
        for k, v in env.items():
            if v is None:
                full_env.pop(k, None)
            else:
                full_env[k] = v
        p = subprocess.run([smtpd_bin()], input=data,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=full_env, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = re.sub(rb"^250 2\.0\.0 ok \d+ qp \d+\r$", b"250 2.0.0 ok N qp N\r",
                     p.stdout, flags=re.M)
        with open(os.path.join(PROTO, name + ".ref"), "rb") as f:
            want = f.read().replace(b"\n", b"\r\n")
        self.assertEqual(out.decode("latin-1"), want.decode("latin-1"),
                         "stderr:\n" + p.stderr.decode("utf-8", "replace"))
        msgref = os.path.join(PROTO, name + ".msg")
        if os.path.exists(msgref):
            with open(os.path.join(self.fakeq_dir, "msg"), "rb") as f:
                msg = f.read()
            with open(os.path.join(self.fakeq_dir, "env"), "rb") as f:
                envelope = f.read()
            msg = re.sub(rb"(\n\tby [^;\n]*; )[^\n]*\n", rb"\1DATE\n", msg,
                         count=1)
            got = msg + b"--envelope--\n" + envelope.replace(b"\0", b"|") + \
                b"\n"
            with open(msgref, "rb") as f:
                self.assertEqual(got.decode("latin-1"),
                                 f.read().decode("latin-1"))

    def restore(self, name, old):
        if old is None:
            os.unlink(self.q.path("control", name))
        else:
            self.q.set_control(name, old)


def _add_tests():
    for path in sorted(glob.glob(os.path.join(PROTO, "smtpd-*.in"))):
        name = os.path.basename(path)[:-3]

        def test(self, name=name):
            self.run_transcript(name)
        test.__doc__ = "transcript tests/proto/%s.in" % name
        setattr(TestTranscripts, "test_" + name.replace("-", "_"), test)


_add_tests()

if __name__ == "__main__":
    unittest.main()

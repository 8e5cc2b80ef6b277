"""qmail-qmqpc and mini-qmail.

qmail-qmqpc runs directly (message on fd 0, envelope on fd 1, as
qmail-queue) against QMQP servers written here from the protocol
description (cr.yp.to/proto/qmqp.html): the client sends one netstring
holding the netstrings of the message, the sender and each recipient; the
server answers one netstring starting with K, Z or D.  The servers record
exactly what arrives and can misbehave on cue.

The mini-qmail test runs two instances: a hub that serves QMQP
(bin/qmail-qmqpd) and delivers, and a node with control/qmqpservers
pointing at it, where sendmail and qmail-inject must hand every message to
the hub and queue nothing locally.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import qmtest

# QMTEST_QMQPC=PATH runs another build (e.g. one with sanitizers)
QMQPC = os.environ.get("QMTEST_QMQPC") or qmtest.bin_path("qmail-qmqpc")


# ---- netstrings, from the spec (cr.yp.to/proto/netstrings.txt) ------------

def netstring(data):
    return b"%d:" % len(data) + data + b","


def read_netstring(f, limit=64 << 20):
    """One netstring from the file-like f (bytes); ValueError when it is
    not one, EOFError at the end of the stream."""
    digits = b""
    while True:
        c = f.read(1)
        if not c:
            raise EOFError("end of stream in the length")
        if c == b":":
            break
        if not c.isdigit() or len(digits) >= 12:
            raise ValueError("bad netstring length")
        digits += c
    if not digits or (digits.startswith(b"0") and digits != b"0"):
        raise ValueError("bad netstring length %r" % digits)
    n = int(digits)
    if n > limit:
        raise ValueError("netstring too long")
    data = f.read(n)
    if len(data) != n:
        raise EOFError("end of stream in the payload")
    if f.read(1) != b",":
        raise ValueError("no comma")
    return data


def split_netstrings(buf):
    """The payloads of the netstrings that make up buf exactly."""
    import io
    f = io.BytesIO(buf)
    out = []
    while f.tell() < len(buf):
        out.append(read_netstring(f))
    return out


class QmqpServer(qmtest.ThreadedPeer):
    """A QMQP server on host (free port), in a thread.  reply: the payload
    of the reply netstring (b"Kok"), or one of the misbehaviours:
    "close" (hang up without a reply), "silent" (keep the connection open,
    never answer), "garbage" (raw text that is no netstring), "lie" (a
    netstring whose length promises more than is sent, then hang up),
    "huge" (a reply netstring of a megabyte), "early" (hang up after the
    first bytes of the package).  Records each package as a dict:
    message, sender, rcpts (or error)."""

    def __init__(self, testcase, reply=b"Kok, thanks", host="127.0.0.1"):
        self.reply = reply
        self.packages = []
        self.listen(testcase, host, 0, 8)

    def line(self):
        """This server as a control/qmqpservers line."""
        if ":" in self.host:
            return "[%s]:%d" % (self.host, self.port)
        return "%s:%d" % (self.host, self.port)

    def _session(self, conn, client, info):
        conn.settimeout(30)
        f = conn.makefile("rb")
        try:
            if self.reply == "early":
                conn.recv(10)
                return
            pkg = {}
            try:
                parts = split_netstrings(read_netstring(f))
                pkg = {"message": parts[0], "sender": parts[1],
                       "rcpts": parts[2:]}
            except (ValueError, EOFError, IndexError) as e:
                pkg = {"error": str(e)}
            with self.lock:
                self.packages.append(pkg)
            r = self.reply
            if r == "close":
                return
            if r == "silent":
                time.sleep(8)
                return
            if r == "garbage":
                conn.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")
            elif r == "lie":
                conn.sendall(b"500:Kthat is all,")
            elif r == "huge":
                conn.sendall(netstring(b"K" + b"x" * (1 << 20)))
            else:
                conn.sendall(netstring(r))
        except OSError:
            pass
        finally:
            f.close()
            conn.close()


def dead_port():
    """A port on 127.0.0.1 where nothing listens (connections refused)."""
    return qmtest.free_port()


def have_ipv6():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


class QmqpcTest(unittest.TestCase):
    def setUp(self):
        if not os.access(QMQPC, os.X_OK):
            self.skipTest("bin/qmail-qmqpc not built yet")
        self.home = tempfile.mkdtemp(prefix="qmtest-qmqpc-")
        self.addCleanup(shutil.rmtree, self.home, True)
        os.makedirs(os.path.join(self.home, "control"))
        self.control("timeoutremote", "5")
        self.control("timeoutconnect", "5")

    def control(self, name, value):
        path = os.path.join(self.home, "control", name)
        if value is None:
            os.unlink(path)
            return
        with open(path, "w") as f:
            f.write(value + "\n")

    def servers(self, *lines):
        self.control("qmqpservers", "\n".join(lines))

    def qmqpc(self, msg=b"Subject: hi\n\nhello\n",
              envelope=b"Fsender@node.test\0Trcpt@hub.test\0\0", timeout=60):
        with tempfile.TemporaryFile() as envfile:
            envfile.write(envelope)
            envfile.flush()
            envfile.seek(0)
            p = subprocess.run([QMQPC], input=msg, stdout=envfile,
                               stderr=subprocess.PIPE,
                               env=dict(os.environ, QMAILHOME=self.home),
                               timeout=timeout)
        # never a crash, whatever the servers did
        self.assertGreaterEqual(p.returncode, 0, p.stderr)
        return p.returncode, p.stderr.decode("utf-8", "replace")

    def assertTemporary(self, code, err):
        self.assertNotEqual(code, 0, err)
        self.assertFalse(11 <= code <= 40, "permanent code %d: %s" %
                         (code, err))

    # ---- the protocol ------------------------------------------------------

    def test_exact_bytes_arrive(self):
        srv = QmqpServer(self)
        self.servers(srv.line())
        msg = (b"Subject: exact\n\n.\n..\nline\r\nbare\rcr\n" +
               bytes(range(256)) + b"\nno final newline")
        rcpts = [b"a@hub.test", b"b@hub.test", b"odd \"quoted\"@hub.test"]
        env = b"Fme@node.test\0" + b"".join(b"T" + r + b"\0"
                                            for r in rcpts) + b"\0"
        code, err = self.qmqpc(msg, env)
        self.assertEqual(code, 0, err)
        self.assertEqual(len(srv.packages), 1)
        pkg = srv.packages[0]
        self.assertNotIn("error", pkg)
        self.assertEqual(pkg["sender"], b"me@node.test")
        self.assertEqual(pkg["rcpts"], rcpts)
        first, _, rest = pkg["message"].partition(b"\n")
        self.assertTrue(first.startswith(b"Received: (qmail-qmqpc "), first)
        self.assertIn(b" invoked by uid %d); " % os.getuid(), first)
        self.assertEqual(rest, msg)

    def test_null_sender_and_large_message(self):
        srv = QmqpServer(self)
        self.servers(srv.line())
        msg = b"Subject: big\n\n" + (b"y" * 999 + b"\n") * 6000
        code, err = self.qmqpc(msg, b"F\0Tx@hub.test\0\0")
        self.assertEqual(code, 0, err)
        pkg = srv.packages[0]
        self.assertEqual(pkg["sender"], b"")
        self.assertTrue(pkg["message"].endswith(msg))

    def test_replies_map_to_exit_codes(self):
        for reply, want in ((b"Kthanks", 0), (b"K", 0),
                            (b"Zdisk full, try later", 71),
                            (b"Dno such domain here", 31)):
            with self.subTest(reply=reply):
                srv = QmqpServer(self, reply=reply)
                self.servers(srv.line())
                code, err = self.qmqpc()
                self.assertEqual(code, want, err)
                self.assertEqual(len(srv.packages), 1)
                if want:
                    self.assertIn(reply[1:].decode(), err)

    def test_first_server_down_second_used(self):
        srv = QmqpServer(self)
        self.servers("127.0.0.1:%d" % dead_port(), srv.line())
        code, err = self.qmqpc()
        self.assertEqual(code, 0, err)
        self.assertEqual(len(srv.packages), 1)
        self.assertIn("connection refused", err)

    def test_ipv6_server_lines(self):
        if not have_ipv6():
            self.skipTest("no IPv6 loopback")
        srv = QmqpServer(self, host="::1")
        self.servers("[::1]:%d" % qmtest.free_port("::1"), srv.line())
        code, err = self.qmqpc()
        self.assertEqual(code, 0, err)
        self.assertEqual(len(srv.packages), 1)

    def test_all_down_is_temporary(self):
        self.servers("127.0.0.1:%d" % dead_port(),
                     "127.0.0.1:%d" % dead_port())
        code, err = self.qmqpc()
        self.assertEqual(code, 56, err)
        self.assertTemporary(code, err)

    def test_temporary_refusal_tries_next(self):
        first = QmqpServer(self, reply=b"Zbusy")
        second = QmqpServer(self)
        self.servers(first.line(), second.line())
        code, err = self.qmqpc()
        self.assertEqual(code, 0, err)
        self.assertEqual((len(first.packages), len(second.packages)), (1, 1))
        # both say Z: temporary, with the servers' words on stderr
        second.reply = b"Zalso busy"
        code, err = self.qmqpc()
        self.assertEqual(code, 71, err)
        self.assertIn("also busy", err)

    def test_permanent_refusal_stops(self):
        first = QmqpServer(self, reply=b"Dmessage too big")
        second = QmqpServer(self)
        self.servers(first.line(), second.line())
        code, err = self.qmqpc()
        self.assertEqual(code, 31, err)
        self.assertEqual(second.connections, 0)

    def test_lying_and_garbage_servers(self):
        for reply in ("close", "garbage", "lie", "huge", "early",
                      b"", b"Xwhat?", b"kok"):
            with self.subTest(reply=reply):
                srv = QmqpServer(self, reply=reply)
                self.servers(srv.line())
                code, err = self.qmqpc()
                self.assertEqual(code, 56, err)
                self.assertTemporary(code, err)
                # ... and the next server gets the message
                good = QmqpServer(self)
                self.servers(srv.line(), good.line())
                code, err = self.qmqpc()
                self.assertEqual(code, 0, err)
                self.assertEqual(len(good.packages), 1)

    def test_silent_server_times_out(self):
        self.control("timeoutremote", "1")
        srv = QmqpServer(self, reply="silent")
        self.servers(srv.line())
        code, err = self.qmqpc(timeout=60)
        self.assertEqual(code, 56, err)
        self.assertIn("timed out", err)

    def test_independent_server_mailfront(self):
        front = shutil.which("qmqpfront-echo") or "/usr/sbin/qmqpfront-echo"
        tcpserver = shutil.which("tcpserver") or "/usr/bin/tcpserver"
        if not (os.access(front, os.X_OK) and os.access(tcpserver, os.X_OK)):
            self.skipTest("mailfront's qmqpfront-echo or tcpserver missing")
        port = qmtest.free_port()
        log = tempfile.TemporaryFile()
        proc = subprocess.Popen([tcpserver, "-q", "127.0.0.1", str(port),
                                 "env", "PLUGINS=accept", front],
                                stdout=subprocess.DEVNULL, stderr=log)

        def stop():
            proc.kill()
            proc.wait()
            log.close()
        self.addCleanup(stop)

        def listening():
            try:
                with socket.create_connection(("127.0.0.1", port), 1):
                    return True
            except OSError:
                return False
        self.assertTrue(qmtest.wait_until(listening, 10))
        self.servers("127.0.0.1:%d" % port)
        code, err = self.qmqpc(b"Subject: to mailfront\n\nbody\n",
                               b"Fme@node.test\0Ta@hub.test\0Tb@hub.test\0\0")
        self.assertEqual(code, 0, err)
        self.assertTrue(qmtest.wait_until(
            lambda: b"bytes in" in (log.seek(0) or log.read()), 10))
        log.seek(0)
        text = log.read().decode("latin-1")
        self.assertIn("sender <me@node.test>", text)
        self.assertIn("recipient <a@hub.test>", text)
        self.assertIn("recipient <b@hub.test>", text)
        self.assertIn("Subject: to mailfront", text)

    # ---- configuration and input --------------------------------------------

    def test_configuration(self):
        code, err = self.qmqpc()         # no control/qmqpservers
        self.assertEqual(code, 55, err)
        self.servers("# only a comment", "")
        code, err = self.qmqpc()
        self.assertEqual(code, 55, err)
        self.servers("not.an.address", "127.0.0.1:0", "127.0.0.1:99999",
                     "[::1", "1.2.3.4:x")
        code, err = self.qmqpc()
        self.assertEqual(code, 55, err)
        self.assertIn("line 5", err)
        srv = QmqpServer(self)
        self.servers("bogus", srv.line())   # a bad line is skipped
        code, err = self.qmqpc()
        self.assertEqual(code, 0, err)
        self.assertIn("line 1", err)
        self.control("timeoutremote", "soon")
        code, err = self.qmqpc()
        self.assertEqual(code, 55, err)

    def test_envelope_checked_before_sending(self):
        srv = QmqpServer(self)
        self.servers(srv.line())
        for env, want in ((b"Tno-sender@x\0\0", 91),
                          (b"Fa@b\0Tc@d\0", 91),          # no final NUL
                          (b"Fa@b\0Xc@d\0\0", 91),
                          (b"Fa@b\0Tc\n@d\0\0", 91),
                          (b"Fa@b\0Tc@d\0\0junk", 91),
                          (b"Fa@b\0T" + b"x" * 1200 + b"\0\0", 11)):
            with self.subTest(env=env[:30]):
                code, err = self.qmqpc(envelope=env)
                self.assertEqual(code, want, err)
        self.assertEqual(srv.connections, 0)
        # no recipients: nothing to send, like qmail-queue
        code, err = self.qmqpc(envelope=b"Fa@b\0\0")
        self.assertEqual(code, 0, err)
        self.assertEqual(srv.connections, 0)


class MiniQmailTest(unittest.TestCase):
    """A node without a queue hands everything to a hub over QMQP."""

    def setUp(self):
        qmtest.require(self, "qmail-qmqpc", "qmail-qmqpd", "sendmail",
                       "qmail-inject", "qmail-start")
        self.hub = qmtest.Instance.for_test(self, hostname="hub.test")
        self.hub.adduser("alice")
        self.hub.start()
        self.node = qmtest.Instance.for_test(self, hostname="node.test")
        self.node.set_control("qmqpservers",
                              "127.0.0.1:%d" % self.hub.ports["qmqp"])

    def node_queue(self):
        mess = self.node.path("queue", "mess")
        out = []
        for root, _, files in os.walk(mess):
            out += files
        return out

    def test_sendmail_and_inject_go_to_the_hub(self):
        p = self.node.sendmail(["-f", "bob@node.test", "alice@hub.test"],
                               b"Subject: via qmqp\n\nfrom the node\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.node.inject(["alice@hub.test"],
                             b"Subject: via inject\n\nagain\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        msgs = self.hub.wait_for_messages("alice", 2, timeout=30)
        subjects = sorted(m["Subject"] for m in msgs)
        self.assertEqual(subjects, ["via inject", "via qmqp"])
        first = [m for m in msgs if m["Subject"] == "via qmqp"][0]
        self.assertEqual(first["Return-Path"], "<bob@node.test>")
        self.assertIn("qmail-qmqpc", "".join(first.get_all("Received")))
        self.assertEqual(self.node_queue(), [])

    def test_hub_down_is_temporary_and_nothing_queued(self):
        self.node.set_control("qmqpservers",
                              "127.0.0.1:%d" % qmtest.free_port())
        p = self.node.sendmail(["alice@hub.test"], b"Subject: x\n\ny\n")
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(self.node_queue(), [])

    def test_qmailqueue_still_wins(self):
        p = self.node.sendmail(["alice@hub.test"], b"Subject: local\n\nq\n",
                               env={"QMAILQUEUE":
                                    qmtest.bin_path("qmail-queue")})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(self.node_queue()), 1)


if __name__ == "__main__":
    unittest.main()

"""Black-box tests of qmail-remote: real DNS, real SMTP peers, on loopback.

DNS: dnsmasq on a free port of 127.0.0.1 serves the test zones (MX
preferences, implicit MX, CNAME, null MX, NXDOMAIN, no data); a
python3-dnslib server answers SERVFAIL, and a UDP socket that never
answers stands for a dead resolver.  control/dnsservers points
qmail-remote at them.

Peers: Postfix's smtp-sink, aiosmtpd (Python), and ScriptPeer, a scripted
server of this file that records the exact bytes it receives and can
misbehave on cue (4xx/5xx, no ESMTP, dropping the connection in DATA or
after the final dot).  MX hosts are 127.0.0.2, 127.0.0.3 and ::1, all on
one free port set by a "::PORT" line in control/smtproutes.

qmail-remote runs directly: bin/qmail-remote HOST SENDER RCPT... with the
message on stdin and QMAILHOME set to a scratch home.  QMTEST_REMOTE=PATH
runs another build instead (e.g. one with sanitizers).
"""

import os
import re
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import qmtest

try:
    import dnslib
    import dnslib.server
except ImportError:  # pragma: no cover - depends on the machine
    dnslib = None

try:
    from aiosmtpd.controller import Controller as AioController
except ImportError:  # pragma: no cover
    AioController = None

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"

MX1, MX2, MX6 = "127.0.0.2", "127.0.0.3", "::1"
REMOTE = os.environ.get("QMTEST_REMOTE") or qmtest.bin_path("qmail-remote")

# dnsmasq's zones (see setUpClass)
ZONES = [
    "--mx-host=far.test,mx1.far.test,10",
    "--mx-host=far.test,mx2.far.test,20",
    "--host-record=mx1.far.test,%s" % MX1,
    "--host-record=mx2.far.test,%s" % MX2,
    "--mx-host=v6.test,mx.v6.test,10",
    "--host-record=mx.v6.test,%s,%s" % (MX2, MX6),
    "--host-record=plain.test,%s" % MX1,
    "--cname=alias.test,far.test",
    "--mx-host=null.test,.,0",
    "--txt-record=nodata.test,no mail here",
    "--mx-host=lame.test,mx.nowhere.test,10",
    "--mx-host=equal.test,mxa.equal.test,10",
    "--mx-host=equal.test,mxb.equal.test,10",
    "--host-record=mxa.equal.test,%s" % MX1,
    "--host-record=mxb.equal.test,%s" % MX2,
]


def have_ipv6():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def port_free_everywhere(hosts):
    """A TCP port that is free on every host right now."""
    for _ in range(50):
        port = qmtest.free_port(hosts[0])
        socks = []
        try:
            for h in hosts:
                s = socket.socket(family_of(h), socket.SOCK_STREAM)
                socks.append(s)
                s.bind((h, port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no port free on all of %s" % hosts)


def wait_listening(host, port, timeout=10.0):
    def up():
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            return False
    return qmtest.wait_until(up, timeout)


def wire(msg):
    """What qmail-remote must send after DATA for msg (bytes): every line
    end (LF, CRLF or a bare CR) as CRLF, leading dots doubled, a final
    CRLF if missing, then ".\\r\\n".  Also returns the RFC 1870 size."""
    lines = re.split(rb"\r\n|\r|\n", msg)
    if msg == b"":
        lines = []
    elif msg.endswith((b"\n", b"\r")):
        lines = lines[:-1]
    plain = b"".join(l + b"\r\n" for l in lines)
    stuffed = b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n"
                       for l in lines)
    return stuffed + b".\r\n", len(plain)


# ---- peers ------------------------------------------------------------------

class ScriptPeer(qmtest.ThreadedPeer):
    """A scripted SMTP server on host:port, in a thread.  Records for each
    session the command lines, the raw bytes after DATA's 354 (dot-stuffed,
    with the final dot), and whether the client pipelined MAIL and RCPT.

    greeting: the first reply.  ehlo: extension lines, or None to refuse
    EHLO with 502.  mail(addr)/rcpt(addr): a reply line, or None for 250.
    data_reply: the reply to DATA when not 354.  actions: what to do in
    DATA per session, in turn (then "accept"): "accept", "drop_mid"
    (close after the first bytes), "drop_after_dot" (close instead of
    replying to the dot).  final: the reply to the dot."""

    def __init__(self, testcase, host, port, greeting="220 peer.test ESMTP",
                 ehlo=("PIPELINING", "8BITMIME", "SIZE 1000000"), mail=None,
                 rcpt=None, data_reply=None, actions=(),
                 final="250 2.0.0 queued as 42"):
        self.host, self.port = host, port
        self.greeting, self.ehlo = greeting, ehlo
        self.mail, self.rcpt = mail, rcpt
        self.data_reply, self.final = data_reply, final
        self.actions = list(actions)
        self.sessions = []
        self.listen(testcase, host, port, 16)

    def deliveries(self):
        with self.lock:
            return [s for s in self.sessions if s["delivered"]]

    def _session(self, conn, client, info):
        sess = {"commands": [], "data": b"", "pipelined": None,
                "delivered": False, "client": client}
        with self.lock:
            self.sessions.append(sess)
            action = self.actions.pop(0) if self.actions else "accept"
        buf = bytearray()
        conn.settimeout(15)

        def send(line):
            conn.sendall(line.encode() + b"\r\n")

        def readline():
            while b"\n" not in buf:
                chunk = conn.recv(65536)
                if not chunk:
                    return None
                buf.extend(chunk)
            i = buf.index(b"\n")
            line = bytes(buf[:i + 1])
            del buf[:i + 1]
            return line.rstrip(b"\r\n").decode("latin-1")

        try:
            send(self.greeting)
            while True:
                line = readline()
                if line is None:
                    return
                sess["commands"].append(line)
                verb = line[:4].upper()
                arg = line[line.find(":") + 1:].strip() if ":" in line else ""
                if self.greeting[0] != "2" and verb != "QUIT":
                    send("503 5.5.1 go away")
                elif verb == "EHLO":
                    if self.ehlo is None:
                        send("502 5.5.2 EHLO not implemented")
                    else:
                        exts = ["peer.test"] + list(self.ehlo)
                        send("\r\n".join(
                            "250%s%s" % ("-" if i < len(exts) - 1 else " ", e)
                            for i, e in enumerate(exts)))
                elif verb == "HELO":
                    send("250 peer.test")
                elif verb == "MAIL":
                    # did the RCPTs come before we answered MAIL?
                    ready = bool(b"\n" in buf) or bool(
                        select.select([conn], [], [], 0.3)[0])
                    sess["pipelined"] = ready
                    send((self.mail and self.mail(arg)) or "250 2.1.0 ok")
                elif verb == "RCPT":
                    send((self.rcpt and self.rcpt(arg)) or "250 2.1.5 ok")
                elif verb == "DATA":
                    if self.data_reply:
                        send(self.data_reply)
                        continue
                    send("354 go ahead")
                    if not self._data(conn, buf, sess, action):
                        return
                    send(self.final)
                    if self.final.startswith("2"):
                        sess["delivered"] = True
                elif verb == "QUIT":
                    send("221 2.0.0 bye")
                    return
                else:
                    send("250 2.0.0 ok")
        except OSError:
            return
        finally:
            conn.close()

    def _data(self, conn, buf, sess, action):
        """Read the data through CRLF.CRLF into sess; False to hang up."""
        data = bytearray(buf)
        buf.clear()
        while True:
            if data.startswith(b".\r\n"):
                end = 3
                break
            i = data.find(b"\r\n.\r\n")
            if i >= 0:
                end = i + 5
                break
            if action == "drop_mid" and data:
                sess["data"] = bytes(data)
                conn.close()
                return False
            chunk = conn.recv(65536)
            if not chunk:
                sess["data"] = bytes(data)
                return False
            data.extend(chunk)
        sess["data"] = bytes(data[:end])
        buf.extend(data[end:])
        if action in ("drop_after_dot", "drop_mid"):
            conn.close()
            return False
        return True


class SinkPeer:
    """Postfix's smtp-sink on host:port, dumping each message to a file."""

    def __init__(self, testcase, host, port, *options):
        if not os.access(SMTP_SINK, os.X_OK):
            testcase.skipTest("smtp-sink not installed (Debian: postfix)")
        self.dir = tempfile.mkdtemp(prefix="qmtest-sink-")
        testcase.addCleanup(shutil.rmtree, self.dir, True)
        os.chmod(self.dir, 0o777)
        args = [SMTP_SINK]
        if os.geteuid() == 0:
            args += ["-u", "nobody"]
        where = "[%s]:%d" % (host, port) if ":" in host else \
            "%s:%d" % (host, port)
        args += ["-d", self.dir + "/%H%M%S."] + list(options) + [where, "64"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        testcase.addCleanup(self.stop)
        if not wait_listening(host, port):
            raise AssertionError("smtp-sink did not start on %s" % where)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def messages(self, count=0, timeout=5.0):
        """Parsed dumps (dicts: proto, helo, mail, rcpts, body), waiting
        until there are at least count complete ones."""
        def read_all():
            out = []
            for name in sorted(os.listdir(self.dir)):
                with open(os.path.join(self.dir, name), "rb") as f:
                    text = f.read()
                m = {"proto": None, "helo": None, "mail": None, "rcpts": []}
                lines = text.split(b"\n")
                i = 0
                while i < len(lines) and not lines[i].startswith(b"Received:"):
                    key, _, value = lines[i].decode("latin-1").partition(": ")
                    if key == "X-Client-Proto":
                        m["proto"] = value
                    elif key == "X-Helo-Args":
                        m["helo"] = value
                    elif key == "X-Mail-Args":
                        m["mail"] = value
                    elif key == "X-Rcpt-Args":
                        m["rcpts"].append(value)
                    i += 1
                if i >= len(lines):
                    continue  # still being written
                i += 1
                while i < len(lines) and lines[i].startswith(b"\t"):
                    i += 1
                m["body"] = b"\n".join(lines[i:])
                out.append(m)
            return out
        if count:
            qmtest.wait_until(lambda: len(read_all()) >= count, timeout)
        return read_all()


class AioPeer:
    """aiosmtpd on host:port; records every envelope."""

    def __init__(self, testcase, host, port, **smtp_options):
        if AioController is None:
            testcase.skipTest("python3-aiosmtpd not installed")
        self.envelopes = []
        peer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                peer.envelopes.append({
                    "mail": envelope.mail_from,
                    "options": list(envelope.mail_options),
                    "rcpts": list(envelope.rcpt_tos),
                    "content": envelope.original_content,
                })
                return "250 2.0.0 OK aio"

        self.ctl = AioController(Handler(), hostname=host, port=port,
                                 **smtp_options)
        self.ctl.start()
        testcase.addCleanup(self.ctl.stop)


class DnsmasqServer:
    def __init__(self, zones):
        # a free UDP port may be taken again before dnsmasq binds it, and a
        # loaded machine may start it slowly: three tries, each with its
        # own port, and the last one's stderr in the error
        why = ""
        for _ in range(3):
            self.port = self._free_udp_port()
            args = [DNSMASQ, "--keep-in-foreground", "--port=%d" % self.port,
                    "--listen-address=127.0.0.1", "--bind-interfaces",
                    "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
                    "--pid-file=", "--local=/test/"] + zones
            if os.geteuid() == 0:
                args.append("--user=root")
            self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE)
            if qmtest.wait_until(self._answers, 20):
                return
            self.proc.kill()
            try:
                why = self.proc.communicate(timeout=10)[1].decode(
                    "utf-8", "replace")
            except subprocess.TimeoutExpired:
                why = "(no exit after SIGKILL)"
            self.stop()
        raise RuntimeError("dnsmasq did not start: %s" % why)

    @staticmethod
    def _free_udp_port():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        return port

    def _answers(self):
        # a minimal query: id 0x1234, RD, one question "test." type SOA
        q = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
             b"\x04test\x00\x00\x06\x00\x01")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.2)
        try:
            s.sendto(q, ("127.0.0.1", self.port))
            return s.recv(512)[:2] == b"\x12\x34"
        except OSError:
            return False
        finally:
            s.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stderr.close()


# ---- the tests ----------------------------------------------------------------

class RemoteTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if not os.access(REMOTE, os.X_OK):
            raise unittest.SkipTest("bin/qmail-remote not built yet")
        if not os.access(DNSMASQ, os.X_OK):
            raise unittest.SkipTest("dnsmasq not installed (Debian: dnsmasq)")
        cls.dns = DnsmasqServer(ZONES)
        cls.addClassCleanup(cls.dns.stop)

    def setUp(self):
        self.port = port_free_everywhere(
            [MX1, MX2] + ([MX6] if have_ipv6() else []))
        self.home = tempfile.mkdtemp(prefix="qmtest-remote-")
        self.addCleanup(shutil.rmtree, self.home, True)
        os.makedirs(os.path.join(self.home, "control"))
        os.makedirs(os.path.join(self.home, "queue", "lock"))
        self.control("me", "me.test")
        self.control("dnsservers", "127.0.0.1@%d" % self.dns.port)
        self.control("smtproutes", "::%d" % self.port)
        self.control("timeoutremote", "10")
        self.control("timeoutconnect", "5")

    def control(self, name, value):
        with open(os.path.join(self.home, "control", name), "w") as f:
            f.write(value + "\n")

    def remote(self, host, rcpts, msg=b"Subject: test\n\nhello\n",
               sender="sender@me.test", stdin_file=False):
        """Run qmail-remote; returns (recipient records, message record),
        each record a (status, text) pair."""
        args = [REMOTE, host, sender] + list(rcpts)
        env = dict(os.environ, QMAILHOME=self.home)
        if stdin_file:
            with tempfile.TemporaryFile() as f:
                f.write(b"junk before the offset\n")
                start = f.tell()
                f.write(msg)
                f.seek(start)
                p = subprocess.run(args, stdin=f, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=env,
                                   timeout=60)
        else:
            p = subprocess.run(args, input=msg, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        fields = p.stdout.split(b"\0")
        self.assertEqual(fields[-1], b"", "output must end in NUL")
        records = [f.decode("ascii") for f in fields[:-1]]
        self.assertEqual(len(records), len(rcpts) + 1, records)
        rec = []
        for r in records[:-1]:
            self.assertEqual(r[0], "r", records)
            self.assertIn(r[1], "KZD", records)
            rec.append((r[1], r[2:]))
        self.assertIn(records[-1][0], "KZD", records)
        for status, text in rec + [(records[-1][0], records[-1][1:])]:
            self.assertTrue(all(32 <= ord(c) < 127 for c in text), text)
        return rec, (records[-1][0], records[-1][1:])

    def assertAll(self, records, status):
        self.assertEqual([s for s, _ in records], [status] * len(records),
                         records)

    # ---- MX, routing, DNS -------------------------------------------------

    def test_mx_preference_and_exact_bytes(self):
        first = ScriptPeer(self, MX1, self.port)
        second = ScriptPeer(self, MX2, self.port)
        msg = (b"Subject: dots\n\n.\n..\n.leading dot\nmiddle . dot\n" +
               b"x" * 3000 + b"\n" + b"crlf line\r\nlast line without LF")
        for use_file in (False, True):
            rcpts, msgrec = self.remote("far.test", ["a@far.test"], msg,
                                        stdin_file=use_file)
            self.assertAll(rcpts, "K")
            self.assertEqual(msgrec[0], "K")
            self.assertIn("mx1.far.test [127.0.0.2]", msgrec[1])
            self.assertIn("Remote host said: 250 2.0.0 queued as 42",
                          msgrec[1])
        data, size = wire(msg)
        got = first.deliveries()
        self.assertEqual(len(got), 2)
        for sess in got:
            self.assertEqual(sess["data"], data)
            self.assertIn("MAIL FROM:<sender@me.test> SIZE=%d" % size,
                          sess["commands"])
            self.assertIn("EHLO me.test", sess["commands"])
        self.assertEqual(second.sessions, [])

    def test_fallover_to_second_mx_and_tcpto(self):
        sink = SinkPeer(self, MX2, self.port)
        # mx1 refuses connections (nothing listens there)
        rcpts, msgrec = self.remote("far.test", ["a@far.test"])
        self.assertAll(rcpts, "K")
        self.assertIn("mx2.far.test [127.0.0.3]", msgrec[1])
        self.assertEqual(len(sink.messages(1)), 1)
        tcpto = os.path.join(self.home, "queue", "lock", "tcpto")
        self.assertTrue(os.path.exists(tcpto))
        self.assertLessEqual(os.path.getsize(tcpto), 4096)
        # mx1 is back, but it is remembered as dead for a while: skipped
        first = ScriptPeer(self, MX1, self.port)
        rcpts, msgrec = self.remote("far.test", ["b@far.test"])
        self.assertAll(rcpts, "K")
        self.assertIn("mx2.far.test", msgrec[1])
        self.assertEqual(first.sessions, [])
        self.assertEqual(len(sink.messages(2)), 2)
        # forgetting it sends mail to mx1 again
        os.unlink(tcpto)
        rcpts, msgrec = self.remote("far.test", ["c@far.test"])
        self.assertAll(rcpts, "K")
        self.assertIn("mx1.far.test", msgrec[1])
        self.assertEqual(len(first.deliveries()), 1)

    def test_all_hosts_dead_is_temporary_and_tcpto_never_bounces(self):
        for _ in range(2):   # the second run skips both through tcpto
            rcpts, msgrec = self.remote("far.test", ["a@far.test",
                                                     "b@far.test"])
            self.assertAll(rcpts, "Z")
            self.assertEqual(msgrec[0], "Z")
            self.assertIn("mx1.far.test [127.0.0.2]", msgrec[1])
            self.assertIn("mx2.far.test [127.0.0.3]", msgrec[1])
        self.assertIn("did not answer recently", msgrec[1])

    def test_equal_preferences_are_shuffled(self):
        a = ScriptPeer(self, MX1, self.port)
        b = ScriptPeer(self, MX2, self.port)
        for _ in range(40):
            rcpts, _ = self.remote("equal.test", ["x@equal.test"])
            self.assertAll(rcpts, "K")
            if a.deliveries() and b.deliveries():
                break
        self.assertTrue(a.deliveries() and b.deliveries(),
                        "one host of two with equal preference never chosen")

    def test_implicit_mx_and_cname(self):
        peer = ScriptPeer(self, MX1, self.port)
        rcpts, msgrec = self.remote("plain.test", ["a@plain.test"])
        self.assertAll(rcpts, "K")
        self.assertIn("plain.test [127.0.0.2]", msgrec[1])
        rcpts, msgrec = self.remote("alias.test", ["a@alias.test"])
        self.assertAll(rcpts, "K")
        self.assertIn("mx1.far.test [127.0.0.2]", msgrec[1])
        self.assertEqual(len(peer.deliveries()), 2)

    def test_ipv6_first_then_ipv4(self):
        if not have_ipv6():
            self.skipTest("no IPv6 loopback on this machine")
        v4 = ScriptPeer(self, MX2, self.port)
        # ::1 not listening: the same host's IPv4 address is next
        rcpts, msgrec = self.remote("v6.test", ["a@v6.test"])
        self.assertAll(rcpts, "K")
        self.assertIn("mx.v6.test [127.0.0.3]", msgrec[1])
        os.unlink(os.path.join(self.home, "queue", "lock", "tcpto"))
        v6 = ScriptPeer(self, MX6, self.port)
        rcpts, msgrec = self.remote("v6.test", ["a@v6.test"])
        self.assertAll(rcpts, "K")
        self.assertIn("mx.v6.test [::1]", msgrec[1])
        self.assertEqual(len(v6.deliveries()), 1)
        self.assertEqual(len(v4.deliveries()), 1)

    def test_null_mx_bounces_at_once(self):
        rcpts, msgrec = self.remote("null.test", ["a@null.test"])
        self.assertAll(rcpts, "D")
        self.assertEqual(msgrec[0], "D")
        self.assertIn("null MX", msgrec[1])
        self.assertIn("(#5.1.10)", msgrec[1])

    def test_nxdomain_and_no_data_bounce(self):
        rcpts, msgrec = self.remote("nosuchdomain.test", ["a@nosuchdomain.test"])
        self.assertAll(rcpts, "D")
        self.assertIn("(#5.1.2)", msgrec[1])
        rcpts, msgrec = self.remote("nodata.test", ["a@nodata.test"])
        self.assertAll(rcpts, "D")
        self.assertIn("(#5.1.2)", msgrec[1])
        # an MX host that does not exist
        rcpts, msgrec = self.remote("lame.test", ["a@lame.test"])
        self.assertAll(rcpts, "D")
        self.assertIn("(#5.4.4)", msgrec[1])

    def test_servfail_is_temporary(self):
        if dnslib is None:
            self.skipTest("python3-dnslib not installed")

        class ServFail:
            def resolve(self, request, handler):
                reply = request.reply()
                reply.header.rcode = dnslib.RCODE.SERVFAIL
                return reply

        port = DnsmasqServer._free_udp_port()
        server = dnslib.server.DNSServer(ServFail(), port=port,
                                         address="127.0.0.1",
                                         logger=dnslib.server.DNSLogger(
                                             "-request,-reply,-truncated,"
                                             "-error,-recv,-send,-data"))
        server.start_thread()
        self.addCleanup(server.stop)
        self.control("dnsservers", "127.0.0.1@%d" % port)
        t0 = time.monotonic()
        rcpts, msgrec = self.remote("far.test", ["a@far.test", "b@far.test"])
        self.assertAll(rcpts, "Z")
        self.assertEqual(msgrec[0], "Z")
        self.assertIn("(#4.4.3)", msgrec[1])
        self.assertLess(time.monotonic() - t0, 20)

    def test_dns_timeout_is_temporary(self):
        dead = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        dead.bind(("127.0.0.1", 0))     # takes queries, never answers
        self.addCleanup(dead.close)
        self.control("dnsservers", "127.0.0.1@%d" % dead.getsockname()[1])
        self.control("timeoutdns", "2")
        t0 = time.monotonic()
        rcpts, msgrec = self.remote("far.test", ["a@far.test"])
        self.assertAll(rcpts, "Z")
        self.assertIn("timed out", msgrec[1])
        self.assertLess(time.monotonic() - t0, 10)

    def test_smtproutes_literal_relay(self):
        port = qmtest.free_port(MX1)
        peer = ScriptPeer(self, MX1, port)
        self.control("smtproutes", "route.test:[%s]:%d\n::%d" %
                     (MX1, port, self.port))
        # no DNS is needed for a literal relay: point it at nothing
        self.control("dnsservers", "127.0.0.1@1")
        rcpts, msgrec = self.remote("route.test", ["a@route.test"])
        self.assertAll(rcpts, "K")
        self.assertIn("[127.0.0.2] accepted the message", msgrec[1])
        self.assertEqual(len(peer.deliveries()), 1)
        # a broken route for the domain: temporary, naming the line
        self.control("smtproutes", "route.test:[%s]:99999" % MX1)
        rcpts, msgrec = self.remote("route.test", ["a@route.test"])
        self.assertAll(rcpts, "Z")
        self.assertIn("smtproutes", msgrec[1])

    # ---- SMTP ---------------------------------------------------------------

    def test_mixed_recipients_in_one_connection(self):
        def rcpt(addr):
            if addr.startswith("<later@"):
                return "451 4.2.0 greylisted, try later"
            if addr.startswith("<bad@"):
                return "550 5.1.1 no such user"
            if addr.startswith("<many@"):
                return "552 5.5.3 too many recipients"
            return None
        peer = ScriptPeer(self, MX1, self.port, rcpt=rcpt)
        rcpts, msgrec = self.remote(
            "far.test", ["ok@far.test", "later@far.test", "bad@far.test",
                         "many@far.test", "ok2@far.test"])
        self.assertEqual([s for s, _ in rcpts], ["K", "Z", "D", "Z", "K"])
        self.assertIn("Remote host said: 451 4.2.0 greylisted", rcpts[1][1])
        self.assertIn("mx1.far.test [127.0.0.2] does not like recipient."
                      " Remote host said: 550 5.1.1 no such user",
                      rcpts[2][1])
        self.assertEqual(msgrec[0], "K")
        self.assertEqual(len(peer.sessions), 1)
        self.assertEqual(len(peer.deliveries()), 1)
        cmds = peer.sessions[0]["commands"]
        self.assertEqual([c for c in cmds if c.startswith("RCPT")],
                         ["RCPT TO:<%s@far.test>" % u for u in
                          ("ok", "later", "bad", "many", "ok2")])
        self.assertEqual(cmds[-1], "QUIT")

    def test_all_recipients_refused_no_data(self):
        sink = SinkPeer(self, MX1, self.port, "-f", "RCPT")
        rcpts, msgrec = self.remote("far.test", ["a@far.test", "b@far.test"])
        self.assertAll(rcpts, "D")
        self.assertEqual(msgrec[0], "D")
        self.assertIn("Remote host said: 500", msgrec[1])
        self.assertEqual(sink.messages(), [])

    def test_recipients_deferred(self):
        SinkPeer(self, MX1, self.port, "-r", "RCPT")
        rcpts, msgrec = self.remote("far.test", ["a@far.test"])
        self.assertAll(rcpts, "Z")
        self.assertEqual(msgrec[0], "Z")
        self.assertIn("Remote host said: 450", msgrec[1])

    def test_sender_refused_fails_everyone(self):
        peer = ScriptPeer(self, MX1, self.port,
                          mail=lambda a: "553 5.7.1 sender refused")
        rcpts, msgrec = self.remote("far.test", ["a@far.test", "b@far.test"])
        self.assertAll(rcpts, "D")
        self.assertIn("does not like sender. Remote host said: 553 5.7.1",
                      msgrec[1])
        self.assertEqual(peer.deliveries(), [])
        peer.mail = lambda a: "421 4.3.2 shutting down"
        rcpts, msgrec = self.remote("far.test", ["a@far.test"])
        self.assertAll(rcpts, "Z")

    def test_drop_mid_data_then_delivered_once(self):
        peer = ScriptPeer(self, MX1, self.port, actions=["drop_mid"])
        msg = b"Subject: big\n\n" + b"line of text\n" * 20000
        rcpts, msgrec = self.remote("far.test", ["a@far.test"], msg)
        self.assertAll(rcpts, "Z")
        self.assertEqual(msgrec[0], "Z")
        self.assertEqual(peer.deliveries(), [])
        # the retry gets through, and the message arrives once, whole
        rcpts, msgrec = self.remote("far.test", ["a@far.test"], msg)
        self.assertAll(rcpts, "K")
        self.assertEqual(len(peer.deliveries()), 1)
        self.assertEqual(peer.deliveries()[0]["data"], wire(msg)[0])

    def test_drop_after_dot_is_temporary(self):
        peer = ScriptPeer(self, MX1, self.port, actions=["drop_after_dot"])
        rcpts, msgrec = self.remote("far.test", ["a@far.test", "b@far.test"])
        self.assertAll(rcpts, "Z")
        self.assertEqual(msgrec[0], "Z")
        self.assertIn("may have been delivered", msgrec[1])
        self.assertEqual(peer.sessions[0]["data"], wire(b"Subject: test\n\n"
                                                        b"hello\n")[0])

    def test_final_reply_outcomes(self):
        peer = ScriptPeer(self, MX1, self.port,
                          final="554 5.6.0 content rejected")
        rcpts, msgrec = self.remote("far.test", ["a@far.test"])
        self.assertAll(rcpts, "D")
        self.assertIn("failed after I sent the message. Remote host said: "
                      "554 5.6.0 content rejected", msgrec[1])
        peer.final = "451 4.3.0 try again"
        rcpts, _ = self.remote("far.test", ["a@far.test"])
        self.assertAll(rcpts, "Z")
        peer.data_reply = "554 5.7.1 no data for you"
        rcpts, msgrec = self.remote("far.test", ["a@far.test"])
        self.assertAll(rcpts, "D")
        self.assertIn("failed on DATA command", msgrec[1])

    def test_refused_during_data(self):
        # smtp-sink -A 0: a 550 right after the 354, then it hangs up
        SinkPeer(self, MX1, self.port, "-A", "0")
        msg = b"Subject: big\n\n" + (b"y" * 70 + b"\n") * 50000
        rcpts, msgrec = self.remote("far.test", ["a@far.test", "b@far.test"],
                                    msg)
        self.assertAll(rcpts, "D")
        self.assertIn("Remote host said: 550", msgrec[1])

    def test_malformed_and_overlong_replies(self):
        # a garbage reply to MAIL: nothing decided, the next host (mx2)
        # refuses connections, so it stays temporary
        ScriptPeer(self, MX1, self.port, mail=lambda a: "hello there")
        rcpts, msgrec = self.remote("far.test", ["a@far.test"])
        self.assertAll(rcpts, "Z")
        self.assertIn("malformed reply", msgrec[1])
        os.unlink(os.path.join(self.home, "queue", "lock", "tcpto"))
        peer = ScriptPeer(self, MX2, self.port,
                          rcpt=lambda a: "250 " + "x" * 5000)
        self.control("smtproutes", "far.test:[%s]:%d" % (MX2, self.port))
        rcpts, msgrec = self.remote("far.test", ["a@far.test"])
        self.assertAll(rcpts, "Z")
        self.assertIn("malformed reply", msgrec[1])
        self.assertEqual(peer.deliveries(), [])

    def test_bad_greeting_tries_next_host(self):
        bad = ScriptPeer(self, MX1, self.port, greeting="421 4.3.2 busy")
        sink = SinkPeer(self, MX2, self.port)
        rcpts, msgrec = self.remote("far.test", ["a@far.test"])
        self.assertAll(rcpts, "K")
        self.assertIn("mx2.far.test", msgrec[1])
        self.assertEqual(len(sink.messages(1)), 1)
        self.assertEqual(len(bad.sessions), 1)

    def test_every_host_refuses_with_5xx(self):
        ScriptPeer(self, MX1, self.port, greeting="554 5.7.1 no mail from you")
        ScriptPeer(self, MX2, self.port, greeting="554 5.7.1 not from you")
        rcpts, msgrec = self.remote("far.test", ["a@far.test"])
        self.assertAll(rcpts, "D")
        self.assertIn("554 5.7.1 no mail from you", msgrec[1])
        self.assertIn("554 5.7.1 not from you", msgrec[1])

    def test_helo_fallback_without_esmtp(self):
        sink = SinkPeer(self, MX1, self.port, "-e")
        rcpts, _ = self.remote("far.test", ["a@far.test"])
        self.assertAll(rcpts, "K")
        got = sink.messages(1)
        self.assertEqual(got[0]["proto"], "SMTP")
        self.assertEqual(got[0]["helo"], "me.test")
        # and a scripted peer that refuses EHLO: no ESMTP parameters follow
        peer = ScriptPeer(self, MX2, self.port, ehlo=None)
        self.control("smtproutes", "far.test:[%s]:%d" % (MX2, self.port))
        rcpts, _ = self.remote("far.test", ["a@far.test"], b"8bit \xe9\n")
        self.assertAll(rcpts, "K")
        cmds = peer.sessions[0]["commands"]
        self.assertEqual(cmds[:3], ["EHLO me.test", "HELO me.test",
                                    "MAIL FROM:<sender@me.test>"])

    def test_pipelining_on_and_off(self):
        rcpts = ["r%d@far.test" % i for i in range(150)]
        on = ScriptPeer(self, MX1, self.port)
        got, msgrec = self.remote("far.test", rcpts)
        self.assertAll(got, "K")
        self.assertTrue(on.sessions[0]["pipelined"])
        self.assertEqual(len([c for c in on.sessions[0]["commands"]
                              if c.startswith("RCPT")]), 150)
        off = ScriptPeer(self, MX2, self.port, ehlo=("8BITMIME",))
        self.control("smtproutes", "far.test:[%s]:%d" % (MX2, self.port))
        got, msgrec = self.remote("far.test", rcpts[:3])
        self.assertAll(got, "K")
        self.assertFalse(off.sessions[0]["pipelined"])

    def test_pipelining_with_smtp_sink(self):
        rcpts = ["a@far.test", "b@far.test", "c@far.test"]
        for opts, addr in (((), MX1), (("-p",), MX2)):
            sink = SinkPeer(self, addr, self.port, *opts)
            self.control("smtproutes", "far.test:[%s]:%d" % (addr, self.port))
            got, msgrec = self.remote("far.test", rcpts,
                                      b"Subject: p\n\n.x\nend\n")
            self.assertAll(got, "K")
            m = sink.messages(1)[0]
            self.assertEqual(m["rcpts"], ["<%s>" % r for r in rcpts])
            self.assertIn(b"\n.x\nend\n", m["body"])

    def test_size_and_8bitmime_with_aiosmtpd(self):
        peer = AioPeer(self, MX1, self.port)
        msg8 = "Subject: caf\u00e9\n\nna\u00efve\n.dot\n".encode()
        rcpts, _ = self.remote("far.test", ["a@far.test"], msg8)
        self.assertAll(rcpts, "K")
        rcpts, _ = self.remote("far.test", ["b@far.test"], b"plain\n")
        self.assertAll(rcpts, "K")
        e8, e7 = peer.envelopes
        data, size = wire(msg8)
        self.assertIn("SIZE=%d" % size, e8["options"])
        self.assertIn("BODY=8BITMIME", e8["options"])
        self.assertEqual(e8["content"], msg8.replace(b"\n", b"\r\n"))
        self.assertEqual(e8["rcpts"], ["a@far.test"])
        self.assertEqual(e8["mail"], "sender@me.test")
        self.assertNotIn("BODY=8BITMIME", e7["options"])
        self.assertIn("SIZE=%d" % wire(b"plain\n")[1], e7["options"])

    def test_oversize_refused(self):
        peer = AioPeer(self, MX1, self.port, data_size_limit=100)
        rcpts, msgrec = self.remote("far.test", ["a@far.test"],
                                    b"Subject: big\n\n" + b"x" * 500 + b"\n")
        self.assertAll(rcpts, "D")
        self.assertIn("Remote host said: 552", msgrec[1])
        self.assertEqual(peer.envelopes, [])

    def test_outgoingip_and_helohost(self):
        peer = ScriptPeer(self, MX1, self.port)
        self.control("outgoingip", "::1\n127.0.0.5")
        self.control("helohost", "out.me.test")
        rcpts, _ = self.remote("far.test", ["a@far.test"])
        self.assertAll(rcpts, "K")
        self.assertEqual(peer.sessions[0]["client"], "127.0.0.5")
        self.assertEqual(peer.sessions[0]["commands"][0], "EHLO out.me.test")
        self.control("outgoingip", "not an address")
        p = subprocess.run([REMOTE, "far.test", "s", "a@far.test"],
                           input=b"x\n", stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE,
                           env=dict(os.environ, QMAILHOME=self.home),
                           timeout=30)
        self.assertEqual(p.returncode, 111)
        self.assertIn(b"control/outgoingip", p.stderr)

    def test_bounce_sender_and_odd_addresses(self):
        peer = ScriptPeer(self, MX1, self.port)
        rcpts, msgrec = self.remote("far.test",
                                    ["john doe@far.test", "evil\r\nRSET@far.test",
                                     "ok@far.test"], sender="")
        self.assertEqual([s for s, _ in rcpts], ["K", "D", "K"])
        cmds = peer.sessions[0]["commands"]
        self.assertIn("MAIL FROM:<> SIZE=%d" % wire(b"Subject: test\n\n"
                                                    b"hello\n")[1], cmds)
        self.assertIn('RCPT TO:<"john doe"@far.test>', cmds)
        self.assertNotIn("RSET@far.test>", cmds)

    def test_usage_and_local_trouble(self):
        p = subprocess.run([REMOTE, "far.test", "s"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=dict(os.environ, QMAILHOME=self.home),
                           timeout=30)
        self.assertEqual(p.returncode, 100)
        self.assertEqual(p.stdout, b"")
        os.unlink(os.path.join(self.home, "control", "me"))
        p = subprocess.run([REMOTE, "far.test", "s",
                            "a@far.test"], input=b"x\n",
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=dict(os.environ, QMAILHOME=self.home),
                           timeout=30)
        self.assertEqual(p.returncode, 111)
        self.assertEqual(p.stdout, b"")
        self.assertIn(b"control/me", p.stderr)
        # a domain that is not a host name fails for good, without DNS
        self.control("me", "me.test")
        rcpts, msgrec = self.remote("bad domain", ["a@bad domain"])
        self.assertAll(rcpts, "D")


if __name__ == "__main__":
    unittest.main()

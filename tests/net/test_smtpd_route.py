"""qmail-smtpd's recipient check follows qmail-send's routing: virtual
domains and the percent hack are checked exactly as delivery will see
them, so no mail is accepted that would only bounce."""

import smtplib
import unittest

import qmtest


class TestRcptRouting(unittest.TestCase):
    def setUp(self):
        qmtest.require(self, "qmail-start", "qmail-tcpd", "qmail-smtpd")
        self.q = qmtest.Instance.for_test(self)
        self.q.adduser("demo")
        self.q.set_control("rcpthosts", ["localhost", "virt.test",
                                         "relay.test"])
        self.q.set_control("virtualdomains", ["virt.test:demo"])
        self.q.set_control("percenthack", ["relay.test"])
        self.q.set_control("greetdelay", "0")
        self.q.dotqmail("demo", "known", "./Maildir/")
        self.q.start()

    def rcpt(self, addr):
        with smtplib.SMTP("127.0.0.1", self.q.ports["smtp"], timeout=10) as s:
            s.ehlo("client.test")
            s.mail("someone@example.org")
            return s.rcpt(addr)[0]

    def test_virtual_domain_recipients_are_checked(self):
        # x@virt.test is demo-x: it exists only through .qmail-x
        self.assertEqual(self.rcpt("known@virt.test"), 250)
        self.assertEqual(self.rcpt("unknown@virt.test"), 550)

    def test_percent_hack_is_followed(self):
        self.assertEqual(self.rcpt("demo%localhost@relay.test"), 250)
        self.assertEqual(self.rcpt("nobody%localhost@relay.test"), 550)

    def test_local_domain_still_checked(self):
        self.assertEqual(self.rcpt("demo@localhost"), 250)
        self.assertEqual(self.rcpt("demo-known@localhost"), 250)
        self.assertEqual(self.rcpt("demo-other@localhost"), 550)


if __name__ == "__main__":
    unittest.main()

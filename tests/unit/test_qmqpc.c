// modules: src/qmqpc
/* Unit tests: qmail-qmqpc's control/qmqpservers lines and its envelope
 * reader (qmail-queue's grammar in, QMQP netstrings out). */
#include <arpa/inet.h>
#include <check.h>
#include <string.h>
#include <unistd.h>

#include "qmqpc_input.h"
#include "qmqpc_server.h"
#include "queue.h"

static unsigned port_of(const qmqpc_server *s)
{
    if (s->addr.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&s->addr)->sin6_port);
    return ntohs(((const struct sockaddr_in *)&s->addr)->sin_port);
}

START_TEST(server_lines)
{
    static const struct {
        const char *line;
        int family;
        unsigned port;
        const char *name;
    } good[] = {
        {"192.0.2.7", AF_INET, 628, "192.0.2.7:628"},
        {"192.0.2.7:6280", AF_INET, 6280, "192.0.2.7:6280"},
        {"2001:db8::7", AF_INET6, 628, "[2001:db8::7]:628"},
        {"::1", AF_INET6, 628, "[::1]:628"},
        {"[2001:db8::7]", AF_INET6, 628, "[2001:db8::7]:628"},
        {"[::1]:1", AF_INET6, 1, "[::1]:1"},
        {"[192.0.2.7]:65535", AF_INET, 65535, "192.0.2.7:65535"},
    };
    static const char *const bad[] = {
        "", "host.example", "192.0.2.7:", "192.0.2.7:0", "192.0.2.7:65536",
        "192.0.2.7:x", "192.0.2.7:+1", "192.0.2.300", "[::1", "[::1]x",
        "[::1]:", "[]", "2001:db8::7:99999x", "192.0.2.7 628",
        "[2001:db8::1]:628:1",
    };
    size_t i;

    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        qmqpc_server s;
        ck_assert_msg(qmqpc_server_parse(good[i].line, &s) == 0, "%s",
                      good[i].line);
        ck_assert_int_eq(s.addr.ss_family, good[i].family);
        ck_assert_uint_eq(port_of(&s), good[i].port);
        ck_assert_str_eq(s.name, good[i].name);
    }
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        qmqpc_server s;
        ck_assert_msg(qmqpc_server_parse(bad[i], &s) == -1, "%s", bad[i]);
    }
}
END_TEST

/* Feed env (n bytes) through a pipe to qmqpc_envelope. */
static int envelope(const char *env, size_t n, dstr *out, size_t *nrcpts)
{
    int p[2];
    const char *why;
    int code;

    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(write(p[1], env, n), (ssize_t)n);
    close(p[1]);
    out->len = 0;
    code = qmqpc_envelope(p[0], out, nrcpts, &why);
    close(p[0]);
    return code;
}

#define ENV(s) (s), sizeof(s) - 1

START_TEST(envelope_to_netstrings)
{
    dstr out = DSTR_ZERO;
    size_t n;

    ck_assert_int_eq(envelope(ENV("Fa@b\0Tc@d\0Te@f\0\0"), &out, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(out.len, 18);
    ck_assert_int_eq(memcmp(out.s, "3:a@b,3:c@d,3:e@f,", 18), 0);
    ck_assert_int_eq(envelope(ENV("F\0T\0\0"), &out, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(memcmp(out.s, "0:,0:,", 6), 0);
    ck_assert_int_eq(envelope(ENV("Fa@b\0\0"), &out, &n), 0);
    ck_assert_uint_eq(n, 0);

    ck_assert_int_eq(envelope(ENV(""), &out, &n), QQ_ENVELOPE);
    ck_assert_int_eq(envelope(ENV("\0"), &out, &n), QQ_ENVELOPE);
    ck_assert_int_eq(envelope(ENV("Ta@b\0\0"), &out, &n), QQ_ENVELOPE);
    ck_assert_int_eq(envelope(ENV("Fa@b\0Tc@d\0"), &out, &n), QQ_ENVELOPE);
    ck_assert_int_eq(envelope(ENV("Fa@b\0Fc@d\0\0"), &out, &n), QQ_ENVELOPE);
    ck_assert_int_eq(envelope(ENV("Fa@b\0Tc\r@d\0\0"), &out, &n),
                     QQ_ENVELOPE);
    ck_assert_int_eq(envelope(ENV("Fa@b\0Tc@d\0\0x"), &out, &n), QQ_ENVELOPE);
    dstr_free(&out);
}
END_TEST

START_TEST(envelope_address_limit)
{
    char env[QUEUE_ADDR_MAX + 16];
    dstr out = DSTR_ZERO;
    size_t n, len;

    /* exactly QUEUE_ADDR_MAX bytes: fine; one more: code 11 */
    env[0] = 'F';
    memset(env + 1, 'x', QUEUE_ADDR_MAX);
    len = 1 + QUEUE_ADDR_MAX;
    env[len++] = 0;
    env[len++] = 0;
    ck_assert_int_eq(envelope(env, len, &out, &n), 0);
    env[0] = 'F';
    memset(env + 1, 'x', QUEUE_ADDR_MAX + 1);
    len = 2 + QUEUE_ADDR_MAX;
    env[len++] = 0;
    env[len++] = 0;
    ck_assert_int_eq(envelope(env, len, &out, &n), QQ_ADDR_TOO_LONG);
    dstr_free(&out);
}
END_TEST

START_TEST(spool_keeps_every_byte)
{
    int p[2], fd;
    uint64_t len;
    dstr head = DSTR_ZERO;
    char buf[64];
    static const char body[] = "a\0b\r\nc";

    ck_assert_int_eq(dstr_cats(&head, "Received: x\n"), 0);
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(write(p[1], body, sizeof body), (ssize_t)sizeof body);
    close(p[1]);
    ck_assert_int_eq(qmqpc_spool(p[0], &head, &fd, &len), 0);
    close(p[0]);
    ck_assert_uint_eq(len, head.len + sizeof body);
    ck_assert_int_eq(pread(fd, buf, sizeof buf, 0), (ssize_t)len);
    ck_assert_int_eq(memcmp(buf, "Received: x\n", head.len), 0);
    ck_assert_int_eq(memcmp(buf + head.len, body, sizeof body), 0);
    close(fd);
    dstr_free(&head);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("qmqpc");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, server_lines);
    tcase_add_test(tc, envelope_to_netstrings);
    tcase_add_test(tc, envelope_address_limit);
    tcase_add_test(tc, spool_keeps_every_byte);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}

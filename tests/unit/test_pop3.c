// modules: src/pop3
/* Unit tests: POP3 command parsing, the CR LF / byte-stuffing encoder and
 * its size count, UIDLs from Maildir names, the command line reader, the
 * control files and the per-address failure table. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pop3_cmd.h"
#include "pop3_conf.h"
#include "pop3_enc.h"
#include "pop3_io.h"
#include "pop3_maildir.h"
#include "pop3_throttle.h"
#include "timeutil.h"
#include "unit_tmpdir.h"

/* ---- command parsing --------------------------------------------------------- */

#define S_A 1u
#define S_B 2u

static int dummy(void *s, const struct pop3_cmd *c)
{
    (void)s;
    (void)c;
    return 0;
}

static const struct pop3_command table[] = {
    {"USER", S_A | S_B, 1, 1, dummy},
    {"PASS", S_B, 1, POP3_RAW, dummy},
    {"LIST", S_A, 0, 1, dummy},
    {"TOP", S_A, 2, 2, dummy},
    {"QUIT", S_A | S_B, 0, 0, dummy},
    {"STAT", 0, 0, 0, 0},
    {0, 0, 0, 0, 0},
};

static enum pop3_parse parse(unsigned state, const char *line,
                             struct pop3_cmd *c)
{
    const struct pop3_command *e;
    return pop3_cmd_parse(table, state, line, strlen(line), c, &e);
}

START_TEST(cmd_basic)
{
    struct pop3_cmd c;
    const struct pop3_command *e;

    ck_assert_int_eq(pop3_cmd_parse(table, S_A, "user alice", 10, &c, &e),
                     POP3_PARSE_OK);
    ck_assert_str_eq(c.verb, "USER");
    ck_assert_ptr_eq(e, &table[0]);
    ck_assert_int_eq(c.nargs, 1);
    ck_assert_str_eq(c.arg[0], "alice");
    ck_assert_uint_eq(c.arglen[0], 5);

    ck_assert_int_eq(parse(S_A, "QuIt", &c), POP3_PARSE_OK);
    ck_assert_str_eq(c.verb, "QUIT");
    ck_assert_int_eq(c.nargs, 0);

    ck_assert_int_eq(parse(S_A, "TOP 1 10", &c), POP3_PARSE_OK);
    ck_assert_int_eq(c.nargs, 2);
    ck_assert_str_eq(c.arg[0], "1");
    ck_assert_str_eq(c.arg[1], "10");
    /* runs of spaces and a trailing space are tolerated */
    ck_assert_int_eq(parse(S_A, "TOP  1   10 ", &c), POP3_PARSE_OK);
    ck_assert_str_eq(c.arg[1], "10");
    ck_assert_int_eq(parse(S_A, "LIST", &c), POP3_PARSE_OK);
    ck_assert_int_eq(c.nargs, 0);
    ck_assert_int_eq(parse(S_A, "LIST 3", &c), POP3_PARSE_OK);
    ck_assert_int_eq(c.nargs, 1);
}
END_TEST

START_TEST(cmd_errors)
{
    struct pop3_cmd c;
    const struct pop3_command *e;
    char longline[POP3_LINE_MAX + 10];

    ck_assert_int_eq(parse(S_A, "", &c), POP3_PARSE_EMPTY);
    ck_assert_int_eq(parse(S_A, "   ", &c), POP3_PARSE_EMPTY);
    ck_assert_int_eq(parse(S_A, " USER x", &c), POP3_PARSE_UNKNOWN);
    ck_assert_int_eq(parse(S_A, "FOO", &c), POP3_PARSE_UNKNOWN);
    ck_assert_int_eq(parse(S_A, "USERS x", &c), POP3_PARSE_UNKNOWN);
    ck_assert_int_eq(parse(S_A, "US3R x", &c), POP3_PARSE_UNKNOWN);
    ck_assert_int_eq(parse(S_A, "VERYLONGVERB", &c), POP3_PARSE_UNKNOWN);
    ck_assert_int_eq(parse(S_A, "\x01USER", &c), POP3_PARSE_BADCHAR);
    ck_assert_int_eq(parse(S_A, "USER a\tb", &c), POP3_PARSE_BADCHAR);
    ck_assert_int_eq(parse(S_A, "USER a\rb", &c), POP3_PARSE_BADCHAR);
    ck_assert_int_eq(pop3_cmd_parse(table, S_A, "USER a\0b", 8, &c, &e),
                     POP3_PARSE_BADCHAR);
    /* state: known command, wrong state; the entry is reported */
    ck_assert_int_eq(pop3_cmd_parse(table, S_A, "PASS x", 6, &c, &e),
                     POP3_PARSE_STATE);
    ck_assert_str_eq(e->verb, "PASS");
    ck_assert_int_eq(parse(S_A, "STAT", &c), POP3_PARSE_STATE);
    ck_assert_int_eq(parse(S_B, "LIST", &c), POP3_PARSE_STATE);
    /* arguments */
    ck_assert_int_eq(parse(S_A, "USER", &c), POP3_PARSE_ARGS);
    ck_assert_int_eq(parse(S_A, "USER a b", &c), POP3_PARSE_ARGS);
    ck_assert_int_eq(parse(S_A, "TOP 1", &c), POP3_PARSE_ARGS);
    ck_assert_int_eq(parse(S_A, "TOP 1 2 3", &c), POP3_PARSE_ARGS);
    ck_assert_int_eq(parse(S_A, "QUIT now", &c), POP3_PARSE_ARGS);
    ck_assert_int_eq(parse(S_B, "PASS", &c), POP3_PARSE_ARGS);
    ck_assert_int_eq(parse(S_B, "PASS ", &c), POP3_PARSE_ARGS);
    /* over the line limit */
    memset(longline, 'x', sizeof longline);
    memcpy(longline, "USER ", 5);
    ck_assert_int_eq(pop3_cmd_parse(table, S_A, longline, POP3_LINE_MAX, &c,
                                    &e),
                     POP3_PARSE_OK);
    ck_assert_uint_eq(c.arglen[0], POP3_LINE_MAX - 5);
    ck_assert_int_eq(pop3_cmd_parse(table, S_A, longline, POP3_LINE_MAX + 1,
                                    &c, &e),
                     POP3_PARSE_ARGS);
}
END_TEST

START_TEST(cmd_raw_argument)
{
    struct pop3_cmd c;
    const struct pop3_command *e;

    /* a password keeps its spaces, control characters and high octets */
    ck_assert_int_eq(parse(S_B, "PASS  two  spaces ", &c), POP3_PARSE_OK);
    ck_assert_int_eq(c.nargs, 1);
    ck_assert_str_eq(c.arg[0], " two  spaces ");
    ck_assert_int_eq(parse(S_B, "pass a\tb\x01\xff", &c), POP3_PARSE_OK);
    ck_assert_str_eq(c.arg[0], "a\tb\x01\xff");
    /* but never a NUL */
    ck_assert_int_eq(pop3_cmd_parse(table, S_B, "PASS a\0b", 8, &c, &e),
                     POP3_PARSE_BADCHAR);
}
END_TEST

START_TEST(cmd_numbers)
{
    unsigned long n;
    unsigned long long m;

    ck_assert_int_eq(pop3_arg_msgnum("1", 5, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(pop3_arg_msgnum("005", 5, &n), 0);
    ck_assert_uint_eq(n, 5);
    ck_assert_int_eq(pop3_arg_msgnum("6", 5, &n), -1);
    ck_assert_int_eq(pop3_arg_msgnum("0", 5, &n), -1);
    ck_assert_int_eq(pop3_arg_msgnum("", 5, &n), -1);
    ck_assert_int_eq(pop3_arg_msgnum("+1", 5, &n), -1);
    ck_assert_int_eq(pop3_arg_msgnum("-1", 5, &n), -1);
    ck_assert_int_eq(pop3_arg_msgnum("1a", 5, &n), -1);
    ck_assert_int_eq(pop3_arg_msgnum("1", 0, &n), -1);
    ck_assert_int_eq(
        pop3_arg_msgnum("99999999999999999999999999", (unsigned long)-1, &n),
        -1);
    ck_assert_int_eq(pop3_arg_count("0", &m), 0);
    ck_assert_uint_eq(m, 0);
    ck_assert_int_eq(pop3_arg_count("12", &m), 0);
    ck_assert_uint_eq(m, 12);
    ck_assert_int_eq(pop3_arg_count("999999999999999999999999999", &m), 0);
    ck_assert(m == ~0ULL);
    ck_assert_int_eq(pop3_arg_count("", &m), -1);
    ck_assert_int_eq(pop3_arg_count("-2", &m), -1);
    ck_assert_int_eq(pop3_arg_count("1x", &m), -1);
}
END_TEST

/* ---- encoder ---------------------------------------------------------------------- */

/* Encode in with chunks of chunk octets (0: all at once); returns a
 * malloc'ed buffer, its length in *outlen. */
static char *encode(const char *in, size_t n, int stuff,
                    unsigned long long lines, size_t chunk, size_t *outlen)
{
    struct pop3_enc e;
    char *out = malloc(2 * n + 2 + 1);
    size_t o = 0, i = 0;

    ck_assert_ptr_nonnull(out);
    pop3_enc_init(&e, stuff, lines);
    if (chunk == 0)
        chunk = n ? n : 1;
    while (i < n) {
        size_t k = n - i < chunk ? n - i : chunk;
        o += pop3_enc_feed(&e, in + i, k, out + o);
        i += k;
    }
    o += pop3_enc_finish(&e, out + o);
    out[o] = 0;
    *outlen = o;
    return out;
}

static unsigned long long count(const char *in, size_t n)
{
    struct pop3_enc e;
    unsigned long long total;

    pop3_enc_init(&e, 0, POP3_ENC_ALL);
    total = pop3_enc_feed(&e, in, n, 0);
    return total + pop3_enc_finish(&e, 0);
}

/* What a client does: remove the stuffed dot at the start of a line. */
static size_t unstuff(const char *in, size_t n, char *out)
{
    size_t i, o = 0;
    int start = 1;
    for (i = 0; i < n; i++) {
        if (start && in[i] == '.') {
            start = 0;
            ck_assert(i + 1 < n && in[i + 1] == '.');
            continue; /* the next '.' is the data */
        }
        out[o++] = in[i];
        start = in[i] == '\n';
    }
    return o;
}

static void check_enc(const char *in, const char *want_stuffed)
{
    size_t n = strlen(in), len, chunk;
    char *out;

    for (chunk = 0; chunk < 4; chunk++) {
        out = encode(in, n, 1, POP3_ENC_ALL, chunk, &len);
        ck_assert_str_eq(out, want_stuffed);
        ck_assert_uint_eq(len, strlen(want_stuffed));
        free(out);
    }
}

START_TEST(enc_line_ends_and_stuffing)
{
    check_enc("", "");
    check_enc("a\nb\n", "a\r\nb\r\n");
    check_enc("a\r\nb\r\n", "a\r\nb\r\n");
    check_enc("a\r\nb", "a\r\nb\r\n");
    check_enc("abc", "abc\r\n");
    check_enc("abc\r", "abc\r\n");
    check_enc("\n", "\r\n");
    check_enc("\n\n", "\r\n\r\n");
    /* a bare CR is a line end of its own: CR LF */
    check_enc("a\r\r\n", "a\r\n\r\n");
    check_enc("a\rb\n", "a\r\nb\r\n");
    check_enc("a\rb", "a\r\nb\r\n");
    check_enc("\r", "\r\n");
    check_enc("\r\r", "\r\n\r\n");
    /* what looks like the end of the message to a client that ends lines
     * at a lone CR is stuffed like any other line */
    check_enc("x\r.\r\n", "x\r\n..\r\n");
    check_enc("x\r.\ry\n", "x\r\n..\r\ny\r\n");
    check_enc("\r.", "\r\n..\r\n");
    check_enc(".", "..\r\n");
    check_enc(".\n", "..\r\n");
    check_enc("x\n.\n..\n.x\n", "x\r\n..\r\n...\r\n..x\r\n");
    check_enc("x\r\n.\r\n", "x\r\n..\r\n");
    check_enc("a.b\n x.\n", "a.b\r\n x.\r\n");
}
END_TEST

START_TEST(enc_size_equals_octets_sent)
{
    static const char *const cases[] = {
        "", "x", "x\n", "x\r\n", ".\n", "..\r\n.", "\r", "\r\r\n\n",
        "Subject: a\n\n.body\n.\n", "no final newline",
    };
    size_t i, len, ulen;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = encode(cases[i], strlen(cases[i]), 1, POP3_ENC_ALL, 0,
                           &len);
        char *plain = malloc(len + 1);
        ck_assert_ptr_nonnull(plain);
        ulen = unstuff(out, len, plain);
        ck_assert_uint_eq(count(cases[i], strlen(cases[i])), ulen);
        free(plain);
        free(out);
    }
}
END_TEST

/* Random messages made of the octets that matter: sizes always equal the
 * octets after unstuffing, chunking never changes the output. */
START_TEST(enc_random)
{
    static const char alphabet[] = {'.', '\r', '\n', 'a', ' ', '\0'};
    char in[200];
    size_t round, n, i, len1, len2, ulen;

    srandom(12345);
    for (round = 0; round < 3000; round++) {
        char *a, *b, *plain;
        n = (size_t)random() % sizeof in;
        for (i = 0; i < n; i++)
            in[i] = alphabet[random() % sizeof alphabet];
        a = encode(in, n, 1, POP3_ENC_ALL, 0, &len1);
        b = encode(in, n, 1, POP3_ENC_ALL, 1 + (size_t)random() % 7, &len2);
        ck_assert_uint_eq(len1, len2);
        ck_assert(memcmp(a, b, len1) == 0);
        plain = malloc(len1 + 1);
        ck_assert_ptr_nonnull(plain);
        ulen = unstuff(a, len1, plain);
        ck_assert_uint_eq(count(in, n), ulen);
        /* every LF on the wire has its CR, every CR its LF; the output
         * ends a line */
        for (i = 0; i < len1; i++) {
            if (a[i] == '\n')
                ck_assert(i > 0 && a[i - 1] == '\r');
            if (a[i] == '\r')
                ck_assert(i + 1 < len1 && a[i + 1] == '\n');
        }
        if (len1)
            ck_assert(a[len1 - 1] == '\n');
        free(plain);
        free(a);
        free(b);
    }
}
END_TEST

START_TEST(enc_size_of_file)
{
    unsigned long long size;
    char big[100000];
    size_t i;
    int fd;

    /* crosses the 64 KB read buffer with a CR at the boundary */
    for (i = 0; i < sizeof big; i++)
        big[i] = i % 10 == 9 ? '\n' : 'x';
    big[65535] = '\r';
    big[65536] = '\n';
    tmpdir_put("m", big, sizeof big);
    fd = open("m", O_RDONLY);
    ck_assert_int_ne(fd, -1);
    ck_assert_int_eq(pop3_enc_size_fd(fd, &size), 0);
    close(fd);
    ck_assert_uint_eq(size, count(big, sizeof big));
    /* 10001 LFs, one of which already had its CR */
    ck_assert_uint_eq(size, sizeof big + 10000);
}
END_TEST

START_TEST(enc_top)
{
    const char *msg = "A: 1\nB: 2\n\nb1\n.b2\nb3\n";
    const char *crlf = "A: 1\r\nB: 2\r\n\r\nb1\r\n.b2\r\nb3\r\n";
    size_t len;
    char *out;

    out = encode(msg, strlen(msg), 1, 0, 0, &len);
    ck_assert_str_eq(out, "A: 1\r\nB: 2\r\n\r\n");
    free(out);
    out = encode(msg, strlen(msg), 1, 2, 1, &len);
    ck_assert_str_eq(out, "A: 1\r\nB: 2\r\n\r\nb1\r\n..b2\r\n");
    free(out);
    out = encode(msg, strlen(msg), 1, 100, 0, &len);
    ck_assert_str_eq(out, "A: 1\r\nB: 2\r\n\r\nb1\r\n..b2\r\nb3\r\n");
    free(out);
    out = encode(crlf, strlen(crlf), 1, 1, 3, &len);
    ck_assert_str_eq(out, "A: 1\r\nB: 2\r\n\r\nb1\r\n");
    free(out);
    /* no empty line: all of it is header */
    out = encode("A: 1\nB: 2", 9, 1, 0, 0, &len);
    ck_assert_str_eq(out, "A: 1\r\nB: 2\r\n");
    free(out);
    /* the limit reached on the last line without LF */
    out = encode("A\n\nb1", 5, 1, 1, 0, &len);
    ck_assert_str_eq(out, "A\r\n\r\nb1\r\n");
    free(out);
    /* an empty message */
    out = encode("", 0, 1, 0, 0, &len);
    ck_assert_str_eq(out, "");
    free(out);
    /* bare CRs end lines for TOP as on the wire */
    out = encode("A\r\rb1\rb2\n", 9, 1, 1, 1, &len);
    ck_assert_str_eq(out, "A\r\n\r\nb1\r\n");
    free(out);
}
END_TEST

/* ---- UIDL ---------------------------------------------------------------------------- */

START_TEST(uid_from_names)
{
    char uid[POP3_UID_MAX + 1], uid2[POP3_UID_MAX + 1];
    char longname[200];

    ck_assert_uint_eq(pop3_uid_from_name("1733.M1P2.host:2,S", uid), 14);
    ck_assert_str_eq(uid, "1733.M1P2.host");
    ck_assert_uint_eq(pop3_uid_from_name("1733.M1P2.host", uid), 14);
    ck_assert_str_eq(uid, "1733.M1P2.host");
    pop3_uid_from_name("a:b:c", uid);
    ck_assert_str_eq(uid, "a");
    /* 70 octets is fine, 71 is hashed */
    memset(longname, 'n', 70);
    longname[70] = 0;
    pop3_uid_from_name(longname, uid);
    ck_assert_str_eq(uid, longname);
    memset(longname, 'n', 100);
    longname[71] = 0;
    ck_assert_uint_eq(pop3_uid_from_name(longname, uid), 33);
    ck_assert_int_eq(uid[0], 'H');
    /* stable, and different names give different ids */
    pop3_uid_from_name(longname, uid2);
    ck_assert_str_eq(uid, uid2);
    longname[3] = 'm';
    pop3_uid_from_name(longname, uid2);
    ck_assert_str_ne(uid, uid2);
    /* the info part does not change the hash either */
    memcpy(longname + 71, ":2,S", 5);
    longname[3] = 'n';
    pop3_uid_from_name(longname, uid2);
    ck_assert_str_eq(uid, uid2);
    /* octets outside 0x21..0x7e, an empty unique part */
    ck_assert_uint_eq(pop3_uid_from_name("a b", uid), 33);
    ck_assert_uint_eq(pop3_uid_from_name("caf\xc3\xa9", uid), 33);
    ck_assert_uint_eq(pop3_uid_from_name(":2,", uid), 33);
}
END_TEST

/* ---- the line reader ---------------------------------------------------------------- */

static int pipe_with(const char *data, size_t n)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(write(p[1], data, n), (ssize_t)n);
    close(p[1]);
    return p[0];
}

START_TEST(io_lines)
{
    static const char data[] = "USER a\r\nPASS b c\nx\ry\r\n\r\nNUL\0in\r\nend";
    struct pop3_in in;
    char line[32];
    size_t len;
    int toolong, fd = pipe_with(data, sizeof data - 1);

    pop3_in_init(&in, fd, 0);
    ck_assert_int_eq(pop3_in_line(&in, line, sizeof line, &len, 5, &toolong),
                     1);
    ck_assert_str_eq(line, "USER a");
    ck_assert_int_eq(toolong, 0);
    ck_assert_int_eq(pop3_in_pending(&in), 1);
    ck_assert_int_eq(pop3_in_line(&in, line, sizeof line, &len, 5, &toolong),
                     1);
    ck_assert_str_eq(line, "PASS b c");
    ck_assert_int_eq(pop3_in_line(&in, line, sizeof line, &len, 5, &toolong),
                     1);
    ck_assert_str_eq(line, "x\ry"); /* only the CR before the LF goes */
    ck_assert_int_eq(pop3_in_line(&in, line, sizeof line, &len, 5, &toolong),
                     1);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(pop3_in_line(&in, line, sizeof line, &len, 5, &toolong),
                     1);
    ck_assert_uint_eq(len, 6);
    ck_assert(memcmp(line, "NUL\0in", 6) == 0);
    /* a last line without LF is not a command */
    ck_assert_int_eq(pop3_in_line(&in, line, sizeof line, &len, 5, &toolong),
                     0);
    close(fd);
}
END_TEST

START_TEST(io_toolong)
{
    char data[100], line[11];
    struct pop3_in in;
    size_t len;
    int toolong, fd;

    /* 10 octets fit (cap 11), with or without CR */
    memcpy(data, "0123456789\r\n0123456789\nABCDEFGHIJK\r\nok\n", 39);
    fd = pipe_with(data, 39);
    pop3_in_init(&in, fd, 0);
    ck_assert_int_eq(pop3_in_line(&in, line, sizeof line, &len, 5, &toolong),
                     1);
    ck_assert_int_eq(toolong, 0);
    ck_assert_str_eq(line, "0123456789");
    ck_assert_int_eq(pop3_in_line(&in, line, sizeof line, &len, 5, &toolong),
                     1);
    ck_assert_int_eq(toolong, 0);
    ck_assert_int_eq(pop3_in_line(&in, line, sizeof line, &len, 5, &toolong),
                     1);
    ck_assert_int_eq(toolong, 1);
    ck_assert_uint_eq(len, 10);
    /* the rest of the long line was consumed */
    ck_assert_int_eq(pop3_in_line(&in, line, sizeof line, &len, 5, &toolong),
                     1);
    ck_assert_int_eq(toolong, 0);
    ck_assert_str_eq(line, "ok");
    close(fd);
}
END_TEST

START_TEST(io_unbuffered_leaves_the_rest)
{
    static const char data[] = "PASS x\r\nSTAT\r\n";
    struct pop3_in in;
    char line[32], rest[32];
    size_t len;
    int toolong, fd = pipe_with(data, sizeof data - 1);

    pop3_in_init(&in, fd, 1);
    ck_assert_int_eq(pop3_in_line(&in, line, sizeof line, &len, 5, &toolong),
                     1);
    ck_assert_str_eq(line, "PASS x");
    ck_assert_int_eq(pop3_in_pending(&in), 0);
    /* the next command is still in the pipe for the next program */
    ck_assert_int_eq(read(fd, rest, sizeof rest), 6);
    ck_assert(memcmp(rest, "STAT\r\n", 6) == 0);
    close(fd);
}
END_TEST

/* A socket pair with data on one end (shut for writing when eof): the
 * other end is returned, *peer is the writing end (or -1). */
static int socket_with(const char *data, size_t n, int eof, int *peer)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert_int_eq(write(sv[0], data, n), (ssize_t)n);
    if (eof) {
        close(sv[0]);
        sv[0] = -1;
    }
    *peer = sv[0];
    return sv[1];
}

/* read(2) calls of this process so far (-1 if the kernel does not say):
 * recv(MSG_PEEK) is not one of them. */
static long read_calls(void)
{
    char buf[512];
    const char *p;
    ssize_t n;
    int fd = open("/proc/self/io", O_RDONLY);

    if (fd == -1)
        return -1;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    p = strstr(buf, "syscr: ");
    return p ? strtol(p + 7, 0, 10) : -1;
}

START_TEST(io_exact_on_a_socket)
{
    static const char data[] = "USER a\r\nPASS x y\r\nSTAT\r\n";
    struct pop3_in in;
    char line[256], rest[32];
    size_t len;
    int toolong, peer, fd = socket_with(data, sizeof data - 1, 0, &peer);

    pop3_in_init(&in, fd, 1);
    ck_assert_int_eq(pop3_in_line(&in, line, sizeof line, &len, 5, &toolong),
                     1);
    ck_assert_str_eq(line, "USER a");
    ck_assert_int_eq(pop3_in_line(&in, line, sizeof line, &len, 5, &toolong),
                     1);
    ck_assert_str_eq(line, "PASS x y");
    ck_assert_int_eq(in.nopeek, 0);
    ck_assert_int_eq(pop3_in_pending(&in), 0);
    /* the next command is still in the socket for the next program */
    ck_assert_int_eq(read(fd, rest, sizeof rest), 6);
    ck_assert(memcmp(rest, "STAT\r\n", 6) == 0);
    /* a line that arrives in pieces */
    ck_assert_int_eq(write(peer, "CA", 2), 2);
    if (fork() == 0) {
        usleep(100000);
        if (write(peer, "PA\r\nQUIT\r\n", 10) != 10)
            _exit(1);
        _exit(0);
    }
    ck_assert_int_eq(pop3_in_line(&in, line, sizeof line, &len, 5, &toolong),
                     1);
    ck_assert_str_eq(line, "CAPA");
    ck_assert_int_eq(read(fd, rest, sizeof rest), 6);
    wait(0);
    close(peer);
    close(fd);
}
END_TEST

START_TEST(io_exact_reads_a_line_at_once)
{
    char data[300];
    struct pop3_in in;
    char line[256];
    size_t len;
    long before, after;
    int toolong, peer, fd;

    /* the old reader made one read(2) per octet: 253 for this line */
    memset(data, 'a', 253);
    memcpy(data + 253, "\r\n", 2);
    fd = socket_with(data, 255, 1, &peer);
    pop3_in_init(&in, fd, 1);
    before = read_calls();
    ck_assert_int_eq(pop3_in_line(&in, line, sizeof line, &len, 5, &toolong),
                     1);
    after = read_calls();
    ck_assert_uint_eq(len, 253);
    if (before >= 0 && after >= 0)
        ck_assert_int_le(after - before, 4);
    close(fd);
}
END_TEST

START_TEST(io_exact_overlong_line)
{
    static const char data[] = "0123456789ABC\r\nQUIT\r\n";
    struct pop3_in in;
    char line[11], rest[32];
    size_t len;
    int toolong, peer, fd = socket_with(data, sizeof data - 1, 1, &peer);

    /* 10 octets with the line end fit (cap 11): "01234567\r\n" would */
    pop3_in_init(&in, fd, 1);
    errno = 0;
    ck_assert_int_eq(pop3_in_line(&in, line, sizeof line, &len, 5, &toolong),
                     -1);
    ck_assert_int_eq(errno, EMSGSIZE);
    /* nothing beyond the limit was read */
    ck_assert_int_eq(read(fd, rest, sizeof rest), 11);
    ck_assert(memcmp(rest, "ABC\r\nQUIT\r\n", 11) == 0);
    close(fd);
    fd = socket_with("01234567\r\n012345678\n", 21, 1, &peer);
    pop3_in_init(&in, fd, 1);
    ck_assert_int_eq(pop3_in_line(&in, line, sizeof line, &len, 5, &toolong),
                     1);
    ck_assert_str_eq(line, "01234567");
    ck_assert_int_eq(pop3_in_line(&in, line, sizeof line, &len, 5, &toolong),
                     1);
    ck_assert_str_eq(line, "012345678");
    ck_assert_int_eq(pop3_in_line(&in, line, sizeof line, &len, 5, &toolong),
                     0);
    close(fd);
}
END_TEST

START_TEST(io_overall_deadline)
{
    struct pop3_in in;
    char line[64];
    size_t len;
    int64_t t0;
    int toolong, peer, fd = socket_with("NOOP\r\nslow", 10, 0, &peer);

    /* each line within its timeout, but not within the deadline for all */
    pop3_in_init(&in, fd, 1);
    t0 = time_mono_ms();
    pop3_in_set_deadline(&in, t0 + 300);
    ck_assert_int_eq(pop3_in_line(&in, line, sizeof line, &len, 5, &toolong),
                     1);
    errno = 0;
    ck_assert_int_eq(pop3_in_line(&in, line, sizeof line, &len, 5, &toolong),
                     -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    ck_assert_int_lt(time_mono_ms() - t0, 2000);
    /* buffered mode too (the start of "slow" was read by now) */
    ck_assert_int_eq(write(peer, "\r\nnext\r\nmore", 12), 12);
    pop3_in_init(&in, fd, 0);
    pop3_in_set_deadline(&in, time_mono_ms() + 200);
    ck_assert_int_eq(pop3_in_line(&in, line, sizeof line, &len, 5, &toolong),
                     1);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(pop3_in_line(&in, line, sizeof line, &len, 5, &toolong),
                     1);
    ck_assert_str_eq(line, "next");
    ck_assert_int_eq(pop3_in_line(&in, line, sizeof line, &len, 5, &toolong),
                     -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    close(peer);
    close(fd);
}
END_TEST

START_TEST(io_timeout)
{
    struct pop3_in in;
    char line[32];
    size_t len;
    int toolong, p[2];

    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(write(p[1], "slow", 4), 4); /* never finished */
    pop3_in_init(&in, p[0], 0);
    errno = 0;
    ck_assert_int_eq(pop3_in_line(&in, line, sizeof line, &len, 1, &toolong),
                     -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    close(p[0]);
    close(p[1]);
}
END_TEST

START_TEST(io_endless_line)
{
    struct pop3_in in;
    char line[32], junk[8192];
    size_t len;
    int toolong, p[2];
    pid_t pid;

    ck_assert_int_eq(pipe(p), 0);
    pid = fork();
    ck_assert_int_ne(pid, -1);
    if (pid == 0) {
        size_t sent = 0;
        close(p[0]);
        memset(junk, 'x', sizeof junk);
        while (sent < 2 * POP3_IN_DISCARD &&
               write(p[1], junk, sizeof junk) > 0)
            sent += sizeof junk;
        _exit(0);
    }
    close(p[1]);
    pop3_in_init(&in, p[0], 0);
    errno = 0;
    ck_assert_int_eq(pop3_in_line(&in, line, sizeof line, &len, 5, &toolong),
                     -1);
    ck_assert_int_eq(errno, EMSGSIZE);
    close(p[0]);
    waitpid(pid, 0, 0);
}
END_TEST

/* ---- control files ----------------------------------------------------------------- */

START_TEST(conf_defaults_and_values)
{
    struct pop3_conf c;
    char why[256], home[4096];

    ck_assert_ptr_nonnull(getcwd(home, sizeof home));
    ck_assert_int_eq(mkdir("control", 0755), 0);
    ck_assert_int_eq(pop3_conf_read(home, &c, 0, why, sizeof why), 0);
    ck_assert_int_eq(c.timeout, 600);
    ck_assert_int_eq(c.logintimeout, 120);
    ck_assert_int_eq(c.faildelay, 2);
    ck_assert_uint_eq(c.addrfailures, 10);
    ck_assert_int_eq(c.addrwindow, 600);
    tmpdir_puts("control/timeoutpop3d", "30\n");
    tmpdir_puts("control/timeoutpop3login", "45\n");
    tmpdir_puts("control/pop3faildelay", "1\n");
    tmpdir_puts("control/pop3addrfailures", "0\n");
    tmpdir_puts("control/pop3addrwindow", "60\n");
    ck_assert_int_eq(pop3_conf_read(home, &c, 0, why, sizeof why), 0);
    ck_assert_int_eq(c.timeout, 30);
    ck_assert_int_eq(c.logintimeout, 45);
    ck_assert_int_eq(c.faildelay, 1);
    ck_assert_uint_eq(c.addrfailures, 0);
    ck_assert_int_eq(c.addrwindow, 60);
    /* out of range, not a number: errors, or the default when tolerant */
    tmpdir_puts("control/timeoutpop3d", "0\n");
    ck_assert_int_eq(pop3_conf_read(home, &c, 0, why, sizeof why), -1);
    ck_assert_ptr_nonnull(strstr(why, "timeoutpop3d"));
    ck_assert_int_eq(pop3_conf_read(home, &c, 1, why, sizeof why), 0);
    ck_assert_int_eq(c.timeout, 600);
    tmpdir_puts("control/timeoutpop3d", "ten\n");
    ck_assert_int_eq(pop3_conf_read(home, &c, 0, why, sizeof why), -1);
    tmpdir_puts("control/timeoutpop3d", "10\n");
    tmpdir_puts("control/pop3faildelay", "61\n");
    ck_assert_int_eq(pop3_conf_read(home, &c, 0, why, sizeof why), -1);
    /* no failed login is answered at once: the timing would tell which
     * names exist */
    tmpdir_puts("control/pop3faildelay", "0\n");
    ck_assert_int_eq(pop3_conf_read(home, &c, 0, why, sizeof why), -1);
    ck_assert_ptr_nonnull(strstr(why, "pop3faildelay"));
    tmpdir_puts("control/pop3faildelay", "2\n");
    tmpdir_puts("control/timeoutpop3login", "0\n");
    ck_assert_int_eq(pop3_conf_read(home, &c, 0, why, sizeof why), -1);
    ck_assert_ptr_nonnull(strstr(why, "timeoutpop3login"));
}
END_TEST

/* ---- failures per address ---------------------------------------------------------- */

START_TEST(throttle_keys)
{
    struct pop3_throttle_key a, b;

    ck_assert_int_eq(pop3_throttle_key("192.0.2.1", &a), 0);
    ck_assert_int_eq(a.b[0], 4);
    ck_assert_int_eq(pop3_throttle_key("::ffff:192.0.2.1", &b), 0);
    ck_assert(memcmp(&a, &b, sizeof a) == 0);
    ck_assert_int_eq(pop3_throttle_key("192.0.2.2", &b), 0);
    ck_assert(memcmp(&a, &b, sizeof a) != 0);
    /* one /64 is one key */
    ck_assert_int_eq(pop3_throttle_key("2001:db8:1:2::1", &a), 0);
    ck_assert_int_eq(pop3_throttle_key("2001:db8:1:2:ffff::7", &b), 0);
    ck_assert(memcmp(&a, &b, sizeof a) == 0);
    ck_assert_int_eq(pop3_throttle_key("2001:db8:1:3::1", &b), 0);
    ck_assert(memcmp(&a, &b, sizeof a) != 0);
    ck_assert_int_eq(pop3_throttle_key("", &a), -1);
    ck_assert_int_eq(pop3_throttle_key(0, &a), -1);
    ck_assert_int_eq(pop3_throttle_key("localhost", &a), -1);
    ck_assert_int_eq(pop3_throttle_key("1.2.3.4 ", &a), -1);
}
END_TEST

START_TEST(throttle_counts_and_windows)
{
    struct pop3_throttle_key a, b;
    struct stat st;
    int fd = pop3_throttle_open("fail");

    ck_assert_int_ne(fd, -1);
    ck_assert_int_eq(pop3_throttle_key("192.0.2.1", &a), 0);
    ck_assert_int_eq(pop3_throttle_key("192.0.2.9", &b), 0);
    ck_assert_int_eq(pop3_throttle_count(fd, &a, 1000, 600), 0);
    ck_assert_int_eq(pop3_throttle_add(fd, &a, 1000, 600), 1);
    ck_assert_int_eq(pop3_throttle_add(fd, &a, 1100, 600), 2);
    ck_assert_int_eq(pop3_throttle_add(fd, &b, 1100, 600), 1);
    ck_assert_int_eq(pop3_throttle_count(fd, &a, 1599, 600), 2);
    ck_assert_int_eq(pop3_throttle_count(fd, &b, 1599, 600), 1);
    /* the window runs from the first failure */
    ck_assert_int_eq(pop3_throttle_count(fd, &a, 1600, 600), 0);
    ck_assert_int_eq(pop3_throttle_add(fd, &a, 1600, 600), 1);
    /* a time in the future (a clock set back) counts as expired */
    ck_assert_int_eq(pop3_throttle_count(fd, &a, 10, 600), 0);
    ck_assert_int_eq(fstat(fd, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    close(fd);
    /* another process sees the same counts */
    fd = pop3_throttle_open("fail");
    ck_assert_int_eq(pop3_throttle_count(fd, &b, 1200, 600), 1);
    close(fd);
}
END_TEST

START_TEST(throttle_try_and_refund)
{
    struct pop3_throttle_key a;
    int fd = pop3_throttle_open("fail");

    ck_assert_int_ne(fd, -1);
    ck_assert_int_eq(pop3_throttle_key("192.0.2.1", &a), 0);
    /* counted up to the limit, then refused without counting */
    ck_assert_int_eq(pop3_throttle_try(fd, &a, 1000, 600, 2), 1);
    ck_assert_int_eq(pop3_throttle_try(fd, &a, 1001, 600, 2), 1);
    ck_assert_int_eq(pop3_throttle_try(fd, &a, 1002, 600, 2), 0);
    ck_assert_int_eq(pop3_throttle_count(fd, &a, 1002, 600), 2);
    /* a success is taken back: room for one more */
    ck_assert_int_eq(pop3_throttle_refund(fd, &a, 1001, 1003, 600), 0);
    ck_assert_int_eq(pop3_throttle_count(fd, &a, 1003, 600), 1);
    ck_assert_int_eq(pop3_throttle_try(fd, &a, 1004, 600, 2), 1);
    ck_assert_int_eq(pop3_throttle_try(fd, &a, 1005, 600, 2), 0);
    /* an attempt from before the current window is not taken back from
     * it */
    ck_assert_int_eq(pop3_throttle_try(fd, &a, 1700, 600, 2), 1);
    ck_assert_int_eq(pop3_throttle_refund(fd, &a, 1004, 1701, 600), 0);
    ck_assert_int_eq(pop3_throttle_count(fd, &a, 1701, 600), 1);
    /* back to zero: the slot is free */
    ck_assert_int_eq(pop3_throttle_refund(fd, &a, 1700, 1702, 600), 0);
    ck_assert_int_eq(pop3_throttle_count(fd, &a, 1702, 600), 0);
    ck_assert_int_eq(pop3_throttle_refund(fd, &a, 1700, 1702, 600), 0);
    ck_assert_int_eq(pop3_throttle_count(fd, &a, 1702, 600), 0);
    close(fd);
}
END_TEST

/* Many processes at once: never more attempts than the limit. */
START_TEST(throttle_try_parallel)
{
    struct pop3_throttle_key a;
    int i, fd, counted = 0, status;

    ck_assert_int_eq(pop3_throttle_key("192.0.2.1", &a), 0);
    for (i = 0; i < 30; i++)
        if (fork() == 0) {
            int f = pop3_throttle_open("fail");
            int r = f == -1 ? -1 : pop3_throttle_try(f, &a, 1000, 600, 10);
            _exit(r == 1 ? 1 : r == 0 ? 0 : 2);
        }
    for (i = 0; i < 30; i++) {
        ck_assert_int_ne(wait(&status), -1);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) != 2);
        counted += WEXITSTATUS(status);
    }
    ck_assert_int_eq(counted, 10);
    fd = pop3_throttle_open("fail");
    ck_assert_int_eq(pop3_throttle_count(fd, &a, 1000, 600), 10);
    close(fd);
}
END_TEST

START_TEST(throttle_bounded)
{
    struct pop3_throttle_key k, first;
    struct stat st;
    char ip[64];
    int i, fd = pop3_throttle_open("fail");

    ck_assert_int_ne(fd, -1);
    ck_assert_int_eq(pop3_throttle_key("10.0.0.1", &first), 0);
    ck_assert_int_eq(pop3_throttle_add(fd, &first, 100, 600), 1);
    for (i = 0; i < 20000; i++) {
        snprintf(ip, sizeof ip, "2001:db8:%x:%x::1", i / 65536, i % 65536);
        ck_assert_int_eq(pop3_throttle_key(ip, &k), 0);
        ck_assert_int_eq(pop3_throttle_add(fd, &k, 200, 600), 1);
        /* the newest always counts */
        ck_assert_int_eq(pop3_throttle_count(fd, &k, 200, 600), 1);
    }
    ck_assert_int_eq(fstat(fd, &st), 0);
    ck_assert_int_le(st.st_size, POP3_THROTTLE_SLOTS * POP3_THROTTLE_RECORD);
    close(fd);
}
END_TEST

START_TEST(throttle_refuses_symlink)
{
    ck_assert_int_eq(symlink("/etc/passwd", "fail"), 0);
    ck_assert_int_eq(pop3_throttle_open("fail"), -1);
}
END_TEST

static Suite *pop3_suite(void)
{
    Suite *s = suite_create("pop3");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, tmpdir_enter, tmpdir_leave);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, cmd_basic);
    tcase_add_test(tc, cmd_errors);
    tcase_add_test(tc, cmd_raw_argument);
    tcase_add_test(tc, cmd_numbers);
    tcase_add_test(tc, enc_line_ends_and_stuffing);
    tcase_add_test(tc, enc_size_equals_octets_sent);
    tcase_add_test(tc, enc_random);
    tcase_add_test(tc, enc_size_of_file);
    tcase_add_test(tc, enc_top);
    tcase_add_test(tc, uid_from_names);
    tcase_add_test(tc, io_lines);
    tcase_add_test(tc, io_toolong);
    tcase_add_test(tc, io_unbuffered_leaves_the_rest);
    tcase_add_test(tc, io_exact_on_a_socket);
    tcase_add_test(tc, io_exact_reads_a_line_at_once);
    tcase_add_test(tc, io_exact_overlong_line);
    tcase_add_test(tc, io_overall_deadline);
    tcase_add_test(tc, io_timeout);
    tcase_add_test(tc, io_endless_line);
    tcase_add_test(tc, conf_defaults_and_values);
    tcase_add_test(tc, throttle_keys);
    tcase_add_test(tc, throttle_counts_and_windows);
    tcase_add_test(tc, throttle_try_and_refund);
    tcase_add_test(tc, throttle_try_parallel);
    tcase_add_test(tc, throttle_bounded);
    tcase_add_test(tc, throttle_refuses_symlink);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(pop3_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}

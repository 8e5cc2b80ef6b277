/*
 * qmail-tcprules: compile access rules for qmail-tcpd
 * (qmail-tcprules(8)).
 *
 *   qmail-tcprules RULES.cdb RULES.tmp < RULES
 *       compile; exit 0, 100 for a bad rule (named by its line), 111
 *       when a file cannot be read or written.  The old RULES.cdb stays
 *       as it was unless everything worked.
 *   qmail-tcprules -t RULES.cdb ADDRESS
 *       say what qmail-tcpd would do with a client at ADDRESS:
 *       "allow"/"deny", the rule and its variables, on stdout; exit 0.
 *
 * Trust: the rules text is the administrator's; see tcpd_rule.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tcpd_rules.h"

static void usage(void)
{
    log_line("usage: qmail-tcprules RULES.cdb RULES.tmp < RULES | "
             "qmail-tcprules -t RULES.cdb ADDRESS");
}

static int test_address(const char *cdb, const char *text)
{
    dstr value = DSTR_ZERO, key = DSTR_ZERO;
    tcpd_verdict v;
    tcpd_addr a;
    char ip[TCPD_ADDR_STRMAX];
    size_t i = 0;

    if (tcpd_addr_parse(text, &a) == -1) {
        log_line("%s: not an IPv4 or IPv6 address", text);
        return 100;
    }
    if (tcpd_rules_decide(cdb, &a, &value, &key, &v) == -1) {
        if (errno == EINVAL || errno == EPROTO)
            log_line("%s: not a rules file made by qmail-tcprules, or "
                     "damaged", cdb);
        else
            log_errno("%s: cannot read", cdb);
        return 111;
    }
    tcpd_addr_format(&a, ip);
    if (v.line && key.len)
        printf("%s %s: rule line %lu (%.*s)\n", v.allow ? "allow" : "deny",
               ip, v.line, (int)key.len, key.s);
    else if (v.line)
        printf("%s %s: rule line %lu (every client)\n",
               v.allow ? "allow" : "deny", ip, v.line);
    else
        printf("allow %s: no rule matches\n", ip);
    while (i < v.varslen) {
        const char *e = v.vars + i;
        printf("  %s\n", e);
        i += strlen(e) + 1;
    }
    dstr_free(&value);
    dstr_free(&key);
    if (fflush(stdout) == EOF) {
        log_errno("cannot write");
        return 111;
    }
    return 0;
}

int main(int argc, char **argv)
{
    dstr err = DSTR_ZERO, warnings = DSTR_ZERO;
    size_t i;
    int r;

    log_init("qmail-tcprules");
    if (argc == 4 && strcmp(argv[1], "-t") == 0)
        return test_address(argv[2], argv[3]);
    if (argc != 3 || argv[1][0] == '-' || !argv[1][0] || !argv[2][0]) {
        usage();
        return 100;
    }
    if (strcmp(argv[1], argv[2]) == 0) {
        log_line("%s: the temporary file must not be the rules file",
                 argv[2]);
        return 100;
    }
    r = tcpd_rules_compile(0, argv[1], argv[2], &err, &warnings);
    for (i = 0; i < warnings.len; i += strlen(warnings.s + i) + 1)
        log_line("warning: %s", warnings.s + i);
    if (r == -1) {
        log_line("%s", err.len ? err.s : "bad rules");
        log_line("%s left unchanged", argv[1]);
        return 100;
    }
    if (r == -2) {
        log_line("%s", err.len ? err.s : "cannot compile the rules");
        return 111;
    }
    return 0;
}

/*
 * queue.c: queue layout helpers and message file parsing.  See queue.h.
 * Message files are written by our own qmail-queue, but the parser still
 * checks every field and fails closed (EINVAL) on anything unexpected.
 */
#include "queue.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "num.h"

unsigned queue_bucket(const char *id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *id; id++) {
        h ^= (unsigned char)*id;
        h *= 16777619u;
    }
    return h % QUEUE_BUCKETS;
}

int queue_id_valid(const char *id)
{
    size_t i;
    for (i = 0; id[i]; i++) {
        if (i >= QUEUE_ID_MAX)
            return 0;
        if (!((id[i] >= '0' && id[i] <= '9') || id[i] == '.'))
            return 0;
    }
    return i > 0 && id[0] != '.';
}

int queue_mess_path(dstr *out, const char *id)
{
    out->len = 0;
    if (dstr_catf(out, "mess/%02u/%s", queue_bucket(id), id) == -1)
        return -1;
    return dstr_cat0(out);
}

void queue_hdr_format(char hdr[QUEUE_HDR_LEN], uint64_t msglen,
                      uint64_t birth)
{
    char tmp[QUEUE_HDR_LEN + 1];
    snprintf(tmp, sizeof tmp, "#qmq1 %020llu %020llu\n",
             (unsigned long long)msglen, (unsigned long long)birth);
    memcpy(hdr, tmp, QUEUE_HDR_LEN);
}

int queue_hdr_parse(const char *hdr, size_t len, uint64_t *msglen,
                    uint64_t *birth)
{
    unsigned long long a, b;

    if (len < QUEUE_HDR_LEN || memcmp(hdr, "#qmq1 ", 6) != 0 ||
        hdr[26] != ' ' || hdr[47] != '\n' ||
        num_scan_ulong(hdr + 6, 20, &a) == -1 ||
        num_scan_ulong(hdr + 27, 20, &b) == -1) {
        errno = EINVAL;
        return -1;
    }
    *msglen = a;
    *birth = b;
    return 0;
}

const char *queue_exit_text(int code)
{
    switch (code) {
    case QQ_OK: return "ok";
    case QQ_ADDR_TOO_LONG: return "address too long";
    case QQ_PERM_REFUSED: return "mail server permanently refuses to send the message";
    case QQ_NOMEM: return "out of memory";
    case QQ_TIMEOUT: return "timeout";
    case QQ_WRITE: return "write error (disk full?)";
    case QQ_READ: return "unable to read the message or envelope";
    case QQ_CONFIG: return "unable to read a configuration file";
    case QQ_NETWORK: return "problem making a network connection";
    case QQ_HOME: return "problem with the qmail home directory";
    case QQ_QUEUE_DIR: return "problem with the queue directory";
    case QQ_QUEUE_PID: return "problem with queue/pid";
    case QQ_QUEUE_MESS: return "problem with queue/mess";
    case QQ_QUEUE_INTD: return "problem with queue/intd";
    case QQ_QUEUE_TODO: return "problem with queue/todo";
    case QQ_TEMP_REFUSED: return "mail server temporarily refuses the message";
    case QQ_BUG: return "internal bug";
    case QQ_ENVELOPE: return "envelope format error";
    default: return code >= 11 && code <= 40 ? "permanent error"
                                             : "temporary error";
    }
}

void queue_env_free(queue_env *env)
{
    dstr_free(&env->raw);
    free(env->rcpts);
    env->rcpts = 0;
    env->nrcpts = 0;
    env->sender = 0;
}

static int bad(void)
{
    errno = EINVAL;
    return -1;
}

int queue_env_read(int fd, queue_env *env)
{
    char hdr[QUEUE_HDR_LEN];
    struct stat st;
    uint64_t start;
    size_t envlen, i, cap = 0;
    ssize_t r;

    memset(env, 0, sizeof *env);
    r = pread(fd, hdr, sizeof hdr, 0);
    if (r == -1)
        return -1;
    if (queue_hdr_parse(hdr, (size_t)r, &env->msglen, &env->birth) == -1)
        return -1;
    if (fstat(fd, &st) == -1)
        return -1;
    /* msglen comes from the file: compare before adding, so a length near
     * 2^64 cannot wrap start back into the header */
    if (st.st_size < QUEUE_HDR_LEN ||
        env->msglen > (uint64_t)st.st_size - QUEUE_HDR_LEN)
        return bad();
    start = QUEUE_HDR_LEN + env->msglen;
    if ((uint64_t)st.st_size < start ||
        (uint64_t)st.st_size - start > 4 * (uint64_t)QUEUE_ENV_MAX)
        return bad(); /* envelope plus failure reasons, generously */
    envlen = (size_t)((uint64_t)st.st_size - start);
    if (dstr_reserve(&env->raw, envlen) == -1)
        return -1;
    for (i = 0; i < envlen;) {
        r = pread(fd, env->raw.s + i, envlen - i, (off_t)(start + i));
        if (r == -1) {
            if (errno == EINTR)
                continue;
            goto fail;
        }
        if (r == 0)
            break;
        i += (size_t)r;
    }
    if (i == envlen && envlen > 0 && env->raw.s[envlen - 1] != 0) {
        /* a crash while qmail-clean appended a reason: drop the torn
         * X record, it is only advisory */
        char *last = memrchr(env->raw.s, 0, envlen);
        size_t tail = last ? (size_t)(last + 1 - env->raw.s) : 0;
        if (last && env->raw.s[tail] == 'X')
            envlen = i = tail;
    }
    if (i != envlen || envlen == 0 || env->raw.s[envlen - 1] != 0 ||
        env->raw.s[0] != 'F') {
        errno = EINVAL;
        goto fail;
    }
    env->raw.len = envlen;
    env->sender = env->raw.s + 1;
    i = strlen(env->raw.s) + 1;
    while (i < envlen) {
        char *rec = env->raw.s + i;
        size_t rlen = strlen(rec);
        char tag = rec[0];

        if (tag == 'T' || tag == 'D' || tag == 'B') {
            if (env->nrcpts >= QUEUE_RCPT_MAX)
                goto inval;
            if (env->nrcpts == cap) {
                size_t ncap = cap ? cap * 2 : 8;
                queue_rcpt *n = realloc(env->rcpts, ncap * sizeof *n);
                if (!n)
                    goto fail;
                env->rcpts = n;
                cap = ncap;
            }
            env->rcpts[env->nrcpts].addr = rec + 1;
            env->rcpts[env->nrcpts].offset = (size_t)start + i;
            env->rcpts[env->nrcpts].state = tag;
            env->rcpts[env->nrcpts].reason = 0;
            env->nrcpts++;
        } else if (tag == 'X') {
            unsigned long long n;
            size_t d = num_scan_prefix(rec + 1, rlen - 1, &n);
            if (d == 0 || rec[1 + d] != ' ' || n >= env->nrcpts)
                goto inval;
            env->rcpts[n].reason = rec + 2 + d;
        } else {
            goto inval;
        }
        i += rlen + 1;
    }
    return 0;
inval:
    errno = EINVAL;
fail:
    {
        int saved = errno;
        queue_env_free(env);
        errno = saved;
    }
    return -1;
}

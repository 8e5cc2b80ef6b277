/*
 * checkpw_auth.c: password checks through libxcrypt.  See checkpw_auth.h.
 */
#include "checkpw_auth.h"

#include <crypt.h>
#include <stdlib.h>
#include <string.h>

int checkpw_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    volatile unsigned char diff = (unsigned char)(alen != blen);
    size_t i, n = alen < blen ? alen : blen;

    for (i = 0; i < n; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

static int usable(const char *hash)
{
    int r;

    if (hash[0] != '$')
        return 0;
    r = crypt_checksalt(hash);
    return r == CRYPT_SALT_OK || r == CRYPT_SALT_METHOD_LEGACY ||
           r == CRYPT_SALT_TOO_CHEAP;
}

int checkpw_verify(const char *pass, const char *hash)
{
    struct crypt_data *data;
    const char *out;
    int ok;

    if (!usable(hash)) {
        checkpw_dummy(pass);
        return 0;
    }
    data = calloc(1, sizeof *data);
    if (!data)
        return -1;
    out = crypt_rn(pass, hash, data, (int)sizeof *data);
    ok = out && out[0] == '$' &&
         checkpw_equal(out, strlen(out), hash, strlen(hash));
    explicit_bzero(data, sizeof *data);
    free(data);
    return ok;
}

void checkpw_dummy(const char *pass)
{
    static const char *const methods[] = {"$y$", "$6$"};
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data *data = calloc(1, sizeof *data);
    size_t i;

    if (!data)
        return;
    for (i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        if (!crypt_gensalt_rn(methods[i], 0, 0, 0, salt, sizeof salt) ||
            salt[0] != '$')
            continue;
        if (crypt_rn(pass, salt, data, (int)sizeof *data))
            break;
    }
    explicit_bzero(data, sizeof *data);
    free(data);
}

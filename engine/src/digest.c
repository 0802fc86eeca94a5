/* digest.c — SHA-256 content digests: a streaming hasher and the "sha256:<hex>" form. */
#include "digest.h"

#include <string.h>

void digest_hasher_init(struct digest_hasher *hasher)
{
    sha256_init(&hasher->context);
}

void digest_hasher_update(struct digest_hasher *hasher, const void *data, size_t length)
{
    sha256_update(&hasher->context, length, data);
}

void digest_hasher_finish(struct digest_hasher *hasher, struct digest *digest)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[SHA256_DIGEST_SIZE];
    sha256_digest(&hasher->context, sizeof raw, raw);
    char *out = digest->text;
    memcpy(out, DIGEST_PREFIX, sizeof DIGEST_PREFIX - 1);
    out += sizeof DIGEST_PREFIX - 1;
    for (size_t i = 0; i < sizeof raw; i++) {
        *out++ = hex[raw[i] >> 4];
        *out++ = hex[raw[i] & 15];
    }
    *out = '\0';
}

void digest_of_bytes(const void *data, size_t length, struct digest *digest)
{
    struct digest_hasher hasher;
    digest_hasher_init(&hasher);
    digest_hasher_update(&hasher, data, length);
    digest_hasher_finish(&hasher, digest);
}

int digest_parse(const char *text, struct digest *digest, struct keel_error *err)
{
    const char *colon = strchr(text, ':');
    if (!colon)
        return keel_error_invalid(err, "bad digest \"%.80s\": expected sha256:<64 hex digits>",
                                  text);
    if ((size_t)(colon - text) != sizeof DIGEST_PREFIX - 2 ||
        strncmp(text, DIGEST_PREFIX, sizeof DIGEST_PREFIX - 1) != 0)
        return keel_error_invalid(err, "bad digest \"%.80s\": only sha256 is supported", text);
    const char *hex = colon + 1;
    size_t length = strlen(hex);
    if (length != DIGEST_HEX_LENGTH)
        return keel_error_invalid(err, "bad digest \"%.80s\": %zu hex digits, expected %d", text,
                                  length, DIGEST_HEX_LENGTH);
    for (size_t i = 0; i < length; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
            return keel_error_invalid(
                err, "bad digest \"%.80s\": '%c' is not a lower-case hex digit", text, hex[i]);
    memcpy(digest->text, text, DIGEST_TEXT_LENGTH + 1);
    return 0;
}

const char *digest_hex(const struct digest *digest)
{
    return digest->text + sizeof DIGEST_PREFIX - 1;
}

bool digest_equal(const struct digest *a, const struct digest *b)
{
    return strcmp(a->text, b->text) == 0;
}

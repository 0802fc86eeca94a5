/* digest.h — SHA-256 content digests: a streaming hasher and the "sha256:<hex>" form. */
#pragma once

#include <nettle/sha2.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define DIGEST_PREFIX "sha256:"
#define DIGEST_HEX_LENGTH 64
#define DIGEST_TEXT_LENGTH (sizeof DIGEST_PREFIX - 1 + DIGEST_HEX_LENGTH)

/* A content digest, always held in its canonical text form, e.g.
 * "sha256:e3b0c442...b855" (lower-case hex), so it can be printed, compared
 * with strcmp and used in JSON without conversion. */
struct digest {
    char text[DIGEST_TEXT_LENGTH + 1];
};

struct digest_hasher {
    struct sha256_ctx context;
};

void digest_hasher_init(struct digest_hasher *hasher);
void digest_hasher_update(struct digest_hasher *hasher, const void *data, size_t length);
/* The digest of everything given to update; the hasher must be re-initialised
 * before it is used again. */
void digest_hasher_finish(struct digest_hasher *hasher, struct digest *digest);

void digest_of_bytes(const void *data, size_t length, struct digest *digest);

/* Accept exactly "sha256:" followed by 64 lower-case hex digits. Anything else
 * (another algorithm, upper case, a short or long hex part) is refused with a
 * message naming the text: "bad digest \"sha512:...\": only sha256 is supported". */
int digest_parse(const char *text, struct digest *digest, struct keel_error *err);

/* The 64 hex digits of a digest (a pointer into digest->text). */
const char *digest_hex(const struct digest *digest);

bool digest_equal(const struct digest *a, const struct digest *b);

/* cmdline.c — parses the engine's words on the kernel command line (keel.debug, keel.grace=). */
#include "cmdline.h"
#include "words.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Does the word [word, word+length) equal name exactly? */
static bool cmdline_word_is(const char *word, size_t length, const char *name)
{
    return strlen(name) == length && memcmp(word, name, length) == 0;
}

/* If the word is "NAME=VALUE", return VALUE's start and its length. */
static const char *cmdline_word_value(const char *word, size_t length, const char *name,
                                      size_t *value_length)
{
    size_t name_length = strlen(name);
    if (length <= name_length || memcmp(word, name, name_length) != 0 || word[name_length] != '=')
        return NULL;
    *value_length = length - name_length - 1;
    return word + name_length + 1;
}

static int cmdline_parse_seconds(const char *value, size_t length, unsigned *seconds)
{
    unsigned long result = 0;
    if (length == 0 || length > 9)
        return -1;
    for (size_t i = 0; i < length; i++) {
        if (!isdigit((unsigned char)value[i]))
            return -1;
        result = result * 10 + (unsigned long)(value[i] - '0');
    }
    if (result > CMDLINE_GRACE_MAX_SECONDS)
        return -1;
    *seconds = (unsigned)result;
    return 0;
}

int cmdline_parse(const char *text, struct keel_cmdline *out, struct keel_error *err)
{
    int result = 0;
    const char *cursor = text;

    out->debug = false;
    out->grace_seconds = CMDLINE_GRACE_DEFAULT_SECONDS;

    const char *word;
    size_t length;
    while (words_next(&cursor, &word, &length)) {
        size_t value_length = 0;
        const char *value;

        if (cmdline_word_is(word, length, "keel.debug")) {
            out->debug = true;
        } else if ((value = cmdline_word_value(word, length, "keel.grace", &value_length)) !=
                       NULL ||
                   cmdline_word_is(word, length, "keel.grace")) {
            unsigned seconds;
            if (value != NULL && cmdline_parse_seconds(value, value_length, &seconds) == 0) {
                out->grace_seconds = seconds;
            } else if (result == 0) {
                result = keel_error_invalid(err,
                                            "kernel command line: ignoring \"%.*s\" (want "
                                            "keel.grace=SECONDS, 0 to %u)",
                                            (int)length, word, CMDLINE_GRACE_MAX_SECONDS);
            }
        }
    }
    return result;
}

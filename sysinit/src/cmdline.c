/* cmdline.c: parsing the kernel command line into boot_options (pure). */
#include "cmdline.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

/* The kernel's own limit (COMMAND_LINE_SIZE) is at most 4096 on any arch. */
#define CMDLINE_TOKEN_MAX 4096

static bool cmdline_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Copies the next whitespace-separated token into buffer with its double
 * quotes removed, as the kernel does for `key="a value"` and `"key=a value"`.
 * Returns false at the end of the text. */
static bool cmdline_next_token(const char **cursor, char *buffer, size_t size, bool *truncated)
{
    const char *p = *cursor;
    bool in_quote = false;
    size_t length = 0;

    while (cmdline_is_space(*p))
        p++;
    if (*p == '\0') {
        *cursor = p;
        return false;
    }

    *truncated = false;
    for (; *p != '\0' && (in_quote || !cmdline_is_space(*p)); p++) {
        if (*p == '"') {
            in_quote = !in_quote;
            continue;
        }
        if (length + 1 < size)
            buffer[length++] = *p;
        else
            *truncated = true;
    }
    buffer[length] = '\0';
    *cursor = p;
    return true;
}

/* A flag is on when bare (`keel.debug`) or given a yes-like value. */
static int cmdline_parse_flag(const char *key, const char *value, bool *flag,
                              struct sysinit_error *err)
{
    static const char *const yes[] = {"1", "yes", "on", "true"};
    static const char *const no[] = {"0", "no", "off", "false"};

    if (value == NULL) {
        *flag = true;
        return 0;
    }
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcmp(value, yes[i]) == 0) {
            *flag = true;
            return 0;
        }
        if (strcmp(value, no[i]) == 0) {
            *flag = false;
            return 0;
        }
    }
    return error_make(err, EINVAL, key,
                      "value \"%s\" is not one of 1/0, yes/no, on/off, true/false", value);
}

static int cmdline_parse_label(const char *key, const char *value, struct boot_options *opts,
                               struct sysinit_error *err)
{
    if (value == NULL || value[0] == '\0')
        return error_make(err, EINVAL, key, "needs a label (%s=LABEL)", key);
    if (strlen(value) > CMDLINE_LABEL_MAX)
        return error_make(err, EINVAL, key, "label \"%.64s%s\" is longer than %d bytes", value,
                          strlen(value) > 64 ? "..." : "", CMDLINE_LABEL_MAX);
    strcpy(opts->state_label, value);
    opts->state_label_given = true;
    return 0;
}

int cmdline_parse(const char *text, struct boot_options *opts, struct sysinit_error *err)
{
    char token[CMDLINE_TOKEN_MAX];
    const char *cursor = text;
    bool truncated = false;

    memset(opts, 0, sizeof(*opts));
    strcpy(opts->state_label, CMDLINE_DEFAULT_STATE_LABEL);

    /* Every key is matched whole, so keel.shellfish never counts as keel.shell.
     * Later keys overwrite earlier ones, as with the kernel's own parameters. */
    while (cmdline_next_token(&cursor, token, sizeof(token), &truncated)) {
        char *value = strchr(token, '=');
        int status = 0;

        if (value != NULL)
            *value++ = '\0';

        if (strcmp(token, "keel.debug") == 0)
            status = cmdline_parse_flag("keel.debug", value, &opts->debug, err);
        else if (strcmp(token, "keel.shell") == 0)
            status = cmdline_parse_flag("keel.shell", value, &opts->shell, err);
        else if (strcmp(token, "keel.state") == 0)
            status = truncated ? error_make(err, EINVAL, "keel.state",
                                            "label is longer than %d bytes", CMDLINE_LABEL_MAX)
                               : cmdline_parse_label("keel.state", value, opts, err);
        if (status < 0)
            return error_wrap(err, "kernel command line");
    }
    return 0;
}

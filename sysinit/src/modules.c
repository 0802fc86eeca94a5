/* modules.c: loading kernel modules from a list with finit_module(2). */
#include "modules.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "console.h"
#include "file.h"

/* From linux/module.h (5.17+): the kernel decompresses .ko.xz/.ko.zst itself. */
#define MODULE_INIT_COMPRESSED_FILE 4

static int modules_is_compressed(const char *path)
{
    size_t length = strlen(path);
    return (length > 3 && strcmp(path + length - 3, ".xz") == 0) ||
           (length > 4 && strcmp(path + length - 4, ".zst") == 0) ||
           (length > 3 && strcmp(path + length - 3, ".gz") == 0);
}

static void modules_load_one(const char *path)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    int flags = modules_is_compressed(path) ? MODULE_INIT_COMPRESSED_FILE : 0;
    struct sysinit_error err = {0};

    if (fd < 0) {
        error_make(&err, errno, "open", "%s", path);
        console_print("load module: %s (skipped)", err.msg);
        return;
    }
    if (syscall(SYS_finit_module, fd, "", flags) < 0) {
        if (errno == EEXIST) {
            console_debug("module %s already loaded", path);
            return;
        }
        error_make(&err, errno, "finit_module", "%s", path);
        console_print("load module: %s (skipped)", err.msg);
        return;
    }
    console_debug("loaded module %s", path);
}

void modules_load_list(const char *list_path)
{
    struct sysinit_error err = {0};
    _cleanup_free_ char *list = NULL;
    char *cursor;
    char *line;

    if (file_read_all(list_path, &list, &err) < 0) {
        if (err.err != ENOENT)
            console_print("load modules: %s (skipped)", err.msg);
        return;
    }
    for (cursor = list; (line = strsep(&cursor, "\n")) != NULL;) {
        line += strspn(line, " \t");
        line[strcspn(line, " \t\r")] = '\0';
        if (line[0] == '\0' || line[0] == '#')
            continue;
        modules_load_one(line);
    }
}

/* container_spec_user.c — a container's User looked up in its own /etc/passwd and /etc/group. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "container_spec_internal.h"
#include "rootfs_path.h"

/* /etc/passwd and /etc/group are a few KiB; the image is untrusted. */
#define USER_FILE_MAX (4u << 20)
/* runc's user package refuses ids past this (it reads them as Go ints). */
#define USER_ID_MAX 2147483647u
#define USER_FIELD_MAX 7

/* Read path beneath root_fd into *text (NULL when there is no such file:
 * then it has no entries, as runc's user package takes a missing file). */
static int user_file_read(int root_fd, const char *path, char **text, struct keel_error *err)
{
    struct stat info;
    size_t used = 0;

    *text = NULL;
    /* O_NONBLOCK: a FIFO planted at /etc/passwd must not hang the daemon. */
    _cleanup_close_ int fd = rootfs_path_open(root_fd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        return keel_error_set(err, errno, "open %s in rootfs", path);
    }
    if (fstat(fd, &info) < 0)
        return keel_error_set(err, errno, "stat %s in rootfs", path);
    if (!S_ISREG(info.st_mode))
        return keel_error_invalid(err, "%s in rootfs: not a regular file", path);
    if ((uintmax_t)info.st_size > USER_FILE_MAX)
        return keel_error_invalid(err, "%s in rootfs: more than %u MiB", path, USER_FILE_MAX >> 20);
    _cleanup_free_ char *buffer = malloc((size_t)info.st_size + 1);
    if (buffer == NULL)
        return keel_error_set(err, ENOMEM, "read %s in rootfs", path);
    /* The size can change under us: read what fits, no more. */
    while (used < (size_t)info.st_size) {
        ssize_t n = read(fd, buffer + used, (size_t)info.st_size - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return keel_error_set(err, errno, "read %s in rootfs", path);
        if (n == 0)
            break;
        used += (size_t)n;
    }
    buffer[used] = '\0';
    *text = steal_pointer(&buffer);
    return 0;
}

/* A decimal id: digits only. Returns 1 and *id when in range, 0 when text
 * is not a number, -1 when it is one past USER_ID_MAX. */
static int user_parse_id(const char *text, uint32_t *id)
{
    uint64_t value = 0;

    if (text == NULL || text[0] == '\0')
        return 0;
    for (const char *c = text; *c != '\0'; c++) {
        if (*c < '0' || *c > '9')
            return 0;
        if (value <= USER_ID_MAX)
            value = value * 10 + (uint64_t)(*c - '0');
    }
    if (value > USER_ID_MAX)
        return -1;
    *id = (uint32_t)value;
    return 1;
}

/* Split line at ':' into at most USER_FIELD_MAX fields (missing ones are
 * ""). Returns the number of fields the line had. */
static size_t user_split_fields(char *line, char *fields[USER_FIELD_MAX])
{
    size_t count = 0;

    for (size_t i = 0; i < USER_FIELD_MAX; i++)
        fields[i] = "";
    while (line != NULL && count < USER_FIELD_MAX)
        fields[count++] = strsep(&line, ":");
    return count;
}

/* The next line of *cursor with surrounding white space trimmed; NULL at
 * the end. Empty lines are skipped. */
static char *user_next_line(char **cursor)
{
    while (*cursor != NULL) {
        char *line = strsep(cursor, "\n");
        while (*line == ' ' || *line == '\t')
            line++;
        size_t length = strlen(line);
        while (length > 0 && strchr(" \t\r", line[length - 1]) != NULL)
            line[--length] = '\0';
        if (length > 0)
            return line;
    }
    return NULL;
}

struct user_passwd_match {
    bool found;
    uint32_t uid, gid;
    char *name, *home; /* point into the passwd text */
};

/* The first passwd entry that matches, as runc's user package takes it: a
 * numeric user is always a uid, "" is uid 0. */
static void user_passwd_find(char *passwd, const char *user_arg, struct user_passwd_match *match)
{
    uint32_t wanted_uid = 0;
    bool numeric = user_arg[0] == '\0' || user_parse_id(user_arg, &wanted_uid) == 1;
    char *cursor = passwd, *line, *fields[USER_FIELD_MAX];

    while ((line = user_next_line(&cursor)) != NULL) {
        uint32_t uid, gid;
        /* name:password:uid:gid:gecos:home:shell; a line without numbers is skipped. */
        if (user_split_fields(line, fields) < 4 || user_parse_id(fields[2], &uid) != 1 ||
            user_parse_id(fields[3], &gid) != 1)
            continue;
        if (numeric ? uid != wanted_uid : strcmp(fields[0], user_arg) != 0)
            continue;
        *match = (struct user_passwd_match){
            .found = true, .uid = uid, .gid = gid, .name = fields[0], .home = fields[5]};
        return;
    }
}

static bool user_list_contains(char *members, const char *name)
{
    for (char *member; (member = strsep(&members, ",")) != NULL;)
        if (strcmp(member, name) == 0)
            return true;
    return false;
}

static int user_add_gid(struct container_spec_user *user, gid_t gid, struct keel_error *err)
{
    for (size_t i = 0; i < user->additional_gid_count; i++)
        if (user->additional_gids[i] == gid)
            return 0;
    gid_t *grown = reallocarray(user->additional_gids, user->additional_gid_count + 1, sizeof gid);
    if (grown == NULL)
        return keel_error_set(err, ENOMEM, "look up groups");
    grown[user->additional_gid_count++] = gid;
    user->additional_gids = grown;
    return 0;
}

/* The explicit group of "user:group": its gid, by name or number. */
static int user_group_find(char *group_text, const char *group_arg,
                           struct container_spec_user *user, struct keel_error *err)
{
    uint32_t wanted_gid = 0;
    int numeric = user_parse_id(group_arg, &wanted_gid);
    char *cursor = group_text, *line, *fields[USER_FIELD_MAX];

    /* group_text NULL: no /etc/group, so no entries. */
    if (numeric < 0)
        return keel_error_invalid(err, "uids and gids must be in range 0-%u", USER_ID_MAX);
    while ((line = user_next_line(&cursor)) != NULL) {
        uint32_t gid;
        /* name:password:gid:members */
        if (user_split_fields(line, fields) < 3 || user_parse_id(fields[2], &gid) != 1)
            continue;
        if (numeric ? gid == wanted_gid : strcmp(fields[0], group_arg) == 0) {
            user->gid = gid;
            return 0;
        }
    }
    if (!numeric)
        return keel_error_invalid(err, "unable to find group %s: no matching entries in group file",
                                  group_arg);
    user->gid = wanted_gid;
    return 0;
}

/* The groups whose member list names the user: its supplementary groups. */
static int user_groups_of(char *group_text, const char *name, struct container_spec_user *user,
                          struct keel_error *err)
{
    char *cursor = group_text, *line, *fields[USER_FIELD_MAX];

    while ((line = user_next_line(&cursor)) != NULL) {
        uint32_t gid;
        if (user_split_fields(line, fields) < 4 || user_parse_id(fields[2], &gid) != 1)
            continue;
        if (user_list_contains(fields[3], name) && user_add_gid(user, gid, err) < 0)
            return -1;
    }
    return 0;
}

static int user_resolve(int root_fd, char *user_arg, const char *group_arg,
                        struct container_spec_user *user, struct keel_error *err)
{
    _cleanup_free_ char *passwd = NULL;
    _cleanup_free_ char *group_text = NULL;
    struct user_passwd_match match = {.found = false};
    uint32_t uid = 0;

    if (user_file_read(root_fd, "/etc/passwd", &passwd, err) < 0)
        return -1;
    int numeric = user_arg[0] == '\0' ? 1 : user_parse_id(user_arg, &uid);
    if (numeric < 0)
        return keel_error_invalid(err, "uids and gids must be in range 0-%u", USER_ID_MAX);
    if (passwd != NULL)
        user_passwd_find(passwd, user_arg, &match);
    if (match.found) {
        user->uid = match.uid;
        user->gid = match.gid;
    } else if (!numeric) {
        return keel_error_invalid(err, "unable to find user %s: no matching entries in passwd file",
                                  user_arg);
    } else {
        user->uid = uid;
    }
    const char *home = match.found && match.home[0] != '\0' ? match.home : "/";
    user->home = strdup(home);
    if (user->home == NULL)
        return keel_error_set(err, ENOMEM, "look up user");

    if (group_arg[0] == '\0' && !match.found)
        return user_add_gid(user, user->gid, err);
    if (user_file_read(root_fd, "/etc/group", &group_text, err) < 0)
        return -1;
    if (group_arg[0] != '\0') {
        /* An explicit group: no supplementary groups, as in runc. */
        if (user_group_find(group_text, group_arg, user, err) < 0)
            return -1;
        return user_add_gid(user, user->gid, err);
    }
    /* Docker lists the primary group first among the additional ones. */
    if (user_add_gid(user, user->gid, err) < 0)
        return -1;
    return group_text == NULL ? 0 : user_groups_of(group_text, match.name, user, err);
}

int container_spec_user_lookup(const char *rootfs, const char *spec,
                               struct container_spec_user *user, struct keel_error *err)
{
    memset(user, 0, sizeof *user);
    _cleanup_free_ char *user_arg = strdup(spec);
    if (user_arg == NULL)
        return keel_error_set(err, ENOMEM, "look up user");
    char *colon = strchr(user_arg, ':');
    const char *group_arg = "";
    if (colon != NULL) {
        *colon = '\0';
        group_arg = colon + 1;
    }

    _cleanup_close_ int root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        return keel_error_set(err, errno, "open rootfs %s", rootfs);
    if (user_resolve(root_fd, user_arg, group_arg, user, err) < 0) {
        container_spec_user_free(user);
        return -1;
    }
    return 0;
}

void container_spec_user_free(struct container_spec_user *user)
{
    free(user->additional_gids);
    free(user->home);
    memset(user, 0, sizeof *user);
}

int container_spec_working_dir_create(const char *rootfs, const char *path, struct keel_error *err)
{
    struct stat info;
    _cleanup_close_ int directory = -1;
    _cleanup_close_ int root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);

    if (root_fd < 0)
        return keel_error_set(err, errno, "open rootfs %s", rootfs);
    if (rootfs_path_open_or_create(root_fd, path, ROOTFS_PATH_DIRECTORY, "working directory",
                                   &directory, err) < 0)
        return -1;
    if (fstat(directory, &info) < 0)
        return keel_error_set(err, errno, "stat working directory %s in rootfs", path);
    if (!S_ISDIR(info.st_mode))
        return keel_error_invalid(err, "working directory %s: not a directory", path);
    return 0;
}

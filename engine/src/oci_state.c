/* oci_state.c — the OCI runtime's state directory: ROOT/ID/state.json, status, list, removal. */
#include "oci_state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "file.h"

#define STATE_FILE "state.json"
#define STATE_EXEC_FIFO "exec.fifo"
#define STATE_ID_MAX 1024
/* The runtime-spec version Keel implements, as "ociVersion" of `state`. */
#define STATE_OCI_VERSION "1.1.0"

static void json_decref_pointer(json_t **json)
{
    json_decref(*json);
}
#define _cleanup_json_ __attribute__((cleanup(json_decref_pointer)))

static void closedir_pointer(DIR **directory)
{
    if (*directory != NULL)
        closedir(*directory);
}
#define _cleanup_closedir_ __attribute__((cleanup(closedir_pointer)))

/* Errors that are a fact, not a failed call: the errno for the caller to
 * test, without strerror's text repeating the message. */
static int state_error_fact(struct keel_error *err, int errno_value, const char *what,
                            const char *id)
{
    keel_error_invalid(err, "container \"%s\" %s", id, what);
    err->errno_value = errno_value;
    return -1;
}

#define STATE_ID_FIRST "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

int oci_state_validate_id(const char *id, struct keel_error *err)
{
    size_t length = id == NULL ? 0 : strlen(id);

    if (length == 0)
        return keel_error_invalid(err, "invalid container id: empty");
    if (length > STATE_ID_MAX)
        return keel_error_invalid(err, "invalid container id \"%.32s...\": longer than %d bytes",
                                  id, STATE_ID_MAX);
    /* The first character cannot be '.', so no id is "." or ".." or hidden;
     * no '/' at all, so an id is always one directory right below ROOT. */
    if (strchr(STATE_ID_FIRST, id[0]) == NULL || id[strspn(id, STATE_ID_FIRST "_.+-")] != '\0')
        return keel_error_invalid(
            err, "invalid container id \"%s\": must match [A-Za-z0-9][A-Za-z0-9_.+-]*", id);
    return 0;
}

int oci_state_path(const char *root, const char *id, const char *name, char *buffer, size_t size,
                   struct keel_error *err)
{
    int length;

    if (oci_state_validate_id(id, err) < 0)
        return -1;
    if (name == NULL)
        length = snprintf(buffer, size, "%s/%s", root, id);
    else
        length = snprintf(buffer, size, "%s/%s/%s", root, id, name);
    if (length < 0 || (size_t)length >= size)
        return keel_error_set(err, ENAMETOOLONG, "path of %s in %s/%s", name ? name : "directory",
                              root, id);
    return 0;
}

/* mkdir -p with mode 0700 for each missing component. */
static int state_make_parents(const char *root, struct keel_error *err)
{
    _cleanup_free_ char *path = strdup(root);

    if (path == NULL)
        return keel_error_set(err, ENOMEM, "create %s", root);
    if (path[0] == '\0')
        return keel_error_invalid(err, "state root: empty path");
    for (char *slash = path + 1;; slash++) {
        if (*slash != '/' && *slash != '\0')
            continue;
        char saved = *slash;
        *slash = '\0';
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
            return keel_error_set(err, errno, "create %s", path);
        *slash = saved;
        if (saved == '\0')
            return 0;
    }
}

int oci_state_create_directory(const char *root, const char *id, struct keel_error *err)
{
    char path[PATH_MAX];

    if (oci_state_path(root, id, NULL, path, sizeof path, err) < 0)
        return -1;
    if (state_make_parents(root, err) < 0)
        return -1;
    if (mkdir(path, 0700) < 0) {
        if (errno == EEXIST)
            return state_error_fact(err, EEXIST, "already exists", id);
        return keel_error_set(err, errno, "create %s", path);
    }
    return 0;
}

/* ---- state.json: struct oci_state <-> JSON ---- */

/* A C string as JSON: null for NULL. NULL return: not UTF-8 (or no memory). */
static json_t *state_json_string(const char *text)
{
    return text == NULL ? json_null() : json_string(text);
}

static int state_json_set(json_t *object, const char *key, json_t *value, struct keel_error *err)
{
    if (value == NULL)
        return keel_error_invalid(err, "field \"%s\": not valid UTF-8", key);
    if (json_object_set_new(object, key, value) < 0)
        return keel_error_set(err, ENOMEM, "field \"%s\"", key);
    return 0;
}

/* The annotations as an object; a repeated key keeps its last value. */
static int state_annotations_to_json(char *const *annotations, json_t **object,
                                     struct keel_error *err)
{
    _cleanup_json_ json_t *result = json_object();

    if (result == NULL)
        return keel_error_set(err, ENOMEM, "annotations");
    for (size_t i = 0; annotations != NULL && annotations[i] != NULL; i += 2) {
        if (annotations[i + 1] == NULL)
            return keel_error_invalid(err, "annotation \"%s\" has no value", annotations[i]);
        if (json_object_set_new(result, annotations[i], json_string(annotations[i + 1])) < 0)
            return keel_error_invalid(err, "annotation \"%s\": not valid UTF-8", annotations[i]);
    }
    *object = steal_pointer(&result);
    return 0;
}

static int state_to_json(const struct oci_state *state, json_t **json, struct keel_error *err)
{
    _cleanup_json_ json_t *object = json_object();
    _cleanup_json_ json_t *annotations = NULL;

    if (object == NULL)
        return keel_error_set(err, ENOMEM, "state");
    if (state_annotations_to_json(state->annotations, &annotations, err) < 0)
        return -1;
    if (state_json_set(object, "id", state_json_string(state->id), err) < 0 ||
        state_json_set(object, "bundle", state_json_string(state->bundle), err) < 0 ||
        state_json_set(object, "rootfs", state_json_string(state->rootfs), err) < 0 ||
        state_json_set(object, "pid", json_integer(state->pid), err) < 0 ||
        state_json_set(object, "startTime", json_integer((json_int_t)state->start_time), err) < 0 ||
        state_json_set(object, "created", state_json_string(state->created), err) < 0 ||
        state_json_set(object, "cgroupPath", state_json_string(state->cgroup_path), err) < 0 ||
        state_json_set(object, "annotations", json_incref(annotations), err) < 0 ||
        state_json_set(object, "oomKilled", json_boolean(state->oom_killed), err) < 0 ||
        state_json_set(object, "exitStatus",
                       state->has_exit_status ? json_integer(state->exit_status) : json_null(),
                       err) < 0)
        return -1;
    *json = steal_pointer(&object);
    return 0;
}

/* A string field; required ones may not be null or absent. */
static int state_field_string(json_t *object, const char *key, bool required, char **out,
                              struct keel_error *err)
{
    json_t *value = json_object_get(object, key);

    if (value == NULL || json_is_null(value)) {
        if (required)
            return keel_error_invalid(err, "field \"%s\": missing", key);
        return 0;
    }
    if (!json_is_string(value))
        return keel_error_invalid(err, "field \"%s\": not a string", key);
    *out = strdup(json_string_value(value));
    if (*out == NULL)
        return keel_error_set(err, ENOMEM, "field \"%s\"", key);
    return 0;
}

static int state_field_integer(json_t *object, const char *key, json_int_t minimum,
                               json_int_t maximum, json_int_t *out, struct keel_error *err)
{
    json_t *value = json_object_get(object, key);

    if (value == NULL)
        return keel_error_invalid(err, "field \"%s\": missing", key);
    if (!json_is_integer(value))
        return keel_error_invalid(err, "field \"%s\": not an integer", key);
    *out = json_integer_value(value);
    if (*out < minimum || *out > maximum)
        return keel_error_invalid(err, "field \"%s\": %lld is out of range", key, (long long)*out);
    return 0;
}

static int state_annotations_from_json(json_t *object, char ***annotations, struct keel_error *err)
{
    json_t *value = json_object_get(object, "annotations");
    const char *key;
    json_t *item;
    size_t i = 0;

    if (value != NULL && !json_is_null(value) && !json_is_object(value))
        return keel_error_invalid(err, "field \"annotations\": not an object");
    /* Always an array, so readers need not test for NULL. */
    size_t count = json_is_object(value) ? json_object_size(value) : 0;
    *annotations = calloc(2 * count + 1, sizeof **annotations);
    if (*annotations == NULL)
        return keel_error_set(err, ENOMEM, "field \"annotations\"");
    if (count == 0)
        return 0;
    json_object_foreach(value, key, item)
    {
        if (!json_is_string(item))
            return keel_error_invalid(err, "field \"annotations\": \"%s\" is not a string", key);
        (*annotations)[i] = strdup(key);
        (*annotations)[i + 1] = strdup(json_string_value(item));
        if ((*annotations)[i] == NULL || (*annotations)[i + 1] == NULL)
            return keel_error_set(err, ENOMEM, "field \"annotations\"");
        i += 2;
    }
    return 0;
}

static int state_from_json(json_t *object, struct oci_state *state, struct keel_error *err)
{
    json_int_t pid, start_time, exit_status;
    json_t *value;

    if (!json_is_object(object))
        return keel_error_invalid(err, "not a JSON object");
    if (state_field_string(object, "id", true, &state->id, err) < 0 ||
        state_field_string(object, "bundle", true, &state->bundle, err) < 0 ||
        state_field_string(object, "rootfs", false, &state->rootfs, err) < 0 ||
        state_field_string(object, "created", false, &state->created, err) < 0 ||
        state_field_string(object, "cgroupPath", false, &state->cgroup_path, err) < 0)
        return -1;
    if (state_field_integer(object, "pid", 0, INT_MAX, &pid, err) < 0 ||
        state_field_integer(object, "startTime", 0, LLONG_MAX, &start_time, err) < 0)
        return -1;
    state->pid = (pid_t)pid;
    state->start_time = (unsigned long long)start_time;
    if (state_annotations_from_json(object, &state->annotations, err) < 0)
        return -1;

    value = json_object_get(object, "oomKilled");
    if (value != NULL && !json_is_boolean(value))
        return keel_error_invalid(err, "field \"oomKilled\": not a boolean");
    state->oom_killed = json_is_true(value);

    value = json_object_get(object, "exitStatus");
    if (value != NULL && !json_is_null(value)) {
        if (state_field_integer(object, "exitStatus", INT_MIN, INT_MAX, &exit_status, err) < 0)
            return -1;
        state->has_exit_status = true;
        state->exit_status = (int)exit_status;
    }
    return 0;
}

/* ---- state.json on disk ---- */

int oci_state_write(const char *root, const struct oci_state *state, struct keel_error *err)
{
    _cleanup_json_ json_t *json = NULL;
    _cleanup_free_ char *text = NULL;
    char path[PATH_MAX];

    if (oci_state_path(root, state->id, NULL, path, sizeof path, err) < 0)
        return -1;
    if (state_to_json(state, &json, err) < 0)
        return keel_error_prefix(err, "write state of container \"%s\"", state->id);
    text = json_dumps(json, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text == NULL)
        return keel_error_set(err, ENOMEM, "write state of container \"%s\"", state->id);
    struct stat status;
    if (stat(path, &status) < 0 && errno == ENOENT)
        return state_error_fact(err, ENOENT, "does not exist", state->id);
    /* Beside it, .state.json.tmp (a crash's leftover is replaced). */
    if (oci_state_path(root, state->id, STATE_FILE, path, sizeof path, err) < 0)
        return -1;
    return file_write_atomic(path, text, strlen(text), 0600, 0, err);
}

int oci_state_read(const char *root, const char *id, struct oci_state **state,
                   struct keel_error *err)
{
    _cleanup_free_ char *text = NULL;
    _cleanup_json_ json_t *json = NULL;
    struct oci_state *result;
    json_error_t json_error;
    char path[PATH_MAX];
    size_t length;

    if (oci_state_path(root, id, STATE_FILE, path, sizeof path, err) < 0)
        return -1;
    if (file_read_text(path, &text, &length, err) < 0) {
        if (err->errno_value == ENOENT)
            return state_error_fact(err, ENOENT, "does not exist", id);
        return -1;
    }
    json = json_loadb(text, length, JSON_REJECT_DUPLICATES, &json_error);
    if (json == NULL)
        return keel_error_invalid(err, "%s: invalid JSON at line %d column %d: %s", path,
                                  json_error.line, json_error.column, json_error.text);
    result = calloc(1, sizeof *result);
    if (result == NULL)
        return keel_error_set(err, ENOMEM, "read %s", path);
    if (state_from_json(json, result, err) < 0) {
        oci_state_free(result);
        return keel_error_prefix(err, "%s", path);
    }
    if (strcmp(result->id, id) != 0) {
        keel_error_invalid(err, "%s: holds container \"%s\", not \"%s\"", path, result->id, id);
        oci_state_free(result);
        return -1;
    }
    *state = result;
    return 0;
}

void oci_state_free(struct oci_state *state)
{
    if (state == NULL)
        return;
    free(state->id);
    free(state->bundle);
    free(state->rootfs);
    free(state->created);
    free(state->cgroup_path);
    for (size_t i = 0; state->annotations != NULL && state->annotations[i] != NULL; i++)
        free(state->annotations[i]);
    free(state->annotations);
    free(state);
}

/* ---- live status ---- */

/* Fields 3 (state) and 22 (start time) of /proc/PID/stat. The command name
 * (field 2) may hold spaces and ')', so count from its last ')'. */
static int state_read_process(pid_t pid, char *process_state, unsigned long long *start_time)
{
    _cleanup_free_ char *text = NULL;
    struct keel_error ignored;
    char path[64];

    if (pid <= 0)
        return -1;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (file_read_text(path, &text, NULL, &ignored) < 0)
        return -1;
    const char *cursor = strrchr(text, ')');
    if (cursor == NULL || cursor[1] != ' ' || cursor[2] == '\0')
        return -1;
    cursor += 2;
    *process_state = *cursor;
    for (int field = 3; field < 22; field++) {
        cursor = strchr(cursor, ' ');
        if (cursor == NULL)
            return -1;
        cursor++;
    }
    char *end;
    errno = 0;
    *start_time = strtoull(cursor, &end, 10);
    if (errno != 0 || end == cursor)
        return -1;
    return 0;
}

unsigned long long oci_state_process_start_time(pid_t pid)
{
    unsigned long long start_time;
    char process_state;

    if (state_read_process(pid, &process_state, &start_time) < 0)
        return 0;
    return start_time;
}

enum oci_status oci_state_status(const char *root, const struct oci_state *state)
{
    unsigned long long start_time;
    char process_state;
    char path[PATH_MAX];
    struct stat ignored;
    struct keel_error err;

    if (state->pid <= 0)
        return OCI_STATUS_CREATING;
    /* Whoever reaped it recorded how it ended: gone, whatever now has the pid. */
    if (state->has_exit_status)
        return OCI_STATUS_STOPPED;
    if (state_read_process(state->pid, &process_state, &start_time) < 0 ||
        start_time != state->start_time || process_state == 'Z' || process_state == 'X')
        return OCI_STATUS_STOPPED;
    /* The init blocks opening exec.fifo until `start`, which removes it. */
    if (oci_state_path(root, state->id, STATE_EXEC_FIFO, path, sizeof path, &err) == 0 &&
        lstat(path, &ignored) == 0)
        return OCI_STATUS_CREATED;
    return OCI_STATUS_RUNNING;
}

const char *oci_status_name(enum oci_status status)
{
    switch (status) {
    case OCI_STATUS_CREATING:
        return "creating";
    case OCI_STATUS_CREATED:
        return "created";
    case OCI_STATUS_RUNNING:
        return "running";
    case OCI_STATUS_STOPPED:
        return "stopped";
    }
    return "unknown";
}

/* ---- `state` output ---- */

static int state_compare_strings(const void *left, const void *right)
{
    return strcmp(*(char *const *)left, *(char *const *)right);
}

/* Go's encoding/json prints a map's keys sorted; runc's annotations are a map. */
static int state_sort_object(json_t *object, json_t **sorted, struct keel_error *err)
{
    _cleanup_json_ json_t *result = json_object();
    _cleanup_free_ const char **keys = calloc(json_object_size(object) + 1, sizeof *keys);
    const char *key;
    json_t *value;
    size_t count = 0;

    if (result == NULL || keys == NULL)
        return keel_error_set(err, ENOMEM, "annotations");
    json_object_foreach(object, key, value)
    {
        keys[count++] = key;
    }
    qsort(keys, count, sizeof *keys, state_compare_strings);
    for (size_t i = 0; i < count; i++)
        if (json_object_set(result, keys[i], json_object_get(object, keys[i])) < 0)
            return keel_error_set(err, ENOMEM, "annotations");
    *sorted = steal_pointer(&result);
    return 0;
}

static const char *state_text(const char *text)
{
    return text == NULL ? "" : text;
}

int oci_state_format(const struct oci_state *state, enum oci_status status, char **text,
                     struct keel_error *err)
{
    _cleanup_json_ json_t *object = json_object();
    _cleanup_json_ json_t *annotations = NULL;
    json_t *sorted = NULL;
    /* runc prints pid 0 for a stopped container: the old pid may be another
     * process by now. */
    pid_t pid = status == OCI_STATUS_STOPPED ? 0 : state->pid;

    if (object == NULL)
        return keel_error_set(err, ENOMEM, "format state of container \"%s\"",
                              state_text(state->id));
    if (state_annotations_to_json(state->annotations, &annotations, err) < 0)
        return keel_error_prefix(err, "format state of container \"%s\"", state_text(state->id));
    /* runc's key order; "annotations" is left out when empty (omitempty). */
    if (state_json_set(object, "ociVersion", json_string(STATE_OCI_VERSION), err) < 0 ||
        state_json_set(object, "id", json_string(state_text(state->id)), err) < 0 ||
        state_json_set(object, "pid", json_integer(pid), err) < 0 ||
        state_json_set(object, "status", json_string(oci_status_name(status)), err) < 0 ||
        state_json_set(object, "bundle", json_string(state_text(state->bundle)), err) < 0 ||
        state_json_set(object, "rootfs", json_string(state_text(state->rootfs)), err) < 0 ||
        state_json_set(object, "created", json_string(state_text(state->created)), err) < 0)
        return keel_error_prefix(err, "format state of container \"%s\"", state_text(state->id));
    if (json_object_size(annotations) > 0) {
        if (state_sort_object(annotations, &sorted, err) < 0 ||
            state_json_set(object, "annotations", sorted, err) < 0)
            return keel_error_prefix(err, "format state of container \"%s\"",
                                     state_text(state->id));
    }
    /* Keel's addition: runc's state cannot tell an OOM kill apart. */
    if (state->oom_killed && state_json_set(object, "oomKilled", json_true(), err) < 0)
        return -1;
    if (state_json_set(object, "owner", json_string(""), err) < 0)
        return keel_error_prefix(err, "format state of container \"%s\"", state_text(state->id));
    /* Two-space indent and no final newline, byte for byte as runc prints. */
    *text = json_dumps(object, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (*text == NULL)
        return keel_error_set(err, ENOMEM, "format state of container \"%s\"",
                              state_text(state->id));
    return 0;
}

/* ---- list and remove ---- */

static void state_free_ids(char **ids)
{
    for (size_t i = 0; ids != NULL && ids[i] != NULL; i++)
        free(ids[i]);
    free(ids);
}

/* A container is a directory with a valid id holding a state.json; a
 * half-created one (no state.json yet) and stray files are not listed. */
static bool state_is_container(int root, const char *name)
{
    struct keel_error ignored;
    char path[STATE_ID_MAX + sizeof "/" STATE_FILE];
    struct stat status;

    if (oci_state_validate_id(name, &ignored) < 0)
        return false;
    if (fstatat(root, name, &status, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(status.st_mode))
        return false;
    snprintf(path, sizeof path, "%s/%s", name, STATE_FILE);
    return fstatat(root, path, &status, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(status.st_mode);
}

/* Append id (NULL: the terminator) to the growing *list. */
static int state_list_append(char ***list, size_t *count, size_t *capacity, const char *id)
{
    if (*count == *capacity) {
        size_t bigger_capacity = *capacity == 0 ? 16 : *capacity * 2;
        char **bigger = realloc(*list, bigger_capacity * sizeof **list);
        if (bigger == NULL)
            return -1;
        *list = bigger;
        *capacity = bigger_capacity;
    }
    (*list)[*count] = NULL;
    if (id != NULL && ((*list)[*count] = strdup(id)) == NULL)
        return -1;
    (*count)++;
    return 0;
}

int oci_state_list(const char *root, char ***ids, struct keel_error *err)
{
    _cleanup_closedir_ DIR *directory = NULL;
    char **list = NULL;
    size_t count = 0, capacity = 0;
    struct dirent *entry;

    directory = opendir(root); /* O_CLOEXEC, as glibc opens every directory */
    if (directory == NULL && errno != ENOENT)
        return keel_error_set(err, errno, "list containers: open %s", root);
    /* A root never created holds no containers. */
    while (directory != NULL) {
        errno = 0;
        entry = readdir(directory);
        if (entry == NULL && errno != 0) {
            keel_error_set(err, errno, "list containers: read %s", root);
            state_free_ids(list);
            return -1;
        }
        if (entry == NULL)
            break;
        if (!state_is_container(dirfd(directory), entry->d_name))
            continue;
        if (state_list_append(&list, &count, &capacity, entry->d_name) < 0) {
            state_free_ids(list);
            return keel_error_set(err, ENOMEM, "list containers in %s", root);
        }
    }
    if (count > 1)
        qsort(list, count, sizeof *list, state_compare_strings);
    if (state_list_append(&list, &count, &capacity, NULL) < 0) {
        state_free_ids(list);
        return keel_error_set(err, ENOMEM, "list containers in %s", root);
    }
    *ids = list;
    return 0;
}

/* rm -r of parent/name, never leaving it: symlinks are removed, not
 * followed (O_NOFOLLOW), and a directory on another filesystem (a mount
 * point) is refused rather than emptied. */
static int state_remove_at(int parent, dev_t device, const char *name, const char *path,
                           struct keel_error *err)
{
    _cleanup_closedir_ DIR *directory = NULL;
    _cleanup_close_ int fd = -1;
    struct dirent *entry;
    struct stat status;

    fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return 0;
    if (fd < 0 && (errno == ENOTDIR || errno == ELOOP)) {
        if (unlinkat(parent, name, 0) < 0 && errno != ENOENT)
            return keel_error_set(err, errno, "remove %s", path);
        return 0;
    }
    if (fd < 0)
        return keel_error_set(err, errno, "open %s", path);
    if (fstat(fd, &status) < 0)
        return keel_error_set(err, errno, "stat %s", path);
    if (status.st_dev != device) {
        keel_error_invalid(err, "remove %s: another filesystem is mounted there", path);
        err->errno_value = EBUSY;
        return -1;
    }
    directory = fdopendir(fd);
    if (directory == NULL)
        return keel_error_set(err, errno, "open %s", path);
    steal_fd(&fd); /* closedir closes it now */
    for (;;) {
        errno = 0;
        entry = readdir(directory);
        if (entry == NULL && errno != 0)
            return keel_error_set(err, errno, "read %s", path);
        if (entry == NULL)
            break;
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        _cleanup_free_ char *child = NULL;
        if (asprintf(&child, "%s/%s", path, entry->d_name) < 0)
            return keel_error_set(err, ENOMEM, "remove %s", path);
        if (entry->d_type == DT_DIR || entry->d_type == DT_UNKNOWN) {
            if (state_remove_at(dirfd(directory), device, entry->d_name, child, err) < 0)
                return -1;
        } else if (unlinkat(dirfd(directory), entry->d_name, 0) < 0 && errno != ENOENT) {
            return keel_error_set(err, errno, "remove %s", child);
        }
    }
    if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return keel_error_set(err, errno, "remove %s", path);
    return 0;
}

int oci_state_remove(const char *root, const char *id, struct keel_error *err)
{
    _cleanup_close_ int fd = -1;
    struct stat status;
    char path[PATH_MAX];

    if (oci_state_path(root, id, NULL, path, sizeof path, err) < 0)
        return -1;
    fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return 0;
    if (fd < 0)
        return keel_error_set(err, errno, "remove container \"%s\": open %s", id, root);
    if (fstat(fd, &status) < 0)
        return keel_error_set(err, errno, "remove container \"%s\": stat %s", id, root);
    if (state_remove_at(fd, status.st_dev, id, path, err) < 0)
        return keel_error_prefix(err, "remove container \"%s\"", id);
    return 0;
}

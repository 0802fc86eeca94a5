/* engine_container.c — containers in the engine: create, find, remove, the accessors
 * engine_internal.h promises, and the completions delivered from the loop. */
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "container_spec.h"
#include "engine_container_internal.h"
#include "file.h"
#include "image.h"
#include "oci_config.h"

/* ---- the struct ---- */

struct engine_container *engine_container_new(struct engine *engine, const char *id)
{
    struct engine_container *container = calloc(1, sizeof *container);
    if (container == NULL)
        return NULL;
    container->engine = engine;
    snprintf(container->id, sizeof container->id, "%s", id);
    container->pidfd = -1;
    container->stdin_fd = -1;
    return container;
}

static void engine_container_free_lists(struct engine_container *container)
{
    while (container->waits != NULL) {
        struct engine_wait *next = container->waits->next;
        free(container->waits);
        container->waits = next;
    }
    while (container->stop_requests != NULL) {
        struct engine_stop_request *next = container->stop_requests->next;
        free(container->stop_requests);
        container->stop_requests = next;
    }
    engine_output_free_subscriptions(container);
}

void engine_container_free(struct engine_container *container)
{
    if (container == NULL)
        return;
    engine_container_free_lists(container);
    loop_timer_free(container->kill_timer);
    loop_timer_free(container->restart_timer);
    for (int i = 0; i < 2; i++)
        engine_pump_free(container->pumps[i]);
    if (container->log != NULL)
        container_log_close(container->log);
    if (container->stdin_fd >= 0)
        close(container->stdin_fd);
    if (container->pidfd >= 0)
        close(container->pidfd);
    if (container->oci_config != NULL)
        oci_config_free(container->oci_config);
    json_decref(container->args);
    json_decref(container->config);
    json_decref(container->host_config);
    free(container->name);
    free(container->image_name);
    free(container->image_id);
    free(container->path);
    free(container->error);
    free(container->state_dir);
    free(container->log_path);
    free(container->rootfs);
    free(container->cgroup_path);
    free(container);
}

/* ---- accessors ---- */

const char *engine_container_id(const struct engine_container *container)
{
    return container->id;
}

const char *engine_container_name(const struct engine_container *container)
{
    return container->name;
}

const char *engine_container_image_name(const struct engine_container *container)
{
    return container->image_name;
}

const char *engine_container_image_id(const struct engine_container *container)
{
    return container->image_id;
}

bool engine_container_is_running(const struct engine_container *container)
{
    return container->status == ENGINE_CONTAINER_RUNNING;
}

pid_t engine_container_pid(const struct engine_container *container)
{
    return container->status == ENGINE_CONTAINER_RUNNING ? container->pid : 0;
}

const char *engine_container_cgroup_path(const struct engine_container *container)
{
    return container->status == ENGINE_CONTAINER_RUNNING ? container->cgroup_path : NULL;
}

const struct oci_config *engine_container_oci_config(const struct engine_container *container)
{
    return container->oci_config;
}

struct engine_container *engine_container_next(struct engine *engine,
                                               const struct engine_container *previous)
{
    return previous == NULL ? engine->containers : previous->next;
}

bool engine_image_in_use(struct engine *engine, const char *image_id)
{
    /* Accept the id with or without "sha256:". */
    const char *hex = strncmp(image_id, "sha256:", 7) == 0 ? image_id + 7 : image_id;
    for (struct engine_container *container = engine->containers; container;
         container = container->next)
        if (strcmp(container->image_id + 7, hex) == 0)
            return true;
    return false;
}

struct engine_container *engine_container_find(struct engine *engine, const char *reference,
                                               struct keel_error *err)
{
    struct engine_container *found = NULL;
    size_t length = strlen(reference);
    if (length == 0) {
        engine_error_set(err, ENOENT, "No such container: %s", reference);
        return NULL;
    }
    /* Docker's order: the full id, then the name, then an id prefix. */
    for (struct engine_container *container = engine->containers; container;
         container = container->next)
        if (strcmp(container->id, reference) == 0)
            return container;
    found = engine_container_by_name(engine, reference);
    if (found != NULL)
        return found;
    for (struct engine_container *container = engine->containers; container;
         container = container->next) {
        if (strncmp(container->id, reference, length) != 0)
            continue;
        if (found != NULL) {
            keel_error_invalid(err, "multiple containers match the id prefix %s: give more of it",
                               reference);
            return NULL;
        }
        found = container;
    }
    if (found == NULL)
        engine_error_set(err, ENOENT, "No such container: %s", reference);
    return found;
}

/* ---- completions from the loop ---- */

/* Deliver one ready completion; false when none is left. Unlinked before
 * its callback: the callback may start, stop or remove this container, or
 * cancel other waits, which may make more ready. */
static bool engine_container_notify_one(struct engine_container *container)
{
    for (struct engine_subscription *subscription = container->subscriptions; subscription;
         subscription = subscription->next)
        if (subscription->end_pending && !subscription->cancelled) {
            engine_output_deliver_pending_ends(container);
            return true;
        }
    for (struct engine_stop_request **link = &container->stop_requests; *link;
         link = &(*link)->next) {
        struct engine_stop_request *request = *link;
        if (!request->ready)
            continue;
        *link = request->next;
        if (request->done != NULL)
            request->done(request->status, NULL, request->data);
        free(request);
        return true;
    }
    for (struct engine_wait **link = &container->waits; *link; link = &(*link)->next) {
        struct engine_wait *wait = *link;
        if (!wait->ready)
            continue;
        *link = wait->next;
        wait->done(wait->status, NULL, wait->data);
        free(wait);
        return true;
    }
    return false;
}

/* The first container (linked or removed) with completions pending. */
static struct engine_container *engine_container_next_pending(struct engine_core *core)
{
    for (struct engine_container *container = core->engine.containers; container;
         container = container->next)
        if (container->notify_pending)
            return container;
    for (struct engine_container *container = core->removed; container; container = container->next)
        if (container->notify_pending)
            return container;
    return NULL;
}

int engine_container_on_notify(struct loop *loop, struct loop_timer *timer, void *user,
                               struct keel_error *err)
{
    struct engine_core *core = user;
    struct engine_container *container;
    (void)loop;
    (void)timer;
    (void)err;
    /* Rescanned after every container: callbacks create, start and remove. */
    while ((container = engine_container_next_pending(core)) != NULL) {
        container->notify_pending = false;
        while (engine_container_notify_one(container))
            ;
        if (container->removed && !container->notify_pending) {
            for (struct engine_container **link = &core->removed; *link; link = &(*link)->next) {
                if (*link == container) {
                    *link = container->next;
                    break;
                }
            }
            engine_container_free(container);
            /* Hand the freed run's memory back: an engine that ran 100
             * containers should idle as small as one that ran none. */
            malloc_trim(0);
        }
    }
    return 0;
}

void engine_container_notify(struct engine_container *container)
{
    struct engine_core *core = engine_core_of(container->engine);
    struct keel_error err;
    container->notify_pending = true;
    if (!loop_timer_armed(core->notify_timer) && loop_timer_arm(core->notify_timer, 0, 0, &err) < 0)
        engine_report_error(container->engine, &err);
}

/* ---- create ---- */

static int engine_container_generate_id(char id[65], struct keel_error *err)
{
    unsigned char random[32];
    if (getrandom(random, sizeof random, 0) != (ssize_t)sizeof random)
        return keel_error_set(err, errno, "container id");
    for (size_t i = 0; i < sizeof random; i++)
        snprintf(id + 2 * i, 3, "%02x", random[i]);
    return 0;
}

/* hosts, resolv.conf and hostname are derived from the request: written
 * in place, without the fsyncs of file_write_atomic (a crash before they
 * reach the disk loses a container whose record is not there either). */
static int engine_write_file(const char *directory, const char *name, const char *text,
                             struct keel_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", directory, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return keel_error_set(err, errno, "create %s", path);
    int result = file_write_all(fd, text, strlen(text));
    if (result < 0)
        keel_error_set(err, errno, "write %s", path);
    close(fd);
    return result;
}

/* The host's resolv.conf; a container with a network of its own cannot
 * reach a resolver on the host's loopback: those lines go, and Docker's
 * fallback servers come in when nothing is left. */
static char *engine_resolv_conf(bool host_network)
{
    _cleanup_free_ char *text = NULL;
    size_t length, size = 0;
    struct keel_error ignored;
    char *out = NULL;
    if (file_read_text_limited("/etc/resolv.conf", 65536, &text, &length, &ignored) < 0)
        text = NULL;
    if (host_network && text != NULL)
        return steal_pointer(&text);
    FILE *stream = open_memstream(&out, &size);
    if (stream == NULL)
        return NULL;
    bool nameserver = false;
    for (char *line = text ? strtok(text, "\n") : NULL; line != NULL; line = strtok(NULL, "\n")) {
        char address[256];
        if (sscanf(line, " nameserver %255s", address) == 1) {
            if (strncmp(address, "127.", 4) == 0 || strcmp(address, "::1") == 0)
                continue;
            nameserver = true;
        }
        fprintf(stream, "%s\n", line);
    }
    if (!nameserver)
        fputs("nameserver 8.8.8.8\nnameserver 8.8.4.4\n", stream);
    if (fclose(stream) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* hosts and resolv.conf beside the record, and an empty hostname the
 * spec binds (filled once the spec has chosen the name). */
static int engine_container_write_files(const char *state_dir, const json_t *request,
                                        struct keel_error *err)
{
    const char *network =
        json_string_value(json_object_get(json_object_get(request, "HostConfig"), "NetworkMode"));
    bool host_network = network != NULL && strcmp(network, "host") == 0;
    _cleanup_free_ char *hosts = NULL, *resolv = engine_resolv_conf(host_network);
    size_t length;
    if (!host_network || file_read_text_limited("/etc/hosts", 65536, &hosts, &length, err) < 0)
        hosts =
            strdup("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
                   "ip6-loopback\nfe00::0\tip6-localnet\n"
                   "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n");
    if (hosts == NULL || resolv == NULL)
        return keel_error_set(err, ENOMEM, "container files");
    if (engine_write_file(state_dir, "hosts", hosts, err) < 0 ||
        engine_write_file(state_dir, "resolv.conf", resolv, err) < 0 ||
        engine_write_file(state_dir, "hostname", "", err) < 0)
        return -1;
    return 0;
}

/* The spec's config.json, with the cgroup below the engine's parent. */
static int engine_container_write_spec(struct engine_container *container, json_t *spec,
                                       struct keel_error *err)
{
    const char *parent = container->engine->options.cgroup_parent;
    char path[4096];
    if (parent != NULL) {
        snprintf(path, sizeof path, "/%s/%s", parent[0] == '/' ? parent + 1 : parent,
                 container->id);
        json_t *linux_section = json_object_get(spec, "linux");
        if (!json_is_object(linux_section)) {
            linux_section = json_object();
            json_object_set_new(spec, "linux", linux_section);
        }
        json_object_set_new(linux_section, "cgroupsPath", json_string(path));
    }
    _cleanup_free_ char *text = json_dumps(spec, JSON_COMPACT);
    if (text == NULL)
        return keel_error_set(err, ENOMEM, "config.json");
    snprintf(path, sizeof path, "%s/config.json", container->state_dir);
    if (file_write_atomic(path, text, strlen(text), 0600, 0, err) < 0)
        return -1;
    /* Parsed now so that a config the runtime would refuse fails the
     * create; kept for the start that usually follows (freed at exit). */
    if (oci_config_parse(text, strlen(text), &container->oci_config, err) < 0)
        return keel_error_prefix(err, "config.json");
    const struct oci_process *process = &container->oci_config->process;
    if (process->args == NULL || process->args[0] == NULL)
        return keel_error_invalid(err, "no command specified");
    container->path = strdup(process->args[0]);
    container->args = json_array();
    for (size_t i = 1; process->args[i] != NULL; i++)
        json_array_append_new(container->args, json_string(process->args[i]));
    return container->path == NULL ? keel_error_set(err, ENOMEM, "config.json") : 0;
}

/* Everything of a new container on disk: directory, rootfs, files, spec. */
static int engine_container_prepare(struct engine_container *container, const json_t *request,
                                    const struct image *image, struct keel_error *err)
{
    struct engine *engine = container->engine;
    struct container_spec_extras extras = {0};
    json_t *spec = NULL;
    /* Declared before the first goto: a jump past a cleanup variable's
     * initialisation would free garbage at the end of the scope. */
    _cleanup_free_ char *hostname = NULL;
    if (mkdir(container->state_dir, 0710) < 0)
        return keel_error_set(err, errno, "create %s", container->state_dir);
    int result = engine_rootfs_mount(engine, container->id, image->chain_ids,
                                     image->manifest.layer_count, &container->rootfs, err);
    if (result < 0)
        return -1;
    result = engine_container_write_files(container->state_dir, request, err);
    if (result == 0)
        result = container_spec_build(request, &image->config, container->id, container->rootfs,
                                      container->state_dir, &spec, &extras, err);
    if (result < 0)
        goto done;
    if (asprintf(&hostname, "%s\n", extras.hostname) < 0) {
        result = keel_error_set(err, ENOMEM, "hostname");
        goto done;
    }
    result = engine_write_file(container->state_dir, "hostname", hostname, err);
    if (result == 0)
        result = engine_container_write_spec(container, spec, err);
    if (result == 0) {
        container->config = engine_config_merge(request, &image->config, extras.hostname);
        if (container->config == NULL)
            result = keel_error_set(err, ENOMEM, "Config");
    }
done:
    json_decref(spec);
    container_spec_extras_free(&extras);
    return result < 0 ? -1 : 0;
}

/* Undo a create that failed half-way. */
static void engine_container_unprepare(struct engine_container *container)
{
    struct engine *engine = container->engine;
    struct keel_error ignored;
    if (container->rootfs != NULL)
        engine_rootfs_remove(engine, container->id, &ignored);
    _cleanup_close_ int state_root =
        open(engine->options.state_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (state_root >= 0)
        store_remove_tree(state_root, container->id, &ignored);
}

static int engine_container_check_name(struct engine *engine, const char *name,
                                       struct keel_error *err)
{
    if (!engine_name_valid(name))
        return keel_error_invalid(
            err, "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
    struct engine_container *holder = engine_container_by_name(engine, name);
    if (holder != NULL)
        return engine_error_set(
            err, EEXIST,
            "Conflict. The container name \"/%s\" is already in use by container \"%s\". You "
            "have to remove (or rename) that container to be able to reuse that name.",
            name[0] == '/' ? name + 1 : name, holder->id);
    return 0;
}

static int engine_container_fill(struct engine_container *container, const json_t *request,
                                 const char *name, const struct image *image,
                                 struct keel_error *err)
{
    struct engine *engine = container->engine;
    if (engine_host_config_fill(request, &container->host_config, err) < 0)
        return -1;
    if (json_is_true(json_object_get(container->host_config, "Init")) &&
        engine->options.container_init == NULL)
        return keel_error_invalid(err, "HostConfig.Init: this engine has no container init");
    if (name != NULL)
        container->name = strdup(name[0] == '/' ? name + 1 : name);
    else if (engine_name_generate(engine, &container->name, err) < 0)
        return -1;
    container->image_name = strdup(json_string_value(json_object_get(request, "Image")));
    container->image_id = strdup(image->id.text);
    if (asprintf(&container->state_dir, "%s/%s", engine->options.state_root, container->id) < 0)
        container->state_dir = NULL;
    if (asprintf(&container->log_path, "%s/%s-json.log", container->state_dir, container->id) < 0)
        container->log_path = NULL;
    if (container->name == NULL || container->image_name == NULL || container->image_id == NULL ||
        container->state_dir == NULL || container->log_path == NULL)
        return keel_error_set(err, ENOMEM, "create container");
    clock_gettime(CLOCK_REALTIME, &container->created);
    container->status = ENGINE_CONTAINER_CREATED;
    return 0;
}

int engine_container_create(struct engine *engine, const json_t *request, const char *name,
                            char **id, json_t **warnings, struct keel_error *err)
{
    struct image image = {0};
    char new_id[65];
    if (!json_is_object(request))
        return keel_error_invalid(err, "the request body must be a JSON object");
    const char *reference = json_string_value(json_object_get(request, "Image"));
    if (reference == NULL || *reference == '\0')
        return keel_error_invalid(err, "Image: missing");
    if (name != NULL && *name != '\0' && engine_container_check_name(engine, name, err) < 0)
        return -1;
    if (image_find(&engine->store, reference, &image, err) < 0) {
        if (err->errno_value == ENOENT)
            engine_error_set(err, ENOENT, "No such image: %s", reference);
        return -1;
    }
    struct engine_container *container = NULL;
    if (engine_container_generate_id(new_id, err) < 0) {
        image_free(&image);
        return -1;
    }
    if ((container = engine_container_new(engine, new_id)) == NULL) {
        image_free(&image);
        return keel_error_set(err, ENOMEM, "create container");
    }
    int result =
        engine_container_fill(container, request, name && *name ? name : NULL, &image, err);
    if (result == 0) {
        result = engine_container_prepare(container, request, &image, err);
        if (result == 0)
            result = engine_container_apply_settings(container, err);
        if (result == 0)
            result = engine_record_write(container, err);
        if (result < 0)
            engine_container_unprepare(container);
    }
    image_free(&image);
    if (result == 0 && (*id = strdup(container->id)) == NULL)
        result = keel_error_set(err, ENOMEM, "create container");
    if (result < 0) {
        engine_container_free(container);
        return -1;
    }
    if (warnings != NULL)
        *warnings = json_array();
    container->next = engine->containers;
    engine->containers = container;
    engine_event_emit(
        engine, "container", "create", container->id,
        json_pack("{s:s, s:s}", "name", container->name, "image", container->image_name));
    return 0;
}

/* ---- remove ---- */

int engine_container_destroy(struct engine_container *container, struct keel_error *err)
{
    struct engine *engine = container->engine;
    struct engine_core *core = engine_core_of(engine);
    engine_supervise_cancel(container);
    if (container->kill_timer != NULL)
        loop_timer_disarm(container->kill_timer);
    engine_exec_container_gone(engine, container, true);
    if (engine_rootfs_remove(engine, container->id, err) < 0)
        return keel_error_prefix(err, "remove container %s", container->name);
    _cleanup_close_ int state_root =
        open(engine->options.state_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (state_root < 0)
        return keel_error_set(err, errno, "remove container %s: open %s", container->name,
                              engine->options.state_root);
    if (store_remove_tree(state_root, container->id, err) < 0)
        return keel_error_prefix(err, "remove container %s", container->name);

    for (struct engine_container **link = &engine->containers; *link; link = &(*link)->next) {
        if (*link == container) {
            *link = container->next;
            break;
        }
    }
    container->removed = true;
    container->next = core->removed;
    core->removed = container;
    engine_event_emit(
        engine, "container", "destroy", container->id,
        json_pack("{s:s, s:s}", "name", container->name, "image", container->image_name));
    /* Whatever still waits hears the end now: the container is gone. */
    engine_container_waits_complete(container, true, true);
    engine_output_end_later(container);
    for (struct engine_stop_request *request = container->stop_requests; request;
         request = request->next) {
        request->ready = true;
        request->status = container->exit_code;
    }
    engine_container_notify(container);
    return 0;
}

int engine_container_remove(struct engine *engine, const char *reference, bool force,
                            struct keel_error *err)
{
    struct engine_container *container = engine_container_find(engine, reference, err);
    if (container == NULL)
        return -1;
    bool active = container->status == ENGINE_CONTAINER_RUNNING ||
                  container->status == ENGINE_CONTAINER_RESTARTING;
    if (active && !force)
        return engine_error_set(
            err, EBUSY,
            "You cannot remove a %s container %s. Stop the container before attempting removal "
            "or force remove",
            engine_container_status_name(container->status), container->id);
    engine_supervise_cancel(container);
    if (container->status == ENGINE_CONTAINER_RUNNING) {
        container->stopped_by_user = true;
        container->removing = true;
        int killed = engine_container_kill_now(container, err);
        container->removing = false;
        if (killed < 0)
            return keel_error_prefix(err, "remove container %s", container->name);
    }
    return engine_container_destroy(container, err);
}

/* engine.c — the engine's life: open the store, recover the containers a previous daemon left, shut
 * down, free; the reap hook. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup_container.h"
#include "cleanup.h"
#include "engine_container_internal.h"
#include "file.h"

/* ---- errors no caller waits for ---- */

struct engine_report {
    struct engine_report *next;
    struct keel_error err;
};

/* One report per turn of the loop: a callback hands the loop one error. */
static int engine_report_on_timer(struct loop *loop, struct loop_timer *timer, void *user,
                                  struct keel_error *err)
{
    struct engine_core *core = user;
    struct engine_report *report = core->reports;
    (void)loop;
    if (report == NULL)
        return 0;
    core->reports = report->next;
    *err = report->err;
    free(report);
    if (core->reports != NULL) {
        struct keel_error ignored;
        loop_timer_arm(timer, 0, 0, &ignored);
    }
    return -1;
}

void engine_report_error(struct engine *engine, const struct keel_error *err)
{
    struct engine_core *core = engine_core_of(engine);
    struct engine_report *report = calloc(1, sizeof *report);
    struct keel_error ignored;
    if (report == NULL || core->report_timer == NULL) {
        free(report);
        return;
    }
    report->err = *err;
    struct engine_report **tail = &core->reports;
    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = report;
    if (!loop_timer_armed(core->report_timer))
        loop_timer_arm(core->report_timer, 0, 0, &ignored);
}

/* ---- recovering containers ---- */

/* Where the runtime puts a container's cgroup (engine_container.c sets
 * linux.cgroupsPath to /PARENT/ID; without a parent, the runtime's keel/ID). */
static int engine_cgroup_path_of(struct engine *engine, const char *id, char *path, size_t size)
{
    char root[PATH_MAX], cgroups_path[PATH_MAX];
    struct keel_error ignored;
    const char *parent = engine->options.cgroup_parent;
    if (cgroup_container_find_root(root, sizeof root, &ignored) < 0)
        return -1;
    if (parent != NULL)
        snprintf(cgroups_path, sizeof cgroups_path, "/%s/%s",
                 parent[0] == '/' ? parent + 1 : parent, id);
    return cgroup_container_resolve_path(root, parent ? cgroups_path : NULL, id, path, size,
                                         &ignored);
}

/* A container the previous daemon left running is dead now: its
 * processes, if any survived, are killed with their cgroup. */
static void engine_recover_container(struct engine *engine, struct engine_container *container,
                                     bool *was_running)
{
    struct keel_error err;
    bool changed = false;
    *was_running = container->status == ENGINE_CONTAINER_RUNNING ||
                   container->status == ENGINE_CONTAINER_RESTARTING;
    /* Whatever the record says: it is written a little after each change,
     * so a container started just before the daemon died may still read
     * "created". Its cgroup tells. */
    char cgroup[PATH_MAX];
    const char *cgroup_path = container->cgroup_path;
    if (cgroup_path == NULL &&
        engine_cgroup_path_of(engine, container->id, cgroup, sizeof cgroup) == 0)
        cgroup_path = cgroup;
    if (cgroup_path != NULL && (cgroup_container_kill(cgroup_path, &err) < 0 ||
                                cgroup_container_remove(cgroup_path, &err) < 0)) {
        keel_error_prefix(&err, "recover container %s", container->name);
        engine_report_error(engine, &err);
    }
    if (container->status == ENGINE_CONTAINER_RUNNING) {
        /* 255 as Docker reports a container whose daemon died under it. */
        container->exit_code = ENGINE_EXIT_CODE_DAEMON_DIED;
        clock_gettime(CLOCK_REALTIME, &container->finished_at);
        changed = true;
    }
    free(container->cgroup_path);
    container->cgroup_path = NULL;
    container->pid = 0;
    if (*was_running) {
        container->status = ENGINE_CONTAINER_EXITED;
        changed = true;
    }
    if (engine_rootfs_ensure(engine, container, &err) < 0) {
        engine_report_error(engine, &err);
        free(container->error);
        container->error = strdup(err.message);
        changed = true;
    }
    if (changed)
        engine_record_save(container);
}

static bool engine_id_valid(const char *name)
{
    if (strlen(name) != 64)
        return false;
    for (size_t i = 0; i < 64; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
            return false;
    return true;
}

static void engine_load_containers(struct engine *engine)
{
    struct keel_error err;
    DIR *directory = opendir(engine->options.state_root);
    if (directory == NULL) {
        keel_error_set(&err, errno, "read %s", engine->options.state_root);
        engine_report_error(engine, &err);
        return;
    }
    struct engine_container **tail = &engine->containers;
    struct dirent *entry;
    while ((entry = readdir(directory)) != NULL) {
        struct engine_container *container;
        bool was_running;
        if (!engine_id_valid(entry->d_name))
            continue;
        if (engine_record_read(engine, entry->d_name, &container, &err) < 0) {
            engine_report_error(engine, &err);
            continue;
        }
        engine_recover_container(engine, container, &was_running);
        container->start_after_recovery = engine_supervise_wants_start(container, was_running);
        *tail = container;
        tail = &container->next;
    }
    closedir(directory);
    /* Started once all are known: names and ids resolve against the whole
     * set. An AutoRemove one that exited while no daemon watched goes, as
     * its exit would have taken it. */
    for (struct engine_container *container = engine->containers, *next; container;
         container = next) {
        next = container->next;
        bool start = container->start_after_recovery && container->error == NULL;
        container->start_after_recovery = false;
        if (!start && container->auto_remove && container->status == ENGINE_CONTAINER_EXITED) {
            if (engine_container_destroy(container, &err) < 0)
                engine_report_error(engine, &err);
            continue;
        }
        if (start && engine_container_run(container, true, &err) < 0) {
            keel_error_prefix(&err, "restart container %s", container->name);
            engine_report_error(engine, &err);
        }
    }
}

/* ---- the engine ---- */

static int engine_copy_options(struct engine_options *copy, const struct engine_options *options,
                               struct keel_error *err)
{
    const char *const sources[] = {
        options->name,         options->store_root,     options->store_base,   options->state_root,
        options->runtime_root, options->container_init, options->cgroup_parent};
    const char **targets[] = {&copy->name,         &copy->store_root,   &copy->store_base,
                              &copy->state_root,   &copy->runtime_root, &copy->container_init,
                              &copy->cgroup_parent};
    for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++) {
        if (sources[i] == NULL)
            continue;
        *targets[i] = strdup(sources[i]);
        if (*targets[i] == NULL)
            return keel_error_set(err, ENOMEM, "engine options");
    }
    return 0;
}

static void engine_free_options(struct engine_options *options)
{
    free((char *)options->name);
    free((char *)options->store_root);
    free((char *)options->store_base);
    free((char *)options->state_root);
    free((char *)options->runtime_root);
    free((char *)options->container_init);
    free((char *)options->cgroup_parent);
}

/* mkdir -p, each new level with mode. */
static int engine_make_directories(const char *path, mode_t mode, struct keel_error *err)
{
    char partial[PATH_MAX];
    if (snprintf(partial, sizeof partial, "%s", path) >= (int)sizeof partial)
        return keel_error_set(err, ENAMETOOLONG, "create %s", path);
    for (char *slash = partial + 1;; slash++) {
        if (*slash != '/' && *slash != '\0')
            continue;
        char saved = *slash;
        *slash = '\0';
        if (mkdir(partial, mode) < 0 && errno != EEXIST)
            return keel_error_set(err, errno, "create %s", partial);
        *slash = saved;
        if (saved == '\0')
            return 0;
    }
}

int engine_new(struct loop *loop, const struct engine_options *options, struct engine **engine_out,
               struct keel_error *err)
{
    if (options->store_root == NULL || options->state_root == NULL || options->runtime_root == NULL)
        return keel_error_invalid(err,
                                  "engine: store_root, state_root and runtime_root are required");
    struct engine_core *core = calloc(1, sizeof *core);
    if (core == NULL)
        return keel_error_set(err, ENOMEM, "engine");
    struct engine *engine = &core->engine;
    engine->loop = loop;
    engine->store = (struct store){.root_fd = -1, .base_fd = -1, .lock_fd = -1};
    bool store_opened = false;
    if (engine_copy_options(&engine->options, options, err) < 0)
        goto fail;
    if (engine->options.name == NULL && (engine->options.name = strdup("keel")) == NULL) {
        keel_error_set(err, ENOMEM, "engine");
        goto fail;
    }
    if (store_open(&engine->store, options->store_root, options->store_base, 0, err) < 0)
        goto fail;
    store_opened = true;
    if (engine_make_directories(options->state_root, 0711, err) < 0 ||
        engine_make_directories(options->runtime_root, 0700, err) < 0 ||
        loop_timer_new(loop, engine_report_on_timer, core, &core->report_timer, err) < 0 ||
        loop_timer_new(loop, engine_container_on_notify, core, &core->notify_timer, err) < 0 ||
        loop_timer_new(loop, engine_record_on_timer, core, &core->record_timer, err) < 0)
        goto fail;
    engine_load_containers(engine);
    *engine_out = engine;
    return 0;
fail:
    keel_error_prefix(err, "start the engine");
    if (store_opened)
        store_close(&engine->store);
    loop_timer_free(core->report_timer);
    loop_timer_free(core->notify_timer);
    loop_timer_free(core->record_timer);
    engine_free_options(&engine->options);
    free(core);
    return -1;
}

/* ---- shutdown ---- */

struct engine_shutdown {
    struct engine *engine;
    unsigned remaining;
    void (*done)(void *data);
    void *data;
    struct loop_timer *timer;
};

static void engine_shutdown_finish(struct engine_shutdown *shutdown)
{
    struct engine_core *core = engine_core_of(shutdown->engine);
    void (*done)(void *data) = shutdown->done;
    void *data = shutdown->data;
    core->shutdown = NULL;
    loop_timer_free(shutdown->timer);
    free(shutdown);
    done(data);
}

static void engine_shutdown_on_stopped(int status, const struct keel_error *err, void *data)
{
    struct engine_shutdown *shutdown = data;
    (void)status;
    (void)err;
    if (--shutdown->remaining == 0)
        engine_shutdown_finish(shutdown);
}

static int engine_shutdown_on_timer(struct loop *loop, struct loop_timer *timer, void *user,
                                    struct keel_error *err)
{
    struct engine_shutdown *shutdown = user;
    (void)loop;
    (void)timer;
    (void)err;
    if (shutdown->remaining == 0)
        engine_shutdown_finish(shutdown);
    return 0;
}

int engine_shutdown(struct engine *engine, int timeout_s, void (*done)(void *data), void *data,
                    struct keel_error *err)
{
    struct engine_core *core = engine_core_of(engine);
    if (core->shutdown != NULL)
        return keel_error_set(err, EALREADY, "engine shutdown");
    struct engine_shutdown *shutdown = calloc(1, sizeof *shutdown);
    if (shutdown == NULL)
        return keel_error_set(err, ENOMEM, "engine shutdown");
    *shutdown = (struct engine_shutdown){.engine = engine, .done = done, .data = data};
    if (loop_timer_new(engine->loop, engine_shutdown_on_timer, shutdown, &shutdown->timer, err) <
        0) {
        free(shutdown);
        return keel_error_prefix(err, "engine shutdown");
    }
    core->shutdown = shutdown;
    engine->shutting_down = true;
    /* Counted before any stop can complete: completions come from the loop. */
    shutdown->remaining = 1;
    for (struct engine_container *container = engine->containers; container;
         container = container->next) {
        struct keel_error stop_err;
        if (container->status == ENGINE_CONTAINER_RESTARTING) {
            engine_supervise_cancel(container);
            engine_record_save(container);
        }
        if (container->status != ENGINE_CONTAINER_RUNNING)
            continue;
        if (engine_container_stop_internal(container, timeout_s, false, engine_shutdown_on_stopped,
                                           shutdown, &stop_err) < 0) {
            engine_report_error(engine, &stop_err);
            continue;
        }
        shutdown->remaining++;
    }
    shutdown->remaining--;
    if (shutdown->remaining == 0 && loop_timer_arm(shutdown->timer, 0, 0, err) < 0) {
        core->shutdown = NULL;
        loop_timer_free(shutdown->timer);
        free(shutdown);
        return -1;
    }
    return 0;
}

/* ---- the reap hook ---- */

bool engine_handle_exit(struct engine *engine, pid_t pid, int status)
{
    for (struct engine_container *container = engine->containers; container;
         container = container->next) {
        if (container->status != ENGINE_CONTAINER_RUNNING || container->pid != pid)
            continue;
        int exit_code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
        engine_container_exited(container, exit_code);
        return true;
    }
    return engine_exec_handle_exit(engine, pid, status);
}

/* ---- free ---- */

void engine_free(struct engine *engine)
{
    if (engine == NULL)
        return;
    struct engine_core *core = engine_core_of(engine);
    core->freeing = true;
    engine->shutting_down = true;
    engine_image_loads_free(engine);
    engine_exec_free_all(engine);
    engine_events_free_all(engine);
    while (engine->containers != NULL) {
        struct engine_container *container = engine->containers;
        engine->containers = container->next;
        engine_record_flush(container);
        engine_container_abandon(container);
        engine_container_free(container);
    }
    /* Removed ones whose last completions had not run yet. */
    while (core->removed != NULL) {
        struct engine_container *container = core->removed;
        core->removed = container->next;
        engine_container_free(container);
    }
    if (core->shutdown != NULL) {
        loop_timer_free(core->shutdown->timer);
        free(core->shutdown);
    }
    while (core->reports != NULL) {
        struct engine_report *next = core->reports->next;
        free(core->reports);
        core->reports = next;
    }
    engine_rootfs_free(engine);
    loop_timer_free(core->report_timer);
    loop_timer_free(core->notify_timer);
    loop_timer_free(core->record_timer);
    store_close(&engine->store);
    engine_free_options(&engine->options);
    free(core);
}

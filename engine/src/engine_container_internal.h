/* engine_container_internal.h — the container side of the engine (engine.c, engine_container*.c,
 * engine_record.c, engine_rootfs.c, engine_supervise.c, engine_output.c, engine_pump.c,
 * engine_names.c): the container struct and the steps its lifecycle shares. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "container_log.h"
#include "engine.h"
#include "engine_internal.h"
#include "error.h"
#include "image_config.h"
#include "loop.h"

/* Keel's default json-file rotation (Docker's default is unbounded; a
 * small OS keeps the disk for its containers): 3 files of 10 MiB. */
#define ENGINE_LOG_MAX_SIZE_DEFAULT "10m"
#define ENGINE_LOG_MAX_FILE_DEFAULT "3"
#define ENGINE_STOP_TIMEOUT_DEFAULT 10 /* seconds, Docker's */
/* Docker's exit code for a container whose daemon died under it. */
#define ENGINE_EXIT_CODE_DAEMON_DIED 255

enum engine_container_status {
    ENGINE_CONTAINER_CREATED,
    ENGINE_CONTAINER_RUNNING,
    ENGINE_CONTAINER_RESTARTING, /* exited; its restart policy starts it again after a delay */
    ENGINE_CONTAINER_EXITED,
};

enum engine_restart_policy {
    ENGINE_RESTART_NO,
    ENGINE_RESTART_ALWAYS,
    ENGINE_RESTART_UNLESS_STOPPED,
    ENGINE_RESTART_ON_FAILURE,
};

struct engine_subscription {
    struct engine_subscription *next;
    struct engine_container *container;
    engine_output_fn *callback;
    void *user;
    bool cancelled;   /* cancelled while output was being delivered: freed after */
    bool end_pending; /* its end comes from notify (output over, or never coming) */
};

enum engine_wait_condition {
    ENGINE_WAIT_NOT_RUNNING,
    ENGINE_WAIT_NEXT_EXIT,
    ENGINE_WAIT_REMOVED,
};

struct engine_wait {
    struct engine_wait *next;
    struct engine_container *container;
    enum engine_wait_condition condition;
    engine_done_fn *done;
    void *data;
    bool ready; /* condition met: done runs from notify with status */
    int status;
};

/* A stop (or restart, or shutdown) waiting for the container to exit. */
struct engine_stop_request {
    struct engine_stop_request *next;
    engine_done_fn *done;
    void *data;
    bool ready;
    int status;
};

struct engine_container {
    struct engine_container *next;
    struct engine *engine;
    char id[65];
    char *name; /* without "/" */
    char *image_name;
    char *image_id;      /* "sha256:..." */
    char *path;          /* the process's executable, as Docker's Path */
    json_t *args;        /* its arguments, Docker's Args */
    json_t *config;      /* Docker's Config, merged with the image's */
    json_t *host_config; /* as requested, Keel's defaults filled */
    struct timespec created, started_at, finished_at;
    enum engine_container_status status;
    int exit_code;
    bool oom_killed;
    char *error; /* State.Error: why the last start failed; NULL when none */
    unsigned restart_count;
    bool stopped_by_user; /* stop or kill through the API: no policy restart */
    char *state_dir;      /* state_root/ID */
    char *log_path;
    char *rootfs;

    /* From Config and HostConfig (engine_container_apply_settings). */
    bool tty, open_stdin, auto_remove;
    enum engine_restart_policy restart_policy;
    unsigned maximum_retry_count;
    int stop_signal;
    int stop_timeout; /* seconds */
    struct container_log_options log_options;

    /* While running. */
    pid_t pid;
    int pidfd;            /* watched on the loop */
    bool awaiting_reaper; /* reaped by someone else: engine_handle_exit brings the status */
    char *cgroup_path;    /* recorded: a daemon that died leaves it to be killed */
    struct oci_config *oci_config;
    struct container_log *log;
    bool log_error_reported; /* one report per run, however full the disk */
    struct engine_pump *pumps[2];
    int stdin_fd;              /* our end of its stdin (or the pty master), -1 */
    bool stop_requested;       /* this run was asked to stop: "stop" event at exit */
    uint64_t restart_delay_ms; /* the last backoff; 0: none yet */

    struct loop_timer *kill_timer;    /* SIGKILL when a stop's grace period ends */
    struct loop_timer *restart_timer; /* a policy restart after its backoff */
    bool notify_pending;              /* completions for the core's notify timer */

    struct engine_subscription *subscriptions;
    unsigned delivering; /* output being handed to subscribers: cancel defers the free */
    struct engine_wait *waits;
    struct engine_stop_request *stop_requests;
    bool removed; /* moved to the core's removed list: notify frees it */
    bool start_after_recovery;
    bool record_dirty; /* a change not yet in container.json */
    bool removing;     /* remove --force is killing it: no policy, no AutoRemove */
};

/* The engine with the fields only this side of engine_internal.h uses.
 * engine_new allocates it; engine_core_of() finds it from the engine. */
struct engine_report;
struct engine_shutdown;
struct engine_rootfs_removal;
struct engine_core {
    struct engine engine; /* first */
    struct engine_report *reports;
    struct loop_timer *report_timer;
    struct loop_timer *notify_timer; /* completions, from the loop's next turn */
    struct loop_timer *record_timer; /* changed records, written together a little later */
    struct engine_shutdown *shutdown;
    struct engine_container *removed;              /* removed, freed once their completions ran */
    struct engine_rootfs_removal *rootfs_removals; /* held back by the store's lock */
    struct loop_timer *removal_timer;
    bool freeing;
};

static inline struct engine_core *engine_core_of(struct engine *engine)
{
    return (struct engine_core *)engine;
}

/* ---- engine.c ---- */

/* Hand err to the loop's error handler from the loop's next turn: for
 * failures no caller waits for (a restart, a record write at exit). */
void engine_report_error(struct engine *engine, const struct keel_error *err);

/* ---- engine_container.c ---- */

/* A zeroed container with no fds (pidfd, stdin -1), not linked. */
struct engine_container *engine_container_new(struct engine *engine, const char *id);
void engine_container_free(struct engine_container *container);
/* Unmount its rootfs, delete its directory, tell "destroy": the container
 * leaves the engine (freed from notify). The process must be gone. */
int engine_container_destroy(struct engine_container *container, struct keel_error *err);
/* Deliver ready waits, stop requests and pending subscription ends from
 * the loop's next turn (never from inside the caller's call). */
void engine_container_notify(struct engine_container *container);
/* The core's notify timer: every container's pending completions; frees
 * removed containers once theirs have run. */
int engine_container_on_notify(struct loop *loop, struct loop_timer *timer, void *user,
                               struct keel_error *err);

/* ---- engine_container_config.c ---- */

/* Config and HostConfig to the flags above; EINVAL names the field. */
int engine_container_apply_settings(struct engine_container *container, struct keel_error *err);
/* Docker's signal names and numbers: "SIGTERM", "TERM", "15"; -1 if none. */
int engine_signal_parse(const char *text);
/* Docker's Config of a new container: the request merged with the image's
 * config (Entrypoint, Cmd, Env, WorkingDir, User, Labels, StopSignal). */
json_t *engine_config_merge(const json_t *request, const struct image_config *image,
                            const char *hostname);
/* The request's HostConfig with Docker's and Keel's defaults filled
 * (RestartPolicy, NetworkMode "default", LogConfig json-file 10m x 3);
 * refuses a bad RestartPolicy or LogConfig with EINVAL. */
int engine_host_config_fill(const json_t *request, json_t **host_config, struct keel_error *err);

/* ---- engine_container_run.c ---- */

/* Start its process. user: an API start (resets the restart count and the
 * stopped-by-user mark), not a policy restart. */
int engine_container_run(struct engine_container *container, bool user, struct keel_error *err);
/* The process is gone with exit_code: log, state, events, waiters, policy. */
void engine_container_exited(struct engine_container *container, int exit_code);
/* SIGKILL and reap now (remove --force): blocks at most a few seconds. */
int engine_container_kill_now(struct engine_container *container, struct keel_error *err);
/* The process was reaped by someone who never told us: exit code 255. */
void engine_container_exit_unknown(struct engine_container *container);
/* Release what a running container holds without killing it (engine_free). */
void engine_container_abandon(struct engine_container *container);
/* Load config.json into container->oci_config. */
int engine_container_load_oci_config(struct engine_container *container, struct keel_error *err);

/* ---- engine_container_control.c ---- */

/* Stop: stop signal, SIGKILL after timeout_s. user marks stopped-by-user. */
int engine_container_stop_internal(struct engine_container *container, int timeout_s, bool user,
                                   engine_done_fn *done, void *data, struct keel_error *err);
/* Arm the kill timer: SIGKILL (or, awaiting a reaper, give up on it) after ms. */
int engine_container_arm_kill_timer(struct engine_container *container, uint64_t ms,
                                    struct keel_error *err);
/* Complete the waits that met their condition with status. */
void engine_container_waits_complete(struct engine_container *container, bool exited, bool removed);

/* ---- engine_record.c ---- */

/* container.json, atomically. */
int engine_record_write(const struct engine_container *container, struct keel_error *err);
/* A state change: the record is written from the loop's next turn
 * (engine_record_flush), a failure reported. */
void engine_record_save(struct engine_container *container);
/* Write it now if a change is pending (the record timer, engine_free). */
void engine_record_flush(struct engine_container *container);
/* The core's record timer: flush every changed record. */
int engine_record_on_timer(struct loop *loop, struct loop_timer *timer, void *user,
                           struct keel_error *err);
/* Read state_dir/container.json into a new container (not linked). */
int engine_record_read(struct engine *engine, const char *id, struct engine_container **container,
                       struct keel_error *err);
/* Docker's Mounts of HostConfig.Binds. */
json_t *engine_record_mounts(const struct engine_container *container);
/* NetworkSettings.Networks of the container. */
json_t *engine_record_networks(const struct engine_container *container);
/* Docker's inspect object (the record without Keel's own fields). */
json_t *engine_record_inspect(const struct engine_container *container);
const char *engine_container_status_name(enum engine_container_status status);
/* RFC 3339 with nanoseconds, UTC; the zero time is Go's "0001-01-01T00:00:00Z". */
void engine_time_format(const struct timespec *time, char *buffer, size_t size);
int engine_time_parse(const char *text, struct timespec *time);

/* ---- engine_rootfs.c ---- */

/* Take the store's lock if it is free: EBUSY when an image load (or
 * another process) holds it. store_unlock releases it. */
int engine_store_try_lock(struct engine *engine, struct keel_error *err);
/* store_rootfs_mount under the lock, EBUSY rather than a wait. */
int engine_rootfs_mount(struct engine *engine, const char *id, const struct digest *chain_ids,
                        size_t count, char **rootfs, struct keel_error *err);
/* store_rootfs_remove now, or (the lock busy) from a timer once it is free. */
int engine_rootfs_remove(struct engine *engine, const char *id, struct keel_error *err);
/* Mount a recovered container's rootfs again when it is not (after a reboot). */
int engine_rootfs_ensure(struct engine *engine, struct engine_container *container,
                         struct keel_error *err);
/* engine_free: a last try at the removals still pending. */
void engine_rootfs_free(struct engine *engine);

/* ---- engine_supervise.c ---- */

int engine_restart_policy_parse(const json_t *policy, enum engine_restart_policy *name,
                                unsigned *maximum_retry_count, struct keel_error *err);
const char *engine_restart_policy_name(enum engine_restart_policy policy);
/* At exit: restart per policy (status restarting, timer armed)? */
bool engine_supervise_exited(struct engine_container *container);
/* At engine_new: does the policy start this container again? */
bool engine_supervise_wants_start(const struct engine_container *container, bool was_running);
/* Exponential backoff: 100 ms doubling to 1 min, back to 100 ms after a
 * run of 10 s. */
uint64_t engine_supervise_next_delay(uint64_t previous_ms, uint64_t ran_ms);
void engine_supervise_cancel(struct engine_container *container);

/* ---- engine_output.c ---- */

/* The container's output pipes become pumps into its log and subscribers. */
int engine_output_start(struct engine_container *container, int stdout_fd, int stderr_fd,
                        struct keel_error *err);
/* At exit: drain the pumps, flush and close the log, end the subscribers,
 * close stdin. */
void engine_output_finish(struct engine_container *container);
/* Subscriptions whose end is pending, from notify. */
void engine_output_deliver_pending_ends(struct engine_container *container);
void engine_output_free_subscriptions(struct engine_container *container);
/* Every subscriber hears the end from notify (the container is removed). */
void engine_output_end_later(struct engine_container *container);

/* ---- engine_pump.c ---- */

/* Read what the pipe holds now (until EAGAIN), delivering it; at EOF the
 * pump ends as usual. Returns whether it ended. */
bool engine_pump_drain(struct engine_pump *pump);

/* ---- engine_names.c ---- */

/* Docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ after an optional "/". */
bool engine_name_valid(const char *name);
/* A Docker-like "adjective_noun" no container has. *name is heap. */
int engine_name_generate(struct engine *engine, char **name, struct keel_error *err);
struct engine_container *engine_container_by_name(struct engine *engine, const char *name);

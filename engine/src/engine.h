/* engine.h — the engine's core: containers (create, run, supervise, log, exec, remove), images and
 * events, on one event loop; what the API serves. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "container_log.h"
#include "error.h"
#include "loop.h"

/* The core never parses HTTP and never blocks the loop: every call below
 * returns at once (a container start takes the runtime's few milliseconds);
 * what takes longer (stop with a grace period, wait, image load) completes
 * through a callback from the loop.
 *
 * Errors: a failed call returns -1 with err, whose errno_value tells the
 * API which status to answer:
 *   ENOENT  404  no such container, image or exec ("No such container: x")
 *   EEXIST  409  a name in use; EBUSY 409 a state conflict ("container x is
 *                running: stop it first, or use force")
 *   EINVAL  400  a bad request field (container_spec's messages)
 *   other   500
 *
 * On disk, under state_root (one directory per container, by id):
 *   ID/container.json   the container's record (config, host config, state,
 *                       restart count, exit code, times), written
 *                       atomically (file_write_atomic) about 100 ms after
 *                       a change (changes in between are written together)
 *   ID/config.json      its OCI runtime config (container_spec_build)
 *   ID/ID-json.log      its output (container_log), rotated per LogConfig
 *   ID/hostname, hosts, resolv.conf   bind-mounted into it
 * Its root filesystem is the image store's (store_rootfs_mount, the
 * container's id as the store's container id). */

struct engine;

struct engine_options {
    const char *name;           /* "keel" or "system-keel": Info's Name, log lines */
    const char *store_root;     /* the writable image store, e.g. /var/lib/keel/user */
    const char *store_base;     /* a read-only store below it, or NULL */
    const char *state_root;     /* containers' records, e.g. /var/lib/keel/user/engine */
    const char *runtime_root;   /* the runtime's state (tmpfs), e.g. /run/keel/user */
    const char *container_init; /* container-init's path for HostConfig.Init, or NULL */
    /* cgroup parent of the containers, relative to the cgroup2 root: "keel"
     * gives /sys/fs/cgroup/keel/ID */
    const char *cgroup_parent;
};

/* Open the store, read every container record under state_root: a
 * container recorded as running is found dead (its processes died with the
 * previous daemon, or are killed now) and marked exited; then those whose
 * restart policy is always or unless-stopped (not stopped by the user) are
 * started again, and on-failure ones are if they had failed. Records that
 * cannot be read are reported through the loop's error handler and left
 * alone, never fatal. */
int engine_new(struct loop *loop, const struct engine_options *options, struct engine **engine,
               struct keel_error *err);
/* Stop supervising (no restarts), close logs and streams; running
 * containers keep running unless engine_shutdown was called. */
void engine_free(struct engine *engine);
/* Shutdown: stop every running container (their stop signal, then SIGKILL
 * after timeout_s), without changing their restart policy's memory of
 * "stopped by the user" (so they come back at the next start), then call
 * done. */
int engine_shutdown(struct engine *engine, int timeout_s, void (*done)(void *data), void *data,
                    struct keel_error *err);

/* Reap hook: PID 1 (or the daemon) reaps every child with waitid(P_ALL);
 * it tells the engine of each reaped pid here. Returns whether the pid was
 * one of the engine's (a container's or an exec's process). The engine
 * also watches its processes' pidfds, so this is only for a reaper that
 * wins the race. */
bool engine_handle_exit(struct engine *engine, pid_t pid,
                        int status); /* status as waitpid(2)'s: WIFEXITED... */

/* ---- containers ----
 * A container reference is its full id, a unique id prefix, or its name
 * (with or without a leading "/"). */

/* POST /containers/create. request is Docker's body (Config fields at the
 * top level, HostConfig inside); name may be NULL (then a generated
 * "adjective_noun" name as Docker does). The image is looked up in the
 * store (404 "No such image: X"). The container is created: record,
 * config, rootfs mounted; not started. *id is heap. *warnings (may be
 * NULL) gets a JSON array of strings (new reference). */
int engine_container_create(struct engine *engine, const json_t *request, const char *name,
                            char **id, json_t **warnings, struct keel_error *err);

/* Start (created or exited container). Already running: EALREADY (the API
 * answers 304). The process's stdout/stderr go through pipes into the log
 * and to attached streams; stdin is a pipe when Config.OpenStdin, else
 * /dev/null; with Config.Tty a pty (output as one stream). */
int engine_container_start(struct engine *engine, const char *reference, struct keel_error *err);

/* Stop: the stop signal (Config.StopSignal or SIGTERM), SIGKILL after
 * timeout_s (-1: the container's StopTimeout or 10 s). done (may be NULL)
 * runs from the loop when it has exited (when not running: from the loop's
 * next turn, with the last exit code). A stopped
 * container is not restarted by its policy (unless-stopped remembers it). */
typedef void engine_done_fn(int status, const struct keel_error *err, void *data);
int engine_container_stop(struct engine *engine, const char *reference, int timeout_s,
                          engine_done_fn *done, void *data, struct keel_error *err);
/* Restart: stop (as above), then start; done runs after the start. */
int engine_container_restart(struct engine *engine, const char *reference, int timeout_s,
                             engine_done_fn *done, void *data, struct keel_error *err);
/* Send a signal (a number or a name, "SIGKILL"/"KILL"/"9"; NULL: SIGKILL).
 * Not running: EBUSY "container x is not running". */
int engine_container_kill(struct engine *engine, const char *reference, const char *signal,
                          struct keel_error *err);

/* Wait: condition "not-running" (default), "next-exit" or "removed". done
 * runs with the exit status (Docker's StatusCode: the exit code, or
 * 128+signal) when the condition is met — at once for not-running on a
 * stopped container. Returns a handle to cancel (the client went away);
 * the handle is freed once done has run: cancel only before. Removing a
 * container completes every wait with its last exit code. */
struct engine_wait;
int engine_container_wait(struct engine *engine, const char *reference, const char *condition,
                          engine_done_fn *done, void *data, struct engine_wait **wait,
                          struct keel_error *err);
void engine_wait_cancel(struct engine_wait *wait);

/* Remove: a running container needs force (then SIGKILL first); the rootfs
 * is unmounted and its upper dir removed, the record and logs deleted.
 * Waits for "removed" fire. */
int engine_container_remove(struct engine *engine, const char *reference, bool force,
                            struct keel_error *err);

/* GET /containers/json: Docker's list objects (Id, Names ["/name"], Image,
 * ImageID, Command, Created, State, Status ("Up 5 seconds", "Exited (0) 3
 * seconds ago"), Ports [], Labels, HostConfig{NetworkMode}, Mounts).
 * all: include stopped ones. filters: Docker's filters JSON object or NULL
 * (support at least "name", "id", "status", "label"). *json: a JSON
 * array (heap text). */
int engine_container_list_json(struct engine *engine, bool all, const json_t *filters, char **json,
                               struct keel_error *err);
/* GET /containers/ID/json: Docker's inspect object (Id, Created, Path,
 * Args, State{Status, Running, Paused, Restarting, OOMKilled, Dead, Pid,
 * ExitCode, Error, StartedAt, FinishedAt}, Image, Name, RestartCount,
 * HostConfig, Config, LogPath, Mounts, NetworkSettings{}). */
int engine_container_inspect_json(struct engine *engine, const char *reference, char **json,
                                  struct keel_error *err);

/* The log of a container, for GET /containers/ID/logs: its path and
 * rotation count (container_log_read/follow do the reading), and whether
 * its output is a tty (one raw stream, no frames). */
int engine_container_log(struct engine *engine, const char *reference, char **path,
                         unsigned *max_file, bool *tty, struct keel_error *err);

/* ---- output and input streams (attach, logs --follow, exec) ---- */

/* Called for every piece of output the container writes (after it is
 * logged), and once with length 0 and stream 0 when the container's
 * output ends (it exited: the stream is over). */
typedef void engine_output_fn(enum container_log_stream stream, const void *data, size_t length,
                              void *user);
struct engine_subscription;
/* Subscribe to a container's live output (attach, logs --follow). A
 * subscriber that cannot keep up is the caller's business: the engine never
 * waits for it. A running or created container's subscriber gets its
 * output, then the end once the run is over (from the loop, after the
 * output is drained); exited or restarting: the end from the loop's next
 * turn. After the end the subscription is gone: do not cancel it
 * (cancelling from inside the callback is fine). */
int engine_container_subscribe(struct engine *engine, const char *reference,
                               engine_output_fn *callback, void *user,
                               struct engine_subscription **subscription, struct keel_error *err);
void engine_subscription_cancel(struct engine_subscription *subscription);
/* The write end of the container's stdin pipe (non-blocking; the engine
 * owns it), or -1 with EBADF when the container has no open stdin. A
 * writer that sees EAGAIN waits for EPOLLOUT on it itself. */
int engine_container_stdin(struct engine *engine, const char *reference, int *fd,
                           struct keel_error *err);
/* Close the container's stdin (the attached client's stdin ended:
 * StdinOnce semantics). */
int engine_container_close_stdin(struct engine *engine, const char *reference,
                                 struct keel_error *err);

/* ---- exec ---- */

/* POST /containers/ID/exec: Docker's ExecConfig (Cmd, Env, WorkingDir,
 * User, Privileged, Tty, AttachStdin/Stdout/Stderr). Running container
 * only (409 otherwise). *exec_id is heap (64 hex). */
int engine_exec_create(struct engine *engine, const char *reference, const json_t *request,
                       char **exec_id, struct keel_error *err);
/* Start an exec: the process is created in the container (runtime_process_exec)
 * with pipes (or a pty with Tty); output goes to callback (as for
 * subscribe; the end comes after the process exited and its output is
 * drained), *stdin_fd gets the write end of its stdin pipe (non-blocking,
 * caller owns it; -1 when AttachStdin is false). Detached: no callback, the
 * output is discarded. */
int engine_exec_start(struct engine *engine, const char *exec_id, bool detach,
                      engine_output_fn *callback, void *user, int *stdin_fd,
                      struct keel_error *err);
/* GET /exec/ID/json: {ID, Running, ExitCode (null while running), Pid,
 * ProcessConfig{entrypoint, arguments, tty, user, privileged}, OpenStdin,
 * OpenStdout, OpenStderr, ContainerID, CanRemove:false}. */
int engine_exec_inspect_json(struct engine *engine, const char *exec_id, char **json,
                             struct keel_error *err);

/* ---- images (the store, served) ---- */

/* GET /images/json, GET /images/NAME/json: image_summary_json /
 * image_inspect_json arrays and objects. */
int engine_image_list_json(struct engine *engine, bool all, char **json, struct keel_error *err);
int engine_image_inspect_json(struct engine *engine, const char *reference, char **json,
                              struct keel_error *err);
/* DELETE /images/NAME: Docker's [{"Untagged": ...}, {"Deleted": ...}]
 * list. An image a container uses is refused with EBUSY (409) unless
 * force. */
int engine_image_remove_json(struct engine *engine, const char *reference, bool force, char **json,
                             struct keel_error *err);
/* POST /images/load: import the archive read from input_fd (the read end
 * of a pipe the API fills from the request body) in a worker thread — the
 * loop keeps turning. progress (may be NULL) and done run from the loop:
 * done gets the loaded images' names ("Loaded image: x" lines, Docker's
 * words) or the error. input_fd is the engine's to close. */
typedef void engine_load_progress_fn(uint64_t bytes_read, void *data);
typedef void engine_load_done_fn(const char *const *loaded, const struct keel_error *err,
                                 void *data);
int engine_image_load(struct engine *engine, int input_fd, engine_load_progress_fn *progress,
                      engine_load_done_fn *done, void *data, struct keel_error *err);

/* ---- events and facts ---- */

/* Docker's event objects: {"status","id","from","Type","Action","Actor":
 * {"ID","Attributes":{"name","image",...}},"scope":"local","time",
 * "timeNano"} for container create, start, die (exitCode), stop, kill
 * (signal), restart, destroy, attach, exec_create, exec_start, exec_die;
 * image load, delete, untag. Delivered to every subscriber as compact
 * JSON text, from the loop. */
typedef void engine_event_fn(const char *json, void *user);
struct engine_event_subscription;
int engine_events_subscribe(struct engine *engine, engine_event_fn *callback, void *user,
                            struct engine_event_subscription **subscription,
                            struct keel_error *err);
void engine_events_cancel(struct engine_event_subscription *subscription);

/* GET /info: Docker's Info subset (ID, Name, Containers, ContainersRunning,
 * ContainersPaused, ContainersStopped, Images, Driver "overlay2",
 * DriverStatus, MemoryLimit, PidsLimit, CgroupDriver "cgroupfs",
 * CgroupVersion "2", KernelVersion, OperatingSystem, OSType "linux",
 * Architecture "x86_64", NCPU, MemTotal, DockerRootDir, ServerVersion,
 * SecurityOptions ["name=seccomp,profile=default","name=no-new-privileges"?],
 * InitBinary, Runtimes {"keel":{}}, DefaultRuntime "keel"). */
int engine_info_json(struct engine *engine, char **json, struct keel_error *err);

/* engine_internal.h — what the engine's own files share: the engine and container structs' common
 * part, lookups, events, output pumps. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "container_log.h"
#include "engine.h"
#include "oci_config.h"
#include "store.h"

/* engine.c, engine_container*.c (lifecycle, records, supervision, logs)
 * are one engineer's; engine_exec.c, engine_image.c, engine_events.c,
 * engine_info.c another's. This header is the contract between them. Each
 * side may add private fields in its own files, never here without saying. */

struct engine_container;
struct engine_exec;

struct engine {
    struct loop *loop;
    struct engine_options options;          /* strings owned (strdup'ed) */
    struct store store;                     /* opened by engine_new */
    struct engine_container *containers;    /* a list, owned by engine_container*.c */
    struct engine_exec *execs;              /* a list, owned by engine_exec.c */
    struct engine_events *events;           /* subscribers, recent events: engine_events.c's */
    struct engine_image_loads *image_loads; /* owned by engine_image.c */
    bool shutting_down;
};

/* ---- provided by engine_error.c ---- */

/* Fill err with exactly the message (Docker's words: "No such image: x",
 * no strerror suffix) and errno_value, which picks the HTTP status. */
int engine_error_set(struct keel_error *err, int errno_value, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- provided by engine_container*.c ---- */

/* Find by full id, unique id prefix, or name (with or without "/").
 * ENOENT "No such container: REF"; an ambiguous prefix is EINVAL. */
struct engine_container *engine_container_find(struct engine *engine, const char *reference,
                                               struct keel_error *err);
/* The containers one after another, in any stable order: previous NULL
 * gives the first; NULL after the last. */
struct engine_container *engine_container_next(struct engine *engine,
                                               const struct engine_container *previous);
const char *engine_container_id(const struct engine_container *container);
const char *engine_container_name(const struct engine_container *container); /* without "/" */
const char *
engine_container_image_name(const struct engine_container *container); /* as the user gave it */
const char *engine_container_image_id(const struct engine_container *container); /* "sha256:..." */
bool engine_container_is_running(const struct engine_container *container);
pid_t engine_container_pid(const struct engine_container *container); /* 0 when not running */
/* The cgroup directory (absolute) of the running container, or NULL. */
const char *engine_container_cgroup_path(const struct engine_container *container);
/* The container's parsed OCI config (for exec: namespaces, seccomp). */
const struct oci_config *engine_container_oci_config(const struct engine_container *container);
/* Whether an image (config digest) is used by any container (rmi refuses). */
bool engine_image_in_use(struct engine *engine, const char *image_id);

/* A pipe's read end watched on the loop: callback gets every chunk read,
 * then one call with length 0 at EOF (or on a read error), after which the
 * pump is finished (free it then or later). fd becomes the pump's. */
typedef void engine_pump_fn(enum container_log_stream stream, const void *data, size_t length,
                            void *user);
struct engine_pump;
int engine_pump_new(struct engine *engine, int fd, enum container_log_stream stream,
                    engine_pump_fn *callback, void *user, struct engine_pump **pump,
                    struct keel_error *err);
void engine_pump_free(struct engine_pump *pump);

/* ---- provided by engine_exec.c ---- */

/* A reaped pid that may be an exec's process; true when it was. */
bool engine_exec_handle_exit(struct engine *engine, pid_t pid, int status);
/* A container stopped or was removed: its execs are over (free them on
 * removal). */
void engine_exec_container_gone(struct engine *engine, const struct engine_container *container,
                                bool removed);
/* At engine_free: forget every exec (their processes keep running, as the
 * containers' do; their callers hear nothing more). */
void engine_exec_free_all(struct engine *engine);

/* ---- provided by engine_events.c ---- */

/* Tell every event subscriber. type "container" | "image"; action
 * "create", "start", "die", ...; id the container id or image name;
 * attributes an object (stolen; may be NULL) of extra Actor attributes
 * ("name", "image", "exitCode", "signal", ...). */
void engine_event_emit(struct engine *engine, const char *type, const char *action, const char *id,
                       json_t *attributes);
void engine_events_free_all(struct engine *engine);
/* GET /events?since=: call callback, oldest first, with each of the last
 * events kept (ENGINE_EVENTS_KEPT) whose timeNano is within [since_nanos,
 * until_nanos] (until_nanos <= 0: no bound). The callback must not cause
 * events itself. Returns how many were replayed. */
#define ENGINE_EVENTS_KEPT 256
int engine_events_replay(struct engine *engine, int64_t since_nanos, int64_t until_nanos,
                         engine_event_fn *callback, void *user);

/* ---- provided by engine_image.c ---- */

/* Cancel loads in flight (their done is not called) and join their threads:
 * at engine_free. */
void engine_image_loads_free(struct engine *engine);
/* Whether an image load is in flight. Its thread holds (or waits for) the
 * store's lock for the whole import while the loop feeds it the archive:
 * the loop must not take the lock then (it would wait for an import that
 * waits for the loop). Refuse with EBUSY instead (409). */
bool engine_image_loading(const struct engine *engine);

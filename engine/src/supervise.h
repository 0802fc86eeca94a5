/* supervise.h — keeps supervised processes running: start, learn of exit, restart with backoff. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "loop.h"
#include "spawn.h"

/* A process that dies sooner than this after starting counts as a quick
 * death; a run of quick deaths grows the restart delay. */
#define SUPERVISE_QUICK_DEATH_MS 1000u
#define SUPERVISE_BACKOFF_MAX_MS 10000u

struct supervise;

struct supervise_spec {
    const char *name;           /* for the console: "console shell on ttyS0" */
    spawn_child_function child; /* runs in the child, ends in exec */
    void *arg;                  /* child's argument; must outlive the supervisor */
    int stop_signal;            /* sent first at shutdown (SIGHUP for shells) */
};

int supervise_new(struct loop *loop, struct supervise **out, struct keel_error *err);
void supervise_free(struct supervise *supervise);

/* Add a process and start it. If the first start fails, the error is
 * returned and a restart is still scheduled. */
int supervise_add(struct supervise *supervise, const struct supervise_spec *spec,
                  struct keel_error *err);

/* Tell the supervisor a pid was reaped. Returns whether it was one of ours. */
bool supervise_handle_exit(struct supervise *supervise, pid_t pid, int code, int status);

/* Shutdown: never restart again, and send each running process its stop
 * signal through its pidfd. Returns how many were signalled. */
unsigned supervise_stop_all(struct supervise *supervise);

/* Restart delay after a death, given how many quick deaths in a row led up
 * to it (this one included; 0 when the process ran long enough):
 * 0 s for the first, then 1, 2, 4, 8 s, capped at 10 s. */
uint64_t supervise_backoff_delay_ms(unsigned quick_deaths);

/* shutdown.h — the shutdown sequence as a pure state machine: (state, event) → next action. */
#pragma once

#include <stddef.h>

/* How long to wait for processes to die after SIGKILL before going on
 * anyway (a process stuck in D state never dies). */
#define SHUTDOWN_KILL_WAIT_MS 2000u

enum shutdown_power {
    SHUTDOWN_POWER_NONE,
    SHUTDOWN_POWER_OFF,
    SHUTDOWN_POWER_REBOOT,
    SHUTDOWN_POWER_HALT,
};

enum shutdown_phase {
    SHUTDOWN_PHASE_RUNNING,   /* no shutdown requested */
    SHUTDOWN_PHASE_TERM_SENT, /* SIGTERM sent; grace timer running */
    SHUTDOWN_PHASE_KILL_SENT, /* SIGKILL sent; kill-wait timer running */
    SHUTDOWN_PHASE_FINISHED,  /* sync, unmount and reboot(2) done (or failed) */
};

struct shutdown_state {
    enum shutdown_phase phase;
    enum shutdown_power power; /* what was asked for, once asked */
};

enum shutdown_event_type {
    SHUTDOWN_EVENT_REQUEST,        /* a shutdown signal arrived */
    SHUTDOWN_EVENT_PROCESSES_GONE, /* no process but PID 1 and kernel threads */
    SHUTDOWN_EVENT_TIMER_EXPIRED,  /* the grace or kill-wait timer ran out */
};

struct shutdown_event {
    enum shutdown_event_type type;
    enum shutdown_power power; /* REQUEST: what is asked for */
    size_t processes;          /* REQUEST: how many processes are running now */
};

enum shutdown_action {
    SHUTDOWN_ACTION_NONE,           /* nothing to do (stale or irrelevant event) */
    SHUTDOWN_ACTION_IGNORE_REQUEST, /* a second request: log it, change nothing */
    SHUTDOWN_ACTION_SEND_TERM,      /* stop supervision, SIGTERM all, start grace timer */
    SHUTDOWN_ACTION_SEND_KILL,      /* SIGKILL all, start kill-wait timer */
    SHUTDOWN_ACTION_FINISH,         /* sync, unmount, reboot(2) with state->power */
};

/* Advance state by event and say what the caller must do. Pure: no system
 * calls, so every transition is unit-tested. A second request during a
 * shutdown is ignored, whatever it asks for: the first request decides, so
 * a reboot cannot turn into a poweroff halfway (and a user who pressed
 * ctrl-alt-del twice gets what the first press promised). */
enum shutdown_action shutdown_step(struct shutdown_state *state,
                                   const struct shutdown_event *event);

/* The power action a signal asks for (busybox init's convention):
 * SIGTERM, SIGINT (ctrl-alt-del) → reboot; SIGUSR1 → halt; SIGUSR2, SIGPWR
 * → poweroff; anything else → NONE. */
enum shutdown_power shutdown_power_from_signal(int signal_number);

/* "poweroff", "reboot", "halt" (or "none"). */
const char *shutdown_power_name(enum shutdown_power power);

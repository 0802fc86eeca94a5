/* shutdown.c — the shutdown sequence as a pure state machine: (state, event) → next action. */
#include "shutdown.h"

#include <signal.h>

static enum shutdown_action shutdown_step_running(struct shutdown_state *state,
                                                  const struct shutdown_event *event)
{
    if (event->type != SHUTDOWN_EVENT_REQUEST || event->power == SHUTDOWN_POWER_NONE)
        return SHUTDOWN_ACTION_NONE;
    state->power = event->power;
    /* Nothing to stop: no SIGTERM, no grace period, straight to sync. */
    if (event->processes == 0) {
        state->phase = SHUTDOWN_PHASE_FINISHED;
        return SHUTDOWN_ACTION_FINISH;
    }
    state->phase = SHUTDOWN_PHASE_TERM_SENT;
    return SHUTDOWN_ACTION_SEND_TERM;
}

enum shutdown_action shutdown_step(struct shutdown_state *state, const struct shutdown_event *event)
{
    switch (state->phase) {
    case SHUTDOWN_PHASE_RUNNING:
        return shutdown_step_running(state, event);

    case SHUTDOWN_PHASE_TERM_SENT:
        if (event->type == SHUTDOWN_EVENT_REQUEST)
            return SHUTDOWN_ACTION_IGNORE_REQUEST;
        if (event->type == SHUTDOWN_EVENT_PROCESSES_GONE) {
            state->phase = SHUTDOWN_PHASE_FINISHED;
            return SHUTDOWN_ACTION_FINISH;
        }
        state->phase = SHUTDOWN_PHASE_KILL_SENT; /* grace period over */
        return SHUTDOWN_ACTION_SEND_KILL;

    case SHUTDOWN_PHASE_KILL_SENT:
        if (event->type == SHUTDOWN_EVENT_REQUEST)
            return SHUTDOWN_ACTION_IGNORE_REQUEST;
        /* Gone, or the kill-wait ran out: what survives SIGKILL (D state)
         * must not keep the machine from going down. */
        state->phase = SHUTDOWN_PHASE_FINISHED;
        return SHUTDOWN_ACTION_FINISH;

    case SHUTDOWN_PHASE_FINISHED:
        /* reboot(2) failed and PID 1 lives on: say so to whoever asks. */
        if (event->type == SHUTDOWN_EVENT_REQUEST)
            return SHUTDOWN_ACTION_IGNORE_REQUEST;
        return SHUTDOWN_ACTION_NONE;
    }
    return SHUTDOWN_ACTION_NONE;
}

enum shutdown_power shutdown_power_from_signal(int signal_number)
{
    switch (signal_number) {
    case SIGTERM:
    case SIGINT:
        return SHUTDOWN_POWER_REBOOT;
    case SIGUSR1:
        return SHUTDOWN_POWER_HALT;
    case SIGUSR2:
    case SIGPWR:
        return SHUTDOWN_POWER_OFF;
    default:
        return SHUTDOWN_POWER_NONE;
    }
}

const char *shutdown_power_name(enum shutdown_power power)
{
    switch (power) {
    case SHUTDOWN_POWER_OFF:
        return "poweroff";
    case SHUTDOWN_POWER_REBOOT:
        return "reboot";
    case SHUTDOWN_POWER_HALT:
        return "halt";
    case SHUTDOWN_POWER_NONE:
        break;
    }
    return "none";
}

/* supervise.c — keeps supervised processes running: start, learn of exit, restart with backoff. */
#include "supervise.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

struct supervised {
    struct supervise *owner;
    char *name;
    spawn_child_function child;
    void *arg;
    int stop_signal;
    pid_t pid; /* 0 when not running */
    int pidfd; /* -1 when not running or the kernel lacks pidfds */
    uint64_t started_ms;
    unsigned quick_deaths;
    struct loop_timer *restart_timer;
};

struct supervise {
    struct loop *loop;
    struct supervised **processes;
    size_t count;
    bool stopping;
};

static uint64_t supervise_now_ms(void)
{
    struct timespec now = {0};
    clock_gettime(CLOCK_BOOTTIME, &now);
    return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

uint64_t supervise_backoff_delay_ms(unsigned quick_deaths)
{
    if (quick_deaths <= 1)
        return 0;
    if (quick_deaths > 16)
        return SUPERVISE_BACKOFF_MAX_MS;
    uint64_t delay = 1000u << (quick_deaths - 2);
    return delay < SUPERVISE_BACKOFF_MAX_MS ? delay : SUPERVISE_BACKOFF_MAX_MS;
}

int supervise_new(struct loop *loop, struct supervise **out, struct keel_error *err)
{
    struct supervise *supervise = calloc(1, sizeof *supervise);
    if (supervise == NULL)
        return keel_error_set(err, ENOMEM, "create supervisor");
    supervise->loop = loop;
    *out = supervise;
    return 0;
}

void supervise_free(struct supervise *supervise)
{
    if (supervise == NULL)
        return;
    for (size_t i = 0; i < supervise->count; i++) {
        struct supervised *process = supervise->processes[i];
        loop_timer_free(process->restart_timer);
        if (process->pidfd >= 0)
            close(process->pidfd);
        free(process->name);
        free(process);
    }
    free(supervise->processes);
    free(supervise);
}

static int supervise_start(struct supervised *process, struct keel_error *err)
{
    pid_t pid;
    int pidfd;
    if (spawn_process(process->child, process->arg, &pid, &pidfd, err) < 0)
        return keel_error_prefix(err, "start %s", process->name);
    process->pid = pid;
    process->pidfd = pidfd;
    process->started_ms = supervise_now_ms();
    log_info("%s started (pid %d)", process->name, (int)pid);
    return 0;
}

/* Schedule the next start after a death or a failed start. */
static int supervise_schedule_restart(struct supervised *process, struct keel_error *err)
{
    uint64_t delay = supervise_backoff_delay_ms(process->quick_deaths);
    if (loop_timer_arm(process->restart_timer, delay, 0, err) < 0)
        return keel_error_prefix(err, "schedule restart of %s", process->name);
    return 0;
}

static int supervise_on_restart_timer(struct loop *loop, struct loop_timer *timer, void *user,
                                      struct keel_error *err)
{
    struct supervised *process = user;
    (void)loop;
    (void)timer;

    if (process->owner->stopping || process->pid != 0)
        return 0;
    if (supervise_start(process, err) == 0)
        return 0;
    /* A failed start counts as a quick death, so a persistent failure
     * (say, a missing tty) backs off instead of spinning. */
    process->quick_deaths++;
    struct keel_error schedule_err;
    if (supervise_schedule_restart(process, &schedule_err) < 0)
        log_info("%s", schedule_err.message);
    return -1;
}

int supervise_add(struct supervise *supervise, const struct supervise_spec *spec,
                  struct keel_error *err)
{
    struct supervised **grown =
        realloc(supervise->processes, (supervise->count + 1) * sizeof *supervise->processes);
    if (grown == NULL)
        return keel_error_set(err, ENOMEM, "supervise %s", spec->name);
    supervise->processes = grown;

    struct supervised *process = calloc(1, sizeof *process);
    if (process == NULL || (process->name = strdup(spec->name)) == NULL) {
        free(process);
        return keel_error_set(err, ENOMEM, "supervise %s", spec->name);
    }
    process->owner = supervise;
    process->child = spec->child;
    process->arg = spec->arg;
    process->stop_signal = spec->stop_signal;
    process->pidfd = -1;
    if (loop_timer_new(supervise->loop, supervise_on_restart_timer, process,
                       &process->restart_timer, err) < 0) {
        free(process->name);
        free(process);
        return keel_error_prefix(err, "supervise %s", spec->name);
    }
    supervise->processes[supervise->count++] = process;

    if (supervise_start(process, err) < 0) {
        struct keel_error schedule_err;
        process->quick_deaths++;
        if (supervise_schedule_restart(process, &schedule_err) < 0)
            log_info("%s", schedule_err.message);
        return -1;
    }
    return 0;
}

static void supervise_describe_exit(int code, int status, char *text, size_t size)
{
    if (code == CLD_EXITED) {
        snprintf(text, size, "status %d", status);
        return;
    }
    const char *name = sigabbrev_np(status);
    snprintf(text, size, "signal SIG%s", name != NULL ? name : "?");
}

bool supervise_handle_exit(struct supervise *supervise, pid_t pid, int code, int status)
{
    struct supervised *process = NULL;
    for (size_t i = 0; i < supervise->count; i++) {
        if (supervise->processes[i]->pid == pid) {
            process = supervise->processes[i];
            break;
        }
    }
    if (process == NULL)
        return false;

    char how[64];
    supervise_describe_exit(code, status, how, sizeof how);
    /* The pid is reaped: its pidfd now refers to nothing we may signal. */
    if (process->pidfd >= 0)
        close(process->pidfd);
    process->pidfd = -1;
    process->pid = 0;

    if (supervise->stopping) {
        log_info("%s exited (%s)", process->name, how);
        return true;
    }
    if (supervise_now_ms() - process->started_ms < SUPERVISE_QUICK_DEATH_MS)
        process->quick_deaths++;
    else
        process->quick_deaths = 1; /* a long run starts a fresh series */

    uint64_t delay = supervise_backoff_delay_ms(process->quick_deaths);
    if (delay == 0)
        log_info("%s exited (%s), restarting", process->name, how);
    else
        log_info("%s exited (%s), restarting in %llu s", process->name, how,
                 (unsigned long long)(delay / 1000));
    struct keel_error err;
    if (supervise_schedule_restart(process, &err) < 0)
        log_info("%s", err.message);
    return true;
}

unsigned supervise_stop_all(struct supervise *supervise)
{
    unsigned signalled = 0;
    supervise->stopping = true;
    for (size_t i = 0; i < supervise->count; i++) {
        struct supervised *process = supervise->processes[i];
        loop_timer_disarm(process->restart_timer);
        if (process->pid == 0 || process->stop_signal == 0)
            continue;
        /* The pidfd cannot name a recycled pid; kill() is the fallback only
         * where the kernel has no pidfds, and is safe because the pid has
         * not been reaped (we are the only reaper). */
        int result = process->pidfd >= 0
                         ? pidfd_send_signal(process->pidfd, process->stop_signal, NULL, 0)
                         : kill(process->pid, process->stop_signal);
        if (result == 0)
            signalled++;
    }
    return signalled;
}

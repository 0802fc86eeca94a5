/* cmd_init.c — `keel init`: PID 1; wires setup, signals, reaping, supervision, shutdown. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "cleanup.h"
#include "cmdline.h"
#include "commands.h"
#include "console.h"
#include "engine.h"
#include "file.h"
#include "http_client.h"
#include "init.h"
#include "log.h"
#include "loop.h"
#include "proc.h"
#include "reap.h"
#include "shutdown.h"
#include "supervise.h"
#include "teardown.h"

struct pid1 {
    struct loop *loop;
    struct supervise *supervise;
    struct keel_cmdline cmdline;
    struct shutdown_state shutdown;
    struct loop_timer *shutdown_timer;
    char ttys[CONSOLE_MAX_TTYS][CONSOLE_TTY_NAME_MAX];
    size_t tty_count;
    struct console_shell shells[CONSOLE_MAX_TTYS]; /* one per tty, same index */
    struct engine *engine; /* the system engine; NULL when it could not start */
    struct api *api;
};

/* PID 1 is the boundary: every error that reaches it is logged, and it
 * carries on. */
static void pid1_report(const struct keel_error *err, void *user)
{
    (void)user;
    log_info("%s", err->message);
}

static void pid1_read_cmdline(struct pid1 *pid1)
{
    _cleanup_free_ char *text = NULL;
    struct keel_error err;

    if (file_read_text("/proc/cmdline", &text, NULL, &err) < 0) {
        cmdline_parse("", &pid1->cmdline, &err);
        log_info("%s; using defaults", err.message);
        return;
    }
    int result = cmdline_parse(text, &pid1->cmdline, &err);
    log_set_debug(pid1->cmdline.debug);
    if (result < 0)
        log_info("%s", err.message);
}

static void pid1_setup_system(void)
{
    struct keel_error err;
    char text[256];

    if (init_setup_cgroups(text, sizeof text, &err) < 0)
        log_info("%s", err.message);
    else
        log_info("cgroup2 mounted at /sys/fs/cgroup (controllers: %s)",
                 text[0] != '\0' ? text : "none");
    if (init_mount_devpts(&err) < 0)
        log_info("%s", err.message);
    if (init_mount_shm(&err) < 0)
        log_info("%s", err.message);
    if (init_set_hostname(text, sizeof text, &err) < 0)
        log_info("%s", err.message);
    else if (text[0] != '\0')
        log_debug("hostname set to %s", text);
    if (init_disable_ctrl_alt_del(&err) < 0)
        log_info("%s", err.message);
}

/* The consoles the kernel writes to (console= on its command line). Every
 * log line goes to each: stderr is /dev/console, the last of them; the
 * others (say the VGA screen beside the serial port) get a copy, so a user
 * at either sees the boot. */
static void pid1_open_consoles(struct pid1 *pid1)
{
    _cleanup_free_ char *text = NULL;
    struct keel_error err;

    if (file_read_text("/sys/class/tty/console/active", &text, NULL, &err) < 0 ||
        console_parse_active(text, pid1->ttys, CONSOLE_MAX_TTYS, &pid1->tty_count, &err) < 0) {
        log_info("no console list: %s", err.message);
        pid1->tty_count = 0;
        return;
    }
    for (size_t i = 0; i + 1 < pid1->tty_count; i++) {
        char path[CONSOLE_TTY_NAME_MAX + 8];
        snprintf(path, sizeof path, "/dev/%s", pid1->ttys[i]);
        /* O_NONBLOCK: a stuck terminal must never block PID 1. */
        int fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
            log_info("copy log lines to %s: %s", path, strerror(errno));
        else if (!log_add_mirror(fd))
            close(fd);
    }
}

static void pid1_start_console_shells(struct pid1 *pid1)
{
    struct keel_error err;

    const char *path = getenv("PATH");
    for (size_t i = 0; i < pid1->tty_count; i++) {
        struct console_shell *shell = &pid1->shells[i];
        console_shell_prepare(shell, pid1->ttys[i], path);
        struct supervise_spec spec = {
            .name = shell->name,
            .child = console_shell_exec,
            .arg = shell,
            /* An interactive shell ignores SIGTERM; SIGHUP is how a shell
             * learns its terminal is going away. */
            .stop_signal = SIGHUP,
        };
        if (supervise_add(pid1->supervise, &spec, &err) < 0)
            log_info("%s", err.message);
    }
}

static size_t pid1_count_processes(void)
{
    size_t count = 0;
    struct keel_error err;
    if (proc_count_user_processes(&count, &err) < 0) {
        /* Without /proc we cannot tell; the timers still end the wait. */
        log_info("%s", err.message);
        return 1;
    }
    return count;
}

static void pid1_shutdown_event(struct pid1 *pid1, struct shutdown_event event);
static void pid1_on_reaped(pid_t pid, int code, int status, void *user);

static void pid1_arm_shutdown_timer(struct pid1 *pid1, uint64_t delay_ms)
{
    struct keel_error err;
    if (pid1->shutdown_timer == NULL)
        keel_error_set(&err, 0, "no shutdown timer (its creation failed at boot)");
    if (pid1->shutdown_timer == NULL ||
        loop_timer_arm(pid1->shutdown_timer, delay_ms, 0, &err) < 0) {
        /* Without the timer nothing would end the wait: go on now. */
        log_info("%s", err.message);
        pid1_shutdown_event(pid1, (struct shutdown_event){.type = SHUTDOWN_EVENT_TIMER_EXPIRED});
    }
}

/* Send signal_number to every process, then wait up to wait_ms for them to
 * go. Supervised processes first get their own stop signal (through their
 * pidfds) when stop_supervised is set. */
static void pid1_signal_everyone(struct pid1 *pid1, int signal_number, bool stop_supervised,
                                 uint64_t wait_ms)
{
    struct keel_error err;
    /* Counted before anything is sent, so the number says how many were
     * running when the signal went out. */
    size_t count = pid1_count_processes();

    if (stop_supervised && pid1->supervise != NULL)
        supervise_stop_all(pid1->supervise);
    if (teardown_signal_all(signal_number, &err) < 0)
        log_info("%s", err.message);
    else
        log_info("sent SIG%s to %zu processes", sigabbrev_np(signal_number), count);
    pid1_arm_shutdown_timer(pid1, wait_ms);
    /* The signalled may all be gone already (or there were none). */
    if (pid1_count_processes() == 0)
        pid1_shutdown_event(pid1, (struct shutdown_event){.type = SHUTDOWN_EVENT_PROCESSES_GONE});
}

static void pid1_finish_shutdown(struct pid1 *pid1)
{
    struct keel_error err;
    size_t failures = 0;
    enum shutdown_power power = pid1->shutdown.power;

    if (pid1->shutdown_timer != NULL)
        loop_timer_disarm(pid1->shutdown_timer);
    /* Collect the last exits so they are logged before the end. */
    reap_children(pid1_on_reaped, pid1);
    log_info("all processes stopped");
    sync();
    if (teardown_unmount_all(&failures, &err) < 0)
        log_info("%s", err.message);
    sync(); /* whatever could only be remounted read-only is flushed now */
    log_info("filesystems unmounted");
    log_info("%s", power == SHUTDOWN_POWER_OFF      ? "powering off"
                   : power == SHUTDOWN_POWER_REBOOT ? "rebooting"
                                                    : "halting");
    if (teardown_reboot(power, &err) < 0)
        log_info("%s; staying up", err.message);
}

static void pid1_start_system_engine(struct pid1 *pid1)
{
    struct keel_error err;
    const struct engine_options options = {
        .name = "system-keel",
        .store_root = "/var/lib/keel/system",
        .state_root = "/var/lib/keel/system/engine",
        .runtime_root = "/run/keel/system-keel",
        .container_init = "/usr/libexec/keel/container-init",
        .cgroup_parent = "keel/system-keel",
    };
    /* PID 1 carries on without its engine (the console shells still run):
     * the message says why. */
    if (engine_new(pid1->loop, &options, &pid1->engine, &err) < 0) {
        log_info("system engine: %s", err.message);
        pid1->engine = NULL;
        return;
    }
    if (api_new(pid1->loop, pid1->engine, HTTP_CLIENT_SYSTEM_SOCKET, (gid_t)-1, &pid1->api, &err) <
        0) {
        log_info("system engine: %s", err.message);
        pid1->api = NULL;
        return;
    }
    log_info("system engine: serving API %s on %s", API_VERSION, HTTP_CLIENT_SYSTEM_SOCKET);
}

static void pid1_engine_stopped(void *data)
{
    (void)data;
    log_debug("system engine: containers stopped");
}

static void pid1_shutdown_event(struct pid1 *pid1, struct shutdown_event event)
{
    switch (shutdown_step(&pid1->shutdown, &event)) {
    case SHUTDOWN_ACTION_NONE:
        break;
    case SHUTDOWN_ACTION_IGNORE_REQUEST:
        log_info("%s already in progress; ignoring the request for %s",
                 shutdown_power_name(pid1->shutdown.power), shutdown_power_name(event.power));
        break;
    case SHUTDOWN_ACTION_SEND_TERM:
        if (pid1->engine != NULL) {
            /* No restarts from here on; the signals below stop the rest. */
            struct keel_error err;
            if (engine_shutdown(pid1->engine, (int)pid1->cmdline.grace_seconds, pid1_engine_stopped,
                                pid1, &err) < 0)
                log_info("system engine: %s", err.message);
        }
        pid1_signal_everyone(pid1, SIGTERM, true, (uint64_t)pid1->cmdline.grace_seconds * 1000u);
        break;
    case SHUTDOWN_ACTION_SEND_KILL:
        pid1_signal_everyone(pid1, SIGKILL, false, SHUTDOWN_KILL_WAIT_MS);
        break;
    case SHUTDOWN_ACTION_FINISH:
        if (pid1->supervise != NULL)
            supervise_stop_all(pid1->supervise);
        pid1_finish_shutdown(pid1);
        break;
    }
}

static int pid1_on_shutdown_timer(struct loop *loop, struct loop_timer *timer, void *user,
                                  struct keel_error *err)
{
    (void)loop;
    (void)timer;
    (void)err;
    pid1_shutdown_event(user, (struct shutdown_event){.type = SHUTDOWN_EVENT_TIMER_EXPIRED});
    return 0;
}

static void pid1_on_reaped(pid_t pid, int code, int status, void *user)
{
    struct pid1 *pid1 = user;
    /* waitpid(2)'s encoding, which the engine takes. */
    int wait_status = code == CLD_EXITED ? (status & 0xff) << 8
                                         : (status & 0x7f) | (code == CLD_DUMPED ? 0x80 : 0);
    if (pid1->engine != NULL && engine_handle_exit(pid1->engine, pid, wait_status))
        return;
    if (pid1->supervise == NULL || !supervise_handle_exit(pid1->supervise, pid, code, status))
        log_debug("reaped pid %d (%s %d)", (int)pid, code == CLD_EXITED ? "status" : "signal",
                  status);
}

static void pid1_on_shutdown_signal(struct pid1 *pid1, int signal_number)
{
    enum shutdown_power power = shutdown_power_from_signal(signal_number);
    size_t processes = 0;

    if (pid1->shutdown.phase == SHUTDOWN_PHASE_RUNNING) {
        log_info("shutdown (%s) requested by SIG%s", shutdown_power_name(power),
                 sigabbrev_np(signal_number));
        /* The shells are about to be told to stop; a count of 0 here means
         * there is nothing to wait for at all. */
        processes = pid1_count_processes();
    }
    pid1_shutdown_event(pid1, (struct shutdown_event){
                                  .type = SHUTDOWN_EVENT_REQUEST,
                                  .power = power,
                                  .processes = processes,
                              });
}

static int pid1_on_signal(struct loop *loop, int fd, uint32_t events, void *user,
                          struct keel_error *err)
{
    struct pid1 *pid1 = user;
    struct signalfd_siginfo info;
    (void)loop;
    (void)events;

    for (;;) {
        ssize_t n = read(fd, &info, sizeof info);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n != (ssize_t)sizeof info)
            return keel_error_set(err, n < 0 ? errno : EIO, "read signalfd");

        int signal_number = (int)info.ssi_signo;
        if (signal_number == SIGCHLD) {
            /* Reap centrally: waiting on each pidfd instead would race
             * with this loop for the same children. */
            if (reap_children(pid1_on_reaped, pid1) > 0 &&
                (pid1->shutdown.phase == SHUTDOWN_PHASE_TERM_SENT ||
                 pid1->shutdown.phase == SHUTDOWN_PHASE_KILL_SENT) &&
                pid1_count_processes() == 0)
                pid1_shutdown_event(pid1,
                                    (struct shutdown_event){.type = SHUTDOWN_EVENT_PROCESSES_GONE});
        } else if (shutdown_power_from_signal(signal_number) != SHUTDOWN_POWER_NONE) {
            pid1_on_shutdown_signal(pid1, signal_number);
        } else {
            log_debug("ignoring SIG%s from pid %u", sigabbrev_np(signal_number), info.ssi_pid);
        }
    }
}

int cmd_init(int argc, char **argv)
{
    static const int signals[] = {SIGCHLD, SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGHUP, SIGPWR};
    static struct pid1 pid1;
    struct keel_error err;
    (void)argc;
    (void)argv;

    if (getpid() != 1) {
        fprintf(stderr, "keel: init must run as PID 1 (this is PID %d); refusing\n", (int)getpid());
        return KEEL_EXIT_USAGE;
    }

    /* Signals first: once blocked they wait for the signalfd, so a SIGTERM
     * or SIGCHLD during setup is handled, not lost. If even this fails,
     * PID 1 must not exit (the kernel would panic): it retries. */
    while (loop_new(&pid1.loop, &err) < 0) {
        log_info("%s; retrying", err.message);
        sleep(5);
    }
    while (loop_add_signals(pid1.loop, signals, (int)(sizeof signals / sizeof signals[0]),
                            pid1_on_signal, &pid1, &err) < 0) {
        log_info("%s; retrying", err.message);
        sleep(5);
    }
    loop_set_error_handler(pid1.loop, pid1_report, NULL);

    pid1_read_cmdline(&pid1);
    pid1_open_consoles(&pid1);
    log_debug("starting as PID 1");
    umask(022);
    if (chdir("/") < 0)
        log_info("chdir /: %s", strerror(errno));
    setsid(); /* already a session leader when the kernel started us: EPERM is fine */

    pid1_setup_system();
    if (loop_timer_new(pid1.loop, pid1_on_shutdown_timer, &pid1, &pid1.shutdown_timer, &err) < 0)
        log_info("%s", err.message);
    pid1_start_system_engine(&pid1);
    if (supervise_new(pid1.loop, &pid1.supervise, &err) < 0) {
        log_info("%s", err.message);
    } else {
        pid1_start_console_shells(&pid1);
    }
    log_info("system ready");

    for (;;) {
        if (loop_run(pid1.loop, &err) < 0) {
            log_info("%s", err.message);
            sleep(1); /* a broken epoll fd will not mend; do not spin the console */
        }
    }
}

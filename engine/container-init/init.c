/* container-init — PID 1 of a container: runs one program, forwards it every signal, reaps every
 * zombie and exits with the program's status (tini's job). Static musl, needs no file. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Exit codes of container-init itself, as s6 has them: the program's own
 * status is passed on unchanged, so these are only seen when it never ran. */
#define EXIT_USAGE 100
#define EXIT_SYSTEM 111
#define EXIT_EXEC_NOT_FOUND 127
#define EXIT_EXEC_FAILED 126

static _Noreturn void usage(void)
{
    fputs("usage: container-init [--] PROGRAM [ARGS...]\n", stderr);
    exit(EXIT_USAGE);
}

static _Noreturn void die(const char *what)
{
    fprintf(stderr, "container-init: %s: %s\n", what, strerror(errno));
    exit(EXIT_SYSTEM);
}

/* Terminal job control must never stop PID 1: these are the signals a tty
 * sends to the process that touches it from the background. */
static int signal_is_job_control(int signal_number)
{
    return signal_number == SIGTSTP || signal_number == SIGTTIN || signal_number == SIGTTOU;
}

/* Dispositions are inherited from whoever started us. SIGCHLD in particular
 * must not stay ignored: the kernel would then reap children on its own and
 * the program's exit status would be lost. */
static void signals_set_dispositions(void (*job_control_handler)(int))
{
    for (int signal_number = 1; signal_number < NSIG; signal_number++) {
        struct sigaction action = {.sa_handler = SIG_DFL};
        if (signal_is_job_control(signal_number))
            action.sa_handler = job_control_handler;
        if (sigaction(signal_number, &action, NULL) < 0 && errno == EINVAL &&
            action.sa_handler == SIG_DFL && signal_number != SIGKILL && signal_number != SIGSTOP) {
            /* musl refuses the signals it reserves (32-34), but a parent may
             * have left them ignored: reset them past libc. */
            struct {
                void (*handler)(int);
                unsigned long flags;
                void (*restorer)(void);
                unsigned long mask;
            } kernel_action = {.handler = SIG_DFL};
            syscall(SYS_rt_sigaction, signal_number, &kernel_action, NULL, 8);
        }
    }
}

/* In the child, between fork and exec: its own process group, in the
 * foreground of the terminal if there is one, and the signal state the
 * program would have had without us. */
static _Noreturn void spawn_child(char **argv, const sigset_t *original_mask)
{
    setpgid(0, 0);
    /* Still all signals blocked here, so tcsetpgrp from what is now a
     * background group does not raise SIGTTOU. ENOTTY (not our controlling
     * terminal) is no reason not to run the program. */
    if (isatty(STDIN_FILENO))
        tcsetpgrp(STDIN_FILENO, getpid());
    signals_set_dispositions(SIG_DFL);
    sigprocmask(SIG_SETMASK, original_mask, NULL);

    execvp(argv[0], argv);
    int exec_errno = errno;
    fprintf(stderr, "container-init: exec %s: %s\n", argv[0], strerror(exec_errno));
    _exit(exec_errno == ENOENT ? EXIT_EXEC_NOT_FOUND : EXIT_EXEC_FAILED);
}

static pid_t spawn(char **argv, const sigset_t *original_mask)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0)
        spawn_child(argv, original_mask);
    return pid;
}

/* SIGCHLD coalesces: one signal may stand for many exits, orphans included,
 * so reap until none is left. Returns 1 once the main child has been reaped,
 * with its wait status in *child_status. */
static int reap_zombies(pid_t child_pid, int *child_status)
{
    int child_exited = 0;
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid <= 0) /* 0: children left but none exited; ECHILD: none left */
            break;
        if (pid == child_pid) {
            *child_status = status;
            child_exited = 1;
        }
    }
    return child_exited;
}

static void forward_signal(pid_t child_pid, int signal_number)
{
    /* ESRCH: the child has just exited; its SIGCHLD is next in line. */
    kill(child_pid, signal_number);
}

/* Wait for signals (all blocked, taken synchronously) until the main child
 * has exited; return its wait status. */
static int wait_and_forward_signals(pid_t child_pid)
{
    sigset_t all;
    sigfillset(&all);
    for (;;) {
        siginfo_t info;
        int signal_number = sigwaitinfo(&all, &info);
        if (signal_number < 0) {
            if (errno == EINTR)
                continue;
            die("sigwaitinfo");
        }
        if (signal_number == SIGCHLD) {
            int child_status;
            if (reap_zombies(child_pid, &child_status))
                return child_status;
        } else if (!signal_is_job_control(signal_number)) {
            forward_signal(child_pid, signal_number);
        }
    }
}

static int exit_code_of(int wait_status)
{
    if (WIFSIGNALED(wait_status))
        return 128 + WTERMSIG(wait_status);
    return WEXITSTATUS(wait_status);
}

int main(int argc, char **argv)
{
    int first = 1;
    if (first < argc && strcmp(argv[first], "--") == 0)
        first++;
    else if (first < argc && argv[first][0] == '-')
        usage();
    if (first >= argc)
        usage();

    /* Every signal is taken with sigwaitinfo, never by a handler: nothing
     * runs asynchronously, and as PID 1 no default action can hit us. */
    sigset_t all, original_mask;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &original_mask);
    signals_set_dispositions(SIG_IGN);

    /* Outside a PID namespace (run by hand, or tests) orphans would go to the
     * host's init; as a subreaper we still reap them, as PID 1 would. */
    if (getpid() != 1)
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

    pid_t child_pid = spawn(argv + first, &original_mask);
    int child_status = wait_and_forward_signals(child_pid);
    int ignored;
    reap_zombies(child_pid, &ignored);
    return exit_code_of(child_status);
}

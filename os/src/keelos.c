/* keelos.c — the OS control CLI; for now: ask PID 1 (keel) to power off, reboot or halt. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Exit codes, as in s6 and the engine: 100 bad usage, 111 system failure. */
#define KEELOS_EXIT_USAGE 100
#define KEELOS_EXIT_FAILURE 111

struct keelos_power_command {
    const char *name;
    int signal_number; /* busybox init's convention, which keel init follows */
    const char *doing;
};

static const struct keelos_power_command keelos_power_commands[] = {
    {"poweroff", SIGUSR2, "power off"},
    {"reboot", SIGTERM, "reboot"},
    {"halt", SIGUSR1, "halt"},
};

static void keelos_print_usage(FILE *stream)
{
    fputs("usage: keelos COMMAND\n"
          "\n"
          "Control the Keel OS.\n"
          "\n"
          "commands:\n"
          "  poweroff   stop everything cleanly and power off\n"
          "  reboot     stop everything cleanly and reboot\n"
          "  halt       stop everything cleanly and halt\n"
          "  help       print this help\n",
          stream);
}

/* Is PID 1 keel? Signalling a different init (on a build host, say) would
 * ask it to reboot the machine. */
static int keelos_check_pid1(void)
{
    char comm[64] = {0};
    int fd = open("/proc/1/comm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "keelos: cannot read /proc/1/comm: %s\n", strerror(errno));
        return -1;
    }
    ssize_t n = read(fd, comm, sizeof comm - 1);
    int saved = errno;
    close(fd);
    if (n < 0) {
        fprintf(stderr, "keelos: cannot read /proc/1/comm: %s\n", strerror(saved));
        return -1;
    }
    comm[strcspn(comm, "\n")] = '\0';
    if (strcmp(comm, "keel") != 0) {
        fprintf(stderr,
                "keelos: PID 1 is \"%s\", not keel; refusing (this does not look like Keel OS)\n",
                comm);
        return -1;
    }
    return 0;
}

static int keelos_request_power(const struct keelos_power_command *command)
{
    if (keelos_check_pid1() < 0)
        return KEELOS_EXIT_FAILURE;
    printf("keelos: asking keel (PID 1) to %s\n", command->doing);
    fflush(stdout);
    if (kill(1, command->signal_number) < 0) {
        fprintf(stderr, "keelos: signal PID 1: %s\n", strerror(errno));
        return KEELOS_EXIT_FAILURE;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        keelos_print_usage(stderr);
        return KEELOS_EXIT_USAGE;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        keelos_print_usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof keelos_power_commands / sizeof keelos_power_commands[0]; i++) {
        if (strcmp(argv[1], keelos_power_commands[i].name) != 0)
            continue;
        if (argc > 2) {
            fprintf(stderr, "keelos: %s takes no arguments\n", argv[1]);
            return KEELOS_EXIT_USAGE;
        }
        return keelos_request_power(&keelos_power_commands[i]);
    }
    fprintf(stderr, "keelos: unknown command \"%s\" (try: keelos help)\n", argv[1]);
    return KEELOS_EXIT_USAGE;
}

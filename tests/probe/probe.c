/* keel-probe — the static payload of the runtime's integration tests: each subcommand reports one
 * kind of fact about the process it runs as (fds, credentials, limits, allowed syscalls...),
 * one fact per line on stdout, so a test can run it in a container without any image. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <linux/sched.h>

#define EXIT_USAGE 100
#define EXIT_FAILED 1
/* `signals` gave up waiting: distinct from any 128+signal. */
#define EXIT_SIGNALS_TIMEOUT 99
#define SIGNALS_TIMEOUT_SECONDS 60

extern char **environ;

/* ---- Names: errno, signals, resource limits ---------------------------- */

struct name {
    int value;
    const char *name;
};

/* clang-format off */
#define NAME(symbol) {symbol, #symbol}
/* clang-format on */

static const struct name errno_names[] = {
    NAME(EPERM),       NAME(ENOENT),       NAME(ESRCH),           NAME(EINTR),
    NAME(EIO),         NAME(ENXIO),        NAME(E2BIG),           NAME(ENOEXEC),
    NAME(EBADF),       NAME(ECHILD),       NAME(EAGAIN),          NAME(ENOMEM),
    NAME(EACCES),      NAME(EFAULT),       NAME(EBUSY),           NAME(EEXIST),
    NAME(EXDEV),       NAME(ENODEV),       NAME(ENOTDIR),         NAME(EISDIR),
    NAME(EINVAL),      NAME(ENFILE),       NAME(EMFILE),          NAME(ENOTTY),
    NAME(ETXTBSY),     NAME(EFBIG),        NAME(ENOSPC),          NAME(ESPIPE),
    NAME(EROFS),       NAME(EMLINK),       NAME(EPIPE),           NAME(ERANGE),
    NAME(EDEADLK),     NAME(ENAMETOOLONG), NAME(ENOSYS),          NAME(ENOTEMPTY),
    NAME(ELOOP),       NAME(ENODATA),      NAME(EOVERFLOW),       NAME(ENOTSOCK),
    NAME(EPROTOTYPE),  NAME(ENOPROTOOPT),  NAME(EPROTONOSUPPORT), NAME(ESOCKTNOSUPPORT),
    NAME(EOPNOTSUPP),  NAME(EAFNOSUPPORT), NAME(EADDRINUSE),      NAME(EADDRNOTAVAIL),
    NAME(ENETUNREACH), NAME(ECONNREFUSED), NAME(ETIMEDOUT),       NAME(EDQUOT),
    NAME(ENOKEY),      NAME(EKEYEXPIRED),  NAME(EKEYREVOKED),     NAME(EKEYREJECTED),
    NAME(ENOMEDIUM),   NAME(ECANCELED),    NAME(EOWNERDEAD),      NAME(ERFKILL),
};

/* Names without the SIG prefix, as kill(1) takes them. */
static const struct name signal_names[] = {
    {SIGHUP, "HUP"},   {SIGINT, "INT"},       {SIGQUIT, "QUIT"}, {SIGILL, "ILL"},
    {SIGTRAP, "TRAP"}, {SIGABRT, "ABRT"},     {SIGBUS, "BUS"},   {SIGFPE, "FPE"},
    {SIGKILL, "KILL"}, {SIGUSR1, "USR1"},     {SIGSEGV, "SEGV"}, {SIGUSR2, "USR2"},
    {SIGPIPE, "PIPE"}, {SIGALRM, "ALRM"},     {SIGTERM, "TERM"}, {SIGSTKFLT, "STKFLT"},
    {SIGCHLD, "CHLD"}, {SIGCONT, "CONT"},     {SIGSTOP, "STOP"}, {SIGTSTP, "TSTP"},
    {SIGTTIN, "TTIN"}, {SIGTTOU, "TTOU"},     {SIGURG, "URG"},   {SIGXCPU, "XCPU"},
    {SIGXFSZ, "XFSZ"}, {SIGVTALRM, "VTALRM"}, {SIGPROF, "PROF"}, {SIGWINCH, "WINCH"},
    {SIGIO, "IO"},     {SIGPWR, "PWR"},       {SIGSYS, "SYS"},
};

/* Names without the RLIMIT_ prefix. */
static const struct name rlimit_names[] = {
    {RLIMIT_AS, "AS"},           {RLIMIT_CORE, "CORE"},         {RLIMIT_CPU, "CPU"},
    {RLIMIT_DATA, "DATA"},       {RLIMIT_FSIZE, "FSIZE"},       {RLIMIT_LOCKS, "LOCKS"},
    {RLIMIT_MEMLOCK, "MEMLOCK"}, {RLIMIT_MSGQUEUE, "MSGQUEUE"}, {RLIMIT_NICE, "NICE"},
    {RLIMIT_NOFILE, "NOFILE"},   {RLIMIT_NPROC, "NPROC"},       {RLIMIT_RSS, "RSS"},
    {RLIMIT_RTPRIO, "RTPRIO"},   {RLIMIT_RTTIME, "RTTIME"},     {RLIMIT_SIGPENDING, "SIGPENDING"},
    {RLIMIT_STACK, "STACK"},
};

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

static const char *name_of(const struct name *names, size_t count, int value)
{
    for (size_t i = 0; i < count; i++)
        if (names[i].value == value)
            return names[i].name;
    return NULL;
}

/* -1 when the name is unknown. */
static int value_of(const struct name *names, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(names[i].name, name) == 0)
            return names[i].value;
    return -1;
}

/* "EPERM", or "E123" for an errno the table lacks. */
static const char *errno_name(int error)
{
    static char unknown[16];
    const char *name = name_of(errno_names, COUNT(errno_names), error);
    if (name != NULL)
        return name;
    snprintf(unknown, sizeof unknown, "E%d", error);
    return unknown;
}

static const char *signal_name(int signal_number)
{
    const char *name = name_of(signal_names, COUNT(signal_names), signal_number);
    return name != NULL ? name : "?";
}

/* ---- Arguments ----------------------------------------------------------- */

static const char *program_usage =
    "usage: keel-probe SUBCOMMAND [ARGS...]\n"
    "  fds | status | ids | pid | cwd | tty | env | hostname | rlimit NAME\n"
    "  try SYSCALL | read PATH | write PATH | stat PATH\n"
    "  sleep SECONDS | exit N | kill-self SIGNAL | signals | exec PATH [ARGS...]\n"
    "  orphans N | zombies [PPID] | forks N | alloc MEGABYTES\n"
    "try: unshare unshare-user mount umount keyctl add_key bpf kexec_load init_module\n"
    "     socket-vsock socket-alg socket-inet personality personality-query clone-newns\n"
    "     clone3 chroot ptrace pivot_root setns sethostname\n";

static _Noreturn void usage(void)
{
    fputs(program_usage, stderr);
    exit(EXIT_USAGE);
}

/* A count or a status: a whole non-negative decimal number, or usage. */
static long parse_number(const char *text)
{
    char *end;
    errno = 0;
    long number = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || number < 0)
        usage();
    return number;
}

/* "TERM", "SIGTERM" or "15". */
static int parse_signal(const char *text)
{
    if (text[0] >= '0' && text[0] <= '9') {
        long number = parse_number(text);
        if (number < 1 || number >= NSIG)
            usage();
        return (int)number;
    }
    if (strncmp(text, "SIG", 3) == 0)
        text += 3;
    int signal_number = value_of(signal_names, COUNT(signal_names), text);
    if (signal_number < 0)
        usage();
    return signal_number;
}

/* ---- Facts about the process --------------------------------------------- */

static int probe_fds(char **args)
{
    (void)args;
    DIR *directory = opendir("/proc/self/fd");
    if (directory == NULL) {
        printf("fds errno=%s\n", errno_name(errno));
        return EXIT_FAILED;
    }
    struct dirent *entry;
    while ((entry = readdir(directory)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        int fd = atoi(entry->d_name);
        if (fd == dirfd(directory))
            continue;
        char path[64], target[PATH_MAX];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        ssize_t length = readlink(path, target, sizeof target - 1);
        if (length < 0) {
            printf("%d errno=%s\n", fd, errno_name(errno));
            continue;
        }
        target[length] = '\0';
        printf("%d %s\n", fd, target);
    }
    closedir(directory);
    return 0;
}

static int probe_status(char **args)
{
    (void)args;
    static const char *const keys[] = {"CapInh",     "CapPrm",  "CapEff", "CapBnd", "CapAmb",
                                       "NoNewPrivs", "Seccomp", "Uid",    "Gid",    "Groups"};
    FILE *status = fopen("/proc/self/status", "re");
    if (status == NULL) {
        printf("status errno=%s\n", errno_name(errno));
        return EXIT_FAILED;
    }
    char line[4096];
    while (fgets(line, sizeof line, status) != NULL) {
        for (size_t i = 0; i < COUNT(keys); i++) {
            size_t length = strlen(keys[i]);
            if (strncmp(line, keys[i], length) == 0 && line[length] == ':')
                fputs(line, stdout);
        }
    }
    fclose(status);
    return 0;
}

static int probe_ids(char **args)
{
    (void)args;
    gid_t groups[NGROUPS_MAX];
    int count = getgroups(NGROUPS_MAX, groups);
    mode_t mask = umask(0);
    umask(mask);

    printf("uid=%u gid=%u groups=", (unsigned)getuid(), (unsigned)getgid());
    for (int i = 0; i < count; i++)
        printf("%s%u", i > 0 ? "," : "", (unsigned)groups[i]);
    printf(" umask=%04o\n", (unsigned)mask);
    return 0;
}

static int probe_pid(char **args)
{
    (void)args;
    printf("pid=%d ppid=%d\n", (int)getpid(), (int)getppid());
    return 0;
}

static int probe_cwd(char **args)
{
    (void)args;
    char path[PATH_MAX];
    int error = 0;
    if (getcwd(path, sizeof path) == NULL)
        error = errno;
    else if (path[0] != '/')
        error = ENOENT; /* "(unreachable)/...": a cwd outside our root is no path */
    if (error != 0) {
        printf("cwd errno=%s\n", errno_name(error));
        return EXIT_FAILED;
    }
    printf("%s\n", path);
    return 0;
}

static int probe_tty(char **args)
{
    (void)args;
    if (!isatty(STDIN_FILENO)) {
        printf("tty=no\n");
        return 0;
    }
    const char *name = ttyname(STDIN_FILENO);
    printf("tty=yes %s\n", name != NULL ? name : "unknown");
    return 0;
}

static int probe_env(char **args)
{
    (void)args;
    for (char **variable = environ; *variable != NULL; variable++)
        printf("%s\n", *variable);
    return 0;
}

static int probe_hostname(char **args)
{
    (void)args;
    struct utsname names;
    if (uname(&names) < 0) {
        printf("hostname errno=%s\n", errno_name(errno));
        return EXIT_FAILED;
    }
    printf("hostname=%s domainname=%s\n", names.nodename, names.domainname);
    return 0;
}

static void print_rlimit_value(rlim_t value, const char *after)
{
    if (value == RLIM_INFINITY)
        printf("unlimited%s", after);
    else
        printf("%llu%s", (unsigned long long)value, after);
}

static int probe_rlimit(char **args)
{
    const char *name = args[0];
    if (strncmp(name, "RLIMIT_", 7) == 0)
        name += 7;
    int resource = value_of(rlimit_names, COUNT(rlimit_names), name);
    if (resource < 0)
        usage();
    struct rlimit limit;
    if (getrlimit(resource, &limit) < 0) {
        printf("rlimit errno=%s\n", errno_name(errno));
        return EXIT_FAILED;
    }
    print_rlimit_value(limit.rlim_cur, " ");
    print_rlimit_value(limit.rlim_max, "\n");
    return 0;
}

/* ---- Files ----------------------------------------------------------------- */

static int write_all(int fd, const char *buffer, size_t length)
{
    while (length > 0) {
        ssize_t written = write(fd, buffer, length);
        if (written < 0 && errno == EINTR)
            continue;
        if (written < 0)
            return -1;
        buffer += written;
        length -= (size_t)written;
    }
    return 0;
}

static int probe_read(char **args)
{
    const char *path = args[0];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        printf("read %s: errno=%s\n", path, errno_name(errno));
        return EXIT_FAILED;
    }
    char buffer[65536];
    for (;;) {
        ssize_t length = read(fd, buffer, sizeof buffer);
        if (length < 0 && errno == EINTR)
            continue;
        if (length < 0) {
            printf("read %s: errno=%s\n", path, errno_name(errno));
            close(fd);
            return EXIT_FAILED;
        }
        if (length == 0)
            break;
        if (write_all(STDOUT_FILENO, buffer, (size_t)length) < 0)
            break;
    }
    close(fd);
    return 0;
}

/* Only whether the open is allowed (read-only mounts, masked paths, device
 * rules): nothing is created, truncated or written. */
static int probe_write(char **args)
{
    const char *path = args[0];
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        printf("write %s errno=%s\n", path, errno_name(errno));
        return EXIT_FAILED;
    }
    close(fd);
    printf("write %s ok\n", path);
    return 0;
}

static const char *file_type_name(mode_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG:
        return "file";
    case S_IFDIR:
        return "dir";
    case S_IFLNK:
        return "symlink";
    case S_IFCHR:
        return "char";
    case S_IFBLK:
        return "block";
    case S_IFIFO:
        return "fifo";
    case S_IFSOCK:
        return "socket";
    }
    return "unknown";
}

static int probe_stat(char **args)
{
    const char *path = args[0];
    struct stat status;
    if (lstat(path, &status) < 0) {
        printf("stat %s errno=%s\n", path, errno_name(errno));
        return EXIT_FAILED;
    }
    printf("type=%s mode=%04o uid=%u gid=%u rdev=%u:%u\n", file_type_name(status.st_mode),
           (unsigned)(status.st_mode & 07777), (unsigned)status.st_uid, (unsigned)status.st_gid,
           major(status.st_rdev), minor(status.st_rdev));
    return 0;
}

/* ---- try: one operation a sandbox may refuse ------------------------------
 * Each returns 0 or -1 with errno. Where success would change something
 * outside this process, the operation is chosen so that it cannot: an
 * "allowed" answer is then the kernel's EINVAL/EBUSY/EBADF past its
 * permission check, where a refusal is EPERM (or seccomp's ENOSYS). */

static int try_unshare(void)
{
    return unshare(CLONE_NEWNS);
}

static int try_unshare_user(void)
{
    return unshare(CLONE_NEWUSER);
}

static const char *mount_target(void)
{
    static const char *const candidates[] = {"/mnt", "/tmp"};
    struct stat status;
    for (size_t i = 0; i < COUNT(candidates); i++)
        if (stat(candidates[i], &status) == 0 && S_ISDIR(status.st_mode))
            return candidates[i];
    return "/";
}

/* A real mount, taken away at once, so a privileged run leaves no trace. */
static int try_mount(void)
{
    const char *target = mount_target();
    if (mount("none", target, "tmpfs", 0, "size=64k") < 0)
        return -1;
    umount2(target, MNT_DETACH);
    return 0;
}

/* MNT_EXPIRE on our own root is always EINVAL once permitted: nothing is
 * ever unmounted. EPERM: no CAP_SYS_ADMIN or seccomp. */
static int try_umount(void)
{
    return umount2("/", MNT_EXPIRE);
}

static int try_keyctl(void)
{
    return (int)syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL, 0, 0, 0);
}

/* Into the process keyring, which dies with this process. */
static int try_add_key(void)
{
    long key = syscall(SYS_add_key, "user", "keel-probe", "x", (size_t)1, KEY_SPEC_PROCESS_KEYRING);
    return key < 0 ? -1 : 0;
}

/* A zeroed attribute asks for map type 0 (unspec): EINVAL when bpf is
 * allowed, EPERM when it is not. */
static int try_bpf(void)
{
    union bpf_attr attribute;
    memset(&attribute, 0, sizeof attribute);
    return (int)syscall(SYS_bpf, BPF_MAP_CREATE, &attribute, sizeof attribute);
}

/* Zero segments only unloads a loaded kexec image (never a crash kernel). */
static int try_kexec_load(void)
{
    return (int)syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0UL);
}

/* An empty image: ENOEXEC when permitted. */
static int try_init_module(void)
{
    return (int)syscall(SYS_init_module, NULL, 0UL, "");
}

static int try_socket(int domain, int type)
{
    int fd = socket(domain, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static int try_socket_vsock(void)
{
    return try_socket(AF_VSOCK, SOCK_STREAM);
}

static int try_socket_alg(void)
{
    return try_socket(AF_ALG, SOCK_SEQPACKET);
}

static int try_socket_inet(void)
{
    return try_socket(AF_INET, SOCK_DGRAM);
}

/* setarch -R: a persona Docker's seccomp profile refuses. */
static int try_personality(void)
{
    return personality(ADDR_NO_RANDOMIZE) == -1 ? -1 : 0;
}

/* 0xffffffff only reads the persona: every profile must allow it. */
static int try_personality_query(void)
{
    return personality(0xffffffff) == -1 ? -1 : 0;
}

/* Wait for a child whose exit status is an errno (0: it succeeded); a
 * child killed by a signal counts as ECHILD. */
static int wait_child(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    errno = WIFEXITED(status) ? WEXITSTATUS(status) : ECHILD;
    return -1;
}

/* The raw syscall, not a libc wrapper: seccomp profiles filter clone on its
 * flags, and that is what is being asked. The child shares our stack
 * copy-on-write, as after fork, and leaves at once. */
static int try_clone_newns(void)
{
    long pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWNS | SIGCHLD), NULL, NULL, NULL, 0UL);
    if (pid < 0)
        return -1;
    if (pid == 0)
        _exit(0);
    return wait_child((pid_t)pid);
}

static int try_clone3(void)
{
    struct clone_args arguments;
    memset(&arguments, 0, sizeof arguments);
    arguments.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &arguments, sizeof arguments);
    if (pid < 0)
        return -1;
    if (pid == 0)
        _exit(0);
    return wait_child((pid_t)pid);
}

static int try_chroot(void)
{
    return chroot("/");
}

/* TRACEME marks the caller as traced: done in a child, whose exit status
 * carries the errno back. */
static int try_ptrace(void)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0)
        _exit(ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0 ? errno : 0);
    return wait_child(pid);
}

/* Our root on itself: EBUSY (or EINVAL) once permitted, nothing moves. */
static int try_pivot_root(void)
{
    return (int)syscall(SYS_pivot_root, "/", "/");
}

/* No namespace fd: EBADF once permitted. */
static int try_setns(void)
{
    return setns(-1, 0);
}

/* The name it already has: needs CAP_SYS_ADMIN over the UTS namespace. */
static int try_sethostname(void)
{
    struct utsname names;
    if (uname(&names) < 0)
        return -1;
    return sethostname(names.nodename, strlen(names.nodename));
}

struct trial {
    const char *name;
    int (*attempt)(void);
};

static const struct trial trials[] = {
    {"unshare", try_unshare},
    {"unshare-user", try_unshare_user},
    {"mount", try_mount},
    {"umount", try_umount},
    {"keyctl", try_keyctl},
    {"add_key", try_add_key},
    {"bpf", try_bpf},
    {"kexec_load", try_kexec_load},
    {"init_module", try_init_module},
    {"socket-vsock", try_socket_vsock},
    {"socket-alg", try_socket_alg},
    {"socket-inet", try_socket_inet},
    {"personality", try_personality},
    {"personality-query", try_personality_query},
    {"clone-newns", try_clone_newns},
    {"clone3", try_clone3},
    {"chroot", try_chroot},
    {"ptrace", try_ptrace},
    {"pivot_root", try_pivot_root},
    {"setns", try_setns},
    {"sethostname", try_sethostname},
};

static int probe_try(char **args)
{
    for (size_t i = 0; i < COUNT(trials); i++) {
        if (strcmp(trials[i].name, args[0]) != 0)
            continue;
        errno = 0;
        if (trials[i].attempt() < 0) {
            printf("%s errno=%s\n", trials[i].name, errno_name(errno));
            return EXIT_FAILED;
        }
        printf("%s ok\n", trials[i].name);
        return 0;
    }
    usage();
}

/* ---- Signals, processes, memory ------------------------------------------ */

static int probe_sleep(char **args)
{
    char *end;
    double seconds = strtod(args[0], &end);
    if (end == args[0] || *end != '\0' || !(seconds >= 0))
        usage();
    struct timespec remaining = {.tv_sec = (time_t)seconds};
    remaining.tv_nsec = (long)((seconds - (double)remaining.tv_sec) * 1e9);
    while (nanosleep(&remaining, &remaining) < 0 && errno == EINTR)
        ;
    return 0;
}

static int probe_exit(char **args)
{
    return (int)(parse_number(args[0]) & 0xff);
}

static int probe_kill_self(char **args)
{
    int signal_number = parse_signal(args[0]);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, signal_number);
    signal(signal_number, SIG_DFL);
    sigprocmask(SIG_UNBLOCK, &one, NULL);
    raise(signal_number);
    /* Alive: the default action of this signal is to ignore it (or stop). */
    printf("survived SIG%s\n", signal_name(signal_number));
    return EXIT_FAILED;
}

static void signals_fill_watched(sigset_t *watched)
{
    static const int numbers[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGQUIT, SIGWINCH};
    sigemptyset(watched);
    for (size_t i = 0; i < COUNT(numbers); i++)
        sigaddset(watched, numbers[i]);
}

/* Taken synchronously (blocked + sigtimedwait) rather than by handlers, so
 * nothing async-signal-unsafe runs and none can be missed before "ready". */
static int probe_signals(char **args)
{
    (void)args;
    sigset_t watched;
    signals_fill_watched(&watched);
    sigprocmask(SIG_BLOCK, &watched, NULL);
    printf("ready\n");
    fflush(stdout);

    struct timespec now, deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += SIGNALS_TIMEOUT_SECONDS;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        struct timespec left = {.tv_sec = deadline.tv_sec - now.tv_sec,
                                .tv_nsec = deadline.tv_nsec - now.tv_nsec};
        if (left.tv_nsec < 0) {
            left.tv_sec--;
            left.tv_nsec += 1000000000L;
        }
        if (left.tv_sec < 0)
            break;
        int signal_number = sigtimedwait(&watched, NULL, &left);
        if (signal_number < 0) {
            if (errno == EAGAIN)
                break;
            continue; /* EINTR: a stop and continue, say */
        }
        printf("got SIG%s\n", signal_name(signal_number));
        fflush(stdout);
        if (signal_number == SIGTERM || signal_number == SIGINT || signal_number == SIGQUIT)
            return 128 + signal_number;
    }
    printf("timeout\n");
    return EXIT_SIGNALS_TIMEOUT;
}

/* The child starts `count` grandchildren that exit at once and exits
 * without waiting for them: they are left to the nearest reaper. */
static int probe_orphans(char **args)
{
    long count = parse_number(args[0]);
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) {
        printf("fork errno=%s\n", errno_name(errno));
        return EXIT_FAILED;
    }
    if (child == 0) {
        for (long i = 0; i < count; i++)
            if (fork() == 0)
                _exit(0);
        _exit(0);
    }
    if (wait_child(child) < 0) {
        printf("orphans child failed\n");
        return EXIT_FAILED;
    }
    /* Let the last grandchildren exit and be reparented. */
    struct timespec moment = {.tv_nsec = 200 * 1000 * 1000};
    nanosleep(&moment, NULL);
    printf("spawned %ld\n", count);
    return 0;
}

/* From /proc/PID/stat: "PID (COMM) STATE PPID ..."; COMM may hold spaces
 * and parentheses, so the fields are read after the last ')'. */
static int process_read_state(const char *pid, char *state, long *parent)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%s/stat", pid);
    FILE *stat_file = fopen(path, "re");
    if (stat_file == NULL)
        return -1;
    size_t length = fread(line, 1, sizeof line - 1, stat_file);
    fclose(stat_file);
    line[length] = '\0';
    char *after_name = strrchr(line, ')');
    if (after_name == NULL || sscanf(after_name + 1, " %c %ld", state, parent) != 2)
        return -1;
    return 0;
}

/* All zombies this /proc shows, or only the children of PPID. */
static int probe_zombies(char **args)
{
    long only_parent = args[0] != NULL ? parse_number(args[0]) : -1;
    DIR *proc = opendir("/proc");
    if (proc == NULL) {
        printf("zombies errno=%s\n", errno_name(errno));
        return EXIT_FAILED;
    }
    int zombies = 0;
    struct dirent *entry;
    while ((entry = readdir(proc)) != NULL) {
        char state;
        long parent;
        if (entry->d_name[0] < '0' || entry->d_name[0] > '9')
            continue;
        if (process_read_state(entry->d_name, &state, &parent) < 0)
            continue; /* gone meanwhile */
        if (state == 'Z' && (only_parent < 0 || parent == only_parent))
            zombies++;
    }
    closedir(proc);
    printf("zombies=%d\n", zombies);
    return 0;
}

/* How many processes the pids limit (cgroup pids.max, RLIMIT_NPROC) lets
 * us have at once; they are all killed and reaped before we exit. */
static int probe_forks(char **args)
{
    long wanted = parse_number(args[0]);
    pid_t *children = calloc((size_t)wanted + 1, sizeof *children);
    if (children == NULL) {
        printf("fork errno=ENOMEM\n");
        return EXIT_FAILED;
    }
    fflush(stdout);
    long forked = 0;
    while (forked < wanted) {
        pid_t pid = fork();
        if (pid < 0) {
            printf("fork errno=%s\n", errno_name(errno));
            break;
        }
        if (pid == 0) {
            sleep(30);
            _exit(0);
        }
        children[forked++] = pid;
    }
    printf("forked %ld\n", forked);
    for (long i = 0; i < forked; i++)
        kill(children[i], SIGKILL);
    for (long i = 0; i < forked; i++)
        while (waitpid(children[i], NULL, 0) < 0 && errno == EINTR)
            ;
    free(children);
    return 0;
}

/* Touched page by page so the memory is really charged, not just mapped. */
static int probe_alloc(char **args)
{
    long megabytes = parse_number(args[0]);
    const size_t step = 1024 * 1024;
    long allocated = 0;
    for (; allocated < megabytes; allocated++) {
        char *block = malloc(step);
        if (block == NULL) {
            printf("alloc errno=ENOMEM after %ld\n", allocated);
            return EXIT_FAILED;
        }
        memset(block, 1, step);
        /* Never freed: the point is to hold it. */
    }
    printf("allocated %ld\n", allocated);
    return 0;
}

static int probe_exec(char **args)
{
    fflush(stdout);
    execv(args[0], args);
    printf("exec %s errno=%s\n", args[0], errno_name(errno));
    return 127;
}

/* ---- Dispatch ------------------------------------------------------------- */

struct subcommand {
    const char *name;
    int (*run)(char **args);
    int min_args, max_args; /* max_args -1: any number */
};

static const struct subcommand subcommands[] = {
    {"fds", probe_fds, 0, 0},         {"status", probe_status, 0, 0},
    {"ids", probe_ids, 0, 0},         {"pid", probe_pid, 0, 0},
    {"cwd", probe_cwd, 0, 0},         {"tty", probe_tty, 0, 0},
    {"env", probe_env, 0, 0},         {"hostname", probe_hostname, 0, 0},
    {"rlimit", probe_rlimit, 1, 1},   {"try", probe_try, 1, 1},
    {"read", probe_read, 1, 1},       {"write", probe_write, 1, 1},
    {"stat", probe_stat, 1, 1},       {"sleep", probe_sleep, 1, 1},
    {"exit", probe_exit, 1, 1},       {"kill-self", probe_kill_self, 1, 1},
    {"signals", probe_signals, 0, 0}, {"orphans", probe_orphans, 1, 1},
    {"zombies", probe_zombies, 0, 1}, {"forks", probe_forks, 1, 1},
    {"alloc", probe_alloc, 1, 1},     {"exec", probe_exec, 1, -1},
};

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    int given = argc - 2;
    for (size_t i = 0; i < COUNT(subcommands); i++) {
        const struct subcommand *subcommand = &subcommands[i];
        if (strcmp(subcommand->name, argv[1]) != 0)
            continue;
        if (given < subcommand->min_args ||
            (subcommand->max_args >= 0 && given > subcommand->max_args))
            usage();
        return subcommand->run(argv + 2);
    }
    usage();
}

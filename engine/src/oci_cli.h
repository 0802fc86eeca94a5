/* oci_cli.h — what the `keel oci` verbs share: global options, a container's saved state and
 * config, waiting with signals forwarded. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "oci_config.h"
#include "oci_state.h"

struct oci_cli {
    const char *root; /* --root, default OCI_STATE_DEFAULT_ROOT */
};

/* A container as the verbs see it: its state.json and the config saved at create. */
struct oci_cli_container {
    struct oci_state *state;
    struct oci_config *config;
    enum oci_status status;
};

int oci_cli_load(const struct oci_cli *cli, const char *id, struct oci_cli_container *container,
                 struct keel_error *err);
void oci_cli_release(struct oci_cli_container *container);

/* Print "keel oci VERB: MESSAGE" on stderr; returns code. */
int oci_cli_fail(const char *verb, const struct keel_error *err, int code);
int oci_cli_usage(const char *verb, const char *usage);

/* ROOT/.seccomp: the compiled filters create and exec share. */
void oci_cli_seccomp_cache(const struct oci_cli *cli, char *path, size_t size);

/* A decimal option value in 0..maximum. */
bool oci_cli_parse_number(const char *text, long maximum, long *value);

/* "KILL", "SIGKILL", "9" → 9; -1 when unknown. */
int oci_cli_parse_signal(const char *text);

/* Block the signals oci_cli_wait_forwarding forwards, before the
 * container exists: one that arrives while it is being created is then
 * forwarded, not fatal to the runtime. (The container's process starts
 * with an empty mask.) */
void oci_cli_block_forwarded_signals(void);

/* Wait for our child pid (pidfd) to exit while forwarding SIGINT, SIGTERM,
 * SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH to it. Returns the exit
 * status as a shell reports it: the code, or 128 + signal. */
int oci_cli_wait_forwarding(pid_t pid, int pidfd, struct keel_error *err);

/* Connect to runc's --console-socket (a unix stream socket). */
int oci_cli_connect_console(const char *path, int *fd, struct keel_error *err);

/* Write the pid into path atomically (runc --pid-file). */
int oci_cli_write_pid_file(const char *path, pid_t pid, struct keel_error *err);

/* Stop and forget a container: SIGKILL what is left when force (or when
 * it is only created), wait for it, poststop hooks, cgroup, state dir. */
int oci_cli_destroy(const struct oci_cli *cli, struct oci_cli_container *container, bool force,
                    struct keel_error *err);

int cmd_oci_create(const struct oci_cli *cli, int argc, char **argv);
int cmd_oci_run(const struct oci_cli *cli, int argc, char **argv);
int cmd_oci_start(const struct oci_cli *cli, int argc, char **argv);
int cmd_oci_state(const struct oci_cli *cli, int argc, char **argv);
int cmd_oci_list(const struct oci_cli *cli, int argc, char **argv);
int cmd_oci_kill(const struct oci_cli *cli, int argc, char **argv);
int cmd_oci_delete(const struct oci_cli *cli, int argc, char **argv);
int cmd_oci_exec(const struct oci_cli *cli, int argc, char **argv);
int cmd_oci_spec(const struct oci_cli *cli, int argc, char **argv);

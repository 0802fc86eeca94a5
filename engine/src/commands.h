/* commands.h — the verbs of the keel binary, one file each (cmd_<verb>.c), dispatched by main.c. */
#pragma once

/* Exit codes, as in s6: 0 success, 100 bad usage, 111 system failure. */
#define KEEL_EXIT_USAGE 100
#define KEEL_EXIT_FAILURE 111

int cmd_init(int argc, char **argv);
int cmd_oci(int argc, char **argv);
int cmd_image(int argc, char **argv);
int cmd_daemon(int argc, char **argv);
/* The client: docker's verbs over the engine's API (argv[1] is the verb, or a global option). */
int cmd_client(int argc, char **argv);

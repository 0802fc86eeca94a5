/* hooks.h — runs OCI hooks: each a program fed the container's state JSON on stdin. */
#pragma once

#include "error.h"
#include "oci_config.h"

/* Run list's hooks in order, each to completion: the state JSON on its
 * stdin, its own args and env, killed after its timeout. The first hook
 * that fails stops the list: "hook /usr/bin/x exited with status 3". */
int hooks_run(const struct oci_hook_list *list, const char *state_json, struct keel_error *err);

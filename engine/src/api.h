/* api.h — the Docker Engine API (a subset, announced as 1.41) over http_server, served from the
 * engine's core. */
#pragma once

#include <sys/types.h>

#include "engine.h"
#include "error.h"
#include "loop.h"

#define API_VERSION "1.41"     /* announced in /version and the Api-Version header */
#define API_MIN_VERSION "1.24" /* oldest accepted in a /vX.Y/ prefix */

struct api;

/* Serve engine on socket_path (mode 0660, group socket_group unless
 * (gid_t)-1). Requests may carry a "/vX.Y" prefix (X.Y between
 * API_MIN_VERSION and API_VERSION, else 400) or none. */
int api_new(struct loop *loop, struct engine *engine, const char *socket_path, gid_t socket_group,
            struct api **api, struct keel_error *err);
void api_free(struct api *api);
/* Open connections and streams (attach, logs -f, events, hijacked execs):
 * tests check nothing leaks. */
unsigned api_connection_count(const struct api *api);

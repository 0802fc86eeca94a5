/* engine_names.c — container names: Docker's rule for a valid one, and generated "adjective_noun"
 * ones. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "engine_container_internal.h"

/* Keel's own words (Docker's generator names scientists; these name
 * things of the sea and of boats, a keel's neighbours). */
static const char *const engine_name_adjectives[] = {
    "amber",  "brave",  "calm",   "clever", "crisp", "daring", "eager", "fair",
    "gentle", "glad",   "golden", "hardy",  "keen",  "lively", "lucky", "mellow",
    "merry",  "nimble", "noble",  "proud",  "quick", "quiet",  "rapid", "salty",
    "serene", "sharp",  "silent", "steady", "stout", "sunny",  "swift", "tidy",
    "trusty", "vivid",  "wise",   "witty",  "young", "zesty",  "bold",  "bright",
};

static const char *const engine_name_nouns[] = {
    "anchor",  "barnacle", "beacon",  "bosun", "breaker", "buoy",   "capstan", "compass",
    "coral",   "current",  "dolphin", "dory",  "ferry",   "galley", "gull",    "harbor",
    "helm",    "heron",    "inlet",   "jetty", "kelp",    "lagoon", "lantern", "mast",
    "mooring", "narwhal",  "oar",     "otter", "pelican", "pier",   "reef",    "rudder",
    "sail",    "schooner", "seal",    "shoal", "skiff",   "tide",   "walrus",  "wharf",
};

#define ENGINE_NAME_ATTEMPTS 32

bool engine_name_valid(const char *name)
{
    if (name[0] == '/')
        name++;
    size_t length = strlen(name);
    if (length < 2 || length > 255)
        return false;
    for (size_t i = 0; i < length; i++) {
        char c = name[i];
        bool alphanumeric =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alphanumeric && (i == 0 || (c != '_' && c != '.' && c != '-')))
            return false;
    }
    return true;
}

struct engine_container *engine_container_by_name(struct engine *engine, const char *name)
{
    if (name[0] == '/')
        name++;
    for (struct engine_container *container = engine->containers; container;
         container = container->next)
        if (strcmp(container->name, name) == 0)
            return container;
    return NULL;
}

static unsigned engine_name_random(void)
{
    unsigned value;
    if (getrandom(&value, sizeof value, GRND_NONBLOCK) != (ssize_t)sizeof value)
        value = (unsigned)rand();
    return value;
}

int engine_name_generate(struct engine *engine, char **name, struct keel_error *err)
{
    const size_t adjectives = sizeof engine_name_adjectives / sizeof engine_name_adjectives[0];
    const size_t nouns = sizeof engine_name_nouns / sizeof engine_name_nouns[0];
    char candidate[64];
    for (int attempt = 0; attempt < ENGINE_NAME_ATTEMPTS; attempt++) {
        unsigned random = engine_name_random();
        int length = snprintf(candidate, sizeof candidate, "%s_%s",
                              engine_name_adjectives[random % adjectives],
                              engine_name_nouns[(random / adjectives) % nouns]);
        /* As Docker: once the plain pairs collide, a digit tells them apart. */
        if (attempt >= ENGINE_NAME_ATTEMPTS / 2)
            snprintf(candidate + length, sizeof candidate - (size_t)length, "%u",
                     (random >> 24) % 100);
        if (engine_container_by_name(engine, candidate) == NULL) {
            *name = strdup(candidate);
            if (*name == NULL)
                return keel_error_set(err, ENOMEM, "container name");
            return 0;
        }
    }
    return keel_error_set(err, EEXIST, "no free container name after %d attempts",
                          ENGINE_NAME_ATTEMPTS);
}

/* image_reference.c — image references normalised to the names the store's index keeps. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

/* Docker's limits: the name (registry and repository) and the tag. */
#define REFERENCE_NAME_MAX 255
#define REFERENCE_TAG_MAX 128

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* A repository path component: [a-z0-9]+ joined by ".", "_", "__" or runs of
 * "-", as Docker's reference grammar has it. */
static bool component_valid(const char *text, size_t length)
{
    size_t i = 0;

    while (i < length) {
        if (!is_lower_alnum(text[i]))
            return false;
        while (i < length && is_lower_alnum(text[i]))
            i++;
        if (i == length)
            return true;
        size_t separator = i;
        if (text[i] == '.') {
            i++;
        } else if (text[i] == '_') {
            i += i + 1 < length && text[i + 1] == '_' ? 2 : 1;
        } else if (text[i] == '-') {
            while (i < length && text[i] == '-')
                i++;
        }
        /* A separator must be one, and be followed by more of the component. */
        if (i == separator || i == length)
            return false;
    }
    return length > 0;
}

/* A registry: host name labels ([A-Za-z0-9] with inner "-") joined by ".",
 * then an optional ":port". */
static bool domain_valid(const char *text, size_t length)
{
    const char *colon = memchr(text, ':', length);
    size_t host_length = colon ? (size_t)(colon - text) : length;
    size_t label_start = 0;

    if (host_length == 0)
        return false;
    for (size_t i = 0; i <= host_length; i++) {
        if (i < host_length && text[i] != '.') {
            if (!is_alnum(text[i]) && text[i] != '-')
                return false;
            continue;
        }
        if (i == label_start || text[label_start] == '-' || text[i - 1] == '-')
            return false;
        label_start = i + 1;
    }
    if (colon == NULL)
        return true;
    size_t port_length = length - host_length - 1;
    if (port_length == 0 || port_length > 5)
        return false;
    for (size_t i = host_length + 1; i < length; i++)
        if (text[i] < '0' || text[i] > '9')
            return false;
    return true;
}

static bool tag_valid(const char *tag)
{
    size_t length = strlen(tag);

    if (length == 0 || length > REFERENCE_TAG_MAX || tag[0] == '.' || tag[0] == '-')
        return false;
    for (size_t i = 0; i < length; i++)
        if (!is_alnum(tag[i]) && tag[i] != '_' && tag[i] != '.' && tag[i] != '-')
            return false;
    return true;
}

/* Docker's rule: the first component names a registry when it looks like a
 * host ("quay.io", "localhost:5000", "localhost"); otherwise the image is on
 * Docker Hub. */
static bool first_component_is_domain(const char *text, size_t length)
{
    if (length == 9 && memcmp(text, "localhost", 9) == 0)
        return true;
    for (size_t i = 0; i < length; i++)
        if (text[i] == '.' || text[i] == ':' || (text[i] >= 'A' && text[i] <= 'Z'))
            return true;
    return false;
}

static bool is_docker_hub(const char *domain, size_t length)
{
    return (length == 9 && memcmp(domain, "docker.io", 9) == 0) ||
           (length == 15 && memcmp(domain, "index.docker.io", 15) == 0);
}

/* Check each "/"-separated component of a repository path. */
static int check_path(const char *reference, const char *path, size_t length,
                      struct keel_error *err)
{
    size_t start = 0;

    for (size_t i = 0; i <= length; i++) {
        if (i < length && path[i] != '/')
            continue;
        if (i == start)
            return keel_error_invalid(err, "bad image reference \"%s\": empty path component",
                                      reference);
        for (size_t j = start; j < i; j++)
            if (path[j] >= 'A' && path[j] <= 'Z')
                return keel_error_invalid(
                    err, "bad image reference \"%s\": repository name must be lower case",
                    reference);
        if (!component_valid(path + start, i - start))
            return keel_error_invalid(err,
                                      "bad image reference \"%s\": bad path component \"%.*s\"",
                                      reference, (int)(i - start), path + start);
        start = i + 1;
    }
    return 0;
}

int image_reference_normalize(const char *reference, char **name, struct keel_error *err)
{
    if (reference[0] == '\0')
        return keel_error_invalid(err, "empty image reference");
    if (strchr(reference, '@') != NULL)
        return keel_error_invalid(
            err, "bad image reference \"%s\": digest references are not supported", reference);

    /* The tag follows the last ":" after the last "/" (a ":" before it
     * belongs to a registry's port). */
    const char *last_slash = strrchr(reference, '/');
    const char *colon = strrchr(reference, ':');
    const char *tag = "latest";
    size_t name_length = strlen(reference);
    if (colon != NULL && (last_slash == NULL || colon > last_slash)) {
        tag = colon + 1;
        name_length = (size_t)(colon - reference);
        if (!tag_valid(tag))
            return keel_error_invalid(err, "bad image reference \"%s\": bad tag \"%s\"", reference,
                                      tag);
    }
    if (name_length == 0)
        return keel_error_invalid(err, "bad image reference \"%s\": no repository name", reference);
    if (name_length > REFERENCE_NAME_MAX)
        return keel_error_invalid(
            err, "bad image reference \"%.64s...\": name longer than %d characters", reference,
            REFERENCE_NAME_MAX);

    const char *domain = NULL;
    size_t domain_length = 0;
    const char *path = reference;
    size_t path_length = name_length;
    const char *first_slash = memchr(reference, '/', name_length);
    if (first_slash != NULL &&
        first_component_is_domain(reference, (size_t)(first_slash - reference))) {
        domain = reference;
        domain_length = (size_t)(first_slash - reference);
        path = first_slash + 1;
        path_length = name_length - domain_length - 1;
        if (!domain_valid(domain, domain_length))
            return keel_error_invalid(err, "bad image reference \"%s\": bad registry \"%.*s\"",
                                      reference, (int)domain_length, domain);
    }
    if (check_path(reference, path, path_length, err) < 0)
        return -1;

    /* Docker Hub's implicit parts go: "docker.io/library/busybox" is "busybox". */
    if (domain != NULL && is_docker_hub(domain, domain_length))
        domain = NULL;
    if (domain == NULL && path_length > 8 && memcmp(path, "library/", 8) == 0 &&
        memchr(path + 8, '/', path_length - 8) == NULL) {
        path += 8;
        path_length -= 8;
    }

    int length = asprintf(name, "%.*s%s%.*s:%s", domain ? (int)domain_length : 0,
                          domain ? domain : "", domain ? "/" : "", (int)path_length, path, tag);
    if (length < 0) {
        *name = NULL;
        return keel_error_set(err, ENOMEM, "normalise image reference \"%s\"", reference);
    }
    return 0;
}

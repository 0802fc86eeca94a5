/* container_spec.h — the OCI runtime config of a container, made from a Docker create request and
 * its image's config. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "error.h"
#include "image_config.h"

/* What the daemon must do beside the runtime config. */
struct container_spec_extras {
    bool init;       /* HostConfig.Init: run container-init as PID 1 */
    bool tty;        /* Config.Tty: the process gets a pty */
    bool open_stdin; /* Config.OpenStdin */
    char *hostname;  /* the container's hostname (heap) */
};

/* Build the container's OCI runtime config (a jansson object, caller
 * decrefs) from Keel's defaults (oci_spec_default_config: Docker's
 * capabilities, seccomp profile, masked paths, devices, no_new_privs) and:
 *
 *   request  the POST /containers/create body (Docker Engine API 1.41:
 *            Config fields at the top level, HostConfig inside);
 *   image    the image's config (may be NULL for none);
 *   id       the container's id (64 hex); the default hostname is its
 *            first 12 characters;
 *   rootfs   the absolute path of the container's root filesystem: the
 *            user name in User is looked up in its /etc/passwd and
 *            /etc/group (resolved beneath it, no symlink out); a missing
 *            WorkingDir is created beneath it (0755, root's), as Docker
 *            does before start;
 *   files    a directory holding the container's hostname, hosts and
 *            resolv.conf files, bind-mounted (read-write, as Docker does)
 *            at /etc/hostname, /etc/hosts, /etc/resolv.conf, each only
 *            when the file exists there; may be NULL.
 *
 * Merging as Docker does: Entrypoint from the request replaces the image's
 * (and then the image's Cmd is dropped); Cmd from the request replaces the
 * image's; Env is the image's then the request's (a later KEY replaces an
 * earlier one); WorkingDir, User from the request else the image; Labels
 * merged (into the config's annotations, the image's then the
 * request's). No command at all is refused ("no command specified"), as
 * Docker.
 *
 * HostConfig: Binds ("/src:/dst[:ro|rw][,...]"; the source must be
 * absolute; named volumes are refused by name), Privileged (every
 * capability, no seccomp, no masked or read-only paths, all devices,
 * /sys read-write), CapAdd/CapDrop ("ALL", with or without "CAP_"), NetworkMode
 * ("host": no network namespace; "none", "default", "bridge" and "": a new
 * one with only lo — bridge networking comes later; anything else refused),
 * PidMode, IpcMode, UTSMode ("host" shares the host's; "" or "private" is
 * the default; others refused), ReadonlyRootfs, Memory and MemorySwap
 * (bytes), PidsLimit (>0; 0 or -1: none), NanoCpus (cpu.max
 * "QUOTA 100000"), CpuShares (cpu weight), SecurityOpt
 * ("seccomp=unconfined", "seccomp:unconfined", "no-new-privileges",
 * "no-new-privileges:true|false"; "apparmor=", "label=" are refused by name),
 * Init, Tty, OpenStdin, StopSignal; also CgroupnsMode, ShmSize,
 * MemoryReservation, CpuQuota/CpuPeriod, Sysctls, OomScoreAdj, ConsoleSize.
 * Mounts, Tmpfs, Devices, VolumesFrom, Ulimits, GroupAdd and DeviceRequests
 * are refused when not empty, never silently dropped. RestartPolicy,
 * AutoRemove, LogConfig are the daemon's, not the runtime's: ignored here.
 *
 * A malformed or unsupported field is refused with its path:
 *   "HostConfig.CapAdd[0]: unknown capability \"CAP_FLY\""
 * (EINVAL: the daemon answers 400). */
int container_spec_build(const json_t *request, const struct image_config *image, const char *id,
                         const char *rootfs, const char *files, json_t **config,
                         struct container_spec_extras *extras, struct keel_error *err);
void container_spec_extras_free(struct container_spec_extras *extras);

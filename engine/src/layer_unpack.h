/* layer_unpack.h — one image layer's tar stream into a directory, safely, as an overlayfs lower
 * layer. */
#pragma once

#include <stdint.h>

#include "digest.h"
#include "error.h"

struct layer_unpack_stats {
    uint64_t entries;          /* tar entries applied (whiteouts included) */
    uint64_t compressed_bytes; /* bytes read from input_fd */
    uint64_t tar_bytes;        /* bytes of the uncompressed tar stream (what the diff id covers) */
};

/* Called now and then (about every MiB of input) while unpacking; may be NULL. */
typedef void layer_unpack_progress_fn(const struct layer_unpack_stats *stats, void *data);

struct layer_unpack_options {
    layer_unpack_progress_fn *progress;
    void *progress_data;
};

/* Read a layer (a tar stream, uncompressed or compressed with gzip, zstd or
 * xz, detected from its magic) from input_fd and apply it to the directory
 * directory_fd, which the caller created empty.
 *
 * Layer semantics, as overlayfs expects of a lower directory:
 *   - ".wh.NAME" becomes a whiteout: the character device 0:0 named NAME;
 *   - ".wh..wh..opq" sets the xattr trusted.overlay.opaque="y" on its
 *     directory;
 *   - regular files, directories, symlinks, hard links, character and block
 *     devices and fifos are created with the entry's mode (setuid, setgid and
 *     sticky bits included), owner (numeric uid/gid), mtime (directories'
 *     mtimes are applied at the end, after their contents) and xattrs
 *     (SCHILY.xattr.* pax records, security.capability included).
 *
 * Safety: nothing is ever written outside directory_fd. Every entry is
 * resolved under it without following any symlink. These are refused with
 * an error that names the entry (e.g. "entry \"../etc/passwd\": path leaves
 * the layer"):
 *   - an absolute path, or a ".." component;
 *   - a path whose parent goes through a symlink (a symlink followed by a
 *     file written through it);
 *   - a hard link whose target is outside the layer, absent, or a symlink
 *     chain out;
 *   - a directory entry, a chmod or an xattr that would land on an existing
 *     symlink;
 *   - a malformed whiteout name (".wh.", ".wh..", ".wh...", ".wh..wh.X"
 *     other than the opaque marker, a whiteout with "/" in its name);
 *   - an entry type that has no place in a layer;
 *   - a corrupt or truncated stream.
 * On failure the directory holds a partial tree: the caller removes it.
 *
 * *diff_id receives the SHA-256 of the whole uncompressed tar stream,
 * including the end-of-archive blocks and padding after it (the stream is
 * read to its end), so the caller can compare it with the image config's
 * diff id. stats may be NULL. */
int layer_unpack(int input_fd, int directory_fd, const struct layer_unpack_options *options,
                 struct digest *diff_id, struct layer_unpack_stats *stats, struct keel_error *err);

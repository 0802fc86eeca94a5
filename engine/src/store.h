/* store.h — the image store on disk: blobs by digest, a name index, unpacked layers by chain id,
 * container root filesystems. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "error.h"

/* A store at ROOT is an OCI image layout plus Keel's own directories:
 *
 *   ROOT/oci-layout          {"imageLayoutVersion":"1.0.0"}
 *   ROOT/index.json          an OCI image index: one manifest descriptor per
 *                            name, annotated "io.containerd.image.name" (the
 *                            full name, "toolbox:latest") and
 *                            "org.opencontainers.image.ref.name" (its tag,
 *                            "latest"); an image without a name keeps a
 *                            descriptor with neither annotation
 *   ROOT/blobs/sha256/HEX    blobs, named by the SHA-256 of their content
 *   ROOT/layers/HEX/         a layer's unpacked tree, HEX its chain id: an
 *                            overlayfs lower directory
 *   ROOT/containers/ID/      a container's root filesystem: upper/, work/,
 *                            rootfs/ (the overlay's mount point) and the file
 *                            "layers" (its chain ids, bottom first, one per
 *                            line) so that prune keeps them
 *   ROOT/tmp/                blobs and layers being written: whatever is
 *                            there when the store is opened was left by a
 *                            crash and is removed
 *   ROOT/lock                flock(2)ed exclusively by a writer for the
 *                            whole of a change (an import, a removal)
 *
 * Every change is made whole or not at all: a blob or layer is written under
 * tmp/, synced, then renamed into place; index.json is replaced atomically
 * (file_write_atomic), and an image exists once index.json names it.
 *
 * A read-only store (the one inside the OS image) may sit under the
 * writable one: blobs, layers and names are looked up in the writable store
 * first, then in the base. Nothing is ever written to, or removed from, the
 * base. */

struct store {
    int root_fd; /* the writable store's directory; -1 when opened read-only without one */
    char *root_path;
    int base_fd; /* the read-only base store's directory, -1 when there is none */
    char *base_path;
    int lock_fd; /* ROOT/lock while store_lock() holds it, else -1 */
    bool read_only;
};

#define STORE_OPEN_READ_ONLY 1u /* do not create the layout, refuse every change (EROFS) */

/* Open the store at root (created with its layout when missing, unless
 * STORE_OPEN_READ_ONLY), and base under it when base is not NULL (it must
 * exist and is never written). When no other process holds the lock, tmp/
 * is emptied of a crashed writer's leftovers. root may be NULL with
 * STORE_OPEN_READ_ONLY and a base. */
int store_open(struct store *store, const char *root, const char *base, unsigned flags,
               struct keel_error *err);
void store_close(struct store *store);

/* Take (blocking) and release the writer's lock. Every change below
 * requires it; reads do not. */
int store_lock(struct store *store, struct keel_error *err);
void store_unlock(struct store *store);

/* ---- blobs ---- */

/* A blob being written: streamed into tmp/, hashed on the way. */
struct store_blob_writer {
    int fd;
    char *temporary_path; /* relative to the root's fd */
    struct digest_hasher hasher;
    uint64_t size;
};

int store_blob_writer_open(struct store *store, struct store_blob_writer *writer,
                           struct keel_error *err);
int store_blob_writer_write(struct store_blob_writer *writer, const void *data, size_t length,
                            struct keel_error *err);
/* fsync the blob and rename it to blobs/sha256/HEX (when that blob already
 * exists, ours is dropped: same content), fsync the directory. When expected
 * is not NULL and the content's digest differs, nothing is kept and the
 * error says "content has digest sha256:X, expected sha256:Y". *digest (may
 * be NULL) receives the digest. The writer is finished either way. */
int store_blob_writer_commit(struct store *store, struct store_blob_writer *writer,
                             const struct digest *expected, struct digest *digest,
                             struct keel_error *err);
/* Drop a writer that will not be committed (no-op after commit). */
void store_blob_writer_discard(struct store *store, struct store_blob_writer *writer);

/* A whole small blob (a manifest, a config) in one call. */
int store_blob_put(struct store *store, const void *data, size_t length, struct digest *digest,
                   struct keel_error *err);

/* Open a blob for reading (O_RDONLY|O_CLOEXEC), from the writable store or
 * the base. ENOENT: "blob sha256:X not found". Returns the fd. */
int store_blob_open(const struct store *store, const struct digest *digest, struct keel_error *err);
/* Read a blob into a NUL-terminated heap buffer; EFBIG past maximum bytes. */
int store_blob_read(const struct store *store, const struct digest *digest, size_t maximum,
                    char **data, size_t *length, struct keel_error *err);
int store_blob_size(const struct store *store, const struct digest *digest, uint64_t *size,
                    struct keel_error *err);
bool store_blob_exists(const struct store *store, const struct digest *digest);

/* The blobs of the writable store (never the base's), any order. Names in
 * blobs/sha256 that are not 64 hex digits are skipped. */
int store_blob_list(const struct store *store, struct digest **digests, size_t *count,
                    struct keel_error *err);
/* Remove a blob of the writable store. */
int store_blob_remove(struct store *store, const struct digest *digest, struct keel_error *err);

/* ---- layers ---- */

/* A layer directory being filled, under tmp/. */
struct store_layer_writer {
    int directory_fd;     /* O_DIRECTORY of the empty directory to unpack into */
    char *temporary_path; /* relative to the root's fd */
};

int store_layer_writer_open(struct store *store, struct store_layer_writer *writer,
                            struct keel_error *err);
/* Make the tree durable (syncfs) and rename it to layers/HEX of chain_id;
 * when that layer already exists, ours is removed and the existing one kept.
 * fsync layers/. The writer is finished either way. */
int store_layer_writer_commit(struct store *store, struct store_layer_writer *writer,
                              const struct digest *chain_id, struct keel_error *err);
/* Remove a layer being written (its whole tree). No-op after commit. */
void store_layer_writer_discard(struct store *store, struct store_layer_writer *writer);

bool store_layer_exists(const struct store *store, const struct digest *chain_id);
/* The absolute path of a layer's tree, in the writable store or the base. */
int store_layer_path(const struct store *store, const struct digest *chain_id, char **path,
                     struct keel_error *err);
/* The layers of the writable store (never the base's). */
int store_layer_list(const struct store *store, struct digest **chain_ids, size_t *count,
                     struct keel_error *err);
/* Remove a layer of the writable store: renamed into tmp/ first, so that a
 * crash never leaves a half-removed tree under layers/, then deleted. */
int store_layer_remove(struct store *store, const struct digest *chain_id, struct keel_error *err);

/* Remove the tree at path (relative to dir_fd) without following symlinks
 * and without leaving the tree (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS
 * for every directory). A missing path is not an error. */
int store_remove_tree(int dir_fd, const char *path, struct keel_error *err);

/* ---- the name index ---- */

struct store_index_entry {
    char *name; /* "toolbox:latest"; NULL for an image kept without a name */
    struct digest manifest;
    uint64_t manifest_size;
    bool in_base; /* from the read-only base store */
};

struct store_index {
    struct store_index_entry *entries;
    size_t count;
};

/* The writable store's entries (index.json order), then the base's whose
 * name the writable store does not also hold. A missing index.json is an
 * empty index; a malformed one is an error naming the problem. */
int store_index_read(const struct store *store, struct store_index *index, struct keel_error *err);
void store_index_free(struct store_index *index);

/* Point name at manifest, replacing what it pointed to; with name NULL, keep
 * manifest as an unnamed image unless an entry for it exists. Rewrites
 * index.json atomically. Caller holds the lock. */
int store_index_set(struct store *store, const char *name, const struct digest *manifest,
                    uint64_t manifest_size, struct keel_error *err);
/* Remove the entry for name. ENOENT when the writable store has no such
 * name; EROFS when only the base has it ("... is in the read-only base
 * store"). */
int store_index_remove(struct store *store, const char *name, struct keel_error *err);
/* Remove every writable entry (named or not) pointing at manifest. */
int store_index_remove_manifest(struct store *store, const struct digest *manifest,
                                struct keel_error *err);

/* ---- root filesystems ---- */

/* A container id: [A-Za-z0-9][A-Za-z0-9_.-]{0,127}. */
bool store_container_id_valid(const char *id);

/* Assemble a container's writable root filesystem: overlayfs with the layers
 * (chain_ids bottom first, each from the writable store or the base) as
 * lower directories and ROOT/containers/ID/upper and work; an image with no
 * layers gets an empty lower directory. EEXIST when the container's
 * directory exists. *rootfs_path receives ROOT/containers/ID/rootfs, the
 * mount point. Caller holds the lock. */
int store_rootfs_mount(struct store *store, const char *container_id,
                       const struct digest *chain_ids, size_t count, char **rootfs_path,
                       struct keel_error *err);
/* Unmount a container's root filesystem (lazily when busy) and remove
 * ROOT/containers/ID with its upper directory. ENOENT when there is no such
 * container. Caller holds the lock. */
int store_rootfs_remove(struct store *store, const char *container_id, struct keel_error *err);
/* The chain ids every container of the writable store uses (the union of
 * their "layers" files), for prune. */
int store_rootfs_layers_in_use(const struct store *store, struct digest **chain_ids, size_t *count,
                               struct keel_error *err);

/* Mount a read-only view of the layers at target: overlayfs with only lower
 * directories, or a read-only bind mount for a single layer. */
int store_layers_mount_view(const struct store *store, const struct digest *chain_ids, size_t count,
                            const char *target, struct keel_error *err);

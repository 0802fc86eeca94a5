/* image_import_archive.c — reading the outer archive: its files by name, blobs, links. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "image_import_internal.h"

#define IMPORT_READ_BUFFER_SIZE (256u << 10)
#define IMPORT_LINK_HOPS_MAX 32

/* The archive's own documents: small, read in memory, never blobs. */
static const char *const import_documents[] = {"index.json", "manifest.json", "repositories",
                                               "oci-layout"};

/* One pass over the input. */
struct import_reading {
    struct store *store;
    int input_fd;
    unsigned char *input_buffer; /* what the read callback hands libarchive */
    unsigned char *data_buffer;  /* an entry's data, copied out of libarchive */
    uint64_t bytes_read;         /* counted by the read callback */
    image_import_archive_progress_fn *progress;
    void *progress_data;
    struct image_import_archive *archive;
    size_t file_capacity;
};

static void import_report_reading(struct import_reading *reading, bool always)
{
    if (reading->progress != NULL)
        reading->progress(reading->bytes_read, always, reading->progress_data);
}

/* ---- names ---- */

/* Normalise an archive path: "./a//b/" -> "a/b". Absolute paths and ".."
 * are refused unless allow_parent, where ".." may not climb above the root. */
static int import_path_normalize(const char *path, bool allow_parent, char **normalized,
                                 struct keel_error *err)
{
    if (!allow_parent && path[0] == '/')
        return keel_error_invalid(err, "absolute path");
    _cleanup_free_ char *out = malloc(strlen(path) + 1);
    if (out == NULL)
        return keel_error_set(err, ENOMEM, "normalise path");
    size_t used = 0;
    for (const char *p = path; *p != '\0';) {
        size_t length = strcspn(p, "/");
        if (length == 2 && p[0] == '.' && p[1] == '.') {
            if (!allow_parent || used == 0)
                return keel_error_invalid(err, "path leaves the archive");
            while (used > 0 && out[used - 1] != '/')
                used--;
            if (used > 0)
                used--; /* the slash before the dropped component */
        } else if (length > 0 && !(length == 1 && p[0] == '.')) {
            if (used > 0)
                out[used++] = '/';
            memcpy(out + used, p, length);
            used += length;
        }
        p += length;
        while (*p == '/')
            p++;
    }
    out[used] = '\0';
    *normalized = steal_pointer(&out);
    return 0;
}

static bool import_is_document(const char *name)
{
    for (size_t i = 0; i < sizeof import_documents / sizeof import_documents[0]; i++)
        if (strcmp(name, import_documents[i]) == 0)
            return true;
    return false;
}

/* ---- reading the archive ---- */

static la_ssize_t import_read_callback(struct archive *reader, void *data, const void **block)
{
    struct import_reading *reading = data;
    for (;;) {
        ssize_t n = read(reading->input_fd, reading->input_buffer, IMPORT_READ_BUFFER_SIZE);
        if (n >= 0) {
            reading->bytes_read += (uint64_t)n;
            *block = reading->input_buffer;
            return n;
        }
        if (errno != EINTR) {
            archive_set_error(reader, errno, "read the input: %s", strerror(errno));
            return -1;
        }
    }
}

static int import_archive_error(struct archive *reader, struct keel_error *err)
{
    const char *message = archive_error_string(reader);
    int errno_value = archive_errno(reader);
    keel_error_invalid(err, "read the archive: %s", message ? message : "unknown error");
    if (errno_value > 0)
        err->errno_value = errno_value;
    return -1;
}

static struct image_import_file *import_file_append(struct import_reading *reading, char *name,
                                                    struct keel_error *err)
{
    struct image_import_archive *archive = reading->archive;
    if (archive->count == reading->file_capacity) {
        size_t capacity = reading->file_capacity ? reading->file_capacity * 2 : 64;
        struct image_import_file *files = realloc(archive->files, capacity * sizeof *files);
        if (files == NULL) {
            free(name);
            keel_error_set(err, ENOMEM, "read the archive");
            return NULL;
        }
        archive->files = files;
        reading->file_capacity = capacity;
    }
    struct image_import_file *file = &archive->files[archive->count];
    *file = (struct image_import_file){.name = name, .sequence = archive->count};
    archive->count++;
    return file;
}

static int import_read_document(struct import_reading *reading, struct archive *reader,
                                struct image_import_file *file, struct keel_error *err)
{
    size_t capacity = 0;
    for (;;) {
        if (capacity - file->length < IMPORT_READ_BUFFER_SIZE + 1) {
            capacity = file->length + IMPORT_READ_BUFFER_SIZE + 1;
            char *bigger = realloc(file->data, capacity);
            if (bigger == NULL)
                return keel_error_set(err, ENOMEM, "read %s", file->name);
            file->data = bigger;
        }
        la_ssize_t n =
            archive_read_data(reader, file->data + file->length, IMPORT_READ_BUFFER_SIZE);
        if (n < 0)
            return import_archive_error(reader, err);
        if (n == 0)
            break;
        file->length += (size_t)n;
        if (file->length > IMAGE_IMPORT_DOCUMENT_MAX)
            return keel_error_set(err, EFBIG, "%s: larger than %u bytes", file->name,
                                  IMAGE_IMPORT_DOCUMENT_MAX);
        import_report_reading(reading, false);
    }
    file->data[file->length] = '\0';
    return 0;
}

static int import_read_blob(struct import_reading *reading, struct archive *reader,
                            struct image_import_file *file, struct keel_error *err)
{
    struct store_blob_writer writer;
    if (store_blob_writer_open(reading->store, &writer, err) < 0)
        return -1;
    for (;;) {
        la_ssize_t n = archive_read_data(reader, reading->data_buffer, IMPORT_READ_BUFFER_SIZE);
        if (n < 0) {
            store_blob_writer_discard(reading->store, &writer);
            return import_archive_error(reader, err);
        }
        if (n == 0)
            break;
        while (file->magic_length < sizeof file->magic &&
               file->magic_length < file->size + (size_t)n) {
            file->magic[file->magic_length] = reading->data_buffer[file->magic_length - file->size];
            file->magic_length++;
        }
        if (store_blob_writer_write(&writer, reading->data_buffer, (size_t)n, err) < 0) {
            store_blob_writer_discard(reading->store, &writer);
            return -1;
        }
        file->size += (uint64_t)n;
        import_report_reading(reading, false);
    }
    return store_blob_writer_commit(reading->store, &writer, NULL, &file->digest, err);
}

static int import_read_link(const char *name, const char *target, bool hard, char **resolved,
                            struct keel_error *err)
{
    if (hard)
        return import_path_normalize(target, false, resolved, err);
    /* A symlink's target is relative to its directory; an absolute one is
     * taken from the archive's root, as under chroot. */
    const char *slash = strrchr(name, '/');
    int directory_length = slash ? (int)(slash - name) : 0;
    _cleanup_free_ char *joined = NULL;
    if (asprintf(&joined, "%.*s/%s", target[0] == '/' ? 0 : directory_length, name, target) < 0)
        return keel_error_set(err, ENOMEM, "read link");
    return import_path_normalize(joined, true, resolved, err);
}

static int import_read_entry(struct import_reading *reading, struct archive *reader,
                             struct archive_entry *entry, struct keel_error *err)
{
    const char *raw_name = archive_entry_pathname(entry);
    if (raw_name == NULL)
        return keel_error_invalid(err, "an entry of the archive has no readable name");
    char *name = NULL;
    if (import_path_normalize(raw_name, false, &name, err) < 0)
        return keel_error_prefix(err, "entry \"%s\"", raw_name);

    const char *hard_target = archive_entry_hardlink(entry);
    mode_t type = archive_entry_filetype(entry);
    if (hard_target == NULL && type == AE_IFDIR) {
        free(name);
        return 0;
    }
    if (name[0] == '\0') {
        free(name);
        return keel_error_invalid(err, "entry \"%s\": not a directory", raw_name);
    }
    struct image_import_file *file = import_file_append(reading, name, err);
    if (file == NULL)
        return -1;

    if (hard_target != NULL || type == AE_IFLNK) {
        const char *target = hard_target ? hard_target : archive_entry_symlink(entry);
        if (target == NULL)
            return keel_error_invalid(err, "entry \"%s\": link without a target", raw_name);
        file->is_link = true;
        if (import_read_link(file->name, target, hard_target != NULL, &file->link_target, err) < 0)
            return keel_error_prefix(err, "entry \"%s\": link to \"%s\"", raw_name, target);
        return 0;
    }
    if (type != AE_IFREG)
        return keel_error_invalid(err, "entry \"%s\": not a file, directory or link", raw_name);
    if (import_is_document(file->name))
        return import_read_document(reading, reader, file, err);
    if (import_read_blob(reading, reader, file, err) < 0)
        return keel_error_prefix(err, "entry \"%s\"", raw_name);
    return 0;
}

static int import_archive_read(struct import_reading *reading, struct keel_error *err)
{
    struct archive *reader = archive_read_new();
    if (reader == NULL)
        return keel_error_set(err, ENOMEM, "read the archive");
    /* Only what image archives come as: tar, maybe compressed. */
    archive_read_support_filter_gzip(reader);
    archive_read_support_filter_zstd(reader);
    archive_read_support_filter_xz(reader);
    archive_read_support_filter_none(reader);
    archive_read_support_format_tar(reader);
    int r = 0;
    import_report_reading(reading, true);
    if (archive_read_open(reader, reading, NULL, import_read_callback, NULL) != ARCHIVE_OK)
        r = import_archive_error(reader, err);
    while (r == 0) {
        struct archive_entry *entry;
        int status = archive_read_next_header(reader, &entry);
        if (status == ARCHIVE_EOF)
            break;
        if (status != ARCHIVE_OK && status != ARCHIVE_WARN) {
            r = import_archive_error(reader, err);
            break;
        }
        import_report_reading(reading, false);
        r = import_read_entry(reading, reader, entry, err);
    }
    archive_read_free(reader);
    return r;
}

/* ---- the archive's files by name ---- */

static int import_file_compare(const void *a, const void *b)
{
    const struct image_import_file *x = a, *y = b;
    int by_name = strcmp(x->name, y->name);
    if (by_name != 0)
        return by_name;
    return x->sequence < y->sequence ? -1 : x->sequence > y->sequence;
}

static int import_file_compare_name(const void *key, const void *element)
{
    const struct image_import_file *file = element;
    return strcmp(key, file->name);
}

static void import_file_free(struct image_import_file *file)
{
    free(file->name);
    free(file->link_target);
    free(file->data);
}

void image_import_archive_free(struct image_import_archive *archive)
{
    for (size_t i = 0; i < archive->count; i++)
        import_file_free(&archive->files[i]);
    free(archive->files);
    *archive = (struct image_import_archive){0};
}

static struct image_import_file *import_archive_lookup(const struct image_import_archive *archive,
                                                       const char *name)
{
    if (archive->count == 0)
        return NULL;
    return bsearch(name, archive->files, archive->count, sizeof *archive->files,
                   import_file_compare_name);
}

/* Sort by name keeping the last entry of each name, then point every link
 * at the regular file it leads to. */
static int import_archive_index(struct image_import_archive *archive, struct keel_error *err)
{
    if (archive->count == 0)
        return 0;
    qsort(archive->files, archive->count, sizeof *archive->files, import_file_compare);
    size_t kept = 0;
    for (size_t i = 0; i < archive->count; i++) {
        if (i + 1 < archive->count &&
            strcmp(archive->files[i].name, archive->files[i + 1].name) == 0) {
            import_file_free(&archive->files[i]);
            continue;
        }
        archive->files[kept++] = archive->files[i];
    }
    archive->count = kept;

    for (size_t i = 0; i < archive->count; i++) {
        struct image_import_file *link = &archive->files[i];
        if (!link->is_link)
            continue;
        const struct image_import_file *file = link;
        for (int hops = 0; file->is_link; hops++) {
            if (hops == IMPORT_LINK_HOPS_MAX)
                return keel_error_invalid(err, "link \"%s\": too many levels of links", link->name);
            const char *target = file->link_target;
            file = import_archive_lookup(archive, target);
            if (file == NULL)
                return keel_error_invalid(err,
                                          "link \"%s\": its target \"%s\" is not in the archive",
                                          link->name, target);
        }
        link->resolved = (size_t)(file - archive->files);
    }
    return 0;
}

const struct image_import_file *
image_import_archive_find(const struct image_import_archive *archive, const char *name)
{
    _cleanup_free_ char *normalized = NULL;
    struct keel_error ignored;
    if (import_path_normalize(name, false, &normalized, &ignored) < 0)
        return NULL;
    const struct image_import_file *file = import_archive_lookup(archive, normalized);
    if (file != NULL && file->is_link)
        file = &archive->files[file->resolved];
    return file;
}

int image_import_archive_blob(const struct image_import_archive *archive, const char *name,
                              const struct image_import_file **file, struct keel_error *err)
{
    *file = image_import_archive_find(archive, name);
    if (*file == NULL || (*file)->data != NULL)
        return keel_error_invalid(err, "\"%s\" is not in the archive", name);
    return 0;
}

int image_import_archive_read(const struct store *store, const struct image_import_file *file,
                              size_t maximum, char **data, size_t *length, struct keel_error *err)
{
    if (file->data == NULL)
        return store_blob_read(store, &file->digest, maximum, data, length, err);
    if (file->length > maximum)
        return keel_error_set(err, EFBIG, "%s: larger than %zu bytes", file->name, maximum);
    *data = malloc(file->length + 1);
    if (*data == NULL)
        return keel_error_set(err, ENOMEM, "read %s", file->name);
    memcpy(*data, file->data, file->length + 1);
    *length = file->length;
    return 0;
}

int image_import_archive_load(struct store *store, int input_fd,
                              image_import_archive_progress_fn *progress, void *progress_data,
                              struct image_import_archive *archive, struct keel_error *err)
{
    *archive = (struct image_import_archive){0};
    _cleanup_free_ unsigned char *input_buffer = malloc(IMPORT_READ_BUFFER_SIZE);
    _cleanup_free_ unsigned char *data_buffer = malloc(IMPORT_READ_BUFFER_SIZE);
    if (input_buffer == NULL || data_buffer == NULL)
        return keel_error_set(err, ENOMEM, "import");
    struct import_reading reading = {
        .store = store,
        .input_fd = input_fd,
        .input_buffer = input_buffer,
        .data_buffer = data_buffer,
        .progress = progress,
        .progress_data = progress_data,
        .archive = archive,
    };
    int r = import_archive_read(&reading, err);
    if (r == 0)
        r = import_archive_index(archive, err);
    /* The last of the input (the tar's end blocks) is read past the last entry. */
    import_report_reading(&reading, true);
    if (r < 0)
        image_import_archive_free(archive);
    return r;
}

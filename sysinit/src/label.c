/* label.c: finding a block device by ext4 label (superblock decode + /sys scan). */
#include "label.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "console.h"

#define EXT_SUPERBLOCK_OFFSET 1024
#define EXT_MAGIC_OFFSET 0x38
#define EXT_MAGIC 0xEF53
#define EXT_LABEL_OFFSET 0x78

int label_decode_ext4(const unsigned char *buffer, size_t length, char label[CMDLINE_LABEL_MAX + 1])
{
    const unsigned char *superblock = buffer + EXT_SUPERBLOCK_OFFSET;
    uint16_t magic;

    if (length < EXT_SUPERBLOCK_OFFSET + EXT_LABEL_OFFSET + CMDLINE_LABEL_MAX)
        return -1;
    /* On-disk fields are little-endian whatever the CPU. */
    magic = (uint16_t)(superblock[EXT_MAGIC_OFFSET] | superblock[EXT_MAGIC_OFFSET + 1] << 8);
    if (magic != EXT_MAGIC)
        return -1;
    /* NUL-padded, but a 16-byte label fills the field with no NUL at all. */
    memcpy(label, superblock + EXT_LABEL_OFFSET, CMDLINE_LABEL_MAX);
    label[CMDLINE_LABEL_MAX] = '\0';
    return 0;
}

/* Devices that cannot hold the writable state partition, skipped because
 * probing them is wasted boot time: loop and ram devices (nothing but our
 * own squashfs is attached this early) and optical drives (read-only; an
 * empty one costs ~100 ms of SCSI retries under QEMU just to open, and
 * reading it fills the console with I/O errors). */
static int label_is_candidate(const char *name)
{
    return name[0] != '.' && strncmp(name, "loop", 4) != 0 && strncmp(name, "ram", 3) != 0 &&
           strncmp(name, "sr", 2) != 0;
}

static int label_device_matches(const char *device_path, const char *label)
{
    unsigned char buffer[LABEL_PROBE_SIZE];
    char found[CMDLINE_LABEL_MAX + 1];
    _cleanup_close_ int fd = open(device_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    ssize_t length;

    /* Card readers with no card (ENOMEDIUM), nodes devtmpfs has not made yet
     * (ENOENT): not our partition, and not a reason to fail the boot. */
    if (fd < 0) {
        console_debug("label scan: open %s: %s (skipped)", device_path, strerror(errno));
        return 0;
    }
    do
        length = pread(fd, buffer, sizeof(buffer), 0);
    while (length < 0 && errno == EINTR);
    if (length < 0) {
        console_debug("label scan: read %s: %s (skipped)", device_path, strerror(errno));
        return 0;
    }
    if (label_decode_ext4(buffer, (size_t)length, found) < 0)
        return 0;
    console_debug("label scan: %s is ext, label \"%s\"", device_path, found);
    return strcmp(found, label) == 0;
}

int label_find_device(const char *label, char *device_path, size_t size, struct sysinit_error *err)
{
    _cleanup_closedir_ DIR *dir = opendir("/sys/class/block");
    struct dirent *entry;

    if (dir == NULL)
        return error_make(err, errno, "open", "/sys/class/block");
    while ((errno = 0, entry = readdir(dir)) != NULL) {
        if (!label_is_candidate(entry->d_name))
            continue;
        snprintf(device_path, size, "/dev/%s", entry->d_name);
        if (label_device_matches(device_path, label))
            return 1;
    }
    if (errno)
        return error_make(err, errno, "read directory", "/sys/class/block");
    return 0;
}

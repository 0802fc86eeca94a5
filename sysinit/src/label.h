/* label.h: finding a block device by the label in its ext2/3/4 superblock. */
#ifndef SYSINIT_LABEL_H
#define SYSINIT_LABEL_H

#include <stddef.h>

#include "cmdline.h"
#include "error.h"

/* Bytes to read from the start of a device to see its ext superblock. */
#define LABEL_PROBE_SIZE (1024 + 256)

/* Decodes the label of an ext2/3/4 filesystem from the first bytes of a
 * device (buffer starts at device offset 0). Pure. Returns 0 and fills label
 * (NUL-terminated) when the superblock magic is there, -1 otherwise. */
int label_decode_ext4(const unsigned char *buffer, size_t length,
                      char label[CMDLINE_LABEL_MAX + 1]);

/* Scans /sys/class/block once for an ext filesystem labelled label. Returns 1
 * and fills device_path ("/dev/NAME") when found, 0 when not, -1 on error. */
int label_find_device(const char *label, char *device_path, size_t size, struct sysinit_error *err);

#endif

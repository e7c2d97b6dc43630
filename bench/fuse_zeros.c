/*
 * fuse_zeros: the "FUSE ceiling" of `make bench`.
 *
 *     fuse_zeros MOUNTPOINT SIZE_BYTES
 *
 * Mounts a read-only filesystem, in the foreground, whose root holds one file,
 * `zeros`, of SIZE_BYTES bytes, every read served from one static zero buffer.
 * No decoding, no copying: what `cat` gets from it is the most any FUSE
 * filesystem can deliver on this machine, so h5mount's streaming figures are
 * printed as a fraction of it. Ends on SIGINT/SIGTERM/SIGHUP or when unmounted
 * (fusermount3 -u), and unmounts on the way out.
 *
 * Kernel-facing settings matched with h5mount (Sources/FUSEBridge and
 * Sources/MountCLI, docs/mounting.md), so that the ceiling is the ceiling for
 * h5mount's configuration and not for a better one:
 *   - mount options "ro", fsname=, subtype=, max_read=1048576
 *     (h5mount's ParsedMountOptions.sessionOptions adds the same defaults),
 *     default_permissions (MountSession adds it; no POSIX ACLs);
 *   - INIT: max_read 1 MiB (equal to the mount option), max_write capped at
 *     1 MiB, max_readahead 1 MiB; async read, readdirplus (+auto) and parallel
 *     dirops wanted when offered; splice read/write/move off; symlink caching
 *     on (read-only) — as Dispatcher.configure (Session+Init.swift);
 *   - as root, /sys/class/bdi/MAJ:MIN/read_ahead_kb raised to 1024 between
 *     mount and INIT (MountCLI/Readahead.swift), so streaming reads arrive as
 *     1 MiB requests;
 *   - open replies keep_cache (read-only mount: the page cache survives an
 *     open), no direct_io; entry and attribute timeouts 3600 s;
 *   - st_blksize 1 MiB (StatConversion.swift), so `cat` reads 1 MiB at a time
 *     from both;
 *   - fuse_session_loop_mt with one shared /dev/fuse descriptor (clone_fd 0)
 *     and libfuse's default idle-thread count (MountSession.run);
 *   - libfuse's signal handlers.
 * Not matched, on purpose: nothing else h5mount does matters for one file of
 * zeros (xattrs, readdir caching, lookup counts).
 */
#include "fuse_peer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_IO (1u << 20)       /* max_read, max_write, max_readahead: 1 MiB, as h5mount */
#define TIMEOUT 3600.0          /* entry and attribute timeouts of a read-only h5mount */
#define FILE_INO 2
#define FILE_NAME "zeros"

static const char zero_buffer[MAX_IO];   /* static storage: all zeros, never written */
static uint64_t file_size;               /* set once in main, before the session starts */

static void fill_stat(fuse_ino_t ino, struct stat *st) {
    memset(st, 0, sizeof *st);
    st->st_ino = ino;
    st->st_uid = getuid();
    st->st_gid = getgid();
    if (ino == FUSE_ROOT_ID) {
        st->st_mode = S_IFDIR | 0555;
        st->st_nlink = 2;
    } else {
        st->st_mode = S_IFREG | 0444;
        st->st_nlink = 1;
        st->st_size = (off_t)file_size;
        st->st_blksize = 1 << 20;   /* as h5mount (StatConversion.swift): cat then reads 1 MiB at a time */
        st->st_blocks = (blkcnt_t)((file_size + 511) / 512);
    }
}

static void zeros_init(void *userdata, struct fuse_conn_info *conn) {
    (void)userdata;
    configure_like_h5mount(conn, MAX_IO);
    want(conn, FUSE_CAP_READDIRPLUS, 1);
    want(conn, FUSE_CAP_READDIRPLUS_AUTO, 1);
    want(conn, FUSE_CAP_CACHE_SYMLINKS, 1);
}

static void zeros_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
    if (parent != FUSE_ROOT_ID || strcmp(name, FILE_NAME) != 0) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    struct fuse_entry_param entry;
    memset(&entry, 0, sizeof entry);
    entry.ino = FILE_INO;
    entry.generation = 1;
    entry.attr_timeout = TIMEOUT;
    entry.entry_timeout = TIMEOUT;
    fill_stat(FILE_INO, &entry.attr);
    fuse_reply_entry(req, &entry);
}

static void zeros_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    (void)fi;
    if (ino != FUSE_ROOT_ID && ino != FILE_INO) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    struct stat st;
    fill_stat(ino, &st);
    fuse_reply_attr(req, &st, TIMEOUT);
}

/* readdir and readdirplus (wanted at INIT, as h5mount does): ".", "..", "zeros". */
static void list_root(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, int plus) {
    if (ino != FUSE_ROOT_ID) {
        fuse_reply_err(req, ENOTDIR);
        return;
    }
    static const struct { const char *name; fuse_ino_t ino; } entries[] = {
        {".", FUSE_ROOT_ID}, {"..", FUSE_ROOT_ID}, {FILE_NAME, FILE_INO},
    };
    char buf[1024];
    size_t used = 0;
    if (size > sizeof buf) size = sizeof buf;
    for (off_t i = off; i < 3; i++) {
        size_t need;
        if (plus) {
            /* "." and ".." carry no entry (ino 0): the kernel does not count a lookup for them. */
            struct fuse_entry_param entry;
            memset(&entry, 0, sizeof entry);
            fill_stat(entries[i].ino, &entry.attr);
            if (entries[i].ino == FILE_INO) {
                entry.ino = FILE_INO;
                entry.generation = 1;
                entry.attr_timeout = TIMEOUT;
                entry.entry_timeout = TIMEOUT;
            }
            need = fuse_add_direntry_plus(req, buf + used, size - used, entries[i].name, &entry, i + 1);
        } else {
            struct stat st;
            fill_stat(entries[i].ino, &st);
            need = fuse_add_direntry(req, buf + used, size - used, entries[i].name, &st, i + 1);
        }
        if (need > size - used) break;   /* did not fit: not added, so no lookup to undo */
        used += need;
    }
    fuse_reply_buf(req, buf, used);
}

static void zeros_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
    (void)fi;
    list_root(req, ino, size, off, 0);
}

static void zeros_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
    (void)fi;
    list_root(req, ino, size, off, 1);
}

static void zeros_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    if (ino != FILE_INO) {
        fuse_reply_err(req, EISDIR);
        return;
    }
    if ((fi->flags & O_ACCMODE) != O_RDONLY) {
        fuse_reply_err(req, EROFS);
        return;
    }
    fi->keep_cache = 1;
    fuse_reply_open(req, fi);
}

static void zeros_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
    (void)ino;
    (void)fi;
    uint64_t offset = (uint64_t)off;
    size_t n = 0;
    if (offset < file_size) {
        uint64_t left = file_size - offset;
        n = size < left ? size : (size_t)left;
    }
    if (n > sizeof zero_buffer) n = sizeof zero_buffer;   /* never: size <= max_read */
    fuse_reply_buf(req, zero_buffer, n);
}

/* Finds MAJ:MIN of the mount at `mountpoint` in /proc/self/mountinfo and
 * raises that bdi's read-ahead to 1 MiB, as h5mount does as root. */
static void raise_readahead(const char *mountpoint) {
    if (geteuid() != 0) return;
    char resolved[4096];
    if (!realpath(mountpoint, resolved)) return;
    FILE *f = fopen("/proc/self/mountinfo", "r");
    if (!f) return;
    char line[8192];
    unsigned major = 0, minor = 0;
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned id, parent, maj, min;
        char root[4096], point[4096];
        if (sscanf(line, "%u %u %u:%u %4095s %4095s", &id, &parent, &maj, &min, root, point) == 6 &&
            strcmp(point, resolved) == 0) {
            major = maj;
            minor = min;
            found = 1;   /* keep scanning: the last entry for a path is the top mount */
        }
    }
    fclose(f);
    if (!found) return;
    char path[128];
    snprintf(path, sizeof path, "/sys/class/bdi/%u:%u/read_ahead_kb", major, minor);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    if (write(fd, "1024\n", 5) != 5) fprintf(stderr, "fuse_zeros: cannot write %s\n", path);
    close(fd);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s MOUNTPOINT SIZE_BYTES\n", argv[0]);
        return 2;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long size = strtoull(argv[2], &end, 10);
    if (errno != 0 || end == argv[2] || *end != '\0') {
        fprintf(stderr, "fuse_zeros: bad size '%s'\n", argv[2]);
        return 2;
    }
    file_size = size;

    struct fuse_lowlevel_ops ops;
    memset(&ops, 0, sizeof ops);
    ops.init = zeros_init;
    ops.lookup = zeros_lookup;
    ops.getattr = zeros_getattr;
    ops.readdir = zeros_readdir;
    ops.readdirplus = zeros_readdirplus;
    ops.open = zeros_open;
    ops.read = zeros_read;

    return run_peer(argv[0], argv[1], "ro,fsname=fuse_zeros,subtype=fuse_zeros,max_read=1048576,default_permissions", &ops, raise_readahead);
}

/*
 * fuse_sink: the "FUSE floor" of the write figures of `make bench`.
 *
 *     fuse_sink [--deflate=LEVEL [--hdf5=FILE]] MOUNTPOINT
 *
 * Mounts a writable filesystem, in the foreground, that keeps a tree's metadata
 * (names, modes, owners, times, sizes, symlink targets) in memory and throws
 * every written byte away. `cp -a TREE MOUNTPOINT/` into it costs the round
 * trips the kernel and `cp` make for that tree and nothing else: no compression,
 * no HDF5, no spool file. So it is the least any FUSE filesystem can take to
 * receive the tree on this machine, and what is left of h5mount's packing time
 * beyond it is h5mount's own work (bench/README.md, "FUSE floor").
 *
 * With --deflate=LEVEL it is the floor of packing with compression: it keeps each
 * file's bytes in memory until its last release, then compresses them in 1 MiB
 * pieces with libdeflate at LEVEL (zlib streams, as HDF5's deflate filter stores
 * them) on one worker thread per online CPU (as h5mount's packers; gzip:6 is its
 * default) and drops the output. Unmounting waits for the
 * queue to drain, so `cp -a` + unmount is the least a FUSE filesystem can take to
 * receive the tree and compress it on this machine: no HDF5 and no spool file.
 * It prints the bytes in and out to stderr when it ends.
 *
 * With --hdf5=FILE as well, the compressed pieces are not dropped but stored in a new
 * HDF5 file, one dataset per file as h5mount makes them (bench/sink_store.h): the floor
 * of packing into HDF5, without h5mount's journal, spool files and readback.
 *
 * Answers matched with a writable h5mount (Sources/FUSEBridge, docs/writing.md)
 * so that `cp -a` sends the same requests to both:
 *   - mount options fsname=, subtype=, max_read=1048576, default_permissions;
 *     INIT as fuse_zeros (bench/fuse_zeros.c) except symlink caching, which a
 *     writable h5mount does not ask for, and readdirplus (`cp -a` lists nothing
 *     it copies into); entry and attribute timeouts 1 s;
 *     "no such name" is a plain ENOENT (no negative entry), as on a writable mount;
 *   - st_blksize 1 MiB, so `cp` writes 1 MiB at a time;
 *   - getxattr answers ENODATA (security.capability before a write); setxattr
 *     of an access ACL that only encodes a mode is a chmod, as in h5mount (so
 *     `cp` skips its fchmod), which then tells the kernel to forget the node's
 *     cached attributes (its reply carries none), any other ENOTSUP;
 *     removexattr ENODATA;
 *   - fuse_session_loop_mt with one shared /dev/fuse descriptor.
 * Ends on SIGINT/SIGTERM/SIGHUP or when unmounted, and unmounts on the way out.
 */
#include "fuse_peer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <libdeflate.h>

#include "sink_store.h"

#define MAX_IO (1u << 20)
#define TIMEOUT 1.0             /* entry and attribute timeouts of a writable h5mount */

/* One entry of the tree. Nodes live for the mount's life (ids are indexes + 1). */
struct node {
    fuse_ino_t parent;
    char *name;
    struct stat st;
    char *target;               /* symbolic links */
    fuse_ino_t first_child, next_sibling;
    char *data;                 /* --deflate: the file's bytes until its last release */
    size_t data_capacity;
    unsigned open_count;
    hid_t group;                /* --hdf5: a directory's group, kept open */
};

static struct node *nodes;      /* nodes[ino - 1] */
static size_t node_count, node_capacity;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static struct node *node_at(fuse_ino_t ino) {
    return ino >= 1 && ino <= node_count ? &nodes[ino - 1] : NULL;
}

static void now(struct timespec *t) { clock_gettime(CLOCK_REALTIME, t); }

/* Adds a child of `parent` (caller holds the lock); 0 when out of memory. */
static fuse_ino_t add_node(fuse_ino_t parent, const char *name, mode_t mode, const struct fuse_ctx *ctx) {
    if (node_count == node_capacity) {
        size_t capacity = node_capacity ? node_capacity * 2 : 4096;
        struct node *grown = realloc(nodes, capacity * sizeof *grown);
        if (!grown) return 0;
        nodes = grown;
        node_capacity = capacity;
    }
    fuse_ino_t ino = ++node_count;
    struct node *n = &nodes[ino - 1];
    memset(n, 0, sizeof *n);
    n->parent = parent;
    n->name = name ? strdup(name) : NULL;
    n->st.st_ino = ino;
    n->st.st_mode = mode;
    n->st.st_nlink = S_ISDIR(mode) ? 2 : 1;
    n->st.st_uid = ctx ? ctx->uid : getuid();
    n->st.st_gid = ctx ? ctx->gid : getgid();
    n->st.st_blksize = MAX_IO;
    n->group = -1;
    now(&n->st.st_mtim);
    n->st.st_atim = n->st.st_ctim = n->st.st_mtim;
    struct node *p = node_at(parent);
    if (p && ino != parent) {
        n->next_sibling = p->first_child;
        p->first_child = ino;
    }
    return ino;
}

static fuse_ino_t find_child(fuse_ino_t parent, const char *name) {
    struct node *p = node_at(parent);
    for (fuse_ino_t c = p ? p->first_child : 0; c; c = node_at(c)->next_sibling) {
        if (strcmp(node_at(c)->name, name) == 0) return c;
    }
    return 0;
}

/* The entry of node `ino`; the caller holds the lock and gives it back here. */
static struct fuse_entry_param entry_of(fuse_ino_t ino) {
    struct fuse_entry_param entry;
    memset(&entry, 0, sizeof entry);
    entry.ino = ino;
    entry.generation = 1;
    entry.attr_timeout = TIMEOUT;
    entry.entry_timeout = TIMEOUT;
    entry.attr = node_at(ino)->st;
    pthread_mutex_unlock(&lock);
    return entry;
}

static void reply_entry_of(fuse_req_t req, fuse_ino_t ino) {
    struct fuse_entry_param entry = entry_of(ino);
    fuse_reply_entry(req, &entry);
}

/* --deflate: 1 MiB pieces of files whose last release has come, waiting for a
 * compressing thread. A file's buffer is freed with its last piece. */
struct pending;

struct held_file {
    fuse_ino_t ino;
    char *data;
    size_t size, pieces_left, piece_count;
    struct pending *pieces;     /* one array, freed with the file */
};

struct pending {
    struct held_file *file;
    size_t offset, size;
    char *compressed;           /* --hdf5: kept until the file is stored */
    size_t compressed_size;
    struct pending *next;
};

static int deflate_level = -1;  /* -1: bytes are dropped as they come */
static const char *hdf5_path;   /* --hdf5: where the compressed files go */
static struct pending *queue_head, *queue_tail;
static size_t queued_files, bytes_in, bytes_out;
static int draining;            /* unmounting: workers end once the queue is empty */
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_changed = PTHREAD_COND_INITIALIZER;

/* Queues the file's pieces, so that the pieces of a large file go to all threads. */
static void enqueue(fuse_ino_t ino, char *data, size_t size) {
    size_t pieces = size ? (size + MAX_IO - 1) / MAX_IO : 1;
    struct held_file *file = malloc(sizeof *file);
    struct pending *items = calloc(pieces, sizeof *items);
    if (!file || !items) {
        free(file);
        free(items);
        free(data);
        return;
    }
    *file = (struct held_file){ino, data, size, pieces, pieces, items};
    for (size_t i = 0; i < pieces; i++) {
        size_t offset = i * MAX_IO;
        items[i] = (struct pending){file, offset, size - offset < MAX_IO ? size - offset : MAX_IO, NULL, 0,
                                    i + 1 < pieces ? &items[i + 1] : NULL};
    }
    pthread_mutex_lock(&queue_lock);
    if (queue_tail) queue_tail->next = &items[0];
    else queue_head = &items[0];
    queue_tail = &items[pieces - 1];
    queued_files++;
    pthread_cond_broadcast(&queue_changed);
    pthread_mutex_unlock(&queue_lock);
}

static void store_done(struct held_file *file);

/* One compressing thread: each piece at deflate_level as a zlib stream (what HDF5's deflate
 * filter stores), output counted, then dropped or (--hdf5) kept for the file's dataset. */
static void *compress_worker(void *unused) {
    (void)unused;
    struct libdeflate_compressor *compressor = libdeflate_alloc_compressor(deflate_level);
    size_t bound = compressor ? libdeflate_zlib_compress_bound(compressor, MAX_IO) : 0;
    char *out = malloc(bound ? bound : 1);
    if (!compressor || !out) abort();
    for (;;) {
        pthread_mutex_lock(&queue_lock);
        while (!queue_head && !draining) pthread_cond_wait(&queue_changed, &queue_lock);
        struct pending *p = queue_head;
        if (p) {
            queue_head = p->next;
            if (!queue_head) queue_tail = NULL;
        }
        pthread_mutex_unlock(&queue_lock);
        if (!p) break;
        size_t produced = p->size ? libdeflate_zlib_compress(compressor, p->file->data + p->offset, p->size, out,
                                                                bound) : 0;
        if (hdf5_path && produced) {
            p->compressed = malloc(produced);
            if (!p->compressed) abort();
            memcpy(p->compressed, out, produced);
            p->compressed_size = produced;
        }
        pthread_mutex_lock(&queue_lock);
        bytes_in += p->size;
        bytes_out += produced;
        struct held_file *done = --p->file->pieces_left == 0 ? p->file : NULL;
        pthread_mutex_unlock(&queue_lock);
        if (done) {   /* popped already, so the queue no longer points into done->pieces */
            if (hdf5_path) store_done(done);
            free(done->pieces);
            free(done->data);
            free(done);
        }
    }
    free(out);
    libdeflate_free_compressor(compressor);
    return NULL;
}

static pthread_t workers[64];
static long worker_count;

static void start_workers(void) {
    worker_count = sysconf(_SC_NPROCESSORS_ONLN);
    if (worker_count < 1) worker_count = 1;
    if (worker_count > 64) worker_count = 64;
    for (long i = 0; i < worker_count; i++) pthread_create(&workers[i], NULL, compress_worker, NULL);
}

/* --hdf5: the file's pieces are all compressed; its dataset goes into the HDF5 file. */
static void store_done(struct held_file *file) {
    char *pieces[file->piece_count];
    size_t lengths[file->piece_count];
    for (size_t i = 0; i < file->piece_count; i++) {
        pieces[i] = file->pieces[i].compressed;
        lengths[i] = file->pieces[i].compressed_size;
    }
    pthread_mutex_lock(&lock);
    struct node *n = node_at(file->ino);
    struct stat st = n->st;
    hid_t parent = node_at(n->parent)->group;
    char *name = strdup(n->name);
    pthread_mutex_unlock(&lock);
    if (!name || store_file(parent, name, &st, file->size, MAX_IO, deflate_level, pieces, lengths,
                            file->piece_count) != 0)
        fprintf(stderr, "fuse_sink: storing %s failed\n", name ? name : "a file");
    free(name);
    for (size_t i = 0; i < file->piece_count; i++) free(pieces[i]);
}

/* At unmount: every queued file is compressed before the process ends. */
static void sink_destroy(void *userdata) {
    (void)userdata;
    if (deflate_level < 0) return;
    pthread_mutex_lock(&queue_lock);
    draining = 1;
    pthread_cond_broadcast(&queue_changed);
    pthread_mutex_unlock(&queue_lock);
    for (long i = 0; i < worker_count; i++) pthread_join(workers[i], NULL);
    if (hdf5_path && store_close() != 0) fprintf(stderr, "fuse_sink: %s: close or fsync failed\n", hdf5_path);
    if (hdf5_path) fprintf(stderr, "fuse_sink: %zu datasets in %s\n", store_datasets, hdf5_path);
    fprintf(stderr, "fuse_sink: deflate level %d: %zu files, %zu bytes in, %zu bytes out\n", deflate_level,
            queued_files, bytes_in, bytes_out);
}

static void sink_init(void *userdata, struct fuse_conn_info *conn) {
    (void)userdata;
    configure_like_h5mount(conn, MAX_IO);
    /* Plain readdir: `cp -a` never lists what it copies into; `ls` of the sink is for checking it. */
    want(conn, FUSE_CAP_READDIRPLUS, 0);
    want(conn, FUSE_CAP_READDIRPLUS_AUTO, 0);
    want(conn, FUSE_CAP_CACHE_SYMLINKS, 0);
    want(conn, FUSE_CAP_POSIX_ACL, 0);
}

static void sink_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
    pthread_mutex_lock(&lock);
    fuse_ino_t ino = find_child(parent, name);
    if (!ino) {
        pthread_mutex_unlock(&lock);
        fuse_reply_err(req, ENOENT);
        return;
    }
    reply_entry_of(req, ino);
}

/* The node `ino` with the lock held, or NULL after answering ENOENT (lock released). */
static struct node *locked_node(fuse_req_t req, fuse_ino_t ino) {
    pthread_mutex_lock(&lock);
    struct node *n = node_at(ino);
    if (!n) {
        pthread_mutex_unlock(&lock);
        fuse_reply_err(req, ENOENT);
    }
    return n;
}

static void sink_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    (void)fi;
    struct node *n = locked_node(req, ino);
    if (!n) return;
    struct stat st = n->st;
    pthread_mutex_unlock(&lock);
    fuse_reply_attr(req, &st, TIMEOUT);
}

static void sink_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi) {
    (void)fi;
    struct node *n = locked_node(req, ino);
    if (!n) return;
    if (to_set & FUSE_SET_ATTR_MODE) n->st.st_mode = (n->st.st_mode & S_IFMT) | (attr->st_mode & 07777);
    if (to_set & FUSE_SET_ATTR_UID) n->st.st_uid = attr->st_uid;
    if (to_set & FUSE_SET_ATTR_GID) n->st.st_gid = attr->st_gid;
    if (to_set & FUSE_SET_ATTR_SIZE) n->st.st_size = attr->st_size;
    if (to_set & FUSE_SET_ATTR_ATIME) n->st.st_atim = attr->st_atim;
    if (to_set & FUSE_SET_ATTR_MTIME) n->st.st_mtim = attr->st_mtim;
    if (to_set & FUSE_SET_ATTR_ATIME_NOW) now(&n->st.st_atim);
    if (to_set & FUSE_SET_ATTR_MTIME_NOW) now(&n->st.st_mtim);
    now(&n->st.st_ctim);
    struct stat st = n->st;
    pthread_mutex_unlock(&lock);
    fuse_reply_attr(req, &st, TIMEOUT);
}

/* mkdir, create, symlink: a new child, or EEXIST. Returns with the lock held on success. */
static fuse_ino_t make_child(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode) {
    pthread_mutex_lock(&lock);
    int error = !node_at(parent) ? ENOENT : find_child(parent, name) ? EEXIST : 0;
    fuse_ino_t ino = error ? 0 : add_node(parent, name, mode, fuse_req_ctx(req));
    if (!ino) {
        pthread_mutex_unlock(&lock);
        fuse_reply_err(req, error ? error : ENOMEM);
    }
    return ino;
}

static void sink_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode) {
    fuse_ino_t ino = make_child(req, parent, name, S_IFDIR | (mode & 07777));
    if (!ino) return;
    if (hdf5_path && (node_at(ino)->group = store_group(node_at(parent)->group, name)) < 0) {
        pthread_mutex_unlock(&lock);   /* the node stays, as a directory HDF5 refused */
        fuse_reply_err(req, EIO);
        return;
    }
    reply_entry_of(req, ino);
}

static void sink_symlink(fuse_req_t req, const char *target, fuse_ino_t parent, const char *name) {
    fuse_ino_t ino = make_child(req, parent, name, S_IFLNK | 0777);
    if (!ino) return;
    struct node *n = node_at(ino);
    n->target = strdup(target);
    n->st.st_size = (off_t)strlen(target);
    if (hdf5_path && store_symlink(node_at(n->parent)->group, name, target) != 0) {
        pthread_mutex_unlock(&lock);
        fuse_reply_err(req, EIO);
        return;
    }
    reply_entry_of(req, ino);
}

static void sink_readlink(fuse_req_t req, fuse_ino_t ino) {
    pthread_mutex_lock(&lock);
    struct node *n = node_at(ino);
    char *target = n && n->target ? strdup(n->target) : NULL;
    pthread_mutex_unlock(&lock);
    if (!target) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    fuse_reply_readlink(req, target);
    free(target);
}

static void sink_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi) {
    fuse_ino_t ino = make_child(req, parent, name, S_IFREG | (mode & 07777));
    if (!ino) return;
    node_at(ino)->open_count++;
    struct fuse_entry_param entry = entry_of(ino);
    fuse_reply_create(req, &entry, fi);
}

static void sink_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    pthread_mutex_lock(&lock);
    struct node *n = node_at(ino);
    if (n && (fi->flags & O_TRUNC)) {
        n->st.st_size = 0;
        free(n->data);   /* --deflate: nothing of the old bytes may show through a hole */
        n->data = NULL;
        n->data_capacity = 0;
    }
    if (n) n->open_count++;
    pthread_mutex_unlock(&lock);
    if (!n) fuse_reply_err(req, ENOENT);
    else fuse_reply_open(req, fi);
}

/* Keeps the bytes of `n` up to `end` (zeros where nothing was written); 0 when out of memory.
 * Caller holds the lock. */
static int hold_bytes(struct node *n, size_t end) {
    if (end <= n->data_capacity) return 1;
    size_t capacity = n->data_capacity ? n->data_capacity : 4096;
    while (capacity < end) capacity *= 2;
    char *grown = realloc(n->data, capacity);
    if (!grown) return 0;
    memset(grown + n->data_capacity, 0, capacity - n->data_capacity);
    n->data = grown;
    n->data_capacity = capacity;
    return 1;
}

/* The bytes are thrown away (with --deflate: kept for compression); the size they make is kept. */
static void sink_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                       struct fuse_file_info *fi) {
    (void)fi;
    pthread_mutex_lock(&lock);
    struct node *n = node_at(ino);
    if (n && deflate_level >= 0) {
        if (!hold_bytes(n, (size_t)off + size)) {
            pthread_mutex_unlock(&lock);
            fuse_reply_err(req, ENOMEM);
            return;
        }
        memcpy(n->data + off, buf, size);
    }
    if (n && off + (off_t)size > n->st.st_size) n->st.st_size = off + (off_t)size;
    if (n) {
        now(&n->st.st_mtim);
        n->st.st_ctim = n->st.st_mtim;
    }
    pthread_mutex_unlock(&lock);
    if (!n) fuse_reply_err(req, ENOENT);
    else fuse_reply_write(req, size);
}

static void sink_ok(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    (void)ino;
    (void)fi;
    fuse_reply_err(req, 0);
}

/* The last release of a file hands its bytes to the compressing threads (--deflate). */
static void sink_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    (void)fi;
    char *data = NULL;
    size_t size = 0;
    int last = 0;
    pthread_mutex_lock(&lock);
    struct node *n = node_at(ino);
    if (n && n->open_count && --n->open_count == 0 && (n->data || hdf5_path)) {
        last = 1;   /* with --hdf5 an empty file is stored too */
        data = n->data;
        size = (size_t)n->st.st_size < n->data_capacity ? (size_t)n->st.st_size : n->data_capacity;
        n->data = NULL;
        n->data_capacity = 0;
    }
    pthread_mutex_unlock(&lock);
    if (last && deflate_level >= 0) enqueue(ino, data, size);
    fuse_reply_err(req, 0);
}

static void sink_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    (void)ino;
    fuse_reply_open(req, fi);
}

static void sink_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
    (void)datasync;
    sink_ok(req, ino, fi);
}

static void sink_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size) {
    (void)ino;
    (void)name;
    (void)size;
    fuse_reply_err(req, ENODATA);
}

/* An access ACL of only the three base entries is a mode (as h5mount's AccessACLMode):
 * version 2, then 8-byte entries {u16 tag, u16 permissions, u32 id}, little-endian. */
static int acl_mode(const unsigned char *acl, size_t size, mode_t *mode) {
    if (size < 4 || (size - 4) % 8 != 0 || acl[0] != 2 || acl[1] || acl[2] || acl[3]) return 0;
    mode_t bits = 0;
    for (size_t at = 4; at < size; at += 8) {
        unsigned tag = acl[at] | acl[at + 1] << 8, perm = (acl[at + 2] | acl[at + 3] << 8) & 7;
        if (tag == 0x01) bits |= perm << 6;
        else if (tag == 0x04) bits |= perm << 3;
        else if (tag == 0x20) bits |= perm;
        else return 0;   /* named users or groups, a mask: more than a mode */
    }
    *mode = bits;
    return 1;
}

static void sink_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
                          int flags) {
    (void)flags;
    mode_t mode;
    if (strcmp(name, "system.posix_acl_access") != 0 || !acl_mode((const unsigned char *)value, size, &mode)) {
        fuse_reply_err(req, ENOTSUP);
        return;
    }
    pthread_mutex_lock(&lock);
    struct node *n = node_at(ino);
    if (n) n->st.st_mode = (n->st.st_mode & ~(mode_t)0777) | mode;
    pthread_mutex_unlock(&lock);
    /* As h5mount (KernelSession.forgetAttributes): else a stat within the attribute timeout
     * shows the mode the file was created with. */
    if (n && peer_session) fuse_lowlevel_notify_inval_inode(peer_session, ino, -1, 0);
    fuse_reply_err(req, n ? 0 : ENOENT);
}

static void sink_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
    (void)ino;
    if (size == 0) fuse_reply_xattr(req, 0);
    else fuse_reply_buf(req, NULL, 0);
}

static void sink_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name) {
    (void)ino;
    (void)name;
    fuse_reply_err(req, ENODATA);
}

/* readdir (no plus: a listing of the sink is only for checking it by hand). */
static void sink_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
    (void)fi;
    char *buf = malloc(size);
    if (!buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    size_t used = 0;
    off_t index = 0;
    pthread_mutex_lock(&lock);
    struct node *dir = node_at(ino);
    fuse_ino_t child = dir ? dir->first_child : 0;
    for (; dir; index++) {
        const char *name;
        struct stat st;
        if (index == 0 || index == 1) {
            name = index == 0 ? "." : "..";
            st = dir->st;
        } else if (child) {
            name = node_at(child)->name;
            st = node_at(child)->st;
            child = node_at(child)->next_sibling;
        } else {
            break;
        }
        if (index < off) continue;
        size_t need = fuse_add_direntry(req, buf + used, size - used, name, &st, index + 1);
        if (need > size - used) break;
        used += need;
    }
    pthread_mutex_unlock(&lock);
    if (!dir) fuse_reply_err(req, ENOENT);
    else fuse_reply_buf(req, buf, used);
    free(buf);
}

static void sink_statfs(fuse_req_t req, fuse_ino_t ino) {
    (void)ino;
    struct statvfs sv;
    memset(&sv, 0, sizeof sv);
    sv.f_bsize = sv.f_frsize = 4096;
    sv.f_blocks = sv.f_bfree = sv.f_bavail = 1ull << 30;
    sv.f_files = sv.f_ffree = 1ull << 30;
    sv.f_namemax = 255;
    fuse_reply_statfs(req, &sv);
}

int main(int argc, char **argv) {
    if (argc == 4 && strncmp(argv[2], "--hdf5=", 7) == 0) {
        hdf5_path = argv[2] + 7;
        argv[2] = argv[3];
        argc = 3;
        if (strncmp(argv[1], "--deflate=", 10) != 0 || !*hdf5_path) {
            fprintf(stderr, "%s: --hdf5=FILE comes after --deflate=LEVEL\n", argv[0]);
            return 2;
        }
    }
    if (argc == 3 && strncmp(argv[1], "--deflate=", 10) == 0) {
        char *end;
        long level = strtol(argv[1] + 10, &end, 10);
        if (*end || level < 0 || level > 12) {
            fprintf(stderr, "%s: --deflate takes a level from 0 to 12\n", argv[0]);
            return 2;
        }
        deflate_level = (int)level;
        argv[1] = argv[2];
        argc = 2;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: %s [--deflate=LEVEL [--hdf5=FILE]] MOUNTPOINT\n", argv[0]);
        return 2;
    }
    if (deflate_level >= 0) start_workers();
    if (add_node(FUSE_ROOT_ID, NULL, S_IFDIR | 0755, NULL) != FUSE_ROOT_ID) return 1;
    if (hdf5_path && (node_at(FUSE_ROOT_ID)->group = store_open(hdf5_path)) < 0) {
        fprintf(stderr, "%s: cannot create %s\n", argv[0], hdf5_path);
        return 1;
    }

    struct fuse_lowlevel_ops ops;
    memset(&ops, 0, sizeof ops);
    ops.init = sink_init;
    ops.lookup = sink_lookup;
    ops.getattr = sink_getattr;
    ops.setattr = sink_setattr;
    ops.mkdir = sink_mkdir;
    ops.symlink = sink_symlink;
    ops.readlink = sink_readlink;
    ops.create = sink_create;
    ops.open = sink_open;
    ops.write = sink_write;
    ops.flush = sink_ok;
    ops.release = sink_release;
    ops.destroy = sink_destroy;
    ops.fsync = sink_fsync;
    ops.getxattr = sink_getxattr;
    ops.setxattr = sink_setxattr;
    ops.listxattr = sink_listxattr;
    ops.removexattr = sink_removexattr;
    ops.opendir = sink_opendir;
    ops.readdir = sink_readdir;
    ops.releasedir = sink_ok;
    ops.statfs = sink_statfs;

    return run_peer(argv[0], argv[1], "fsname=fuse_sink,subtype=fuse_sink,max_read=1048576,default_permissions", &ops, NULL);
}

/*
 * What the benchmark's two peer filesystems (fuse_zeros.c, the FUSE ceiling; fuse_sink.c,
 * the FUSE floor of packing) share with each other and with h5mount's session: the way
 * a capability is asked for at INIT, and the session itself (libfuse's signal handlers,
 * fuse_session_loop_mt with one shared /dev/fuse descriptor and libfuse's default
 * idle-thread count, as MountSession.run). Header only: each peer is one `cc` command.
 */
#ifndef H5MOUNT_BENCH_FUSE_PEER_H
#define H5MOUNT_BENCH_FUSE_PEER_H

#define FUSE_USE_VERSION 312
#include <fuse3/fuse_lowlevel.h>
#include <stddef.h>

/* Asks for `capability` when the kernel offers it (on), or turns it off. */
static void want(struct fuse_conn_info *conn, unsigned capability, int on) {
    if (on && (conn->capable & capability)) conn->want |= capability;
    else if (!on) conn->want &= ~capability;
}

/* The INIT settings both peers take from h5mount's (Dispatcher.configure): reads and
 * writes of up to `max_io` bytes, reads and directory operations in parallel, no splice.
 * Each peer then asks for what it does differently (readdirplus, cached symlinks, ACLs). */
static void configure_like_h5mount(struct fuse_conn_info *conn, unsigned max_io) {
    conn->max_read = max_io;
    if (conn->max_write > max_io) conn->max_write = max_io;
    conn->max_readahead = max_io;
    want(conn, FUSE_CAP_ASYNC_READ, 1);
    want(conn, FUSE_CAP_PARALLEL_DIROPS, 1);
    want(conn, FUSE_CAP_SPLICE_READ, 0);
    want(conn, FUSE_CAP_SPLICE_WRITE, 0);
    want(conn, FUSE_CAP_SPLICE_MOVE, 0);
}

/* The session run_peer serves, for notifications (NULL before it exists and after). */
static struct fuse_session *peer_session;

/* Mounts `ops` at `mountpoint` with the mount options `options`, calls `mounted` (may be
 * NULL) once the mount exists, serves until unmounted or signalled, and unmounts.
 * Returns the process's exit status. */
static int run_peer(const char *program, const char *mountpoint, const char *options,
                    const struct fuse_lowlevel_ops *ops, void (*mounted)(const char *mountpoint)) {
    char *fuse_argv[] = {(char *)program, "-o", (char *)options, NULL};
    struct fuse_args args = FUSE_ARGS_INIT(3, fuse_argv);
    struct fuse_session *se = fuse_session_new(&args, ops, sizeof *ops, NULL);
    fuse_opt_free_args(&args);
    if (!se) return 1;
    peer_session = se;
    int status = 1;
    if (fuse_set_signal_handlers(se) == 0) {
        if (fuse_session_mount(se, mountpoint) == 0) {
            if (mounted) mounted(mountpoint);
            struct fuse_loop_config *config = fuse_loop_cfg_create();
            if (config) {
                fuse_loop_cfg_set_clone_fd(config, 0);
                status = fuse_session_loop_mt(se, config) < 0 ? 1 : 0;
                fuse_loop_cfg_destroy(config);
            }
            fuse_session_unmount(se);
        }
        fuse_remove_signal_handlers(se);
    }
    peer_session = NULL;
    fuse_session_destroy(se);
    return status;
}

#endif

// libfuse3 low-level API. FUSE_USE_VERSION is set here, not in Swift flags,
// and the versioned-symbol macros Swift cannot import are wrapped below.
#ifndef H5MOUNT_CFUSE_SHIM_H
#define H5MOUNT_CFUSE_SHIM_H
#define FUSE_USE_VERSION 312
#include <fuse3/fuse_lowlevel.h>
#include <fuse3/fuse_opt.h>
// getxattr(2) on a mount point: how `h5mount -u` asks a daemon for its pid.
#include <sys/xattr.h>

static inline int h5m_fuse_session_loop_mt(struct fuse_session *se, struct fuse_loop_config *config) {
    return fuse_session_loop_mt(se, config);
}
#endif

/*
 * What `fuse_sink --deflate=LEVEL --hdf5=FILE` does with the tree (bench/fuse_sink.c): the
 * least HDF5 work a packer must do, with libhdf5 calls as h5mount makes them
 * (Sources/HDF5/HDF5Writer+ByteDatasets.swift): a new file in the 1.10 format; a group per
 * directory and a soft link per symbolic link, made when the request comes; per closed
 * file, once its pieces are compressed, an unlinked 1-D uint8 dataset (chunks of the
 * file's size up to 1 MiB, deflate at LEVEL, no times, the no-attributes header hint),
 * one direct chunk write per piece, the 7-number `h5mount.stat` attribute, and a link in
 * its directory. No journal, no spool file, no readback. At the end the file is closed and
 * fsync'd, as h5mount's commit does. One lock around libhdf5, as h5mount's gate.
 * Header only: the peer stays one `cc` command.
 */
#ifndef H5MOUNT_BENCH_SINK_STORE_H
#define H5MOUNT_BENCH_SINK_STORE_H

#include <fcntl.h>
#include <hdf5.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static hid_t store_file_id = -1;
static const char *store_path;
static size_t store_datasets;   /* stored whole: made, written, given its attribute, linked */
static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;

/* Creates (or truncates) `path`; the root group's id, or -1. */
static hid_t store_open(const char *path) {
    hid_t access = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(access, H5F_LIBVER_V18, H5F_LIBVER_V110);
    H5Pset_fclose_degree(access, H5F_CLOSE_STRONG);   /* the groups kept open close with the file */
    store_file_id = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, access);
    H5Pclose(access);
    if (store_file_id < 0 || H5Fset_libver_bounds(store_file_id, H5F_LIBVER_V110, H5F_LIBVER_V110) < 0) return -1;
    store_path = path;
    return H5Gopen2(store_file_id, "/", H5P_DEFAULT);
}

/* A new group `name` in `parent` (kept open for its children); -1 on failure. */
static hid_t store_group(hid_t parent, const char *name) {
    pthread_mutex_lock(&store_lock);
    hid_t creation = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_obj_track_times(creation, 0);
    hid_t group = H5Gcreate2(parent, name, H5P_DEFAULT, creation, H5P_DEFAULT);
    H5Pclose(creation);
    pthread_mutex_unlock(&store_lock);
    return group;
}

static int store_symlink(hid_t parent, const char *name, const char *target) {
    pthread_mutex_lock(&store_lock);
    herr_t status = H5Lcreate_soft(target, parent, name, H5P_DEFAULT, H5P_DEFAULT);
    pthread_mutex_unlock(&store_lock);
    return status < 0 ? -1 : 0;
}

/* One closed file of `size` bytes whose `count` compressed pieces are `pieces[i]` of
 * `lengths[i]` bytes (1 MiB of the file each, the last one shorter). */
static int store_file(hid_t parent, const char *name, const struct stat *st, size_t size, size_t chunk, int level,
                      char *const *pieces, const size_t *lengths, size_t count) {
    int ok = 0;
    hsize_t dims[1] = {size}, chunk_dims[1] = {size < chunk ? (size ? size : 1) : chunk};
    int64_t stat_values[7] = {st->st_mode & 07777, st->st_uid, st->st_gid, st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
                              st->st_atim.tv_sec, st->st_atim.tv_nsec};
    hsize_t seven[1] = {7};
    pthread_mutex_lock(&store_lock);
    hid_t space = H5Screate_simple(1, dims, dims);
    hid_t creation = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(creation, 1, chunk_dims);
    H5Pset_obj_track_times(creation, 0);
    H5Pset_dset_no_attrs_hint(creation, 1);
    H5Pset_deflate(creation, (unsigned)level);
    hid_t dataset = H5Dcreate_anon(store_file_id, H5T_STD_U8LE, space, creation, H5P_DEFAULT);
    if (dataset >= 0) {
        ok = 1;
        for (size_t i = 0; size && i < count && ok; i++) {
            hsize_t origin[1] = {i * chunk};
            ok = H5Dwrite_chunk(dataset, H5P_DEFAULT, 0, origin, lengths[i], pieces[i]) >= 0;
        }
        hid_t attribute_space = H5Screate_simple(1, seven, seven);
        hid_t attribute = H5Acreate2(dataset, "h5mount.stat", H5T_STD_I64LE, attribute_space, H5P_DEFAULT,
                                     H5P_DEFAULT);
        ok = ok && attribute >= 0 && H5Awrite(attribute, H5T_NATIVE_INT64, stat_values) >= 0;
        if (attribute >= 0) H5Aclose(attribute);
        H5Sclose(attribute_space);
        hid_t links = H5Pcreate(H5P_LINK_CREATE);
        H5Pset_char_encoding(links, H5T_CSET_UTF8);
        ok = ok && H5Olink(dataset, parent, name, links, H5P_DEFAULT) >= 0;
        H5Pclose(links);
        H5Dclose(dataset);
        if (ok) store_datasets++;
    }
    H5Pclose(creation);
    H5Sclose(space);
    pthread_mutex_unlock(&store_lock);
    return ok ? 0 : -1;
}

/* Closes the file and makes it durable; 0 on success. */
static int store_close(void) {
    if (store_file_id < 0) return 0;
    int status = H5Fclose(store_file_id) < 0 ? -1 : 0;
    store_file_id = -1;
    int fd = open(store_path, O_RDONLY);
    if (fd < 0 || fsync(fd) != 0) status = -1;
    if (fd >= 0) close(fd);
    return status;
}

#endif

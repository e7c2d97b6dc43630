/* inflate_floor: the bare cost of decoding a gzip dataset's chunks with libdeflate, the
 * floor under the chunk engine's decode CPU (bench/README.md, "How far the gzip rows can go").
 *
 *   inflate_floor FILE DATASET [passes=3] [fresh=0|1] [codec=libdeflate|zlib]
 *
 * Reads every stored chunk once (unallocated ones are skipped) with H5Dread_chunk (not timed), then, per pass, inflates
 * them all in order on one thread with libdeflate_zlib_decompress and prints user+sys
 * CPU-s per GB of decoded bytes. fresh=0 decodes into one reused output buffer (warm
 * memory, the pure inflate cost); fresh=1 into a newly mmapped buffer per chunk, freed
 * after (adds first-touch page faults: what a decoder without buffer reuse pays).
 * codec=zlib inflates with zlib's uncompress() instead (what libhdf5, so h5py, uses): the
 * seed generator's calibration (bench/README.md, "Seed data").
 * Only datasets whose only filter is deflate (id 1) are accepted.
 * Not built by `make bench` (a measuring tool, like stream_cpu.py); build it with
 *   cc -O2 -I/usr/include/hdf5/serial -o .build/bench/inflate_floor bench/inflate_floor.c \
 *      -L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5 -ldeflate -lz */
#include <hdf5.h>
#include <libdeflate.h>
#include <zlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

static double cpu_seconds(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: inflate_floor FILE DATASET [passes=N] [fresh=0|1]\n"); return 2; }
    int passes = 3, fresh = 0, use_zlib = 0;
    for (int i = 3; i < argc; i++) {
        if (!strncmp(argv[i], "passes=", 7)) passes = atoi(argv[i] + 7);
        else if (!strncmp(argv[i], "fresh=", 6)) fresh = atoi(argv[i] + 6);
        else if (!strcmp(argv[i], "codec=zlib")) use_zlib = 1;
        else if (!strcmp(argv[i], "codec=libdeflate")) use_zlib = 0;
        else { fprintf(stderr, "inflate_floor: unknown option %s\n", argv[i]); return 2; }
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);   /* unallocated chunks answer an error: skipped, quietly */
    hid_t file = H5Fopen(argv[1], H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t ds = file < 0 ? -1 : H5Dopen2(file, argv[2], H5P_DEFAULT);
    if (ds < 0) { fprintf(stderr, "inflate_floor: cannot open %s %s\n", argv[1], argv[2]); return 2; }
    hid_t dcpl = H5Dget_create_plist(ds), space = H5Dget_space(ds), type = H5Dget_type(ds);
    unsigned flags; size_t nelmts = 0; char name[64]; unsigned config;
    if (H5Pget_nfilters(dcpl) != 1 || H5Pget_filter2(dcpl, 0, &flags, &nelmts, NULL, sizeof name, name, &config) != H5Z_FILTER_DEFLATE) {
        fprintf(stderr, "inflate_floor: %s is not deflate-only\n", argv[2]); return 2;
    }
    int rank = H5Sget_simple_extent_ndims(space);
    hsize_t dims[32], chunk[32];
    H5Sget_simple_extent_dims(space, dims, NULL);
    H5Pget_chunk(dcpl, rank, chunk);
    size_t chunk_bytes = H5Tget_size(type);
    hsize_t count = 1, grid[32];
    for (int d = 0; d < rank; d++) { grid[d] = (dims[d] + chunk[d] - 1) / chunk[d]; count *= grid[d]; chunk_bytes *= chunk[d]; }

    void **stored = calloc(count, sizeof *stored);
    size_t *sizes = calloc(count, sizeof *sizes);
    size_t total_stored = 0;
    for (hsize_t i = 0; i < count; i++) {
        hsize_t offset[32], rest = i;
        for (int d = rank - 1; d >= 0; d--) { offset[d] = (rest % grid[d]) * chunk[d]; rest /= grid[d]; }
        hsize_t nbytes = 0;
        if (H5Dget_chunk_storage_size(ds, offset, &nbytes) < 0 || nbytes == 0) continue;
        stored[i] = malloc(nbytes);
        uint32_t mask = 0;
        if (H5Dread_chunk(ds, H5P_DEFAULT, offset, &mask, stored[i]) < 0 || mask) {
            fprintf(stderr, "inflate_floor: cannot read chunk %llu\n", (unsigned long long)i); return 2;
        }
        sizes[i] = nbytes;
        total_stored += nbytes;
    }
    struct libdeflate_decompressor *inflater = libdeflate_alloc_decompressor();
    void *reused = malloc(chunk_bytes);
    memset(reused, 1, chunk_bytes);
    for (int pass = 0; pass < passes; pass++) {
        double start = cpu_seconds();
        size_t decoded = 0;
        for (hsize_t i = 0; i < count; i++) {
            if (!stored[i]) continue;
            void *out = reused;
            if (fresh) out = mmap(NULL, chunk_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            uLongf produced = chunk_bytes;
            int ok = use_zlib ? uncompress(out, &produced, stored[i], sizes[i]) == Z_OK && produced == chunk_bytes
                              : libdeflate_zlib_decompress(inflater, stored[i], sizes[i], out, chunk_bytes, NULL) == LIBDEFLATE_SUCCESS;
            if (!ok) {
                fprintf(stderr, "inflate_floor: chunk %llu does not decode to %zu bytes\n", (unsigned long long)i, chunk_bytes); return 2;
            }
            if (fresh) munmap(out, chunk_bytes);
            decoded += chunk_bytes;
        }
        double cpu = cpu_seconds() - start;
        printf("%s pass %d: %zu chunks, %.1f MB decoded (stored %.1f:1), %.3f CPU-s, %.3f CPU-s/GB, %.0f MB/s a core\n",
               use_zlib ? "zlib" : "libdeflate", pass + 1, (size_t)count, decoded / 1e6, (double)decoded / total_stored, cpu, cpu / (decoded / 1e9), decoded / cpu / 1e6);
    }
    return 0;
}

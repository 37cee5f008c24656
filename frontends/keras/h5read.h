/* recur's own reader of the HDF5 subset that Keras (h5py) writes, over an
 * image in memory. Hidden: used by the .keras importer, not public.
 *
 * Why a reader of our own: libhdf5 is not hardened against hostile files
 * (mutated bytes make it read through NULL pointers or ask for petabytes),
 * so it can only run contained in a forked child, which costs a fork per
 * load. This reader bounds-checks every address and size against the
 * image before it reads, bounds its work, never follows a link or a data
 * file outside the image, and allocates nothing that the file's sizes
 * decide (only the list of a header's chunks, which cannot overlap: a
 * small multiple of the file's own bytes at most). What it understands:
 *   superblock versions 0-3 (after a user block or bytes put before it,
 *   as libhdf5 finds it); object headers version 1 and 2 (with
 *   continuation blocks and checksums); groups stored as symbol tables
 *   (v1 B-tree, local heap, symbol nodes) or as compact link messages;
 *   soft links within the file (16 per path, as libhdf5); datasets with a
 *   scalar or simple dataspace, an IEEE float32 datatype of either byte
 *   order (other types are described, for the caller to refuse) and
 *   compact or contiguous storage (storage never written reads as the
 *   fill value, as libhdf5 reads it).
 * Anything else that is well formed (dense link storage, chunked or
 * filtered data, shared messages, old layout versions, non-IEEE 4-byte
 * floats, 16-byte offsets) is H5R_UNSUPPORTED: the caller hands the file
 * to libhdf5, contained. External links, external data files, virtual
 * datasets and multi-file driver blocks name other files: they are
 * H5R_REFUSED, never followed by either reader. */
#ifndef RC_H5READ_H
#define RC_H5READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define H5R_MAX_RANK 32 /* HDF5's own limit (H5S_MAX_RANK) */

typedef enum h5r_status {
    H5R_OK = 0,
    H5R_ABSENT,      /* no such link, or a path through something that is not a group */
    H5R_WRONG_KIND,  /* the object is there but is not what was asked (a group for a dataset) */
    H5R_MALFORMED,   /* damaged or hostile: the message says where */
    H5R_UNSUPPORTED, /* well formed, outside the subset above */
    H5R_REFUSED,     /* names another file (external link or storage, virtual dataset) */
    H5R_NO_VALUES,   /* a well-formed dataset that holds no values (null dataspace, storage never
                        written with no fill value): libhdf5 reads none either */
} h5r_status;

typedef struct h5r h5r; /* a reader; owns nothing of the image */

/* A dataset's description, valid while its reader is open. */
typedef struct h5r_dataset {
    int ndim;                   /* 0: scalar */
    uint64_t dims[H5R_MAX_RANK];
    bool is_float;              /* an IEEE floating-point type ... */
    unsigned size;              /* ... of this many bytes (4: float32) */
    bool big_endian;
    /* storage */
    const uint8_t *data;        /* into the image; NULL when unallocated */
    uint64_t data_len;
    uint8_t fill[4];            /* the fill value's bytes for unallocated float32 storage */
} h5r_dataset;

/* Opens the image (borrowed: it must outlive the reader). On failure
 * *out is NULL and msg holds why (an H5R_MALFORMED, _UNSUPPORTED or
 * _REFUSED). Returns H5R_OK, or the status; ENOMEM gives H5R_MALFORMED
 * with "out of memory". */
h5r_status h5r_open(const uint8_t *image, size_t len, h5r **out, char *msg, size_t msg_len);
void h5r_close(h5r *r);

/* Number of links in the group at path ("a/b/c", from the root). */
h5r_status h5r_group_size(h5r *r, const char *path, long *n);
/* The dataset at path. */
h5r_status h5r_dataset_open(h5r *r, const char *path, h5r_dataset *d);
/* A float32 dataset's values, converted to the host's order; out holds
 * numel values, numel = the product of d->dims (checked by the caller
 * against its limits). */
h5r_status h5r_read_f32(h5r *r, const h5r_dataset *d, float *out, uint64_t numel);

/* Why the last call did not return H5R_OK (a phrase, no file name). */
const char *h5r_message(const h5r *r);

#endif

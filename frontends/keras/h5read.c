/* recur's own reader of the HDF5 subset Keras writes (see h5read.h).
 *
 * Every read goes through a cursor that knows the bytes it may touch: an
 * address from the file becomes a cursor only after address + length has
 * been checked against the image (overflow-safe), and a cursor that runs
 * past its end turns "bad" and yields zeros from then on, which the
 * parser reports as damage. Structures that refer to other structures
 * (B-trees, continuation blocks, soft links) can form cycles or DAGs in a
 * hostile file: B-tree levels must strictly decrease (a one-byte level:
 * at most 256 deep), continuation blocks may not overlap the header's
 * other chunks (so each byte is parsed once per object), a path follows
 * at most 16 soft links, and a reader has a work budget (entries visited,
 * and bytes checksummed or scanned, per 64) of 16 per byte of the file
 * plus 2^20. The lookups of Keras's files stay far inside it: a lookup
 * descends the group B-trees by their keys and bisects symbol nodes, as
 * libhdf5 does, and compares names in place, reading at most the name's
 * length of a heap string; counting a group's links reads no names at
 * all. A file that exhausts it is H5R_MALFORMED (damage, not a feature
 * for libhdf5: see TOO_MUCH).
 *
 * Format facts: "HDF5 File Format Specification Version 3.0" (The HDF
 * Group): superblock (II.A), B-tree v1 (III.A.1), symbol table node
 * (III.B), symbol table entry (III.C), local heap (III.D), object headers
 * v1 and v2 (IV.A.1), messages 0x0001 dataspace, 0x0002 link info, 0x0003
 * datatype, 0x0004/0x0005 fill value, 0x0006 link, 0x0007 external files,
 * 0x0008 data layout, 0x0010 continuation, 0x0011 symbol table (IV.A.2). */
#include "h5read.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define UNDEF UINT64_MAX          /* the undefined address (all bits set) */

struct h5r {
    const uint8_t *img;
    uint64_t len;     /* bytes of the image */
    uint64_t base;    /* absolute position of address 0 */
    unsigned so, sl;  /* size of offsets, of lengths (bytes) */
    uint64_t root;    /* root group's object header */
    uint64_t budget;  /* work left (entries and messages visited) */
    char msg[256];
};

static h5r_status fail(h5r *r, h5r_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static h5r_status fail(h5r *r, h5r_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    return st;
}

const char *h5r_message(const h5r *r) { return r ? r->msg : "no reader"; }

/* --- bounded cursors -------------------------------------------------------- */

typedef struct cur {
    const uint8_t *p;
    uint64_t n, i;
    bool bad;
} cur;

static uint64_t get(cur *c, unsigned k) { /* k <= 8 bytes, little-endian */
    if (c->bad || k > 8 || k > c->n - c->i) { /* k > 8: a caller's bug, as damage */
        c->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (unsigned b = 0; b < k; b++) v |= (uint64_t)c->p[c->i + b] << (8 * b);
    c->i += k;
    return v;
}

static const uint8_t *take(cur *c, uint64_t k) {
    if (c->bad || k > c->n - c->i) {
        c->bad = true;
        return NULL;
    }
    const uint8_t *p = c->p + c->i;
    c->i += k;
    return p;
}

static void skip(cur *c, uint64_t k) { (void)take(c, k); }

static uint64_t left(const cur *c) { return c->bad ? 0 : c->n - c->i; }

static uint64_t get_addr(h5r *r, cur *c) {
    uint64_t v = get(c, r->so);
    uint64_t all = r->so == 8 ? UINT64_MAX : ((uint64_t)1 << (8 * r->so)) - 1;
    return v == all ? UNDEF : v;
}

static uint64_t get_len(h5r *r, cur *c) { return get(c, r->sl); }

/* A cursor over n bytes at file address addr (relative to the base). */
static bool at(h5r *r, uint64_t addr, uint64_t n, cur *c) {
    *c = (cur){0};
    if (addr == UNDEF || addr > r->len - r->base) return false;
    uint64_t abs = r->base + addr;
    if (n > r->len - abs) return false;
    *c = (cur){r->img + abs, n, 0, false};
    return true;
}

/* A cursor from addr to the end of the image (for structures whose size is
 * found while parsing). */
static bool at_open(h5r *r, uint64_t addr, cur *c) {
    if (addr == UNDEF || addr > r->len - r->base) return false;
    return at(r, addr, r->len - r->base - addr, c);
}

static bool spend(h5r *r, uint64_t k) {
    if (r->budget < k) return false;
    r->budget -= k;
    return true;
}


/* The budget spent: damage. No HDF5 writer makes a file whose lookups
 * need more than 16 units of work per byte (Keras's need a few hundred
 * entries in all); a fuzzer does, and handing such a file to libhdf5 was
 * how it reached a heap over-read of libhdf5's (H5D__contig_read, in the
 * contained child; in an ordinary build the bytes read past the buffer
 * would have become weights). */
#define TOO_MUCH(r)                                                                                                    \
    fail((r), H5R_MALFORMED,                                                                                           \
         "its structure needs more work than a file of its size can (16 units per byte + 2^20): loops or padding "  \
         "no HDF5 writer makes")

/* Jenkins' lookup3 hashlittle(), the checksum of version-2 metadata
 * (libhdf5 has it, but not in its public API). */
#define ROT(x, k) (((x) << (k)) | ((x) >> (32 - (k))))
static uint32_t lookup3(const uint8_t *k, size_t length) {
    uint32_t a, b, c;
    a = b = c = 0xdeadbeef + (uint32_t)length;
    while (length > 12) {
        a += k[0] + ((uint32_t)k[1] << 8) + ((uint32_t)k[2] << 16) + ((uint32_t)k[3] << 24);
        b += k[4] + ((uint32_t)k[5] << 8) + ((uint32_t)k[6] << 16) + ((uint32_t)k[7] << 24);
        c += k[8] + ((uint32_t)k[9] << 8) + ((uint32_t)k[10] << 16) + ((uint32_t)k[11] << 24);
        a -= c, a ^= ROT(c, 4), c += b;
        b -= a, b ^= ROT(a, 6), a += c;
        c -= b, c ^= ROT(b, 8), b += a;
        a -= c, a ^= ROT(c, 16), c += b;
        b -= a, b ^= ROT(a, 19), a += c;
        c -= b, c ^= ROT(b, 4), b += a;
        length -= 12, k += 12;
    }
    switch (length) { /* the last 1..12 bytes; 0 leaves c as it is */
    case 12: c += (uint32_t)k[11] << 24; /* fall through */
    case 11: c += (uint32_t)k[10] << 16; /* fall through */
    case 10: c += (uint32_t)k[9] << 8;   /* fall through */
    case 9: c += k[8];                   /* fall through */
    case 8: b += (uint32_t)k[7] << 24;   /* fall through */
    case 7: b += (uint32_t)k[6] << 16;   /* fall through */
    case 6: b += (uint32_t)k[5] << 8;    /* fall through */
    case 5: b += k[4];                   /* fall through */
    case 4: a += (uint32_t)k[3] << 24;   /* fall through */
    case 3: a += (uint32_t)k[2] << 16;   /* fall through */
    case 2: a += (uint32_t)k[1] << 8;    /* fall through */
    case 1: a += k[0]; break;
    case 0: return c;
    }
    c ^= b, c -= ROT(b, 14);
    a ^= c, a -= ROT(c, 11);
    b ^= a, b -= ROT(a, 25);
    c ^= b, c -= ROT(b, 16);
    a ^= c, a -= ROT(c, 4);
    b ^= a, b -= ROT(a, 14);
    c ^= b, c -= ROT(b, 24);
    return c;
}

/* The 4 bytes after n checksummed bytes at p hold their lookup3. */
static bool checksum_ok(const uint8_t *p, uint64_t n) {
    uint32_t want = (uint32_t)p[n] | (uint32_t)p[n + 1] << 8 | (uint32_t)p[n + 2] << 16 | (uint32_t)p[n + 3] << 24;
    return lookup3(p, (size_t)n) == want;
}

/* --- object headers ---------------------------------------------------------- */

typedef struct link {
    const uint8_t *name;
    uint64_t name_len;
    int type;       /* 0 hard, 1 soft, 64 external, other: user-defined */
    uint64_t addr;  /* hard links */
    const uint8_t *target; /* soft links: the path they stand for */
    uint64_t target_len;
} link;

/* What an object header says, of what this reader needs. */
typedef struct obj {
    bool stab;                  /* old-style group: symbol table message */
    uint64_t btree, heap;
    bool linfo, dense;          /* new-style group; dense: links in a fractal heap */
    /* compact links (link messages): nothing is stored of them but the one
     * asked for (want) and their number */
    const char *want;           /* the name looked for (NULL: none) */
    size_t want_len;
    link hit;
    bool found;
    uint64_t nlinks;
    bool space, type, layout;
    int space_kind;             /* 0 scalar, 1 simple, 2 null */
    int ndim;
    uint64_t dims[H5R_MAX_RANK];
    bool is_float, big_endian;
    unsigned tsize;
    int layout_class;           /* 0 compact, 1 contiguous */
    uint64_t data_addr, data_len;
    const uint8_t *compact;
    bool float_class;           /* a floating-point type, IEEE binary32 or not */
    /* fill value: the 0x0005 message's (it wins), else the old 0x0004's */
    int fill_state;             /* 0 default (zeros), 1 a value, 2 undefined */
    int fill_time;              /* 0 on allocation, 1 never, 2 if set */
    const uint8_t *fill;
    uint64_t fill_len;
    bool fill_new;              /* a 0x0005 message was seen */
    const uint8_t *old_fill;    /* the 0x0004 message's value */
    uint64_t old_fill_len;
    bool driver;                /* a driver info message */
    const char *unsupported;    /* first feature outside the subset */
    const char *refused;        /* first reference to another file */
} obj;


static bool in_file(const h5r *r, uint64_t addr) { return addr != UNDEF && addr < r->len - r->base; }

/* A message flagged shared holds a reference to the real one (another
 * object header, or the shared-message heap): outside the subset when the
 * reference is well formed, damage when it is not (a flipped flag bit over
 * an ordinary message), so hostile bytes are not handed to libhdf5 for
 * nothing. */
static h5r_status shared_ref(h5r *r, obj *o, cur b, uint64_t at_addr, const char *what) {
    unsigned ver = (unsigned)get(&b, 1), type = (unsigned)get(&b, 1);
    bool ok;
    if (ver == 1) skip(&b, 6 + r->sl), ok = in_file(r, get_addr(r, &b)); /* libhdf5 skips a length first */
    else if (ver == 2 || (ver == 3 && type == 2)) ok = in_file(r, get_addr(r, &b));
    else if (ver == 3 && type == 1) get(&b, 8), ok = true; /* a heap ID */
    else ok = false;
    if (!ok || b.bad)
        return fail(r, H5R_MALFORMED, "%s at 0x%llx: flagged shared, but no reference to a shared message",
                    what, (unsigned long long)at_addr);
    if (!o->unsupported) o->unsupported = "shared messages";
    return H5R_OK;
}

/* One message's body. Unknown types are skipped (attributes, times,
 * comments, group info...). */
static h5r_status on_message(h5r *r, obj *o, unsigned type, unsigned flags, cur b, uint64_t at_addr) {
    /* a shared message's body is a reference to the real one (another
     * header, or the shared-message heap) */
    bool shared = flags & 0x02;
    switch (type) {
    case 0x0001: { /* dataspace */
        if (shared) return shared_ref(r, o, b, at_addr, "dataspace");
        unsigned ver = (unsigned)get(&b, 1), nd = (unsigned)get(&b, 1), fl = (unsigned)get(&b, 1);
        if (ver == 1) skip(&b, 5), o->space_kind = nd ? 1 : 0;
        else if (ver == 2) {
            o->space_kind = (int)get(&b, 1);
            if (o->space_kind > 2) return fail(r, H5R_MALFORMED, "dataspace at 0x%llx: unknown kind %d",
                                              (unsigned long long)at_addr, o->space_kind);
        } else return fail(r, H5R_MALFORMED, "dataspace at 0x%llx: unknown version %u", (unsigned long long)at_addr, ver);
        if (nd > H5R_MAX_RANK)
            return fail(r, H5R_MALFORMED, "dataspace at 0x%llx: %u dimensions (HDF5 allows %d)",
                        (unsigned long long)at_addr, nd, H5R_MAX_RANK);
        o->ndim = o->space_kind == 1 ? (int)nd : 0;
        for (unsigned d = 0; d < nd; d++) {
            uint64_t v = get_len(r, &b);
            if (d < H5R_MAX_RANK) o->dims[d] = v;
        }
        (void)fl; /* maximum dimensions and permutations follow: not needed */
        if (b.bad) return fail(r, H5R_MALFORMED, "dataspace at 0x%llx is cut short", (unsigned long long)at_addr);
        o->space = true;
        return H5R_OK;
    }
    case 0x0003: { /* datatype */
        if (shared) return shared_ref(r, o, b, at_addr, "datatype");
        unsigned cv = (unsigned)get(&b, 1), bf0 = (unsigned)get(&b, 1), bf1 = (unsigned)get(&b, 1);
        get(&b, 1);
        o->tsize = (unsigned)get(&b, 4);
        o->is_float = false;
        o->float_class = (cv & 15) == 1;
        if (o->float_class) { /* floating point: bit offset, precision, exponent and mantissa fields, bias */
            unsigned off = (unsigned)get(&b, 2), prec = (unsigned)get(&b, 2), eloc = (unsigned)get(&b, 1),
                     esz = (unsigned)get(&b, 1), mloc = (unsigned)get(&b, 1), msz = (unsigned)get(&b, 1);
            uint32_t bias = (uint32_t)get(&b, 4);
            /* IEEE 754 binary32, either byte order (bit 6 with bit 0 is VAX order) */
            o->is_float = !b.bad && o->tsize == 4 && off == 0 && prec == 32 && eloc == 23 && esz == 8 && mloc == 0 &&
                          msz == 23 && bias == 127 && bf1 == 31 && !(bf0 & 0x40) && ((bf0 >> 4) & 3) == 2;
            o->big_endian = bf0 & 1;
            /* the fields must lie, apart, inside the precision, and the
             * precision inside the type's bytes (else damage, not a float
             * format for libhdf5 to convert) */
            bool apart = mloc + msz <= eloc || eloc + esz <= mloc;
            bool sign_apart = (bf1 < mloc || bf1 >= mloc + msz) && (bf1 < eloc || bf1 >= eloc + esz);
            if (!b.bad && !(msz >= 1 && esz >= 1 && mloc + msz <= prec && eloc + esz <= prec && bf1 < prec && apart &&
                            sign_apart && (uint64_t)off + prec <= 8 * (uint64_t)o->tsize))
                return fail(r, H5R_MALFORMED, "datatype at 0x%llx: float fields that do not fit its %u bytes",
                            (unsigned long long)at_addr, o->tsize);
        }
        if (b.bad) return fail(r, H5R_MALFORMED, "datatype at 0x%llx is cut short", (unsigned long long)at_addr);
        o->type = true;
        return H5R_OK;
    }
    case 0x0004: { /* fill value, old: size, value (ignored when a 0x0005 message exists, as libhdf5 does) */
        uint64_t n = get(&b, 4);
        const uint8_t *v = take(&b, n);
        if (b.bad) return fail(r, H5R_MALFORMED, "fill value at 0x%llx is cut short", (unsigned long long)at_addr);
        if (n) o->old_fill = v, o->old_fill_len = n;
        return H5R_OK;
    }
    case 0x0005: { /* fill value: versions 1-2 (allocation time, fill time, defined), 3 (flags) */
        if (shared) return shared_ref(r, o, b, at_addr, "fill value");
        unsigned ver = (unsigned)get(&b, 1);
        bool has_value;
        if (ver == 1 || ver == 2) {
            get(&b, 1);
            o->fill_time = (int)get(&b, 1);
            has_value = get(&b, 1) != 0;
            o->fill_state = has_value ? 0 : 2;
        } else if (ver == 3) {
            unsigned fl = (unsigned)get(&b, 1);
            if ((fl & 0xc0) || (fl & 0x30) == 0x30) /* libhdf5 refuses these */
                return fail(r, H5R_MALFORMED, "fill value at 0x%llx: flags 0x%x", (unsigned long long)at_addr, fl);
            o->fill_time = (int)((fl >> 2) & 3);
            has_value = fl & 0x20;
            o->fill_state = fl & 0x10 ? 2 : 0;
        } else return fail(r, H5R_MALFORMED, "fill value at 0x%llx: unknown version %u", (unsigned long long)at_addr, ver);
        if (has_value) { /* size 0: the default, zeros */
            uint64_t n = get(&b, 4);
            const uint8_t *v = take(&b, n);
            if (n) o->fill_state = 1, o->fill = v, o->fill_len = n;
        }
        if (b.bad) return fail(r, H5R_MALFORMED, "fill value at 0x%llx is cut short", (unsigned long long)at_addr);
        o->fill_new = true;
        return H5R_OK;
    }
    case 0x0002: { /* link info: a new-style group; a defined fractal heap means dense storage */
        unsigned ver = (unsigned)get(&b, 1), fl = (unsigned)get(&b, 1);
        if (ver != 0) return fail(r, H5R_MALFORMED, "link info at 0x%llx: unknown version %u", (unsigned long long)at_addr, ver);
        if (fl & 1) get(&b, 8);
        uint64_t fheap = get_addr(r, &b);
        get_addr(r, &b);
        if (b.bad) return fail(r, H5R_MALFORMED, "link info at 0x%llx is cut short", (unsigned long long)at_addr);
        o->linfo = true;
        if (fheap != UNDEF) { /* dense storage: a fractal heap, or damage */
            cur h;
            if (!at(r, fheap, 4, &h) || memcmp(h.p, "FRHP", 4))
                return fail(r, H5R_MALFORMED, "link info at 0x%llx: no fractal heap at 0x%llx", (unsigned long long)at_addr,
                            (unsigned long long)fheap);
            o->dense = true;
        }
        return H5R_OK;
    }
    case 0x0006: { /* link */
        unsigned ver = (unsigned)get(&b, 1), fl = (unsigned)get(&b, 1);
        if (ver != 1) return fail(r, H5R_MALFORMED, "link at 0x%llx: unknown version %u", (unsigned long long)at_addr, ver);
        link l = {0};
        l.type = fl & 0x08 ? (int)get(&b, 1) : 0;
        if (fl & 0x04) get(&b, 8);      /* creation order */
        if (fl & 0x10) get(&b, 1);      /* name's character set */
        l.name_len = get(&b, 1u << (fl & 3));
        l.name = take(&b, l.name_len);
        if (l.type == 0) l.addr = get_addr(r, &b);
        else if (l.type == 1) {
            l.target_len = get(&b, 2);
            l.target = take(&b, l.target_len);
        }
        if (b.bad || !l.name_len) return fail(r, H5R_MALFORMED, "link at 0x%llx is cut short", (unsigned long long)at_addr);
        if (l.type > 1 && l.type < 64) /* reserved types: libhdf5 cannot decode them either */
            return fail(r, H5R_MALFORMED, "link at 0x%llx: type %d", (unsigned long long)at_addr, l.type);
        o->nlinks++;
        if (o->want && !o->found && l.name_len == o->want_len && !memcmp(l.name, o->want, o->want_len))
            o->hit = l, o->found = true;
        return H5R_OK;
    }
    case 0x0007: /* external data files: the raw data lives in files named by this one */
        if (!o->refused) o->refused = "stores its data in external files";
        return H5R_OK;
    case 0x0008: { /* data layout */
        if (shared) return shared_ref(r, o, b, at_addr, "data layout");
        unsigned ver = (unsigned)get(&b, 1);
        if (ver == 1 || ver == 2) { /* HDF5 1.6 and before: dimensionality, class, reserved, address */
            unsigned nd = (unsigned)get(&b, 1), cls = (unsigned)get(&b, 1);
            skip(&b, 5);
            uint64_t a = cls ? get_addr(r, &b) : UNDEF;
            if (b.bad || nd < 1 || nd > H5R_MAX_RANK + 1 || cls > 2 || (a != UNDEF && !in_file(r, a)))
                return fail(r, H5R_MALFORMED, "data layout at 0x%llx: not a version %u layout", (unsigned long long)at_addr,
                            ver);
            if (!o->unsupported) o->unsupported = "a version 1 or 2 data layout";
            return H5R_OK;
        }
        if (ver == 0 || ver > 4)
            return fail(r, H5R_MALFORMED, "data layout at 0x%llx: unknown version %u", (unsigned long long)at_addr, ver);
        o->layout_class = (int)get(&b, 1);
        if (o->layout_class == 0) {
            o->data_len = get(&b, 2);
            o->compact = take(&b, o->data_len);
        } else if (o->layout_class == 1) {
            o->data_addr = get_addr(r, &b);
            o->data_len = get_len(r, &b);
        } else if (o->layout_class == 2) {
            /* v3: dimensionality (the dataspace's + 1), the chunk index's
             * address, the chunk's dimensions (4 bytes each); v4: flags,
             * dimensionality, the dimensions' width, ... */
            unsigned nd;
            bool ok;
            if (ver == 3) {
                nd = (unsigned)get(&b, 1);
                uint64_t a = get_addr(r, &b);
                ok = nd >= 2 && nd <= H5R_MAX_RANK + 1 && (a == UNDEF || in_file(r, a));
                for (unsigned d = 0; ok && d < nd; d++) ok = get(&b, 4) != 0;
            } else {
                unsigned fl = (unsigned)get(&b, 1);
                nd = (unsigned)get(&b, 1);
                unsigned w = (unsigned)get(&b, 1);
                ok = fl < 4 && nd >= 2 && nd <= H5R_MAX_RANK + 1 && w >= 1 && w <= 8;
            }
            if (!ok || b.bad)
                return fail(r, H5R_MALFORMED, "data layout at 0x%llx: not a chunked layout", (unsigned long long)at_addr);
            if (!o->unsupported) o->unsupported = "chunked storage";
            return H5R_OK;
        } else if (o->layout_class == 3) {
            if (!o->refused) o->refused = "is a virtual dataset (its data is in other files)";
            return H5R_OK;
        } else return fail(r, H5R_MALFORMED, "data layout at 0x%llx: unknown class %d", (unsigned long long)at_addr, o->layout_class);
        if (b.bad) return fail(r, H5R_MALFORMED, "data layout at 0x%llx is cut short", (unsigned long long)at_addr);
        o->layout = true;
        return H5R_OK;
    }
    case 0x0014: /* driver info (in a superblock extension): the family, multi and split drivers' */
        o->driver = true;
        return H5R_OK;
    case 0x0011: /* symbol table: an old-style group */
        o->btree = get_addr(r, &b);
        o->heap = get_addr(r, &b);
        if (b.bad) return fail(r, H5R_MALFORMED, "symbol table message at 0x%llx is cut short", (unsigned long long)at_addr);
        o->stab = true;
        return H5R_OK;
    default:
        /* Types up to 0x18 are HDF5's own (attributes, times, group info,
         * ...): nothing this reader needs. Beyond, bit 7 says a reader
         * that does not know the type must fail; libhdf5 does not know
         * one either. */
        if (type > 0x18 && (flags & 0x80))
            return fail(r, H5R_MALFORMED, "message at 0x%llx: unknown type %u that must be understood",
                        (unsigned long long)at_addr, type);
        return H5R_OK;
    }
}

typedef struct span { uint64_t addr, len; } span;

/* The chunks of one object header: in the order they are parsed (v, a
 * queue: the first chunk, then each continuation block as it is named),
 * and by address (by_addr) to refuse a block that overlaps another. A few
 * in place, more on the heap. */
typedef struct spans {
    span *v, *by_addr, local[8], local_by[8];
    size_t n, cap;
} spans;

static void spans_init(spans *q) {
    *q = (spans){0};
    q->v = q->local, q->by_addr = q->local_by, q->cap = sizeof q->local / sizeof *q->local;
}

static void spans_free(spans *q) {
    if (q->v != q->local) free(q->v), free(q->by_addr);
}

/* Adds s unless it overlaps a chunk already there: H5R_OK, or
 * H5R_MALFORMED naming it (or out of memory). The insertion's shift is
 * charged to the budget. */
static h5r_status spans_add(h5r *r, spans *q, span s) {
    size_t lo = 0, hi = q->n; /* first chunk at or after s.addr */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (q->by_addr[mid].addr < s.addr) lo = mid + 1;
        else hi = mid;
    }
    if ((lo > 0 && q->by_addr[lo - 1].addr + q->by_addr[lo - 1].len > s.addr) ||
        (lo < q->n && q->by_addr[lo].addr < s.addr + s.len))
        return fail(r, H5R_MALFORMED, "continuation block at 0x%llx overlaps another chunk of its object header",
                    (unsigned long long)s.addr);
    if (!spend(r, 1 + q->n / 256)) return TOO_MUCH(r);
    if (q->n == q->cap) {
        size_t cap = q->cap * 2;
        span *nv = malloc(cap * sizeof *nv), *nb = malloc(cap * sizeof *nb);
        if (!nv || !nb) {
            free(nv), free(nb);
            return fail(r, H5R_MALFORMED, "out of memory");
        }
        memcpy(nv, q->v, q->n * sizeof *nv);
        memcpy(nb, q->by_addr, q->n * sizeof *nb);
        spans_free(q);
        q->v = nv, q->by_addr = nb, q->cap = cap;
    }
    memmove(q->by_addr + lo + 1, q->by_addr + lo, (q->n - lo) * sizeof *q->by_addr);
    q->by_addr[lo] = s;
    q->v[q->n++] = s;
    return H5R_OK;
}

/* The messages of one chunk [c.i, c.n); v2 headers have 1-byte types and
 * maybe a creation order. Continuations are queued. */
static h5r_status chunk_messages(h5r *r, obj *o, cur c, int ver, bool order, uint64_t chunk_addr, spans *queue) {
    unsigned hdr = ver == 1 ? 8 : (order ? 6 : 4);
    while (left(&c) >= hdr) {
        if (!spend(r, 1)) return TOO_MUCH(r);
        uint64_t here = chunk_addr + c.i;
        unsigned type, size, flags;
        if (ver == 1) type = (unsigned)get(&c, 2), size = (unsigned)get(&c, 2), flags = (unsigned)get(&c, 1), get(&c, 3);
        else {
            type = (unsigned)get(&c, 1), size = (unsigned)get(&c, 2), flags = (unsigned)get(&c, 1);
            if (order) get(&c, 2);
        }
        const uint8_t *body = take(&c, size);
        if (!body) return fail(r, H5R_MALFORMED, "object header message at 0x%llx runs past its chunk",
                               (unsigned long long)here);
        cur b = {body, size, 0, false};
        if (type == 0x0010) { /* continuation */
            uint64_t a = get_addr(r, &b), n = get_len(r, &b);
            if (b.bad) return fail(r, H5R_MALFORMED, "continuation at 0x%llx is cut short", (unsigned long long)here);
            /* chunks may not overlap: a block named twice, or one that
             * holds its own continuation, would be parsed again and again;
             * so each byte of the file is parsed at most once per object */
            if (n == 0 || a == UNDEF || a > UINT64_MAX - n)
                return fail(r, H5R_MALFORMED, "continuation at 0x%llx: block of %llu bytes at 0x%llx",
                            (unsigned long long)here, (unsigned long long)n, (unsigned long long)a);
            h5r_status st = spans_add(r, queue, (span){a, n});
            if (st) return st;
            continue;
        }
        h5r_status st = on_message(r, o, type, flags, b, here);
        if (st) return st;
    }
    return H5R_OK;
}

/* The object header at addr into *o; want (n bytes, or NULL): the link
 * message looked for, in a group that keeps its links in its header. */
static h5r_status parse_object(h5r *r, uint64_t addr, obj *o, const char *want, size_t want_len) {
    *o = (obj){0};
    o->want = want, o->want_len = want_len;
    cur c;
    if (!at_open(r, addr, &c)) return fail(r, H5R_MALFORMED, "object header address 0x%llx is outside the file",
                                           (unsigned long long)addr);
    spans queue;
    spans_init(&queue);
    int ver;
    bool order = false;
    h5r_status st = H5R_OK;
    if (c.n >= 4 && !memcmp(c.p, "OHDR", 4)) {
        ver = 2;
        get(&c, 4);
        unsigned v = (unsigned)get(&c, 1), fl = (unsigned)get(&c, 1);
        if (v != 2) st = fail(r, H5R_MALFORMED, "object header at 0x%llx: unknown version %u", (unsigned long long)addr, v);
        order = fl & 0x04;
        if (fl & 0x20) skip(&c, 16); /* times */
        if (fl & 0x10) get(&c, 4);  /* attribute phase change */
        uint64_t n = get(&c, 1u << (fl & 3));
        uint64_t start = c.i;
        if (!st && (c.bad || n > left(&c) || left(&c) - n < 4))
            st = fail(r, H5R_MALFORMED, "object header at 0x%llx runs past the end of the file", (unsigned long long)addr);
        else if (!st && !spend(r, 1 + (start + n) / 64)) st = TOO_MUCH(r); /* the checksum's bytes */
        else if (!st) st = spans_add(r, &queue, (span){addr, start + n + 4});
        if (!st && !checksum_ok(c.p, start + n))
            st = fail(r, H5R_MALFORMED, "object header at 0x%llx: checksum mismatch", (unsigned long long)addr);
        if (!st) st = chunk_messages(r, o, (cur){c.p + start, n, 0, false}, 2, order, addr + start, &queue);
    } else {
        ver = (int)get(&c, 1);
        if (ver != 1) st = fail(r, H5R_MALFORMED, "object header at 0x%llx: unknown version %d", (unsigned long long)addr, ver);
        get(&c, 3);          /* reserved, number of messages (not needed: chunks end them) */
        get(&c, 4);          /* reference count */
        uint64_t n = get(&c, 4);
        get(&c, 4);          /* padding to 8 bytes */
        if (!st && (c.bad || n > left(&c)))
            st = fail(r, H5R_MALFORMED, "object header at 0x%llx runs past the end of the file", (unsigned long long)addr);
        else if (!st) st = spans_add(r, &queue, (span){addr, 16 + n});
        if (!st) st = chunk_messages(r, o, (cur){c.p + c.i, n, 0, false}, 1, false, addr + 16, &queue);
    }
    for (size_t q = 1; !st && q < queue.n; q++) { /* 0: the first chunk */
        span s = queue.v[q];
        cur k;
        if (!spend(r, 1 + s.len / 64)) st = TOO_MUCH(r);
        else if (!at(r, s.addr, s.len, &k))
            st = fail(r, H5R_MALFORMED, "continuation block at 0x%llx (%llu bytes) is outside the file",
                      (unsigned long long)s.addr, (unsigned long long)s.len);
        else if (ver == 1) st = chunk_messages(r, o, k, 1, false, s.addr, &queue);
        else if (s.len < 8 || memcmp(k.p, "OCHK", 4))
            st = fail(r, H5R_MALFORMED, "continuation block at 0x%llx: no OCHK signature", (unsigned long long)s.addr);
        else if (!checksum_ok(k.p, s.len - 4))
            st = fail(r, H5R_MALFORMED, "continuation block at 0x%llx: checksum mismatch", (unsigned long long)s.addr);
        else st = chunk_messages(r, o, (cur){k.p + 4, s.len - 8, 0, false}, 2, order, s.addr + 4, &queue);
    }
    spans_free(&queue);
    if (st) *o = (obj){0};
    return st;
}

/* --- groups --------------------------------------------------------------------- */

typedef struct heap { cur seg; } heap;

static h5r_status open_heap(h5r *r, uint64_t addr, heap *h) {
    cur c;
    if (!at(r, addr, 8 + 2 * r->sl + r->so, &c) || memcmp(c.p, "HEAP", 4) || c.p[4] != 0)
        return fail(r, H5R_MALFORMED, "local heap at 0x%llx: no HEAP signature", (unsigned long long)addr);
    get(&c, 8);
    uint64_t size = get_len(r, &c);
    get_len(r, &c);
    uint64_t data = get_addr(r, &c);
    if (!at(r, data, size, &h->seg))
        return fail(r, H5R_MALFORMED, "local heap at 0x%llx: its data (%llu bytes at 0x%llx) is outside the file",
                    (unsigned long long)addr, (unsigned long long)size, (unsigned long long)data);
    return H5R_OK;
}

/* strcmp(name, the heap string at off) for a name of n bytes, reading at
 * most n + 1 bytes of the heap (a hostile heap may hold one megabyte-long
 * string that every entry names). False when off is outside the heap or
 * the string runs off its end before the comparison is decided. */
static bool heap_cmp(const heap *h, uint64_t off, const char *name, size_t n, int *cmp) {
    if (off >= h->seg.n) return false;
    const uint8_t *s = h->seg.p + off;
    uint64_t room = h->seg.n - off;
    for (size_t i = 0; i <= n; i++) {
        if (i >= room) return false;
        int a = i < n ? (unsigned char)name[i] : 0, c = s[i];
        if (a != c || a == 0) {
            *cmp = a - c;
            return true;
        }
    }
    return false; /* not reached: i == n gives a == 0 */
}

/* The whole heap string at off (a soft link's value: read once per link
 * followed, its bytes charged to the budget). */
static h5r_status heap_string(h5r *r, const heap *h, uint64_t off, const uint8_t **s, uint64_t *len) {
    if (off >= h->seg.n) return fail(r, H5R_MALFORMED, "a soft link's value is outside its local heap");
    const uint8_t *p = h->seg.p + off, *z = memchr(p, 0, (size_t)(h->seg.n - off));
    if (!z) return fail(r, H5R_MALFORMED, "a soft link's value runs off the end of its local heap");
    if (!spend(r, 1 + (uint64_t)(z - p) / 64)) return TOO_MUCH(r);
    *s = p, *len = (uint64_t)(z - p);
    return H5R_OK;
}

/* A symbol table node: its number of entries (*count += it: counting needs
 * no names, as libhdf5's own count), or the entry called name (find),
 * bisected as libhdf5 does (entries are in name order; out of order, in a
 * damaged file, a name may be missed, as libhdf5 misses it). An entry is
 * a symbol table entry: name offset (a length), object header address,
 * cache type, reserved, 16 bytes of scratch pad. */
static h5r_status snod_scan(h5r *r, uint64_t addr, const heap *h, const char *name, size_t n, uint64_t *count,
                            link *out, bool *hit) {
    cur c;
    if (!at(r, addr, 8, &c) || memcmp(c.p, "SNOD", 4) || c.p[4] != 1)
        return fail(r, H5R_MALFORMED, "symbol table node at 0x%llx: no SNOD signature", (unsigned long long)addr);
    get(&c, 6);
    unsigned k = (unsigned)get(&c, 2);
    uint64_t entry = (uint64_t)r->so + r->sl + 24;
    if (!spend(r, 1)) return TOO_MUCH(r);
    cur all;
    if (!at(r, addr + 8, k * entry, &all))
        return fail(r, H5R_MALFORMED, "symbol table node at 0x%llx: %u entries run past the end of the file",
                    (unsigned long long)addr, k);
    if (!name) {
        *count += k;
        return H5R_OK;
    }
    unsigned lo = 0, hi = k;
    while (lo < hi) {
        if (!spend(r, 1)) return TOO_MUCH(r);
        unsigned e = lo + (hi - lo) / 2;
        cur c2 = {all.p + e * entry, entry, 0, false};
        uint64_t off = get_len(r, &c2), ohdr = get_addr(r, &c2);
        unsigned cache = (unsigned)get(&c2, 4);
        get(&c2, 4);
        uint64_t value = get(&c2, 4); /* scratch pad; cache type 2 (soft link): its value's heap offset */
        int cmp;
        if (!heap_cmp(h, off, name, n, &cmp))
            return fail(r, H5R_MALFORMED, "symbol table node at 0x%llx: entry %u has no name in the local heap",
                        (unsigned long long)addr, e);
        if (cmp < 0) hi = e;
        else if (cmp > 0) lo = e + 1;
        else {
            *out = (link){.name = (const uint8_t *)name, .name_len = n, .addr = ohdr};
            if (cache == 2) {
                out->type = 1;
                h5r_status st = heap_string(r, h, value, &out->target, &out->target_len);
                if (st) return st;
            }
            *hit = true;
            return H5R_OK;
        }
    }
    return H5R_OK;
}

/* A group B-tree (v1, type 0) node and its subtree; level must be the
 * parent's minus one (-1 at the root: any), so the descent ends within
 * 256 levels. Counting visits every child; a lookup, as libhdf5's, goes
 * down the first child whose right key (the last name under it) is not
 * below the name; keys out of order (a damaged file) make the name absent,
 * as they do for libhdf5. */
static h5r_status btree_scan(h5r *r, uint64_t addr, int level, const heap *h, const char *name, size_t n,
                             uint64_t *count, link *out, bool *hit) {
    cur c;
    uint64_t head = 8 + 2 * (uint64_t)r->so;
    if (!at(r, addr, head, &c) || memcmp(c.p, "TREE", 4))
        return fail(r, H5R_MALFORMED, "group B-tree node at 0x%llx: no TREE signature", (unsigned long long)addr);
    get(&c, 4);
    unsigned type = (unsigned)get(&c, 1), lev = (unsigned)get(&c, 1), k = (unsigned)get(&c, 2);
    if (type != 0)
        return fail(r, H5R_MALFORMED, "group B-tree node at 0x%llx: node type %u, not a group's", (unsigned long long)addr,
                    type);
    if (level >= 0 && (int)lev != level)
        return fail(r, H5R_MALFORMED, "group B-tree node at 0x%llx: level %u where %d was expected", (unsigned long long)addr,
                    lev, level);
    if (!spend(r, k + 1)) return TOO_MUCH(r);
    /* key0 child0 key1 child1 ... child(k-1) key(k); keys are heap offsets */
    if (!at(r, addr + head, (uint64_t)k * (r->so + r->sl) + r->sl, &c))
        return fail(r, H5R_MALFORMED, "group B-tree node at 0x%llx: %u entries run past the end of the file",
                    (unsigned long long)addr, k);
    get_len(r, &c); /* key 0 */
    for (unsigned e = 0; e < k; e++) {
        uint64_t child = get_addr(r, &c), key = get_len(r, &c);
        if (name) {
            int cmp;
            if (!heap_cmp(h, key, name, n, &cmp))
                return fail(r, H5R_MALFORMED, "group B-tree node at 0x%llx: key %u is not a name in the local heap",
                            (unsigned long long)addr, e + 1);
            if (cmp > 0) continue;
        }
        h5r_status st = lev ? btree_scan(r, child, (int)lev - 1, h, name, n, count, out, hit)
                            : snod_scan(r, child, h, name, n, count, out, hit);
        if (st || name) return st;
    }
    return H5R_OK;
}

/* A group, as libhdf5 tells one: a link info message (the newer format;
 * its links in link messages, or dense in a fractal heap) or else a symbol
 * table message. */
static bool is_group(const obj *o) { return o->stab || o->linfo; }

/* name (n bytes) in a group: *hit and the link; or, name NULL, the number
 * of links in *count. */
static h5r_status group_scan(h5r *r, const obj *o, const char *name, size_t n, uint64_t *count, link *out, bool *hit) {
    *hit = false;
    if (o->linfo) { /* the links were looked at as the header was parsed (parse_object's want) */
        if (o->dense) return fail(r, H5R_UNSUPPORTED, "a group with dense link storage (fractal heap)");
        if (!name) *count += o->nlinks;
        else if (o->found && o->want_len == n && !memcmp(o->want, name, n)) *out = o->hit, *hit = true;
        return H5R_OK;
    }
    heap h;
    h5r_status st = open_heap(r, o->heap, &h);
    return st ? st : btree_scan(r, o->btree, -1, &h, name, n, count, out, hit);
}

#define MAX_SOFT_LINKS 16 /* soft links one path may go through: libhdf5's default (H5L_NUM_LINKS) */

/* The next component of [*p, end) ("" and "." skipped, as libhdf5 skips
 * them whatever the object is): its start and length, or NULL at the end. */
static const char *next_component(const char **p, const char *end, size_t *n) {
    for (;;) {
        while (*p < end && **p == '/') ++*p;
        if (*p == end) return NULL;
        const char *slash = memchr(*p, '/', (size_t)(end - *p));
        *n = slash ? (size_t)(slash - *p) : (size_t)(end - *p);
        if (*n == 1 && **p == '.') {
            *p += 1;
            continue;
        }
        const char *c = *p;
        *p += *n;
        return c;
    }
}

/* The object at path (len bytes; absolute, or relative to the group at
 * start), parsed into *o with want (the link the caller will look for in
 * it, or NULL), its address into *addr. Each header is parsed knowing the
 * name to look for in it, so nothing of its links is kept. Soft links are
 * followed within the file, *links_left of them in all (one count for the
 * whole traversal, nested targets included, as libhdf5's). On an error *o
 * holds nothing. */
static h5r_status resolve_from(h5r *r, uint64_t start, const char *path, size_t len, int *links_left, const char *want,
                               size_t want_len, obj *o, uint64_t *addr) {
    const char *p = path, *end = path + len;
    uint64_t here = len && path[0] == '/' ? r->root : start;
    size_t n = 0, next_n = 0;
    const char *comp = next_component(&p, end, &n);
    h5r_status st = comp ? parse_object(r, here, o, comp, n) : parse_object(r, here, o, want, want_len);
    while (!st && comp) {
        if (!is_group(o)) st = fail(r, H5R_ABSENT, "'%.*s' is under something that is not a group", (int)n, comp);
        link l = {0};
        bool hit = false;
        uint64_t unused = 0;
        if (!st) st = group_scan(r, o, comp, n, &unused, &l, &hit);
        if (!st && !hit) st = fail(r, H5R_ABSENT, "no link '%.*s'", (int)n, comp);
        *o = (obj){0};
        if (st) break;
        const char *next = next_component(&p, end, &next_n);
        const char *w = next ? next : want;
        size_t wn = next ? next_n : want_len;
        if (l.type == 1) { /* resolve the soft link's path, then parse its object for what comes next */
            if (--*links_left < 0)
                st = fail(r, H5R_MALFORMED, "more than %d soft links on the way to '%.*s' (a loop?)", MAX_SOFT_LINKS,
                          (int)n, comp);
            else {
                obj t;
                st = resolve_from(r, here, (const char *)l.target, (size_t)l.target_len, links_left, NULL, 0, &t, &here);
            }
        } else if (l.type == 64)
            st = fail(r, H5R_REFUSED, "'%.*s' is an external link (to another file): refused", (int)n, comp);
        else if (l.type != 0) /* user-defined classes are registered by a program, not by the file: libhdf5 fails too */
            st = fail(r, H5R_MALFORMED, "link '%.*s' of type %d (no reader knows it)", (int)n, comp, l.type);
        else here = l.addr;
        if (!st) st = parse_object(r, here, o, w, wn);
        comp = next, n = next_n;
    }
    if (st) *o = (obj){0};
    else *addr = here;
    return st;
}

static h5r_status resolve(h5r *r, const char *path, const char *want, size_t want_len, obj *o) {
    uint64_t addr;
    int links_left = MAX_SOFT_LINKS;
    return resolve_from(r, r->root, path, strlen(path), &links_left, want, want_len, o, &addr);
}

h5r_status h5r_group_size(h5r *r, const char *path, long *n) {
    obj o;
    *n = -1;
    h5r_status st = resolve(r, path, NULL, 0, &o);
    if (!st && !is_group(&o)) st = fail(r, H5R_WRONG_KIND, "'%s' is not a group", path);
    uint64_t k = 0;
    link unused;
    bool hit;
    if (!st) st = group_scan(r, &o, NULL, 0, &k, &unused, &hit);
    if (!st) *n = k > (uint64_t)LONG_MAX ? LONG_MAX : (long)k;
    return st;
}

h5r_status h5r_dataset_open(h5r *r, const char *path, h5r_dataset *d) {
    obj o;
    *d = (h5r_dataset){0};
    h5r_status st = resolve(r, path, NULL, 0, &o);
    if (st) return st;
    if (o.refused) st = fail(r, H5R_REFUSED, "'%s' %s: refused", path, o.refused);
    else if (o.unsupported) st = fail(r, H5R_UNSUPPORTED, "%s", o.unsupported);
    else if (is_group(&o) || !o.space || !o.type || !o.layout)
        st = fail(r, H5R_WRONG_KIND, "'%s' is not a dataset", path);
    /* a 4-byte float that is not IEEE binary32 (another bias, VAX order):
     * libhdf5 converts it */
    else if (o.float_class && o.tsize == 4 && !o.is_float) st = fail(r, H5R_UNSUPPORTED, "a non-IEEE 4-byte float type");
    else if (o.space_kind == 2) st = fail(r, H5R_NO_VALUES, "'%s' holds no values (a null dataspace)", path);
    if (st) return st;
    d->ndim = o.ndim;
    memcpy(d->dims, o.dims, sizeof d->dims);
    d->is_float = o.is_float, d->size = o.tsize, d->big_endian = o.big_endian;
    if (o.layout_class == 0) d->data = o.compact, d->data_len = o.data_len;
    else if (o.data_addr != UNDEF) {
        cur c;
        if (!at(r, o.data_addr, o.data_len, &c))
            st = fail(r, H5R_MALFORMED, "'%s': its data (%llu bytes at 0x%llx) is outside the file", path,
                      (unsigned long long)o.data_len, (unsigned long long)o.data_addr);
        d->data = c.p, d->data_len = o.data_len;
    }
    if (!st && !d->data && o.is_float) {
        /* storage never written: what libhdf5 reads there. The 0x0005
         * message's fill value wins over the old 0x0004 one. */
        /* no 0x0005 message: the old one's value, or (none, or empty) undefined, as libhdf5 takes it */
        int state = o.fill_new ? o.fill_state : (o.old_fill ? 1 : 2);
        const uint8_t *v = o.fill_new ? o.fill : o.old_fill;
        uint64_t vlen = o.fill_new ? o.fill_len : o.old_fill_len;
        if (o.fill_new && o.fill_time == 1) /* libhdf5 leaves the reader's buffer as it was */
            st = fail(r, H5R_NO_VALUES, "'%s' holds no values (storage never written, fill time \"never\")", path);
        else if (state == 2) /* libhdf5 fails the read */
            st = fail(r, H5R_NO_VALUES, "'%s' holds no values (storage never written, no fill value)", path);
        else if (state == 1 && vlen != 4)
            st = fail(r, H5R_MALFORMED, "'%s': a fill value of %llu bytes for 4-byte values", path, (unsigned long long)vlen);
        else if (state == 1) memcpy(d->fill, v, 4);
    }
    return st;
}

h5r_status h5r_read_f32(h5r *r, const h5r_dataset *d, float *out, uint64_t numel) {
    if (!d->is_float || d->size != 4) return fail(r, H5R_WRONG_KIND, "not float32");
    if (numel > UINT64_MAX / 4) return fail(r, H5R_MALFORMED, "too many elements");
    const uint8_t *src = d->data;
    if (src && d->data_len != numel * 4)
        return fail(r, H5R_MALFORMED, "its storage holds %llu bytes, its shape needs %llu",
                    (unsigned long long)d->data_len, (unsigned long long)(numel * 4));
    for (uint64_t i = 0; i < numel; i++) {
        const uint8_t *b = src ? src + 4 * i : d->fill;
        uint32_t u = d->big_endian ? (uint32_t)b[3] | (uint32_t)b[2] << 8 | (uint32_t)b[1] << 16 | (uint32_t)b[0] << 24
                                   : (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
        memcpy(&out[i], &u, 4);
    }
    return H5R_OK;
}

/* --- superblock ------------------------------------------------------------------ */

static const uint8_t SIGNATURE[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

h5r_status h5r_open(const uint8_t *image, size_t len, h5r **out, char *msg, size_t msg_len) {
    *out = NULL;
    h5r *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(msg, msg_len, "out of memory");
        return H5R_MALFORMED;
    }
    r->img = image, r->len = len;
    /* the work of every lookup of one load: a lookup of a well-formed file
     * visits a few hundred entries, each of them bytes of the file */
    r->budget = 16 * (uint64_t)len + ((uint64_t)1 << 20);
    /* the superblock is at 0, or after a user block at 512, 1024, 2048, ... */
    uint64_t sb = 0;
    while (!(len >= 8 && sb <= len - 8 && !memcmp(image + sb, SIGNATURE, 8))) {
        sb = sb ? sb * 2 : 512;
        if (sb >= len) break;
    }
    h5r_status st = H5R_OK;
    cur c = {image, len, 0, false};
    if (sb >= len || len < 8) st = fail(r, H5R_MALFORMED, "no HDF5 signature (not an HDF5 file)");
    else {
        c.i = sb + 8;
        unsigned ver = (unsigned)get(&c, 1);
        uint64_t eof = 0;
        if (ver <= 1) {
            get(&c, 4); /* free-space, root entry, reserved, shared header versions */
            r->so = (unsigned)get(&c, 1), r->sl = (unsigned)get(&c, 1);
            skip(&c, 1 + 2 + 2 + 4 + (ver == 1 ? 4 : 0)); /* reserved, K values, flags */
        } else if (ver <= 3) {
            r->so = (unsigned)get(&c, 1), r->sl = (unsigned)get(&c, 1);
            get(&c, 1); /* flags */
        } else st = fail(r, H5R_MALFORMED, "unknown superblock version %u", ver);
        bool sizes_ok = (r->so == 2 || r->so == 4 || r->so == 8) && (r->sl == 2 || r->sl == 4 || r->sl == 8);
        bool sizes_16 = (r->so == 2 || r->so == 4 || r->so == 8 || r->so == 16) &&
                        (r->sl == 2 || r->sl == 4 || r->sl == 8 || r->sl == 16);
        if (!st && !sizes_ok && sizes_16)
            st = fail(r, H5R_UNSUPPORTED, "16-byte offsets or lengths");
        else if (!st && !sizes_ok)
            st = fail(r, H5R_MALFORMED, "sizes of offsets and lengths %u and %u (HDF5 has 2, 4, 8 or 16)", r->so, r->sl);
        uint64_t stored_base = 0, ext = UNDEF;
        if (!st) {
            stored_base = get_addr(r, &c);
            if (ver <= 1) {
                get_addr(r, &c); /* free-space info */
                eof = get_addr(r, &c);
                uint64_t driver = get_addr(r, &c);
                get_len(r, &c);  /* root entry: link name offset (a length, as libhdf5 decodes it) */
                r->root = get_addr(r, &c);
                skip(&c, 24);    /* cache type, reserved, scratch pad */
                if (!c.bad && driver != UNDEF) /* the family, multi and split drivers' files: one of a set */
                    st = fail(r, H5R_REFUSED, "a file driver information block (one file of a multi-file set): refused");
            } else {
                ext = get_addr(r, &c); /* superblock extension: looked at for a driver info message */
                eof = get_addr(r, &c);
                r->root = get_addr(r, &c);
                uint32_t stored = (uint32_t)get(&c, 4);
                if (!c.bad && lookup3(image + sb, (size_t)(c.i - 4 - sb)) != stored)
                    st = fail(r, H5R_MALFORMED, "superblock checksum mismatch");
            }
            /* As libhdf5: addresses count from where the superblock was
             * found (a user block, or bytes put before the file), whatever
             * base the superblock stores, and the stored end of file moves
             * with it; it is compared with the file's whole size. */
            r->base = sb;
            if (!st && c.bad) st = fail(r, H5R_MALFORMED, "the superblock is cut short");
            else if (!st && (stored_base == UNDEF || eof == UNDEF || eof < stored_base || eof - stored_base > len - sb))
                st = fail(r, H5R_MALFORMED, "the superblock says the file ends at %llu bytes (base %llu), it has %llu "
                          "(truncated)", (unsigned long long)(eof == UNDEF ? 0 : eof),
                          (unsigned long long)(stored_base == UNDEF ? 0 : stored_base), (unsigned long long)len);
            else if (!st && r->root == UNDEF) st = fail(r, H5R_MALFORMED, "no root group");
            /* nothing past the end of file is read, as libhdf5 reads nothing
             * past its end of allocation; the budget follows the bytes read */
            if (!st) {
                r->len = sb + (eof - stored_base);
                r->budget = 16 * r->len + ((uint64_t)1 << 20);
            }
            obj x;
            if (!st && ext != UNDEF && !(st = parse_object(r, ext, &x, NULL, 0)) && x.driver)
                st = fail(r, H5R_REFUSED, "a file driver information block (one file of a multi-file set): refused");
        }
    }
    if (st) {
        snprintf(msg, msg_len, "%s", r->msg);
        free(r);
        return st;
    }
    *out = r;
    return H5R_OK;
}

void h5r_close(h5r *r) { free(r); }

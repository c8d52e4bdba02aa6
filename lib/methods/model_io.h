/* Container format of model and checkpoint files: a small header followed by
 * named, typed records, protected by CRC32 (zlib).
 *
 * Layout (all integers little-endian):
 *
 *   offset  size  field
 *        0     8  magic: "DCMODEL\0" (model) or "DCCKPT\0\0" (training checkpoint)
 *        8     4  u32 format version (1)
 *       12     4  u32 reserved, 0
 *       16     8  u64 payload length P in bytes
 *       24     4  u32 CRC32 of the payload
 *       28     4  u32 CRC32 of bytes 0..27 (the header above)
 *       32     P  payload: records, back to back, no padding
 *
 *   record: u16 name length L, L bytes of ASCII name (no NUL), u8 type,
 *           u8 reserved (0), u64 element count C, C elements of the type
 *   types:  1 u8 (text), 2 i32, 3 i64, 4 u64, 5 f32 (IEEE binary32), 6 f64
 *
 * Readers look records up by name, so a later version may add records that
 * older readers ignore; it bumps the version only when a record changes
 * meaning. Loading checks, in this order: magic (DC_ERR_FORMAT), version
 * (newer: DC_ERR_VERSION), header size and CRC (DC_ERR_TRUNCATED,
 * DC_ERR_CHECKSUM), payload length against the file size (shorter:
 * DC_ERR_TRUNCATED, longer: DC_ERR_FORMAT), payload CRC (DC_ERR_CHECKSUM),
 * record structure (DC_ERR_FORMAT). Writes go to a temporary file renamed
 * over the target, so a reader never sees a partial file. The same bytes
 * can be written to and read from memory (dc_model_save_to_buffer). */
#ifndef DCI_MODEL_IO_H
#define DCI_MODEL_IO_H

#include <stddef.h>
#include <stdint.h>

#include "data/fileio.h"
#include "deepclust/status.h"

#define DCI_MAGIC_MODEL "DCMODEL\0"
#define DCI_MAGIC_CHECKPOINT "DCCKPT\0\0"
#define DCI_CONTAINER_VERSION 1u
#define DCI_CONTAINER_HEADER 32

typedef enum dci_rec_type {
    DCI_REC_U8 = 1,
    DCI_REC_I32 = 2,
    DCI_REC_I64 = 3,
    DCI_REC_U64 = 4,
    DCI_REC_F32 = 5,
    DCI_REC_F64 = 6
} dci_rec_type;

/* ---- writing ---- */

typedef struct dci_rec_writer {
    dci_atomic_file af;
    char magic[8];
    uint64_t bytes; /* payload written so far */
    uint32_t crc;
    dc_status st;   /* first error; later puts are no-ops */
    int in_memory;  /* dci_rec_begin_mem: into mem, not a file */
    unsigned char *mem; /* NULL: only counting (no buffer, or it was too small) */
    size_t mem_cap;
} dci_rec_writer;

dc_status dci_rec_begin(dci_rec_writer *w, const char *path, const char *magic);
/* Appends a record (count elements of type at data). Errors are sticky and
 * reported by dci_rec_commit, so a writer can put many records unchecked. */
void dci_rec_put(dci_rec_writer *w, const char *name, dci_rec_type type, const void *data,
                 int64_t count);
void dci_rec_put_i64(dci_rec_writer *w, const char *name, int64_t v);
void dci_rec_put_f64(dci_rec_writer *w, const char *name, double v);
void dci_rec_put_str(dci_rec_writer *w, const char *name, const char *s);
/* Writes the header and renames the file into place; on any error (also an
 * earlier put's) removes the temporary file and returns that error. */
dc_status dci_rec_commit(dci_rec_writer *w);

/* The same bytes into memory: dst (capacity bytes) receives header and
 * payload; dst NULL only counts. Nothing to abort or free. */
void dci_rec_begin_mem(dci_rec_writer *w, const char *magic, void *dst, size_t capacity);
/* *size = the whole container's size. With want_bytes, also writes the
 * header into dst, or fails with DC_ERR_SHAPE when the capacity was short
 * (*size still set). An earlier put's error is returned first. */
dc_status dci_rec_finish_mem(dci_rec_writer *w, int want_bytes, size_t *size);

/* ---- reading ---- */

typedef struct dci_rec {
    const char *name; /* not NUL-terminated: name_len bytes */
    size_t name_len;
    dci_rec_type type;
    int64_t count;
    const unsigned char *data;
} dci_rec;

typedef struct dci_rec_file {
    char magic[8];
    uint32_t version;
    unsigned char *buf; /* the payload */
    dci_rec *recs;
    int64_t n_recs;
    const char *path;   /* borrowed, for messages */
} dci_rec_file;

/* Reads and verifies a whole file (either magic). */
dc_status dci_rec_load(dci_rec_file *f, const char *path);
/* The same checks on a container held in memory (the payload is copied, so
 * data may go away afterwards); `name` (borrowed) stands for the path in
 * messages. */
dc_status dci_rec_load_mem(dci_rec_file *f, const void *data, size_t size, const char *name);
void dci_rec_close(dci_rec_file *f);

int dci_rec_is(const dci_rec_file *f, const char *magic);
/* Element count of a record, or -1 if absent. */
int64_t dci_rec_count(const dci_rec_file *f, const char *name);
/* Copies a record of the given type and exactly `count` elements into dst
 * (count < 0: any count; dst must then hold dci_rec_count elements).
 * Absent record, other type or other count: DC_ERR_FORMAT naming it. */
dc_status dci_rec_get(const dci_rec_file *f, const char *name, dci_rec_type type, int64_t count,
                      void *dst);
dc_status dci_rec_get_i64(const dci_rec_file *f, const char *name, int64_t *v);
dc_status dci_rec_get_f64(const dci_rec_file *f, const char *name, double *v);
/* Text record into dst (cap bytes incl. NUL); longer text: DC_ERR_FORMAT. */
dc_status dci_rec_get_str(const dci_rec_file *f, const char *name, char *dst, size_t cap);

#endif

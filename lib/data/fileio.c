#include "data/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"

dc_status dci_reader_open(dci_reader *r, const char *path) {
    r->gz = NULL;
    r->path = path;
    r->file_size = 0;
    r->sized = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return dci_fail(DC_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        int e = S_ISDIR(st.st_mode) ? EISDIR : errno;
        close(fd);
        return dci_fail(DC_ERR_IO, "cannot read '%s': %s", path, strerror(e));
    }
    r->file_size = (long long)st.st_size;
    r->sized = S_ISREG(st.st_mode);
    r->gz = gzdopen(fd, "rb");
    if (!r->gz) {
        close(fd);
        return dci_fail(DC_ERR_NOMEM, "%s: cannot allocate the read buffer", path);
    }
    /* Large buffers: the default 8 KiB makes inflate and read() calls dominate. */
    gzbuffer(r->gz, 1u << 18);
    return DC_OK;
}

/* Maps zlib's error state after a failed or short read to a status. */
static dc_status reader_error(dci_reader *r, int saved_errno) {
    int err = Z_OK;
    const char *msg = gzerror(r->gz, &err);
    switch (err) {
    case Z_OK: return DC_OK;
    case Z_BUF_ERROR:
        return dci_fail(DC_ERR_TRUNCATED, "%s: compressed stream ends early (file truncated?)",
                        r->path);
    case Z_DATA_ERROR: {
        /* zlib names the stream "<fd:N>" (it was opened by descriptor): the path says it better. */
        const char *colon = strncmp(msg, "<fd:", 4) == 0 ? strstr(msg, ": ") : NULL;
        return dci_fail(DC_ERR_FORMAT, "%s: corrupt gzip data (%s)", r->path,
                        colon ? colon + 2 : msg);
    }
    case Z_MEM_ERROR: return dci_fail(DC_ERR_NOMEM, "%s: out of memory while reading", r->path);
    case Z_ERRNO:
        return dci_fail(DC_ERR_IO, "%s: read error: %s", r->path, strerror(saved_errno));
    default: return dci_fail(DC_ERR_IO, "%s: read error (%s)", r->path, msg);
    }
}

dc_status dci_reader_read_some(dci_reader *r, void *buf, size_t n, size_t *got) {
    size_t total = 0;
    while (total < n) {
        size_t chunk = n - total;
        if (chunk > (1u << 30)) chunk = 1u << 30; /* gzread counts in unsigned/int */
        errno = 0;
        int k = gzread(r->gz, (char *)buf + total, (unsigned)chunk);
        if (k < 0) {
            *got = total;
            dc_status st = reader_error(r, errno);
            return st != DC_OK ? st : dci_fail(DC_ERR_IO, "%s: read error", r->path);
        }
        if (k == 0) break;
        total += (size_t)k;
    }
    *got = total;
    /* zlib reports a cut-off gzip stream as a short read plus Z_BUF_ERROR. */
    return total < n ? reader_error(r, errno) : DC_OK;
}

/* Deflate expands at most 1032:1 (a 258-byte match per two bits), so a
 * compressed file of S bytes cannot hold more than 1032 S bytes. */
#define DCI_DEFLATE_MAX_RATIO 1032u

dc_status dci_reader_expect_elements(dci_reader *r, const int64_t *shape, int ndim,
                                     size_t width, const char *what) {
    uint64_t n = width; /* saturates at UINT64_MAX: no file holds that many */
    for (int i = 0; i < ndim; i++) {
        uint64_t e = shape[i] > 0 ? (uint64_t)shape[i] : 0;
        n = e != 0 && n > UINT64_MAX / e ? UINT64_MAX : n * e;
    }
    if (n == UINT64_MAX && r->sized)
        return dci_fail(DC_ERR_TRUNCATED, "%s: file ends inside the %s (the header declares "
                        "2^64 bytes or more)", r->path, what);
    return dci_reader_expect_available(r, n, what);
}

dc_status dci_reader_expect_available(dci_reader *r, uint64_t n, const char *what) {
    /* A pipe or device has no size to check against: reading will tell. */
    if (!r->sized) return DC_OK;
    if (gzdirect(r->gz) != 1) {
        uint64_t size = r->file_size > 0 ? (uint64_t)r->file_size : 0;
        if (size <= UINT64_MAX / DCI_DEFLATE_MAX_RATIO && n > size * DCI_DEFLATE_MAX_RATIO)
            return dci_fail(DC_ERR_TRUNCATED, "%s: file ends inside the %s (%llu bytes "
                            "compressed cannot hold %llu bytes)", r->path, what,
                            (unsigned long long)size, (unsigned long long)n);
        return DC_OK;
    }
    long long pos = (long long)gztell(r->gz);
    uint64_t left = pos >= 0 && pos <= r->file_size ? (uint64_t)(r->file_size - pos) : 0;
    if (n > left)
        return dci_fail(DC_ERR_TRUNCATED, "%s: file ends inside the %s (%llu of %llu bytes "
                        "present)", r->path, what, (unsigned long long)left,
                        (unsigned long long)n);
    return DC_OK;
}

dc_status dci_reader_read(dci_reader *r, void *buf, size_t n, const char *what) {
    size_t got = 0;
    DCI_TRY(dci_reader_read_some(r, buf, n, &got));
    if (got < n)
        return dci_fail(DC_ERR_TRUNCATED, "%s: file ends inside the %s (%zu of %zu bytes present)",
                        r->path, what, got, n);
    return DC_OK;
}

dc_status dci_reader_expect_end(dci_reader *r) {
    unsigned char extra;
    size_t got = 0;
    DCI_TRY(dci_reader_read_some(r, &extra, 1, &got));
    if (got)
        return dci_fail(DC_ERR_FORMAT, "%s: file is longer than its header says", r->path);
    return DC_OK;
}

dc_status dci_reader_read_all(dci_reader *r, char **out, size_t *len) {
    *out = NULL;
    *len = 0;
    /* Uncompressed files fit at once (+2: room for the NUL and for seeing the
     * end without another grow); gzip text expands ~4-8x. */
    size_t cap = (size_t)(r->file_size > 0 ? r->file_size : 0) + 2;
    if (gzdirect(r->gz) == 0) cap = cap * 4 + 1;
    char *buf = DCI_NEW_ARRAY(char, (int64_t)cap, r->path);
    if (!buf) return DC_ERR_NOMEM;
    size_t used = 0;
    for (;;) {
        size_t got = 0;
        dc_status st = dci_reader_read_some(r, buf + used, cap - 1 - used, &got);
        if (st != DC_OK) {
            dci_free(buf);
            return st;
        }
        used += got;
        if (used < cap - 1) break;
        size_t ncap = cap * 2;
        char *nb = ncap > cap ? dci_realloc(buf, ncap) : NULL;
        if (!nb) {
            dci_free(buf);
            return dci_fail(DC_ERR_NOMEM, "%s: cannot allocate %zu bytes", r->path, ncap);
        }
        buf = nb;
        cap = ncap;
    }
    buf[used] = '\0';
    *out = buf;
    *len = used;
    return DC_OK;
}

void dci_reader_close(dci_reader *r) {
    if (r->gz) gzclose_r(r->gz);
    r->gz = NULL;
}

/* mkstemp creates 0600 files; outputs should get the permissions a plain
 * fopen would give (or keep those of the file being replaced). The umask can
 * only be read race-free from /proc. */
static mode_t output_mode(const char *path) {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) return st.st_mode & 07777;
    mode_t mask = 022;
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "Umask:", 6) == 0) {
                mask = (mode_t)strtoul(line + 6, NULL, 8);
                break;
            }
        fclose(f);
    }
    return 0666 & ~mask;
}

/* A device, FIFO or socket (/dev/null, a pipe from a shell's process
 * substitution): a rename would replace it with a plain file, so it is
 * written in place (not atomic: a stream cannot be). */
static int is_stream(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

dc_status dci_atomic_begin(dci_atomic_file *af, const char *path) {
    af->f = NULL;
    af->path = path;
    af->tmp = NULL;
    af->target = NULL;
    if (is_stream(path)) {
        af->f = fopen(path, "wb");
        if (!af->f) return dci_fail(DC_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        return DC_OK;
    }
    /* Through a symbolic link: replace the file it names and keep the link
     * (a rename over the link itself would turn it into a plain file). */
    struct stat lst;
    const char *target = path;
    if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode) && (af->target = realpath(path, NULL)))
        target = af->target;
    size_t len = strlen(target);
    af->tmp = DCI_NEW_ARRAY(char, (int64_t)len + 12, "temporary file name");
    if (!af->tmp) {
        dci_atomic_abort(af);
        return DC_ERR_NOMEM;
    }
    memcpy(af->tmp, target, len);
    memcpy(af->tmp + len, ".tmp.XXXXXX", 12);
    int fd = mkostemp(af->tmp, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        dci_free(af->tmp);
        af->tmp = NULL;
        dci_atomic_abort(af);
        return dci_fail(DC_ERR_IO, "cannot create '%s': %s", path, strerror(e));
    }
    (void)fchmod(fd, output_mode(target)); /* not fatal: the content is what matters */
    af->f = fdopen(fd, "wb");
    if (!af->f) {
        int e = errno;
        close(fd);
        dci_atomic_abort(af);
        return dci_fail(DC_ERR_IO, "cannot write '%s': %s", path, strerror(e));
    }
    return DC_OK;
}

dc_status dci_atomic_commit(dci_atomic_file *af) {
    int e = 0;
    if (fflush(af->f) != 0 || ferror(af->f)) e = errno ? errno : EIO;
    /* Sync before the rename so a crash cannot leave an empty file at `path`. */
    if (!e && af->tmp && fsync(fileno(af->f)) != 0 && errno != EINVAL) e = errno;
    if (fclose(af->f) != 0 && !e) e = errno;
    af->f = NULL;
    if (!e && af->tmp && rename(af->tmp, af->target ? af->target : af->path) != 0) e = errno;
    if (e) {
        dci_atomic_abort(af);
        return dci_fail(DC_ERR_IO, "cannot write '%s': %s", af->path, strerror(e));
    }
    dci_atomic_abort(af); /* nothing left to remove: frees the names */
    return DC_OK;
}

void dci_atomic_abort(dci_atomic_file *af) {
    if (af->f) fclose(af->f);
    af->f = NULL;
    if (af->tmp) unlink(af->tmp);
    dci_free(af->tmp);
    af->tmp = NULL;
    free(af->target);
    af->target = NULL;
}

static int ends_with(const char *s, size_t len, const char *suffix) {
    size_t m = strlen(suffix);
    return len >= m && strncasecmp(s + len - m, suffix, m) == 0;
}

dc_status dci_format_from_path(const char *path, dc_format *out) {
    if (dci_format_guess(path, out)) return DC_OK;
    return dci_fail(DC_ERR_UNSUPPORTED,
                    "cannot tell the format of '%s' from its name (known: .csv .tsv .txt "
                    ".npy .idx *-ubyte, each optionally + .gz); give the format explicitly "
                    "(--format csv|npy|idx)",
                    path);
}

int dci_format_guess(const char *path, dc_format *out) {
    size_t len = strlen(path);
    if (ends_with(path, len, ".gz")) len -= 3;
    if (ends_with(path, len, ".csv") || ends_with(path, len, ".tsv") ||
        ends_with(path, len, ".txt"))
        *out = DC_FORMAT_CSV;
    else if (ends_with(path, len, ".npy"))
        *out = DC_FORMAT_NPY;
    else if (ends_with(path, len, "-ubyte") || ends_with(path, len, ".idx") ||
             (len >= 5 && ends_with(path, len - 1, ".idx") && path[len - 1] >= '1' &&
              path[len - 1] <= '4'))
        *out = DC_FORMAT_IDX;
    else
        return 0;
    return 1;
}

int dci_path_is_tsv(const char *path) {
    size_t len = strlen(path);
    if (ends_with(path, len, ".gz")) len -= 3;
    return ends_with(path, len, ".tsv");
}

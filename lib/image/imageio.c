/* dc_image_read / dc_image_write: PNG through libpng, binary PGM/PPM by
 * hand. Files are read through dci_reader, so the damage statuses are those
 * of the other readers (and a .gz-compressed image reads too). */
#include "image/imageio.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/error.h"
#include "data/fileio.h"

static void set_image(dc_image *out, int64_t w, int64_t h, int channels, uint8_t *pixels) {
    out->width = w;
    out->height = h;
    out->channels = channels;
    out->pixels = pixels;
}

/* ---- libpng glue ---- */

/* libpng reports failures by calling png_error, which longjmps; the
 * callbacks record which status the failure stands for first. */
typedef struct png_io {
    dci_reader *r;
    dc_status fallback; /* the status of libpng's own errors */
    dc_status st;
    char msg[256];
} png_io;

static void png_fail_cb(png_structp png, png_const_charp msg) {
    png_io *io = png_get_error_ptr(png);
    if (io->st == DC_OK) {
        io->st = io->fallback;
        snprintf(io->msg, sizeof io->msg, "%s", msg);
    }
    png_longjmp(png, 1);
}

/* Warnings concern ancillary chunks libpng skips; the image is still right. */
static void png_warn_cb(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

static png_voidp png_alloc_cb(png_structp png, png_alloc_size_t n) {
    void *p = dci_malloc(n);
    png_io *io = png_get_mem_ptr(png);
    if (!p && io->st == DC_OK) {
        io->st = DC_ERR_NOMEM;
        snprintf(io->msg, sizeof io->msg, "cannot allocate %zu bytes", (size_t)n);
    }
    return p;
}

static void png_free_cb(png_structp png, png_voidp p) {
    (void)png;
    dci_free(p);
}

static void png_read_cb(png_structp png, png_bytep buf, size_t n) {
    png_io *io = png_get_io_ptr(png);
    size_t got = 0;
    dc_status st = dci_reader_read_some(io->r, buf, n, &got);
    if (st != DC_OK) {
        io->st = st;
        snprintf(io->msg, sizeof io->msg, "%s", dc_last_error());
        png_error(png, io->msg);
    }
    if (got < n) {
        io->st = DC_ERR_TRUNCATED;
        snprintf(io->msg, sizeof io->msg, "file ends inside the PNG data");
        png_error(png, io->msg);
    }
}

/* Stops reading with a status of ours (from inside the setjmp scope). */
static void png_refuse(png_structp png, png_io *io, dc_status st, const char *msg) {
    io->st = st;
    snprintf(io->msg, sizeof io->msg, "%s", msg);
    png_longjmp(png, 1);
}

/* Reads a PNG whose 8-byte signature has been consumed. */
static dc_status png_read_stream(dci_reader *r, dc_image *out) {
    png_io io = {r, DC_ERR_FORMAT, DC_OK, ""};
    png_structp png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, &io, png_fail_cb,
                                               png_warn_cb, &io, png_alloc_cb, png_free_cb);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        if (png) png_destroy_read_struct(&png, NULL, NULL);
        return dci_fail(DC_ERR_NOMEM, "%s: cannot set up the PNG reader", r->path);
    }
    /* Assigned after setjmp and read after a longjmp: volatile. */
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        dci_free(pixels);
        dci_free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        if (io.st == DC_ERR_FORMAT) return dci_fail(io.st, "%s: corrupt PNG: %s", r->path, io.msg);
        return dci_fail(io.st, "%s: %s", r->path, io.msg);
    }
    png_set_read_fn(png, &io, png_read_cb);
    png_set_sig_bytes(png, 8);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int depth = png_get_bit_depth(png, info), type = png_get_color_type(png, info);
    if (depth == 16)
        png_refuse(png, &io, DC_ERR_UNSUPPORTED, "16-bit PNG: convert it to 8 bits per channel "
                   "first (e.g. ImageMagick: convert IN.png -depth 8 OUT.png)");
    /* Deflate expands at most 1032:1, so a header promising more pixels
     * than the file can hold is refused before the big allocation. */
    double raw = (double)h * (double)(png_get_rowbytes(png, info) + 1);
    if (r->sized && raw > 1032.0 * (double)r->file_size + 65536.0) {
        char msg[160];
        snprintf(msg, sizeof msg, "a file of %lld bytes cannot hold the %u x %u image its header "
                 "states", r->file_size, (unsigned)w, (unsigned)h);
        png_refuse(png, &io, DC_ERR_TRUNCATED, msg);
    }
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (rowbytes != (size_t)w * (size_t)channels || channels < 1 || channels > 4)
        png_refuse(png, &io, DC_ERR_UNSUPPORTED, "PNG layout not supported");
    pixels = dci_alloc_array((int64_t)h, rowbytes, "PNG pixels");
    rows = DCI_NEW_ARRAY(png_bytep, (int64_t)h, "PNG rows");
    if (!pixels || !rows) png_refuse(png, &io, DC_ERR_NOMEM, "cannot allocate the image");
    for (png_uint_32 y = 0; y < h; y++) rows[y] = pixels + (size_t)y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    dci_free(rows);
    set_image(out, w, h, channels, pixels);
    return DC_OK;
}

static dc_status png_write_stream(FILE *f, const char *path, const uint8_t *pixels, int64_t w,
                                  int64_t h, int channels) {
    static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                                 PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
    png_io io = {NULL, DC_ERR_IO, DC_OK, ""};
    png_structp png = png_create_write_struct_2(PNG_LIBPNG_VER_STRING, &io, png_fail_cb,
                                                png_warn_cb, &io, png_alloc_cb, png_free_cb);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        if (png) png_destroy_write_struct(&png, NULL);
        return dci_fail(DC_ERR_NOMEM, "%s: cannot set up the PNG writer", path);
    }
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        dci_free(rows);
        png_destroy_write_struct(&png, &info);
        return dci_fail(io.st, "cannot write '%s': %s", path, io.msg);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, types[channels],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    rows = DCI_NEW_ARRAY(png_bytep, h, "PNG rows");
    if (!rows) png_refuse(png, &io, DC_ERR_NOMEM, "cannot allocate the row table");
    for (int64_t y = 0; y < h; y++) rows[y] = (png_bytep)(pixels + y * w * channels);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    dci_free(rows);
    return DC_OK;
}

/* ---- PGM / PPM ---- */

static dc_status pnm_byte(dci_reader *r, int *c) {
    unsigned char b;
    size_t got = 0;
    DCI_TRY(dci_reader_read_some(r, &b, 1, &got));
    *c = got ? b : EOF;
    return DC_OK;
}

static int pnm_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* One header number, after blanks and '#' comments, ended by one blank. */
static dc_status pnm_number(dci_reader *r, const char *what, int64_t *v) {
    int c;
    for (;;) {
        DCI_TRY(pnm_byte(r, &c));
        if (c == '#') {
            do DCI_TRY(pnm_byte(r, &c));
            while (c != EOF && c != '\n' && c != '\r');
        }
        if (c == EOF || !pnm_space(c)) break;
    }
    if (c == EOF)
        return dci_fail(DC_ERR_TRUNCATED, "%s: file ends inside the header (before the %s)",
                        r->path, what);
    if (c < '0' || c > '9')
        return dci_fail(DC_ERR_FORMAT, "%s: the header's %s is not a number (byte 0x%02x)", r->path,
                        what, c);
    *v = 0;
    while (c >= '0' && c <= '9') {
        *v = *v * 10 + (c - '0');
        if (*v > INT32_MAX)
            return dci_fail(DC_ERR_FORMAT, "%s: the header's %s is too large", r->path, what);
        DCI_TRY(pnm_byte(r, &c));
    }
    if (c == EOF)
        return dci_fail(DC_ERR_TRUNCATED, "%s: file ends inside the header (after the %s)",
                        r->path, what);
    if (!pnm_space(c))
        return dci_fail(DC_ERR_FORMAT, "%s: byte 0x%02x after the header's %s (expected a blank)",
                        r->path, c, what);
    return DC_OK;
}

/* Reads a P5 (channels 1) or P6 (channels 3) file whose magic is consumed. */
static dc_status pnm_read_stream(dci_reader *r, int channels, dc_image *out) {
    int64_t w, h, maxval;
    DCI_TRY(pnm_number(r, "width", &w));
    DCI_TRY(pnm_number(r, "height", &h));
    DCI_TRY(pnm_number(r, "maxval", &maxval));
    if (maxval < 1 || maxval > 65535)
        return dci_fail(DC_ERR_FORMAT, "%s: maxval %lld outside 1-65535", r->path, (long long)maxval);
    if (maxval > 255)
        return dci_fail(DC_ERR_UNSUPPORTED, "%s: 16-bit image (maxval %lld): convert it to 8 bits "
                        "(maxval 255) first", r->path, (long long)maxval);
    if (w < 1 || h < 1)
        return dci_fail(DC_ERR_SHAPE, "%s: the image has no pixels (%lld x %lld)", r->path,
                        (long long)w, (long long)h);
    uint64_t bytes = (uint64_t)w * (uint64_t)h * (uint64_t)channels;
    DCI_TRY(dci_reader_expect_available(r, bytes, "pixel data"));
    uint8_t *px = dci_alloc_array((int64_t)bytes, 1, "image pixels");
    if (!px) return DC_ERR_NOMEM;
    dc_status st = dci_reader_read(r, px, (size_t)bytes, "pixel data");
    for (uint64_t i = 0; st == DC_OK && i < bytes; i++) {
        if (px[i] > maxval) {
            st = dci_fail(DC_ERR_FORMAT, "%s: pixel value %d above maxval %lld (pixel %llu)",
                          r->path, px[i], (long long)maxval,
                          (unsigned long long)(i / (uint64_t)channels));
            break;
        }
        px[i] = (uint8_t)((px[i] * 255 + maxval / 2) / maxval);
    }
    if (st != DC_OK) {
        dci_free(px);
        return st;
    }
    set_image(out, w, h, channels, px);
    return DC_OK;
}

static dc_status pnm_write_stream(FILE *f, const char *path, const uint8_t *pixels, int64_t w,
                                  int64_t h, int channels) {
    size_t n = (size_t)(w * h * channels);
    if (fprintf(f, "P%c\n%lld %lld\n255\n", channels == 1 ? '5' : '6', (long long)w,
                (long long)h) < 0 || fwrite(pixels, 1, n, f) != n)
        return dci_fail(DC_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    return DC_OK;
}

/* ---- public ---- */

static dc_status read_by_magic(dci_reader *r, dc_image *out) {
    unsigned char sig[8];
    size_t got = 0;
    DCI_TRY(dci_reader_read_some(r, sig, 2, &got));
    if (got == 0) return dci_fail(DC_ERR_FORMAT, "%s: empty file", r->path);
    if (got == 2 && sig[0] == 'P' && (sig[1] == '5' || sig[1] == '6'))
        return pnm_read_stream(r, sig[1] == '5' ? 1 : 3, out);
    if (got == 2 && sig[0] == 'P' && sig[1] >= '1' && sig[1] <= '4')
        return dci_fail(DC_ERR_UNSUPPORTED, "%s: PNM type P%c is not supported (binary P5 PGM and "
                        "P6 PPM are)", r->path, sig[1]);
    if (sig[0] == 0x89) {
        size_t more = 0;
        if (got == 2) DCI_TRY(dci_reader_read_some(r, sig + 2, 6, &more));
        if (png_sig_cmp(sig, 0, got + more) != 0)
            return dci_fail(DC_ERR_FORMAT, "%s: not a PNG file (bad signature)", r->path);
        if (got + more < 8)
            return dci_fail(DC_ERR_TRUNCATED, "%s: file ends inside the PNG signature", r->path);
        return png_read_stream(r, out);
    }
    return dci_fail(DC_ERR_FORMAT, "%s: not a PNG, PGM (P5) or PPM (P6) image (first bytes "
                    "%02x %02x)", r->path, sig[0], got > 1 ? sig[1] : 0);
}

dc_status dc_image_read(const char *path, dc_image *out) {
    DCI_CHECK_NULL(out);
    memset(out, 0, sizeof *out);
    DCI_CHECK_NULL(path);
    dci_reader r;
    DCI_TRY(dci_reader_open(&r, path));
    dc_status st = read_by_magic(&r, out);
    if (st == DC_OK) st = dci_reader_expect_end(&r);
    dci_reader_close(&r);
    if (st != DC_OK) dc_image_free(out);
    return st;
}

void dc_image_free(dc_image *img) {
    if (!img) return;
    dci_free(img->pixels);
    memset(img, 0, sizeof *img);
}

static int has_ext(const char *path, const char *ext) {
    size_t n = strlen(path), m = strlen(ext);
    return n >= m && strcasecmp(path + n - m, ext) == 0;
}

dc_status dc_image_write(const char *path, const uint8_t *pixels, int64_t width, int64_t height,
                         int channels) {
    DCI_CHECK_NULL(path);
    DCI_CHECK_NULL(pixels);
    if (width < 1 || height < 1 || width > INT32_MAX || height > INT32_MAX || channels < 1 ||
        channels > 4)
        return dci_fail(DC_ERR_SHAPE, "%s: cannot write a %lld x %lld image with %d channels",
                        path, (long long)width, (long long)height, channels);
    int png = has_ext(path, ".png");
    if (!png && !has_ext(path, ".pgm") && !has_ext(path, ".ppm"))
        return dci_fail(DC_ERR_UNSUPPORTED, "cannot tell the image format of '%s' from its name "
                        "(known: .png .pgm .ppm)", path);
    if (has_ext(path, ".pgm") && channels != 1)
        return dci_fail(DC_ERR_UNSUPPORTED, "%s: PGM holds grey images (1 channel), not %d "
                        "channels; use .ppm or .png", path, channels);
    if (has_ext(path, ".ppm") && channels != 3)
        return dci_fail(DC_ERR_UNSUPPORTED, "%s: PPM holds RGB images (3 channels), not %d; use "
                        ".pgm or .png", path, channels);
    dci_atomic_file af;
    DCI_TRY(dci_atomic_begin(&af, path));
    dc_status st = png ? png_write_stream(af.f, path, pixels, width, height, channels)
                       : pnm_write_stream(af.f, path, pixels, width, height, channels);
    if (st != DC_OK) {
        dci_atomic_abort(&af);
        return st;
    }
    return dci_atomic_commit(&af);
}

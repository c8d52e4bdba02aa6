/* Corrupt PGM/PPM and PNG files for dc_image_read: PNM loads as a reference
 * reading of the damaged bytes says; PNG, whose CRCs catch nearly every
 * damage, fails or gives the original pixels; sizes a file cannot hold fail
 * before the allocation. */
#include "file_fuzz_common.h"

/* ---- images: PNG and binary PGM/PPM ---- */

static int pnm_ws(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* A header number as the netpbm description has it: blanks and '#'
 * comments before, one blank after. -1 if malformed or cut off. */
static long long ref_pnm_number(const bytes *b, size_t *pos) {
    size_t i = *pos;
    for (;;) {
        if (i >= b->n) return -1;
        if (b->p[i] == '#') {
            while (i < b->n && b->p[i] != '\n' && b->p[i] != '\r') i++;
        } else if (pnm_ws(b->p[i])) {
            i++;
        } else {
            break;
        }
    }
    long long v = 0;
    size_t start = i;
    while (i < b->n && b->p[i] >= '0' && b->p[i] <= '9') {
        v = v * 10 + (b->p[i++] - '0');
        if (v > 2147483647LL) return -1;
    }
    if (i == start || i >= b->n || !pnm_ws(b->p[i])) return -1;
    *pos = i + 1;
    return v;
}

/* The image a damaged P5/P6 file holds, or NULL when it must fail. */
static unsigned char *ref_pnm(const bytes *b, long long *w, long long *h, int *ch) {
    if (b->n < 2 || b->p[0] != 'P' || (b->p[1] != '5' && b->p[1] != '6')) return NULL;
    *ch = b->p[1] == '5' ? 1 : 3;
    size_t pos = 2;
    *w = ref_pnm_number(b, &pos);
    *h = ref_pnm_number(b, &pos);
    long long maxval = ref_pnm_number(b, &pos);
    if (*w < 1 || *h < 1 || maxval < 1 || maxval > 255) return NULL;
    unsigned long long n = (unsigned long long)*w * (unsigned long long)*h * (unsigned long long)*ch;
    if (b->n - pos != n) return NULL;
    unsigned char *px = malloc(n);
    for (size_t i = 0; i < n; i++) {
        if (b->p[pos + i] > maxval) {
            free(px);
            return NULL;
        }
        px[i] = (unsigned char)((b->p[pos + i] * 255 + maxval / 2) / maxval);
    }
    return px;
}

/* One image load: a failure has a specific code and no pixels; a success
 * gives exactly `want` (NULL: must fail). */
static void check_image_load(const char *path, const unsigned char *want, long long w, long long h,
                             int ch) {
    dc_image img;
    call_begin();
    g_st = dc_image_read(path, &img);
    if (want) {
        FCHECK(g_st == DC_OK && img.width == w && img.height == h && img.channels == ch &&
               memcmp(img.pixels, want, (size_t)(w * h * ch)) == 0);
    } else {
        FCHECK(g_st != DC_OK && load_code(g_st) && dc_last_error()[0] && img.pixels == NULL);
    }
    dc_image_free(&img);
    call_end();
}

/* Loads damaged bytes b (freed here) as the reference reading says. */
static void pnm_damaged_case(const char *path, bytes b) {
    long long w = 0, h = 0;
    int ch = 0;
    write_bytes(path, b.p, b.n);
    unsigned char *ref = ref_pnm(&b, &w, &h, &ch);
    check_image_load(path, ref, w, h, ch);
    free(ref);
    free(b.p);
}

static void pnm_cases(const bytes *file) {
    const char *path = tmp_path("fuzz.ppm");
    for (size_t cut = 0; cut < file->n; cut++) {
        set_case("PNM cut at %zu", cut);
        pnm_damaged_case(path, splice(file, cut, file->n, NULL, 0));
    }
    for (int t = 0; t < 400; t++) {
        size_t at;
        char what[96];
        bytes b = random_damage(file, 0, &at, what, sizeof what);
        set_case("PNM %s", what);
        pnm_damaged_case(path, b);
    }
    /* Sizes the file cannot hold: refused before the allocation. */
    const char *huge[] = {"P6\n1000000 1000000\n255\n", "P5\n2147483647 2147483647\n255\n",
                          "P6\n99999999999 1\n255\n"};
    for (int i = 0; i < 3; i++) {
        set_case("PNM header '%s'", huge[i]);
        write_bytes(path, huge[i], strlen(huge[i]));
        check_image_load(path, NULL, 0, 0, 0);
    }
}

static void put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void png_cases(const bytes *file, const unsigned char *px, int w, int h, int ch) {
    const char *path = tmp_path("fuzz.png");
    for (size_t cut = 0; cut < file->n; cut++) {
        set_case("PNG cut at %zu", cut);
        write_bytes(path, file->p, cut);
        check_image_load(path, NULL, 0, 0, 0);
    }
    /* CRCs catch nearly every damage; what passes (bytes after IEND are
     * refused as extra data) must still give the original pixels. */
    for (int t = 0; t < 400; t++) {
        size_t at;
        char what[96];
        bytes b = random_damage(file, 0, &at, what, sizeof what);
        set_case("PNG %s", what);
        write_bytes(path, b.p, b.n);
        dc_image img;
        call_begin();
        g_st = dc_image_read(path, &img);
        FCHECK(g_st == DC_OK ? img.width == w && img.height == h && img.channels == ch &&
                                   memcmp(img.pixels, px, (size_t)(w * h * ch)) == 0
                             : load_code(g_st) && dc_last_error()[0] && img.pixels == NULL);
        dc_image_free(&img);
        call_end();
        free(b.p);
    }
    /* IHDR sizes the file cannot hold, with a valid CRC: refused before
     * the big allocation (IHDR data starts at byte 16). */
    const uint32_t dims[][2] = {{1000000, 1000000}, {0x7fffffff, 1}, {65535, 65535}, {0, 5}};
    for (int i = 0; i < 4; i++) {
        bytes b = splice(file, 0, 0, NULL, 0);
        put_be32(b.p + 16, dims[i][0]);
        put_be32(b.p + 20, dims[i][1]);
        put_be32(b.p + 29, (uint32_t)crc32(0, b.p + 12, 17));
        set_case("PNG IHDR %u x %u", dims[i][0], dims[i][1]);
        write_bytes(path, b.p, b.n);
        check_image_load(path, NULL, 0, 0, 0);
        free(b.p);
    }
}

static void test_images(void) {
    enum { IW = 7, IH = 5 };
    unsigned char px[IW * IH * 3];
    for (int i = 0; i < IW * IH * 3; i++) px[i] = (unsigned char)below(256);
    const char *names[] = {"fuzz-src.ppm", "fuzz-src.pgm", "fuzz-src.png"};
    int chans[] = {3, 1, 3};
    for (int f = 0; f < 3; f++) {
        const char *path = tmp_path(names[f]);
        set_case("valid %s", names[f]);
        call_begin();
        g_st = dc_image_write(path, px, IW, IH, chans[f]);
        FCHECK(g_st == DC_OK);
        call_end();
        size_t n = 0;
        bytes b;
        b.p = read_bytes(path, &n);
        b.n = n;
        check_image_load(path, px, IW, IH, chans[f]);
        if (f < 2) {
            long long w, h;
            int ch;
            unsigned char *ref = ref_pnm(&b, &w, &h, &ch);
            CHECK(ref && w == IW && h == IH && ch == chans[f] && memcmp(ref, px, (size_t)(IW * IH * ch)) == 0);
            free(ref);
            pnm_cases(&b);
        } else {
            png_cases(&b, px, IW, IH, 3);
        }
        free(b.p);
    }
}

int main(void) { return fuzz_main(FUZZ_IMAGES, test_images); }

/* Writes the seed corpora of the fuzz harnesses into DIR/<target>/ (the
 * committed ones are tests/fuzz/corpus): small valid files of every format
 * and variant the readers know, each prefixed with the option byte its
 * harness reads first. The model and checkpoint seeds come from a tiny fit
 * on fuzz_checkpoint_data, so that fuzz_checkpoint can resume them.
 *
 *   ninja -C build tests/fuzz/fuzz_make_seeds
 *   build/tests/fuzz/fuzz_make_seeds tests/fuzz/corpus */
#include <errno.h>
#include <sys/stat.h>

#include "../test_bytes.h"
#include "fuzz_common.h"

static const char *g_root;

static void put(const char *target, const char *name, int option, const void *data, size_t n) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", g_root, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        exit(2);
    }
    snprintf(path, sizeof path, "%s/%s/%s", g_root, target, name);
    FILE *f = fopen(path, "wb");
    const unsigned char opt = (unsigned char)option;
    if (!f || (option >= 0 && fwrite(&opt, 1, 1, f) != 1) || fwrite(data, 1, n, f) != n ||
        fclose(f) != 0) {
        perror(path);
        exit(2);
    }
}

static void csv_seeds(void) {
    /* Option byte: delimiter (detect , ; tab space) + 5 * header (detect no
     * yes) + 15 * label column (none last 0 1). */
    static const struct {
        const char *name, *text;
        int opt;
    } s[] = {
        {"header_detect", "a,b,c\n1,2,3\n4.5,-6,7e3\n", 0},
        {"semicolon_label_last", "x;y;label\n1;2;0\n3;4;1\n", 0 + 5 * 0 + 15 * 1},
        {"tab_fixed", "1\t2\n3\t4\n", 3 + 5 * 1},
        {"blanks", "  1  2 3\n4   5 6\n", 4 + 5 * 1},
        {"quoted_crlf_bom", "\xEF\xBB\xBF\"a\",\"b\"\r\n\"1\",2\r\n# comment\r\n3,\"4\"\r\n", 1},
        {"label_first", "7,0.5,0.25\n8,1.5,2.5\n", 1 + 5 * 1 + 15 * 2},
        {"numbers", "1e-45,3.4028234e38,-0,0x1p3\n.5,5.,+1,-2\n", 1 + 5 * 1},
    };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        put("csv", s[i].name, s[i].opt, s[i].text, strlen(s[i].text));
}

/* An NPY file: magic, version, header length, dict padded to 64 bytes. */
static size_t npy(unsigned char *out, int major, const char *dict, const void *data, size_t n) {
    const size_t pre = major == 1 ? 10 : 12, len = strlen(dict);
    const size_t total = (pre + len + 1 + 63) / 64 * 64, hlen = total - pre;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (unsigned char)major;
    out[7] = 0;
    for (size_t i = 0; i < pre - 8; i++) out[8 + i] = (unsigned char)(hlen >> (8 * i));
    memcpy(out + pre, dict, len);
    memset(out + pre + len, ' ', hlen - len - 1);
    out[total - 1] = '\n';
    memcpy(out + total, data, n);
    return total + n;
}

static void npy_seeds(void) {
    unsigned char buf[1024];
    const float f4[6] = {1, -2.5f, 3e10f, 0, 1e-30f, 7};
    const double f8[3] = {0.5, -1e300 / 1e300, 2};
    const unsigned char u1[8] = {0, 1, 2, 3, 250, 251, 252, 255};
    const int16_t i2[4] = {-300, 2, 3, 4};
    const int32_t i4[5] = {0, 1, 2, 1, 0};
    const int64_t i8[2] = {-5, 1 << 20};
    const struct {
        const char *name, *dict;
        int major;
        const void *data;
        size_t n;
    } s[] = {
        {"f4_2x3", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 1, f4, 24},
        {"f8_vector_v2", "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", 2, f8, 24},
        {"u1_images_v3", "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, 2), }", 3, u1, 8},
        {"i2_2x2", "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 2), }", 1, i2, 8},
        {"i4_5", "{'descr': '<i4', 'fortran_order': False, 'shape': (5,), }", 1, i4, 20},
        {"i8_2x1", "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 1), }", 1, i8, 16},
        {"i1_4d", "{'descr': '|i1', 'fortran_order': False, 'shape': (1, 2, 2, 2), }", 1, u1, 8},
        {"fortran", "{'descr': '<f4', 'fortran_order': True, 'shape': (3, 2), }", 1, f4, 24},
        {"big_endian", "{'descr': '>f4', 'fortran_order': False, 'shape': (6,), }", 1, f4, 24},
    };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        put("npy", s[i].name, -1, buf, npy(buf, s[i].major, s[i].dict, s[i].data, s[i].n));
    /* Labels: int32 (5,), harness byte 13 = NPY and 5 rows. */
    put("labels", "npy_i4_5", 13, buf, npy(buf, 1, s[4].dict, i4, 20));
}

static void idx_seeds(void) {
    unsigned char buf[512], pix[24];
    for (int i = 0; i < 24; i++) pix[i] = (unsigned char)(i * 11);
    const unsigned char f32be[8] = {0x3F, 0xC0, 0, 0, 0xC1, 0x20, 0, 0};
    const unsigned char f64be[16] = {0x3F, 0xF8, 0, 0, 0, 0, 0, 0, 0xC0, 0x24, 0, 0, 0, 0, 0, 0};
    const unsigned char i16be[4] = {0xFF, 0xFE, 0x01, 0x00};
    const unsigned char i32be[8] = {0xFF, 0xFF, 0xFF, 0xFF, 0, 1, 0, 0};
    size_t n = idx_bytes(buf, 0x08, 3, (const int[]){2, 3, 4}, pix, 24);
    put("idx", "ubyte_images", -1, buf, n);
    put("idx_gz", "ubyte_images", 0, buf, n);
    /* The same as a real .gz file (odd harness byte: the bytes as they are). */
    z_stream z;
    unsigned char gz[512];
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) exit(2);
    z.next_in = buf;
    z.avail_in = (uInt)n;
    z.next_out = gz;
    z.avail_out = sizeof gz;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) exit(2);
    put("idx_gz", "gzip_file", 1, gz, z.total_out);
    deflateEnd(&z);
    put("idx", "float_2x1", -1, buf, idx_bytes(buf, 0x0D, 2, (const int[]){2, 1}, f32be, 8));
    put("idx", "double_1x2", -1, buf, idx_bytes(buf, 0x0E, 2, (const int[]){1, 2}, f64be, 16));
    put("idx", "short_2", -1, buf, idx_bytes(buf, 0x0B, 1, (const int[]){2}, i16be, 4));
    put("idx", "int_2x1x1", -1, buf, idx_bytes(buf, 0x0C, 3, (const int[]){2, 1, 1}, i32be, 8));
    put("idx", "byte_4d", -1, buf, idx_bytes(buf, 0x09, 4, (const int[]){1, 2, 2, 2}, pix, 8));
    put("idx_gz", "float_2x1", 0, buf, idx_bytes(buf, 0x0D, 2, (const int[]){2, 1}, f32be, 8));
    /* Labels: ubyte (4,), harness byte 11 = IDX and 4 rows. */
    put("labels", "idx_ubyte_4", 11, buf, idx_bytes(buf, 0x08, 1, (const int[]){4}, "\x00\x01\x02\x01", 4));
    /* Text labels, byte 6 = text and 3 rows; with a header. */
    static const char text[] = "0\n1\n2\n", with_header[] = "label,name\n2,a\n1.0,b\r\n0,c\n";
    put("labels", "text_3", 6, text, strlen(text));
    put("labels", "text_header_3", 6, with_header, strlen(with_header));
}

/* Cancels after the first pre-training epoch. */
static int stop_in_pretrain(void *user, const char *phase, long long done, long long total,
                            double value) {
    (void)user, (void)total, (void)value;
    return strcmp(phase, "pretrain") == 0 && done >= 1;
}

/* A pre-training checkpoint of idec (harness byte 1), from a fit cancelled
 * in pre-training. */
static void pretrain_seed(const char *tmpdir, dc_dataset *ds) {
    char ck[1024];
    snprintf(ck, sizeof ck, "%s/pre.ckpt", tmpdir);
    dc_solver *s = NULL;
    fuzz_require(dc_solver_create(&s, "idec") == DC_OK, "solver");
    fuzz_checkpoint_params(s);
    fuzz_require(dc_solver_set_checkpoint(s, ck, 2) == DC_OK, "checkpoints");
    fuzz_require(dc_solver_set_progress(s, stop_in_pretrain, NULL) == DC_OK, "progress");
    fuzz_require(dc_solver_fit(s, ds) == DC_ERR_CANCELLED, "the cancelled seed fit");
    dc_solver_free(s);
    size_t n;
    unsigned char *b = read_bytes(ck, &n);
    put("checkpoint", "idec_pretrain_checkpoint", 1, b, n);
    free(b);
    remove(ck);
}

/* Models and checkpoints of a tiny fit of each deep method. */
static void model_seeds(const char *tmpdir) {
    static const char *const methods[] = {"edcwrn", "idec", "dec"};
    dc_dataset *ds = fuzz_checkpoint_data();
    for (int i = 0; i < 3; i++) {
        char ck[1024], mf[1024], ae[1024], name[64];
        snprintf(ck, sizeof ck, "%s/%s.ckpt", tmpdir, methods[i]);
        snprintf(mf, sizeof mf, "%s/%s.dcm", tmpdir, methods[i]);
        snprintf(ae, sizeof ae, "%s/%s_ae.dcm", tmpdir, methods[i]);
        dc_solver *s = NULL;
        fuzz_require(dc_solver_create(&s, methods[i]) == DC_OK, "solver");
        fuzz_checkpoint_params(s);
        fuzz_require(dc_solver_set_checkpoint(s, ck, 2) == DC_OK, "checkpoints");
        fuzz_require(dc_solver_fit(s, ds) == DC_OK, "the seed fit");
        dc_model *m = NULL;
        fuzz_require(dc_solver_model(s, &m) == DC_OK && dc_model_save(m, mf) == DC_OK, "model");
        dc_model_free(m);
        fuzz_require(dc_solver_pretrained(s, &m) == DC_OK && dc_model_save(m, ae) == DC_OK, "ae");
        dc_model_free(m);
        dc_solver_free(s);
        size_t n;
        unsigned char *b = read_bytes(mf, &n);
        snprintf(name, sizeof name, "%s_model", methods[i]);
        put("model", name, -1, b, n);
        free(b);
        b = read_bytes(ae, &n);
        snprintf(name, sizeof name, "%s_autoencoder", methods[i]);
        put("model", name, -1, b, n);
        free(b);
        b = read_bytes(ck, &n);
        snprintf(name, sizeof name, "%s_checkpoint", methods[i]);
        if (i == 0) put("model", name, -1, b, n);
        put("checkpoint", name, i, b, n);
        free(b);
        remove(ck);
        remove(mf);
        remove(ae);
    }
    pretrain_seed(tmpdir, ds);
    dc_dataset_free(ds);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    g_root = argv[1];
    if (mkdir(g_root, 0755) != 0 && errno != EEXIST) {
        perror(g_root);
        return 2;
    }
    char tmpdir[] = "/tmp/dc_fuzz_seeds_XXXXXX";
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    csv_seeds();
    npy_seeds();
    idx_seeds();
    model_seeds(tmpdir);
    rmdir(tmpdir);
    printf("seeds written to %s\n", g_root);
    return 0;
}

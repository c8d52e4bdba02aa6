/* deepclust segment: read a photo, SLIC superpixels, cluster them with a
 * library method, write the segmentation (and views of it), score it
 * against a truth image. Public API only. Every output is computed before
 * the first is written, and a failed write removes the ones written before
 * it: files appear only on success. */
#include "cli_segment.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <deepclust.h>

#include "cli_files.h"
#include "cli_json.h"

static const char *const PROG = "deepclust segment";

/* The options, each taking a value unless marked as a flag. */
enum { O_IMAGE, O_K, O_SUPERPIXELS, O_COMPACTNESS, O_SIGMA, O_METHOD, O_SEED, O_POSITION_WEIGHT,
       O_OUT, O_OVERLAY, O_SP_OUT, O_LABELS_OUT, O_TRUTH, O_THREADS, O_JSON, O_QUIET, O_HELP,
       N_OPTIONS };
static const struct {
    const char *name;
    int flag;
} OPTIONS[N_OPTIONS] = {
    {"image", 0}, {"k", 0}, {"superpixels", 0}, {"compactness", 0}, {"sigma", 0}, {"method", 0},
    {"seed", 0}, {"position-weight", 0}, {"out", 0}, {"overlay", 0}, {"superpixels-out", 0},
    {"labels-out", 0}, {"truth", 0}, {"threads", 0}, {"json", 1}, {"quiet", 1}, {"help", 1}};

void cli_segment_help(FILE *f) {
    fprintf(f,
            "  deepclust segment --image IN.(png|ppm|pgm) --k K [options]\n"
            "segment options:\n"
            "  --image PATH          the photo: PNG (8-bit; palette expanded), binary PPM/PGM\n"
            "  --k K                 number of segments (clusters of superpixels, >= 2)\n"
            "  --superpixels N       SLIC superpixels asked for (default 200)\n"
            "  --compactness M       SLIC compactness, in (0, 1e6] (default 10)\n"
            "  --sigma S             Gaussian pre-smoothing in pixels (default 0: none)\n"
            "  --method M            clustering method of the superpixels (default scdbas;\n"
            "                        njw, kmeans, or any of 'deepclust methods')\n"
            "  --position-weight W   weight of the centroid block against the colour block\n"
            "                        (default %g; see docs/segment.md)\n"
            "  --seed S              random seed (default 0)\n"
            "  --out SEG.png         one colour per segment (fixed palette, docs/segment.md)\n"
            "  --overlay OUT.png     segment boundaries drawn on the photo\n"
            "  --superpixels-out SP.png  each superpixel painted with its mean colour\n"
            "  --labels-out FILE     segment index per pixel, row-major (.npy or .csv)\n"
            "  --truth TRUTH.png     region index per pixel (grey value, or colour for RGB):\n"
            "                        adds acc, nmi, ari, boundary_recall (2 pixels)\n"
            "  --json                one JSON object on stdout\n"
            "  --threads N, --quiet  as for cluster\n",
            DC_SEGMENT_POSITION_WEIGHT);
}

static int usage(const char *fmt, const char *arg) {
    fprintf(stderr, "%s: ", PROG);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see 'deepclust --help')\n");
    return 2;
}

static int failure(dc_status st, const char *what) {
    const char *detail = dc_last_error();
    fprintf(stderr, "%s: error: %s: %s%s%s\n", PROG, what, dc_strerror(st), detail[0] ? ": " : "",
            detail);
    return 1;
}

static int parse_options(int argc, char **argv, const char *val[N_OPTIONS]) {
    for (int i = 0; i < N_OPTIONS; i++) val[i] = NULL;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (strncmp(s, "--", 2) != 0) return usage("unexpected argument '%s'", s);
        /* --name value or --name=value, as cluster takes them */
        const char *eq = strchr(s + 2, '=');
        size_t len = eq ? (size_t)(eq - s - 2) : strlen(s + 2);
        int o = 0;
        while (o < N_OPTIONS && (strlen(OPTIONS[o].name) != len ||
                                 strncmp(s + 2, OPTIONS[o].name, len) != 0))
            o++;
        if (o == N_OPTIONS) return usage("unknown option '%s'", s);
        if (OPTIONS[o].flag && eq) return usage("option --%s takes no value", OPTIONS[o].name);
        if (OPTIONS[o].flag) val[o] = "";
        else if (eq) val[o] = eq + 1;
        else if (i + 1 < argc) val[o] = argv[++i];
        else return usage("option %s needs a value", s);
    }
    return 0;
}

/* 0 when s is a finite number (stored in *out), 1 otherwise. */
static int parse_real(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) return 1;
    *out = v;
    return 0;
}

static int has_ext(const char *path, const char *ext) {
    size_t n = strlen(path), m = strlen(ext);
    return n >= m && strcasecmp(path + n - m, ext) == 0;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Colour-blind-safe palette: the eight Okabe-Ito colours, then the same
 * mixed with white in 31 further steps, all 256 distinct; colour i marks
 * segment i (docs/segment.md lists them). */
#define PALETTE_SIZE 256
static void palette_colour(int i, uint8_t rgb[3]) {
    static const uint8_t base[8][3] = {{230, 159, 0}, {86, 180, 233}, {0, 158, 115},
                                       {240, 228, 66}, {0, 114, 178},  {213, 94, 0},
                                       {204, 121, 167}, {0, 0, 0}};
    double t = (i / 8) / 32.0;
    for (int c = 0; c < 3; c++) rgb[c] = (uint8_t)lround(base[i % 8][c] * (1.0 - t) + 255.0 * t);
}

/* The photo as RGB (grey replicated, alpha dropped). */
static uint8_t *to_rgb(const dc_image *img) {
    int64_t n = img->width * img->height;
    uint8_t *rgb = malloc((size_t)n * 3);
    if (!rgb) return NULL;
    for (int64_t p = 0; p < n; p++)
        for (int c = 0; c < 3; c++)
            rgb[3 * p + c] = img->pixels[p * img->channels + (img->channels < 3 ? 0 : c)];
    return rgb;
}

/* Region index per pixel of a truth image: the grey value, or the colour
 * (R, G, B packed) for RGB images; alpha is ignored. */
static int32_t *truth_labels(const dc_image *t) {
    int64_t n = t->width * t->height;
    int32_t *lab = malloc((size_t)n * sizeof *lab);
    if (!lab) return NULL;
    for (int64_t p = 0; p < n; p++) {
        const uint8_t *px = t->pixels + p * t->channels;
        lab[p] = t->channels < 3 ? px[0] : (px[0] << 16) | (px[1] << 8) | px[2];
    }
    return lab;
}

/* Boundary pixels (right or lower neighbour in another segment) in black
 * on light pixels and white on dark ones, so they show on any photo. */
static void draw_boundaries(uint8_t *rgb, const int32_t *lab, int64_t w, int64_t h) {
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            int64_t p = y * w + x;
            if (!((x + 1 < w && lab[p] != lab[p + 1]) || (y + 1 < h && lab[p] != lab[p + w]))) continue;
            uint8_t *px = rgb + 3 * p;
            uint8_t ink = 0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2] > 128 ? 0 : 255;
            px[0] = px[1] = px[2] = ink;
        }
}

/* Each superpixel painted with the mean colour of its pixels. */
static int paint_means(uint8_t *rgb, const int32_t *sp, int32_t n_sp, int64_t n) {
    double *sum = calloc((size_t)n_sp * 4, sizeof *sum);
    if (!sum) return 1;
    for (int64_t p = 0; p < n; p++) {
        for (int c = 0; c < 3; c++) sum[4 * sp[p] + c] += rgb[3 * p + c];
        sum[4 * sp[p] + 3] += 1.0;
    }
    for (int64_t p = 0; p < n; p++)
        for (int c = 0; c < 3; c++) rgb[3 * p + c] = (uint8_t)lround(sum[4 * sp[p] + c] / sum[4 * sp[p] + 3]);
    free(sum);
    return 0;
}

typedef struct output {
    const char *path;
    const uint8_t *rgb;   /* an image, or */
    const int32_t *label; /* a label file */
} output;

/* Writes the outputs as a group (temporaries renamed over the targets only
 * when every one is written), so a failure leaves every old file as it was. */
static int write_outputs(const output *o, const char *const *flags, int n, int64_t w, int64_t h) {
    cli_outputs files;
    cli_outputs_init(&files);
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        const char *tmp = cli_outputs_add(&files, flags[i], o[i].path);
        if (!tmp) {
            rc = 1;
            break;
        }
        dc_status st = o[i].rgb ? dc_image_write(tmp, o[i].rgb, w, h, 3)
                                : dc_write_labels(tmp, o[i].label, w * h, DC_FORMAT_AUTO);
        if (st != DC_OK) rc = failure(st, o[i].path);
    }
    if (!rc) rc = cli_outputs_commit(&files);
    cli_outputs_discard(&files);
    return rc;
}

typedef struct run {
    const char *val[N_OPTIONS];
    dc_solver *solver;
    dc_slic_options slic;
    double position_weight;
    long long seed;
    dc_image image, truth;
    int32_t *sp, *seg, *truth_lab;
    uint8_t *seg_rgb, *overlay_rgb, *sp_rgb;
} run;

static void run_free(run *r) {
    dc_solver_free(r->solver);
    dc_image_free(&r->image);
    dc_image_free(&r->truth);
    free(r->sp);
    free(r->seg);
    free(r->truth_lab);
    free(r->seg_rgb);
    free(r->overlay_rgb);
    free(r->sp_rgb);
}

/* Everything the command line decides, checked before any file is read. */
static int setup(run *r) {
    const char **v = r->val;
    if (!v[O_IMAGE]) return usage("missing --image PATH%s", "");
    if (!v[O_K]) return usage("missing --k K%s", "");
    const char *method = v[O_METHOD] ? v[O_METHOD] : "scdbas";
    dc_status st = dc_solver_create(&r->solver, method);
    if (st) return usage("unknown --method '%s' (see 'deepclust methods')", method);
    double k, seed = 0;
    if (parse_real(v[O_K], &k) || k != floor(k) || k < 2 || dc_solver_set(r->solver, "k", k))
        return usage("--k takes a whole number >= 2, got '%s'", v[O_K]);
    if (v[O_SEED] && (parse_real(v[O_SEED], &seed) || seed != floor(seed) ||
                      dc_solver_set(r->solver, "seed", seed)))
        return usage("--seed takes a whole number >= 0, got '%s'", v[O_SEED]);
    r->seed = (long long)seed;
    dc_slic_options_default(&r->slic);
    static const struct { int opt; const char *name; } slic_opts[] = {
        {O_SUPERPIXELS, "n_segments"}, {O_COMPACTNESS, "compactness"}, {O_SIGMA, "sigma"}};
    for (int i = 0; i < 3; i++) {
        double x;
        const char *s = v[slic_opts[i].opt];
        if (!s) continue;
        if (parse_real(s, &x)) return usage("expected a number, got '%s'", s);
        if (dc_slic_options_set(&r->slic, slic_opts[i].name, x)) {
            fprintf(stderr, "%s: --%s %s: %s\n", PROG, OPTIONS[slic_opts[i].opt].name, s,
                    dc_last_error());
            return 2;
        }
    }
    r->position_weight = DC_SEGMENT_POSITION_WEIGHT;
    if (v[O_POSITION_WEIGHT] &&
        (parse_real(v[O_POSITION_WEIGHT], &r->position_weight) || r->position_weight < 0 ||
         r->position_weight > DC_SEGMENT_POSITION_WEIGHT_MAX))
        return usage("--position-weight takes a number in [0, 1e6], got '%s'",
                     v[O_POSITION_WEIGHT]);
    if (v[O_THREADS]) {
        double t;
        if (parse_real(v[O_THREADS], &t) || t < 1 || t > 4096 || t != floor(t))
            return usage("--threads takes a whole number in [1, 4096], got '%s'", v[O_THREADS]);
        dc_set_threads((int)t);
    }
    const int images[] = {O_OUT, O_OVERLAY, O_SP_OUT};
    for (int i = 0; i < 3; i++)
        if (v[images[i]] && !has_ext(v[images[i]], ".png") && !has_ext(v[images[i]], ".ppm"))
            return usage("image outputs are .png or .ppm, got '%s'", v[images[i]]);
    if (v[O_LABELS_OUT] && !has_ext(v[O_LABELS_OUT], ".npy") && !has_ext(v[O_LABELS_OUT], ".csv"))
        return usage("--labels-out takes a .npy or .csv name, got '%s'", v[O_LABELS_OUT]);
    if (v[O_OUT] && k > PALETTE_SIZE)
        return usage("--out: the palette has 256 colours, --k is %s", v[O_K]);
    const cli_file inputs[] = {{"image", v[O_IMAGE], 0}, {"truth", v[O_TRUTH], 0}};
    const cli_file outputs[] = {{"out", v[O_OUT], 1}, {"overlay", v[O_OVERLAY], 1},
                                {"superpixels-out", v[O_SP_OUT], 1}, {"labels-out", v[O_LABELS_OUT], 1}};
    return cli_check_files(inputs, 2, outputs, 4, NULL, NULL);
}

static void report(const run *r, int32_t n_sp, double slic_s, double total_s, const double *m) {
    const char *const *v = r->val;
    if (v[O_JSON]) {
        cli_json j;
        json_begin(&j, stdout);
        json_str(&j, "method", dc_solver_method(r->solver));
        double k = 0;
        dc_solver_get(r->solver, "k", &k);
        json_int(&j, "k", (long long)k);
        json_int(&j, "seed", r->seed);
        json_int(&j, "width", r->image.width);
        json_int(&j, "height", r->image.height);
        json_int(&j, "n_superpixels", n_sp);
        json_num(&j, "compactness", r->slic.compactness);
        json_num(&j, "sigma", r->slic.sigma);
        json_num(&j, "position_weight", r->position_weight);
        json_num(&j, "slic_seconds", slic_s);
        json_num(&j, "seconds", total_s);
        if (m) {
            json_num(&j, "acc", m[0]);
            json_num(&j, "nmi", m[1]);
            json_str(&j, "nmi_normalization", "sqrt");
            json_num(&j, "nmi_arithmetic", m[2]);
            json_num(&j, "ari", m[3]);
            json_num(&j, "boundary_recall", m[4]);
        }
        json_end(&j);
    }
    if (!v[O_QUIET]) {
        fprintf(stderr, "%lld x %lld image, %d superpixels (SLIC %.3f s), %s, %.3f s\n",
                (long long)r->image.width, (long long)r->image.height, n_sp, slic_s,
                dc_solver_method(r->solver), total_s);
        if (m)
            fprintf(stderr, "ACC %.4f  NMI %.4f (sqrt; arithmetic %.4f)  ARI %.4f  boundary "
                    "recall %.4f\n", m[0], m[1], m[2], m[3], m[4]);
    }
}

static int segment(run *r) {
    const char **v = r->val;
    double t0 = now();
    dc_status st = dc_image_read(v[O_IMAGE], &r->image);
    if (st) return failure(st, "image");
    int64_t w = r->image.width, h = r->image.height, n = w * h;
    if (v[O_TRUTH]) {
        if ((st = dc_image_read(v[O_TRUTH], &r->truth))) return failure(st, "truth");
        if (r->truth.width != w || r->truth.height != h) {
            fprintf(stderr, "%s: error: truth: %s is %lld x %lld pixels, the image %lld x %lld\n",
                    PROG, v[O_TRUTH], (long long)r->truth.width, (long long)r->truth.height,
                    (long long)w, (long long)h);
            return 1;
        }
        if (!(r->truth_lab = truth_labels(&r->truth))) return failure(DC_ERR_NOMEM, "truth");
    }
    r->sp = malloc((size_t)n * sizeof *r->sp);
    r->seg = malloc((size_t)n * sizeof *r->seg);
    if (!r->sp || !r->seg) return failure(DC_ERR_NOMEM, "image");
    int32_t n_sp = 0;
    double t1 = now();
    st = dc_slic(r->image.pixels, w, h, r->image.channels, &r->slic, r->sp, &n_sp);
    double slic_s = now() - t1;
    if (st) return failure(st, "superpixels");
    st = dc_segment_superpixels(r->solver, r->image.pixels, w, h, r->image.channels, r->sp, n_sp,
                                r->position_weight, r->seg);
    if (st) return failure(st, "segmentation");

    double m[5], *metrics = NULL;
    if (r->truth_lab) {
        if ((st = dc_metrics_acc(r->truth_lab, r->seg, n, &m[0])) ||
            (st = dc_metrics_nmi(r->truth_lab, r->seg, n, DC_NMI_SQRT, &m[1])) ||
            (st = dc_metrics_nmi(r->truth_lab, r->seg, n, DC_NMI_ARITHMETIC, &m[2])) ||
            (st = dc_metrics_ari(r->truth_lab, r->seg, n, &m[3])) ||
            (st = dc_boundary_recall(r->truth_lab, r->seg, w, h, 2, &m[4])))
            return failure(st, "metrics");
        metrics = m;
    }
    output out[4];
    const char *flags[4];
    int n_out = 0;
    if (v[O_OUT]) {
        if (!(r->seg_rgb = malloc((size_t)n * 3))) return failure(DC_ERR_NOMEM, "--out");
        for (int64_t p = 0; p < n; p++) palette_colour(r->seg[p], r->seg_rgb + 3 * p);
        flags[n_out] = "out";
        out[n_out++] = (output){v[O_OUT], r->seg_rgb, NULL};
    }
    if (v[O_OVERLAY]) {
        if (!(r->overlay_rgb = to_rgb(&r->image))) return failure(DC_ERR_NOMEM, "--overlay");
        draw_boundaries(r->overlay_rgb, r->seg, w, h);
        flags[n_out] = "overlay";
        out[n_out++] = (output){v[O_OVERLAY], r->overlay_rgb, NULL};
    }
    if (v[O_SP_OUT]) {
        if (!(r->sp_rgb = to_rgb(&r->image)) || paint_means(r->sp_rgb, r->sp, n_sp, n))
            return failure(DC_ERR_NOMEM, "--superpixels-out");
        flags[n_out] = "superpixels-out";
        out[n_out++] = (output){v[O_SP_OUT], r->sp_rgb, NULL};
    }
    if (v[O_LABELS_OUT]) {
        flags[n_out] = "labels-out";
        out[n_out++] = (output){v[O_LABELS_OUT], NULL, r->seg};
    }
    int rc = write_outputs(out, flags, n_out, w, h);
    if (rc) return rc;
    report(r, n_sp, slic_s, now() - t0, metrics);
    return 0;
}

int cli_segment(int argc, char **argv) {
    run r;
    memset(&r, 0, sizeof r);
    if (parse_options(argc, argv, r.val)) return 2;
    if (r.val[O_HELP]) {
        cli_segment_help(stdout);
        return 0;
    }
    int rc = setup(&r);
    if (rc == 0) rc = segment(&r);
    run_free(&r);
    return rc;
}

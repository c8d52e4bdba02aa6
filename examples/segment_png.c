/* Segment a photo: SLIC superpixels clustered by SCDBAS into K segments,
 * written as a grey PNG (segment i as grey level i * 255 / (K - 1)).
 *
 *   usage: segment_png IN.png K OUT.png [SUPERPIXELS]
 *
 * Build against an installed library:
 *   cc segment_png.c $(pkg-config --cflags --libs deepclust) -o segment_png
 *
 * Example data: examples/data/shapes.png (a disc and a square on a striped
 * background, k = 3; shapes_truth.png holds the true regions as 0, 1, 2). */
#include <deepclust.h>

#include <stdio.h>
#include <stdlib.h>

/* Every call returns a dc_status; on failure dc_last_error() says why. */
static int example_failed(dc_status st, const char *what) {
    if (st == DC_OK) return 0;
    fprintf(stderr, "%s: %s: %s\n", what, dc_strerror(st), dc_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: %s IN.png K OUT.png [SUPERPIXELS]\n", argv[0]);
        return 2;
    }
    int k = atoi(argv[2]);
    dc_image img;
    if (example_failed(dc_image_read(argv[1], &img), argv[1])) return 1;

    dc_slic_options slic;
    dc_slic_options_default(&slic);
    slic.sigma = 1.0; /* photos are noisy: smooth before the superpixels */
    if (argc == 5) slic.n_segments = atoi(argv[4]);

    dc_solver *solver = NULL;
    int64_t n = img.width * img.height;
    int32_t *labels = malloc(sizeof(int32_t) * (size_t)n), n_superpixels = 0;
    uint8_t *grey = malloc((size_t)n);
    int rc = 1;
    if (!labels || !grey) goto done;
    if (example_failed(dc_solver_create(&solver, "scdbas"), "solver") ||
        example_failed(dc_solver_set(solver, "k", k), "k") ||
        example_failed(dc_segment(solver, img.pixels, img.width, img.height, img.channels, &slic,
                                  DC_SEGMENT_POSITION_WEIGHT, labels, NULL, &n_superpixels),
                       "segment"))
        goto done;

    int64_t size[256] = {0};
    for (int64_t p = 0; p < n; p++) {
        grey[p] = (uint8_t)(labels[p] * 255 / (k > 1 ? k - 1 : 1));
        size[labels[p] & 255]++;
    }
    if (example_failed(dc_image_write(argv[3], grey, img.width, img.height, 1), argv[3])) goto done;
    printf("segments %d of %d superpixels, sizes", k, n_superpixels);
    for (int i = 0; i < k && i < 256; i++) printf(" %lld", (long long)size[i]);
    printf("\n");
    rc = 0;
done:
    dc_solver_free(solver);
    dc_image_free(&img);
    free(labels);
    free(grey);
    return rc;
}

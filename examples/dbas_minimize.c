/* Minimise your own function with the damped beetle antennae search (DBAS),
 * the derivative-free optimiser inside SCDBAS, used on its own.
 *
 *   usage: dbas_minimize [SEED]
 *
 * Build against an installed library:
 *   cc dbas_minimize.c $(pkg-config --cflags --libs deepclust) -o dbas_minimize
 *
 * The fitness here is an anisotropic quadratic bowl whose minimum (0) lies at
 * a point the search does not know; its parameters reach the function
 * through the `user` pointer, which also counts the evaluations. */
#include <deepclust.h>

#include <stdio.h>
#include <stdlib.h>

#define DIM 4

typedef struct bowl {
    double centre[DIM]; /* the minimiser */
    double weight[DIM]; /* curvature per axis */
    long evaluations;
} bowl;

/* f(x) = sum_i w_i (x_i - c_i)^2 */
static double bowl_fitness(const double *x, int64_t dim, void *user) {
    bowl *b = user;
    double f = 0;
    for (int64_t i = 0; i < dim; i++) {
        const double t = x[i] - b->centre[i];
        f += b->weight[i] * t * t;
    }
    b->evaluations++;
    return f;
}

int main(int argc, char **argv) {
    bowl b = {{1.0, -2.0, 0.5, 3.0}, {1.0, 4.0, 0.5, 2.0}, 0};
    const double x0[DIM] = {0, 0, 0, 0}; /* every beetle starts here */

    dc_dbas_config cfg;
    dc_dbas_config_default(&cfg); /* the paper's values; then change what you need */
    cfg.step = 1.0;          /* first step: about the distance to cover */
    cfg.eta = 0.97;          /* step decay per iteration */
    cfg.iterations = 300;
    cfg.beetles = 4;         /* independent searches sharing the best point */
    cfg.damp = 0.5;          /* 0 = plain (undamped) beetle antennae search */
    cfg.seed = argc > 1 ? strtoull(argv[1], NULL, 10) : 1;

    double best[DIM], f_best, trace[301];
    dc_status st = dc_dbas_minimize(bowl_fitness, &b, DIM, x0, 1, &cfg, best, &f_best, trace, NULL);
    if (st != DC_OK) {
        fprintf(stderr, "dbas: %s: %s\n", dc_strerror(st), dc_last_error());
        return 1;
    }

    for (int t = 0; t <= 300; t += 50) printf("iteration %3d: best fitness %.3e\n", t, trace[t]);
    printf("best point:");
    for (int i = 0; i < DIM; i++) printf(" %.4f", best[i]);
    printf("\n(true minimiser: 1 -2 0.5 3)\n");
    printf("best fitness %.3e after %ld evaluations\n", f_best, b.evaluations);
    return 0;
}

/* What `deepclust cluster` writes besides the labels: the output files and
 * deep-model options a method serves (checked before any work, so that no
 * training runs for a result that could not be written in full), and the
 * files made from the fitted solver. */
#ifndef DC_CLI_CLUSTER_OUTPUTS_H
#define DC_CLI_CLUSTER_OUTPUTS_H

#include <stdint.h>

#include <deepclust.h>

#include "cli_common.h"
#include "cli_files.h"

/* An output file, made from one solver output (NULL: from the deep model). */
typedef struct cli_output_flag {
    const char *flag, *output, *what;
} cli_output_flag;

enum {
    F_EMBEDDING_OUT, F_CENTERS_OUT, F_WEIGHTS_OUT, F_WEIGHTS_SVG, F_TRACE_SVG, F_EMBEDDING_SVG,
    F_SAVE_MODEL, F_SAVE_PRETRAINED, N_OUTPUT_FLAGS
};
extern const cli_output_flag cli_output_flags[N_OUTPUT_FLAGS];

/* Options that need a deep model and write no output of their own. */
enum { D_LOAD_PRETRAINED, D_CHECKPOINT, D_CHECKPOINT_EVERY, D_RESUME, N_DEEP_OPTIONS };
extern const char *const cli_deep_options[N_DEEP_OPTIONS];

/* In the functions below paths[i] is the path given for cli_output_flags[i]
 * and opts[i] the value of cli_deep_options[i]; NULL: not given. */

/* Whether the method has a deep model (edcwrn, idec, dec). dc_solver_model
 * documents DC_ERR_UNSUPPORTED for the others, whatever the solver's state:
 * a question that works before the fit. */
int cli_has_deep_model(const dc_solver *s);
/* Before any work: every requested output and deep-model option must be one
 * the method serves with the parameters given; a missing one is a usage
 * error (2, after a message listing what the method can write). */
int cli_check_requests(const dc_solver *s, const char *const *paths, const char *const *opts);
/* Before any work: no output of cluster may name an input or another
 * output. The checkpoint a fit resumes from may also be the one it goes on
 * writing: it is read whole before the first write. */
int cli_check_cluster_files(cli_args *a, const char *out, const char *const *paths,
                            const char *const *opts);
/* After the fit, before the first file: a resumed fit took the checkpoint's
 * parameters, which cli_check_requests could not see. */
int cli_check_outputs_present(const dc_solver *s, const char *const *paths);
/* Every output of cluster besides the labels that was asked for, each to a
 * temporary of `files` (pred: the labels, for the embedding's colours). */
int cli_write_cluster_outputs(cli_outputs *files, dc_solver *s, const char *const *paths,
                              const int32_t *pred);

#endif

/* Distributed loading of uncompressed text tables by row blocks found from
 * line offsets (lib/mpi/load_csv_mpi.c). */
#ifndef DCI_LOAD_CSV_MPI_H
#define DCI_LOAD_CSV_MPI_H

#include <stdint.h>

#include "deepclust/dataset.h"

/* This rank's block of rows of the table at path (rows [floor(r n / N),
 * floor((r+1) n / N)) of its n rows), parsed as dc_dataset_load would; a
 * label column stays with its rows. Collective; every rank returns the same
 * status. *n_total = n. */
dc_status dci_mpi_load_csv_block(const char *path, const dc_load_options *opt, dc_dataset **out,
                                 int64_t *n_total);

#endif

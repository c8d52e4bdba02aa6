/* `mpirun -np N deepclust cluster ...`: the distributed run (MPI builds). */
#ifndef DC_CLI_MPI_H
#define DC_CLI_MPI_H

/* 1 when the process was started by mpirun/mpiexec (Open MPI's or a PMI
 * launcher's environment); then *rc is the exit status of the whole run,
 * done here: MPI initialised, the command run on every rank, finalised. */
int cli_mpi_intercept(int argc, char **argv, int *rc);

#endif

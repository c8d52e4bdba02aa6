"""Distributed fits under MPI (mpi4py), with a library built with
``-Dmpi=enabled`` (docs/scaling.md). Each rank passes its own block of rows
to an estimator; the fit is collective; rank 0's ``labels_`` (and
``embedding_``) hold all n rows, the other ranks' their own::

    # mpirun -np 4 python3 script.py
    from mpi4py import MPI
    import deepclust, deepclust.mpi

    deepclust.mpi.set_comm(MPI.COMM_WORLD)
    X, n = deepclust.mpi.load_block("images-idx3-ubyte")   # this rank's rows
    est = deepclust.SCDBAS(n_clusters=10, random_state=0).fit(X / 255)
    if MPI.COMM_WORLD.rank == 0:
        print(est.labels_.shape)                          # (n,)
    deepclust.mpi.set_comm(None)

Distributed: KMeans, NJW, SCDBAS (see deepclust/mpi.h for what each
supports); the deep estimators raise while a communicator is set.
mpi4py is imported only by the caller: ``set_comm`` takes any object with
``py2f()`` (the Fortran handle, MPI_Comm_c2f) or that handle as an int.
"""
import ctypes

import numpy as np

from . import _lib


def enabled():
    """True when the loaded library was built with MPI."""
    return bool(_lib.lib().dc_mpi_enabled())


def _need():
    if not enabled():
        raise RuntimeError("deepclust.mpi: the loaded library (%s) was built without MPI "
                           "(meson setup -Dmpi=enabled)" % _lib.lib().path)
    return _lib.lib()


def set_comm(comm):
    """Sets the communicator of the distributed fits (collective over it);
    None goes back to single-process fits. The library keeps a duplicate."""
    lib = _need()
    if comm is None:
        from mpi4py import MPI  # only to name MPI_COMM_NULL
        handle = MPI.COMM_NULL.py2f()
    else:
        handle = comm.py2f() if hasattr(comm, "py2f") else int(comm)
    lib.dc_mpi_set_comm(handle)


def rank():
    """This process's rank in the communicator set, -1 when none is."""
    return _need().dc_mpi_rank()


def size():
    """Ranks in the communicator set, 0 when none is."""
    return _need().dc_mpi_size()


def block(n, rank_=None, size_=None):
    """(first, count): the rows of a rank when n rows are split."""
    lib = _need()
    f, c = ctypes.c_int64(), ctypes.c_int64()
    lib.dc_mpi_block(int(n), rank() if rank_ is None else int(rank_),
                     size() if size_ is None else int(size_), ctypes.byref(f), ctypes.byref(c))
    return f.value, c.value


def load_block(path):
    """(X, n): this rank's rows of a data file as float32 (collective; raw NPY
    and IDX are read by seeking, see dc_mpi_dataset_load) and the number of
    rows of the whole file."""
    lib = _need()
    handle = _lib.DatasetP()
    n = ctypes.c_int64()
    lib.dc_mpi_dataset_load(ctypes.byref(handle), _lib.cstr(path), None, ctypes.byref(n))
    try:
        rows, cols = lib.dc_dataset_rows(handle), lib.dc_dataset_cols(handle)
        ptr = ctypes.cast(lib.dc_dataset_data(handle), ctypes.POINTER(ctypes.c_float))
        X = np.ctypeslib.as_array(ptr, shape=(rows, cols)).copy()
    finally:
        lib.dc_dataset_free(handle)
    return X, n.value


def bytes_sent(phase):
    """Bytes this rank handed to MPI in a phase ("seed", "knn", "eigen", ...)."""
    return _need().dc_mpi_bytes_sent(_lib.cstr(phase))

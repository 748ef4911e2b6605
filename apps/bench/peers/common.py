"""Shared helpers of the peer scripts: thread pinning (before numpy/torch load) and BLAS reporting."""
import os
import sys


def pin_threads(threads):
    """Pins BLAS/OpenMP thread pools to `threads` (must run before numpy or torch is imported)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)


def loaded_blas():
    """Shared libraries with 'blas' or 'lapack' in their name mapped into this process."""
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1]
                name = os.path.basename(path).lower()
                if ("blas" in name or "lapack" in name or "mkl" in name) and path.startswith("/"):
                    libs.add(os.path.realpath(path))
    except OSError:
        pass
    return sorted(libs)


def torch_or_reason():
    try:
        import torch  # noqa: F401

        return torch, None
    except Exception as e:  # noqa: BLE001
        return None, f"torch not importable by {sys.executable}: {e}"

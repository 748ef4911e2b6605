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


def read_safetensors(path):
    """The float32 tensors of a safetensors file as numpy arrays (name -> array), read with numpy only."""
    import json as _json
    import struct

    import numpy as np

    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = _json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: {name} is {info['dtype']}, expected F32")
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=np.float32).reshape(info["shape"]).copy()
    return out

"""lowbit's runtime from Python: a ctypes binding of runtime/include/lowbit/runtime.h.

    from lowbit.runtime import Model
    model = Model("model.lbm")
    session = model.session(threads=2)
    logits, = session.run({"input_ids": ids})

The library is liblowbit_runtime.so: found through $LOWBIT_RUNTIME_LIB, else
next to this package in a build tree (build/lib), else by the loader's search.
Outputs are copied into numpy arrays, so they outlive the next run.
"""
import ctypes
import os
from pathlib import Path

import numpy as np

# runtime.h's lowbit_dtype (ONNX numbering) <-> numpy.
_DTYPES = {
    1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32,
    7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64,
}


class LowbitError(RuntimeError):
    """A failure the runtime reported, with its message."""


class _TensorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int), ("rank", ctypes.c_int32),
                ("dims", ctypes.POINTER(ctypes.c_int64))]


class _Tensor(ctypes.Structure):
    _fields_ = [("dtype", ctypes.c_int), ("rank", ctypes.c_int32),
                ("dims", ctypes.POINTER(ctypes.c_int64)), ("data", ctypes.c_void_p)]


class _SessionOptions(ctypes.Structure):
    _fields_ = [("num_threads", ctypes.c_int32)]


def _find_library():
    explicit = os.environ.get("LOWBIT_RUNTIME_LIB")
    if explicit:
        return explicit
    here = Path(__file__).resolve().parent
    for candidate in (here.parents[1] / "build" / "lib" / "liblowbit_runtime.so",
                      here.parent / "liblowbit_runtime.so"):
        if candidate.exists():
            return str(candidate)
    return "liblowbit_runtime.so"


def _load():
    lib = ctypes.CDLL(_find_library())
    p, i32, size = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t
    signatures = {
        "lowbit_last_error": ([], ctypes.c_char_p),
        "lowbit_model_open": ([ctypes.c_char_p, ctypes.POINTER(p)], i32),
        "lowbit_model_close": ([p], None),
        "lowbit_model_num_inputs": ([p], size),
        "lowbit_model_num_outputs": ([p], size),
        "lowbit_model_input_info": ([p, size, ctypes.POINTER(_TensorInfo)], i32),
        "lowbit_model_output_info": ([p, size, ctypes.POINTER(_TensorInfo)], i32),
        "lowbit_session_create": ([p, ctypes.POINTER(_SessionOptions), ctypes.POINTER(p)], i32),
        "lowbit_session_destroy": ([p], None),
        "lowbit_session_set_input": ([p, size, p, ctypes.POINTER(ctypes.c_int64), ctypes.c_int32], i32),
        "lowbit_session_run": ([p], i32),
        "lowbit_session_output": ([p, size, ctypes.POINTER(_Tensor)], i32),
    }
    for name, (args, result) in signatures.items():
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = args, result
    return lib


_lib = None


def _runtime():
    global _lib
    if _lib is None:
        _lib = _load()
    return _lib


def _check(status, what):
    if status != 0:
        raise LowbitError(f"{what}: {_runtime().lowbit_last_error().decode(errors='replace')}")


class TensorInfo:
    def __init__(self, info):
        self.name = info.name.decode()
        self.dtype = _DTYPES.get(info.dtype)
        self.shape = tuple(info.dims[k] for k in range(info.rank))  # -1: dynamic

    def __repr__(self):
        return f"TensorInfo({self.name!r}, {np.dtype(self.dtype).name}, {self.shape})"


class Model:
    """An opened artifact (.lbm); immutable, shareable between sessions."""

    def __init__(self, path):
        lib = _runtime()
        self._handle = ctypes.c_void_p()
        _check(lib.lowbit_model_open(str(path).encode(), ctypes.byref(self._handle)), str(path))
        self.inputs = [self._info(lib.lowbit_model_input_info, k)
                       for k in range(lib.lowbit_model_num_inputs(self._handle))]
        self.outputs = [self._info(lib.lowbit_model_output_info, k)
                        for k in range(lib.lowbit_model_num_outputs(self._handle))]

    def _info(self, getter, index):
        info = _TensorInfo()
        _check(getter(self._handle, index, ctypes.byref(info)), "tensor info")
        return TensorInfo(info)

    def session(self, threads=0):
        return Session(self, threads)

    def close(self):
        if self._handle:
            _runtime().lowbit_model_close(self._handle)
            self._handle = ctypes.c_void_p()

    def __del__(self):
        self.close()


class Session:
    """One thread's run state over a Model."""

    def __init__(self, model, threads=0):
        self._model = model  # keeps the model open while the session lives
        self._handle = ctypes.c_void_p()
        options = _SessionOptions(threads)
        _check(_runtime().lowbit_session_create(model._handle, ctypes.byref(options),
                                                ctypes.byref(self._handle)), "session")

    def run(self, inputs):
        """inputs: {name: array} (or a list in input order); returns the outputs in order."""
        lib = _runtime()
        if isinstance(inputs, dict):
            missing = [i.name for i in self._model.inputs if i.name not in inputs]
            if missing:
                raise LowbitError(f"missing input(s): {', '.join(missing)}")
            inputs = [inputs[i.name] for i in self._model.inputs]
        keep = []  # the runtime borrows input buffers until run returns
        for index, (info, value) in enumerate(zip(self._model.inputs, inputs)):
            array = np.ascontiguousarray(value, dtype=info.dtype)
            dims = (ctypes.c_int64 * max(array.ndim, 1))(*array.shape)
            keep.append((array, dims))
            _check(lib.lowbit_session_set_input(self._handle, index, array.ctypes.data, dims,
                                                array.ndim), f"input '{info.name}'")
        _check(lib.lowbit_session_run(self._handle), "run")
        return [self._output(k) for k in range(len(self._model.outputs))]

    def _output(self, index):
        tensor = _Tensor()
        _check(_runtime().lowbit_session_output(self._handle, index, ctypes.byref(tensor)), "output")
        shape = tuple(tensor.dims[k] for k in range(tensor.rank))
        dtype = np.dtype(_DTYPES[tensor.dtype])
        count = int(np.prod(shape, dtype=np.int64))
        buffer = (ctypes.c_char * (count * dtype.itemsize)).from_address(tensor.data) if count else b""
        return np.frombuffer(buffer, dtype=dtype, count=count).reshape(shape).copy()

    def close(self):
        if self._handle:
            _runtime().lowbit_session_destroy(self._handle)
            self._handle = ctypes.c_void_p()

    def __del__(self):
        self.close()

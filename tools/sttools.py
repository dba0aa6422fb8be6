"""sttools -- a small, dependency-free (NumPy only) safetensors reader and writer.

The official ``safetensors`` Python package is not available on our Debian
machines, so the tools (gen_fixtures.py, torch_crosscheck.py) use this module.

File layout (see docs in the safetensors README and ../shared/design/REFERENCE.md):

    8 bytes    N, unsigned little-endian u64
    N bytes    UTF-8 JSON object, padded with spaces to a multiple of 8 bytes
               {"__metadata__": {"k": "v", ...},            (optional, str -> str)
                "name": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ...}
    rest       data buffer; offsets are relative to its start, end exclusive,
               tensors are little-endian, row-major, packed without holes.

API
    save_file(tensors, path, metadata=None)   tensors: dict name -> np.ndarray | BF16
    load_file(path, bf16="float32") -> (tensors, metadata)
    BF16.from_float(array) / BF16(bits).to_float32()
    write_atomic(path, data)                  temp file in the same directory + os.replace

NumPy has no bfloat16, so BF16 tensors are carried as uint16 bit patterns wrapped
in the BF16 class (a bare uint16 array is written as U16).
"""

import json
import os
import struct
import tempfile

import numpy as np

__all__ = ["save_file", "load_file", "BF16", "write_atomic", "SafetensorsError",
           "MAX_HEADER"]

# Same limit as the reference reader: a larger header is rejected outright.
MAX_HEADER = 100_000_000

# safetensors dtype name -> little-endian NumPy dtype.  BF16 is stored as its
# raw 16-bit pattern (see class BF16).
_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U64": np.dtype("<u8"),
    "U32": np.dtype("<u4"),
    "U16": np.dtype("<u2"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}

# (NumPy kind, item size) -> safetensors name, for writing (any byte order).
_NAMES = {(v.kind, v.itemsize): k for k, v in _DTYPES.items() if k != "BF16"}


class SafetensorsError(ValueError):
    """A file that is not valid safetensors (raised by load_file)."""


class BF16:
    """A bfloat16 tensor held as its uint16 bit patterns (NumPy has no bfloat16)."""

    def __init__(self, bits):
        bits = np.asarray(bits)
        if bits.dtype != np.uint16:
            raise TypeError("BF16 wants uint16 bit patterns; use BF16.from_float()")
        self.bits = bits

    @property
    def shape(self):
        return self.bits.shape

    @classmethod
    def from_float(cls, a):
        """Round float values to bfloat16 (round to nearest even, NaN kept NaN)."""
        f = np.ascontiguousarray(np.asarray(a, dtype=np.float32))
        u = f.view(np.uint32).astype(np.uint64)
        # Round to nearest even on the 16 bits that are dropped.
        rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
        bits = rounded.astype(np.uint16)
        nan = np.isnan(f)
        if nan.any():
            # Keep sign, force a quiet NaN (rounding could have made it an infinity).
            bits[nan] = ((u[nan] >> 16).astype(np.uint16) | 0x0040)
        return cls(bits.reshape(f.shape))

    def to_float32(self):
        return (self.bits.astype(np.uint32) << 16).view(np.float32)

    def __repr__(self):
        return "BF16(shape=%s)" % (self.bits.shape,)


def write_atomic(path, data):
    """Write bytes to path via a temporary file in the same directory and os.replace,
    so a reader never sees a half-written file."""
    path = os.fspath(path)
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates mode 0600; give the file the usual umask-derived mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _encode(name, t):
    """-> (dtype name, shape list, little-endian bytes) for one tensor."""
    if isinstance(t, BF16):
        dt, arr = "BF16", t.bits
    else:
        arr = np.asarray(t)
        key = (arr.dtype.kind, arr.dtype.itemsize)
        if key not in _NAMES:
            raise TypeError("tensor %r: dtype %s has no safetensors equivalent" % (name, arr.dtype))
        dt = _NAMES[key]
    le = np.ascontiguousarray(arr, dtype=_DTYPES[dt])
    return dt, [int(s) for s in arr.shape], le.tobytes(order="C")


def save_file(tensors, path, metadata=None):
    """Write tensors (dict name -> np.ndarray or BF16) to path as safetensors.

    Tensors are laid out in the dict's iteration order, so the same dict always
    gives the same bytes.  metadata, if given, must map str to str.
    """
    header = {}
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise TypeError("metadata must be a dict of str -> str")
        header["__metadata__"] = dict(metadata)
    chunks = []
    offset = 0
    for name, t in tensors.items():
        if not isinstance(name, str) or not name or name == "__metadata__":
            raise ValueError("invalid tensor name %r" % (name,))
        dt, shape, data = _encode(name, t)
        header[name] = {"dtype": dt, "shape": shape,
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    hjson = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    hjson += b" " * (-len(hjson) % 8)  # pad so the data buffer starts 8-aligned
    write_atomic(path, struct.pack("<Q", len(hjson)) + hjson + b"".join(chunks))


def _no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise SafetensorsError("duplicate key %r in header" % (k,))
        d[k] = v
    return d


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def load_file(path, bf16="float32"):
    """Read and validate a safetensors file.

    Returns (tensors, metadata): tensors is a dict name -> np.ndarray (native byte
    order, header order), metadata the "__metadata__" map or {}.  BF16 tensors are
    converted to float32, or returned as BF16 objects when bf16="raw".
    Raises SafetensorsError on anything the format forbids (see REFERENCE.md).
    """
    if bf16 not in ("float32", "raw"):
        raise ValueError("bf16 must be 'float32' or 'raw'")
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise SafetensorsError("file shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > MAX_HEADER:
        raise SafetensorsError("header length %d exceeds %d" % (n, MAX_HEADER))
    if 8 + n > len(blob):
        raise SafetensorsError("header length %d runs past the end of the file" % n)
    raw = blob[8:8 + n]
    if not raw.startswith(b"{"):
        raise SafetensorsError("header does not start with '{'")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except UnicodeDecodeError as e:
        raise SafetensorsError("header is not UTF-8: %s" % e) from None
    except json.JSONDecodeError as e:
        raise SafetensorsError("header is not valid JSON: %s" % e) from None
    if not isinstance(header, dict):
        raise SafetensorsError("header is not a JSON object")

    metadata = header.pop("__metadata__", None)
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, dict) or not all(
            isinstance(v, str) for v in metadata.values()):
        raise SafetensorsError("__metadata__ must map strings to strings")

    buf = memoryview(blob)[8 + n:]
    spans = []
    for name, e in header.items():
        if not isinstance(e, dict) or set(e) != {"dtype", "shape", "data_offsets"}:
            raise SafetensorsError("tensor %r: entry must have exactly dtype, shape, "
                                   "data_offsets" % name)
        dt, shape, offs = e["dtype"], e["shape"], e["data_offsets"]
        if dt not in _DTYPES:
            raise SafetensorsError("tensor %r: unsupported dtype %r" % (name, dt))
        if not isinstance(shape, list) or not all(_is_int(s) and s >= 0 for s in shape):
            raise SafetensorsError("tensor %r: bad shape %r" % (name, shape))
        if (not isinstance(offs, list) or len(offs) != 2 or not all(_is_int(o) for o in offs)
                or not 0 <= offs[0] <= offs[1]):
            raise SafetensorsError("tensor %r: bad data_offsets %r" % (name, offs))
        numel = 1
        for s in shape:
            numel *= s  # Python ints: no overflow to worry about here
        if offs[1] - offs[0] != numel * _DTYPES[dt].itemsize:
            raise SafetensorsError("tensor %r: %d bytes for shape %s of %s" %
                                   (name, offs[1] - offs[0], shape, dt))
        spans.append((offs[0], offs[1], name))

    # The buffer must be tiled exactly: start at 0, no overlap, no hole, end at EOF.
    pos = 0
    for b, e, name in sorted(spans):
        if b != pos:
            raise SafetensorsError("tensor %r: data starts at %d, expected %d (%s)" %
                                   (name, b, pos, "overlap" if b < pos else "hole"))
        pos = e
    if pos != len(buf):
        raise SafetensorsError("data buffer is %d bytes but tensors cover %d" % (len(buf), pos))

    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        dt = _DTYPES[e["dtype"]]
        a = np.frombuffer(buf[b:end], dtype=dt).reshape(e["shape"])
        a = a.astype(dt.newbyteorder("="))  # copy, native order, writable
        if e["dtype"] == "BF16":
            a = BF16(a) if bf16 == "raw" else BF16(a).to_float32()
        out[name] = a
    return out, metadata

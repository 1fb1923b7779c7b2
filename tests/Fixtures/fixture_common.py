"""What the fixture scripts share: FashionGpu's counter-based random numbers (CounterRng) in numpy's wrapping uint64
arithmetic, the official IDX files, and the stored summary of a tensor."""
import gzip

import numpy as np

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
INIT_STREAM = np.uint64(2 << 56)
DROPOUT_STREAM = np.uint64(1 << 56)


def mix(x):
    x = np.asarray(x, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> np.uint64(27))
        x = x * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return x


def key(seed, stream):
    with np.errstate(over="ignore"):
        return mix(np.uint64(seed) ^ mix(np.uint64(stream) + GOLDEN))


def hash_(k, counters):
    with np.errstate(over="ignore"):
        return mix(k + (counters.astype(np.uint64) + np.uint64(1)) * GOLDEN)


def uniform_double(k, n):
    return (hash_(k, np.arange(n)) >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def uniform_float(k, n):
    return (hash_(k, np.arange(n)) >> np.uint64(40)).astype(np.float64) * (1.0 / 16777216.0)


def read_idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


MAX_SAMPLES = 2048


def summary(t):
    a = t.detach().numpy().astype(np.float64).ravel()
    stride = max(1, -(-a.size // MAX_SAMPLES))
    return {
        "shape": list(t.shape),
        "stride": stride,
        "values": [float(v) for v in a[::stride]],
        "sum": float(a.sum()),
        "abs_sum": float(np.abs(a).sum()),
        "max_abs": float(np.abs(a).max()),
    }

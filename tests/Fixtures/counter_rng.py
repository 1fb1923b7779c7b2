"""FashionGpu's counter-based random numbers (CounterRng) in numpy's wrapping uint64 arithmetic, for the fixture scripts."""
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

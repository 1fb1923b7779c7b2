#!/usr/bin/env python3
"""Cuts the bundled sample from the official Fashion-MNIST files (Debian's dataset-fashion-mnist package).

data/sample/      the first 2,000 training and 500 test images, as IDX gzip (the official layout)
data/sample-csv/  the first 100 training and 100 test images in the Kaggle CSV form (label,pixel1..pixel784)

Run: python3 data/make_sample.py [/usr/share/datasets/fashion-mnist]   (standard library only; output is reproducible)
"""
import gzip
import os
import struct
import sys

SOURCE = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
HERE = os.path.dirname(os.path.abspath(__file__))
COUNTS = {"train": 2000, "t10k": 500}
CSV_ROWS = 100


def read(prefix, kind):
    name = f"{prefix}-{kind}-{'idx3' if kind == 'images' else 'idx1'}-ubyte.gz"
    with gzip.open(os.path.join(SOURCE, name)) as f:
        data = f.read()
    return data[16:] if kind == "images" else data[8:]


def write_gz(path, payload):
    with open(path, "wb") as f:
        f.write(gzip.compress(payload, compresslevel=9, mtime=0))


def main():
    idx_dir = os.path.join(HERE, "sample")
    csv_dir = os.path.join(HERE, "sample-csv")
    os.makedirs(idx_dir, exist_ok=True)
    os.makedirs(csv_dir, exist_ok=True)
    for prefix, n in COUNTS.items():
        images, labels = read(prefix, "images"), read(prefix, "labels")
        write_gz(os.path.join(idx_dir, f"{prefix}-images-idx3-ubyte.gz"),
                 struct.pack(">iiii", 0x803, n, 28, 28) + images[: n * 784])
        write_gz(os.path.join(idx_dir, f"{prefix}-labels-idx1-ubyte.gz"), struct.pack(">ii", 0x801, n) + labels[:n])
        csv_name = "fashion-mnist_train.csv" if prefix == "train" else "fashion-mnist_test.csv"
        with open(os.path.join(csv_dir, csv_name), "w", newline="\n") as f:
            f.write("label," + ",".join(f"pixel{i}" for i in range(1, 785)) + "\n")
            for r in range(CSV_ROWS):
                f.write(str(labels[r]) + "," + ",".join(str(b) for b in images[r * 784:(r + 1) * 784]) + "\n")
    print("wrote", idx_dir, "and", csv_dir)


if __name__ == "__main__":
    main()

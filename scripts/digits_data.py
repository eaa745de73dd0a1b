#!/usr/bin/env python3
"""Writes ``data/digits.bin.gz``, the 8x8 handwritten digits that ``examples/mlp_classifier.rs`` trains on.

The source is the copy of the UCI "Optical Recognition of Handwritten Digits" test set that
scikit-learn ships as ``sklearn/datasets/data/digits.csv.gz`` (1,797 rows of 64 pixel values in
0..16 followed by the class 0..9; E. Alpaydin and C. Kaynak, CC BY 4.0; see ``data/README.md``).
Only that file is read: scikit-learn is never imported, so installing the wheel without its
dependencies is enough.

Output format: gzip of 1,797 records of 65 bytes each, in the source's row order: the class, then
the 64 pixels in row-major order. The gzip header carries no file name or time stamp, so the output
is byte-for-byte reproducible.

Usage (from the repository root):

    python3 -m venv scripts/.venv
    scripts/.venv/bin/pip install --no-deps -r scripts/requirements-digits.txt
    scripts/.venv/bin/python scripts/digits_data.py              # writes data/digits.bin.gz
    python3 scripts/digits_data.py --csv path/to/digits.csv.gz   # or from an extracted copy
"""

import argparse
import csv
import gzip
import hashlib
import importlib.util
import io
import os

ROWS, PIXELS, CLASSES = 1797, 64, 10


def sklearn_csv():
    """The path of ``digits.csv.gz`` inside the installed scikit-learn, found without importing it."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("scikit-learn is not installed; see the usage notes, or pass --csv")
    return os.path.join(spec.submodule_search_locations[0], "datasets", "data", "digits.csv.gz")


def read_rows(path):
    with gzip.open(path, "rt", newline="") as f:
        rows = [[int(v) for v in row] for row in csv.reader(f)]
    if len(rows) != ROWS:
        raise SystemExit(f"{path}: expected {ROWS} rows, found {len(rows)}")
    for i, row in enumerate(rows):
        if len(row) != PIXELS + 1:
            raise SystemExit(f"{path}: row {i} has {len(row)} values, expected {PIXELS + 1}")
        if not all(0 <= p <= 16 for p in row[:PIXELS]) or not 0 <= row[PIXELS] < CLASSES:
            raise SystemExit(f"{path}: row {i} has a value out of range")
    return rows


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", help="digits.csv.gz to read (default: the installed scikit-learn's)")
    parser.add_argument("-o", "--output", default=os.path.join(root, "data", "digits.bin.gz"))
    args = parser.parse_args()

    source = args.csv or sklearn_csv()
    rows = read_rows(source)
    raw = bytes(b for row in rows for b in [row[PIXELS], *row[:PIXELS]])
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(raw)
    with open(args.output, "wb") as f:
        f.write(buf.getvalue())

    counts = [sum(1 for r in rows if r[PIXELS] == c) for c in range(CLASSES)]
    print(f"read {source}")
    print(f"wrote {args.output}: {len(buf.getvalue())} bytes ({len(raw)} uncompressed)")
    print(f"sha256 of the uncompressed records: {hashlib.sha256(raw).hexdigest()}")
    print(f"images per class: {counts}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes the seeding migration the big-migration benchmarks apply (issue #16).

    bench/write-seed.py N DIR [NAME_TYPE] [TAIL]

DIR/1_seed/up.sql: a `seed` table (NAME_TYPE for its text column, VARCHAR(100) unless given)
and N one-row INSERTs of ~100 bytes (500,000 is 49 MB), then TAIL (a statement, if given);
DIR/1_seed/down.sql drops the table.
"""
import os
import sys

n, root = int(sys.argv[1]), sys.argv[2]
name_type = sys.argv[3] if len(sys.argv) > 3 else "VARCHAR(100)"
tail = sys.argv[4] if len(sys.argv) > 4 else ""
folder = os.path.join(root, "1_seed")
os.makedirs(folder, exist_ok=True)
with open(os.path.join(folder, "up.sql"), "w") as f:
    f.write(f"CREATE TABLE seed (id BIGINT PRIMARY KEY, name {name_type}, v BIGINT);\n")
    for i in range(1, n + 1):
        f.write(f"INSERT INTO seed (id, name, v) VALUES ({i}, 'name number {i} with some padding text', {i * 7});\n")
    if tail:
        f.write(tail + "\n")
with open(os.path.join(folder, "down.sql"), "w") as f:
    f.write("DROP TABLE seed;\n")

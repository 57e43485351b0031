#!/usr/bin/env python3
"""Write amplification by file: sums the bytes of each write system call in an strace log by the
path strace printed for its descriptor (snapshot generations folded into `snap-G`), against the
bytes written to the store's log. Not a test.

    strace -f -qq -y -e trace=write,pwrite64,writev,pwritev -e signal=none -o wa.strace \\
        target/release/examples/write_amplification DIR 1000000 100000 128
    python3 examples/wa_by_file.py wa.strace
"""
import collections
import re
import sys

CALL = re.compile(r'^\d+\s+(?:write|pwrite64|writev|pwritev)\(\d+<([^>]*)>.*= (\d+)$')

by_file = collections.Counter()
for line in open(sys.argv[1], errors="replace"):
    m = CALL.match(line)
    if m:
        by_file[re.sub(r"snap-\d+", "snap-G", m.group(1))] += int(m.group(2))
total = sum(by_file.values())
log = next((n for path, n in by_file.items() if path.endswith("vecstore.log")), 0) or 1
print(f"{'bytes':>14} {'share':>6} {'per log byte':>12}  file")
for path, n in sorted(by_file.items(), key=lambda x: x[1]):
    print(f"{n:14,d} {n / total:6.3f} {n / log:12.3f}  {path}")
print(f"{total:14,d} total, {total / log:.3f} x the log")

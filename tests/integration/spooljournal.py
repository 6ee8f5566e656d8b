#!/usr/bin/env python3
"""spooljournal.py SPOOL [ID]: prints the worker's journal (SPOOL/journal,
worker/spooljournal.h) as one line per attempt, its last valid record:
"ID FLAGS" with FLAGS the names of the bits set (acked_started,
acked_finished, uploaded, upload, done), comma-separated, "-" when none.
With ID, prints that attempt's line only (nothing when it has none)."""
import struct
import sys
import zlib

REC = 96
NAMES = [(1, "acked_started"), (2, "acked_finished"), (4, "uploaded"), (8, "upload"), (16, "done")]


def records(path):
    try:
        data = open(path, "rb").read()
    except FileNotFoundError:
        return
    for off in range(0, len(data) - REC + 1, REC):
        r = data[off:off + REC]
        if r[:4] != b"MLQJ" or struct.unpack_from("<I", r, 92)[0] != zlib.crc32(r[:92]):
            continue
        yield r[8:44].decode("ascii", "replace"), r[4] & 31


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    last = {}
    for aid, flags in records(sys.argv[1] + "/journal"):
        last[aid] = flags
    for aid, flags in last.items():
        if len(sys.argv) == 3 and aid != sys.argv[2]:
            continue
        names = [n for bit, n in NAMES if flags & bit]
        print(aid, ",".join(names) or "-")


if __name__ == "__main__":
    main()

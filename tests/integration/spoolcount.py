#!/usr/bin/env python3
"""spoolcount.py SPOOL SNAPSHOT TRACE_PREFIX WORKER_PID T0 [JOBS]: counts the
inodes made and freed in a worker's spool from an strace of the worker and
its shims (strace -f -ff -ttt -y -e trace=%file,unlink,unlinkat,rmdir,
rename,renameat,renameat2 -o TRACE_PREFIX), replayed in time order over the
spool's paths as listed before the trace (SNAPSHOT: `find SPOOL`, one path a
line) at T0 (a time stamp; earlier calls are left out). Made: mkdir, and open with O_CREAT of a name that did not exist.
Freed: unlink, rmdir, and rename over an existing file. Prints one line per
(process, call, file) with its count (per job with JOBS), then
"made N freed M"."""
import collections
import glob
import os
import re
import sys

LINE = re.compile(r'^(\d+\.\d+) (\w+)\((.*)\) += (-?\d+)')
STR = re.compile(r'(?:(\d+|AT_FDCWD)(?:<([^>]*)>)?, )?"((?:[^"\\]|\\.)*)"')


def norm(path, spool):
    p = path[len(spool):] if path.startswith(spool) else path
    p = re.sub(r'[0-9a-f]{8}-[0-9a-f-]{27}', 'ID', p)
    p = re.sub(r'\.(tmp|pool|trash)-[^/]*', r'.\1-*', p)
    return re.sub(r'\.tmp\.\d+$', '.tmp.PID', p)


def paths(call, args):
    """The absolute paths a call names, in order."""
    out = []
    for m in STR.finditer(args):
        fd, fdpath, name = m.group(1), m.group(2), m.group(3)
        if not name.startswith('/') and fdpath:
            name = fdpath + '/' + name
        out.append(os.path.normpath(name))
    return out


def events(prefix, wpid):
    evs = []
    for f in glob.glob(prefix + '.*'):
        pid = f.rsplit('.', 1)[1]
        who = 'worker' if pid == wpid else 'shim/job'
        for line in open(f, errors='replace'):
            m = LINE.match(line)
            if m and int(m.group(4)) >= 0:
                evs.append((float(m.group(1)), who, m.group(2), m.group(3)))
    return sorted(evs)


def main():
    if len(sys.argv) not in (6, 7):
        sys.exit(__doc__)
    t0 = float(sys.argv[5])
    spool = os.path.normpath(sys.argv[1])
    have = set(os.path.normpath(p.strip()) for p in open(sys.argv[2]) if p.strip())
    jobs = int(sys.argv[6]) if len(sys.argv) == 7 else 0
    made = freed = 0
    rows = collections.Counter()
    for t, who, call, args in events(sys.argv[3], sys.argv[4]):
        if t < t0:
            continue
        ps = [p for p in paths(call, args)]
        if not ps or not ps[-1].startswith(spool + '/'):
            continue
        kind = None
        if call in ('open', 'openat', 'creat') and ('O_CREAT' in args or call == 'creat'):
            if ps[0] not in have:
                kind = 'made (open O_CREAT)'
            have.add(ps[0])
        elif call in ('mkdir', 'mkdirat'):
            kind = 'made (mkdir)'
            have.add(ps[0])
        elif call in ('unlink', 'unlinkat', 'rmdir'):
            kind = 'freed (%s)' % call
            have.discard(ps[0])
        elif call.startswith('rename') and len(ps) == 2:
            a, b = ps
            if b in have and not any(h.startswith(b + '/') for h in have):
                kind = 'freed (rename over)'
            moved = [h for h in have if h == a or h.startswith(a + '/')]
            for h in moved:
                have.discard(h)
                have.add(b + h[len(a):])
        if kind:
            rows[(who, kind, norm(ps[-1] if kind.startswith('freed (rename') else ps[0], spool))] += 1
            if kind.startswith('made'):
                made += 1
            else:
                freed += 1
    for (who, kind, p), n in sorted(rows.items(), key=lambda r: (r[0][0], -r[1])):
        per = ' (%.2f/job)' % (n / jobs) if jobs else ''
        print('%-8s %-24s %6d%s  %s' % (who, kind, n, per, p))
    print('made %d freed %d' % (made, freed))


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""startsteps.py TRACE: the steps of each `mlq submit` -> job start found in
a `perf trace -T` of tests/bench/startsteps.sh (every process of the run is a
descendant of the traced shell), and their medians.

A sample starts at the exec of the CLI (`mlq`); its steps are the first
matching system call of the process named, in this order:

  CLI connect             mlq            connect()
  handshake done          mlq            recvfrom() of the 67-byte READY
  request sent            mlq            sendto() of the submit (> 1,000 B)
  scheduler receives      mlq-scheduler  recvfrom() of it (> 1,000 B)
  committed               mlq-scheduler  end of fdatasync() (WAL commit)
  ASSIGN sent             mlq-scheduler  sendto() of > 1,000 B
  worker receives         mlq-worker     recvfrom() of > 1,000 B
  folder renamed          mlq-worker     end of rename() (assign in place)
  standby told            mlq-worker     sendto() of the folder's path
  shim wakes              mlq-shim       end of read() of the path
  shim forks              mlq-shim       clone()
  job exec (sh)           sh             end of execve(): the job's first
                                         instruction
  date exec               date           end of execve() (what the realpath
                                         benchmark's job stamps)

Threads and children are told apart by the clone() that made them and the
execve() that named them (comm names in perf trace are not reliable)."""
import re
import statistics
import sys

LINE = re.compile(r'^\s*(\d+\.\d+|\?) \(\s*([\d.]*)\s*(?:ms)?\): (.+?)/(\d+) (.*)$')
RET = re.compile(r'= (-?\d+)\s*$')


def ret(rest):
    m = RET.search(rest)
    return int(m.group(1)) if m else None


def length(rest):
    m = re.search(r'len: (\d+)', rest)
    return int(m.group(1)) if m else 0


def load(path):
    """(start, end, program, tid, call) of each complete system call."""
    calls, owner, exe, pending = [], {}, {}, {}
    for line in open(path, errors='replace'):
        m = LINE.match(line)
        if not m:
            continue
        ts, dur, comm, tid, rest = m.groups()
        tid = int(tid)
        # A busy perf writes the end of a call it began as "?": the call
        # still names the process (an exec) and ends where it began.
        if ts == '?' and not ('[continued]' in rest and tid in pending):
            continue
        ts = pending[tid][0] if ts == '?' else float(ts)
        dur = float(dur) if dur else 0.0
        r = ret(rest)
        if re.match(r'(\.\.\. \[continued\]: )?clone3?\(', rest) and r and r > 0:
            owner[r] = tid
        if 'execve' in rest and r == 0:
            exe[tid] = comm
        if '[continued]' in rest and tid in pending:
            t0, rest0 = pending.pop(tid)
            calls.append([t0, ts + dur, comm, tid, rest0 + ' ' + rest])
        elif rest.rstrip().endswith('...'):
            pending[tid] = (ts, rest)
        else:
            calls.append([ts, ts + dur, comm, tid, rest])

    def program(t):
        for _ in range(64):
            if t in exe or t not in owner:
                break
            t = owner[t]
        return exe.get(t, '?'), t
    out = []
    for c in calls:
        prog, root = program(c[3])
        out.append((c[0], c[1], prog, root, c[3], c[4]))
    return out


STEPS = [
    ('CLI connect', 'mlq', lambda r: r.startswith('connect('), False),
    ('handshake done (READY)', 'mlq', lambda r: r.startswith('recvfrom') and ret(r) == 67, True),
    ('request sent', 'mlq', lambda r: r.startswith('sendto') and length(r) > 1000, False),
    ('scheduler receives', 'mlq-scheduler', lambda r: r.startswith('recvfrom') and (ret(r) or 0) > 1000, True),
    ('committed (fdatasync)', 'mlq-scheduler', lambda r: r.startswith('fdatasync'), True),
    ('ASSIGN sent', 'mlq-scheduler', lambda r: r.startswith('sendto') and length(r) > 1000, False),
    ('worker receives', 'mlq-worker', lambda r: r.startswith('recvfrom') and (ret(r) or 0) > 1000, True),
    ('folder renamed', 'mlq-worker', lambda r: r.startswith('rename') and ret(r) == 0, True),
    ('standby told', 'mlq-worker', lambda r: r.startswith('sendto') and length(r) < 400, False),
    ('shim wakes (path read)', 'mlq-shim', lambda r: r.startswith('read(') and (ret(r) or 0) > 20, True),
]
# Steps a start without a standby shim (posix_spawn of mlq-shim) does not
# have: such a sample goes on from the step before them.
OPTIONAL = ('standby told', 'shim wakes (path read)')
STEPS += [
    ('shim forks the job', 'mlq-shim', lambda r: r.startswith('clone'), False),
    ('job exec (sh): first instruction', 'sh', lambda r: r.startswith('execve') and ret(r) == 0, True),
    ('date exec', 'date', lambda r: r.startswith('execve') and ret(r) == 0, True),
]
# (name, program, predicate, end time?, counted from)
ASIDE = [
    ('reply sent to the CLI', 'mlq-scheduler',
     lambda r: r.startswith('sendto') and 100 < length(r) < 400, False, 'committed (fdatasync)'),
    ('CLI exits', 'mlq', lambda r: r.startswith('exit_group'), False, 'exec'),
    ('worker fsyncs done (first)', 'mlq-worker', lambda r: r.startswith('fsync'), True, 'folder renamed'),
]


def samples(calls):
    starts = [i for i, c in enumerate(calls)
              if c[2] == 'mlq' and c[5].startswith('execve') and c[3] == c[4]]
    rows = []
    for k, i in enumerate(starts):
        seg = calls[i:starts[k + 1] if k + 1 < len(starts) else len(calls)]
        row, j = {'exec': seg[0][0]}, 0
        for name, prog, pred, use_end in STEPS:
            if name in OPTIONAL:
                nxt = next((c for c in seg[j:] if c[2] == 'mlq-shim' and c[5].startswith('clone')), None)
            found = None
            for jj in range(j, len(seg)):
                c = seg[jj]
                if name in OPTIONAL and (nxt is not None and c[0] > nxt[0] or
                                         name != OPTIONAL[0] and OPTIONAL[0] not in row):
                    break
                # the standby is told by the worker's loop, not by ZeroMQ's
                # I/O thread (whose sends are the worker's reports)
                if name == OPTIONAL[0] and c[3] != c[4]:
                    continue
                if c[2] == prog and pred(c[5]):
                    found = jj
                    break
            if found is None and name in OPTIONAL:
                continue
            if found is None:
                break
            j = found + 1
            c = seg[found]
            row[name] = c[1] if use_end else c[0]
        for name, prog, pred, use_end, since in ASIDE:
            for c in seg:
                if since in row and c[0] >= row[since] and c[2] == prog and pred(c[5]):
                    row[name] = c[1] if use_end else c[0]
                    break
        if STEPS[-1][0] in row:
            rows.append(row)
    return rows


def main():
    rows = samples(load(sys.argv[1]))
    if not rows:
        sys.exit('startsteps.py: no complete sample in ' + sys.argv[1])
    print('%d samples; medians in ms from the exec of `mlq submit`' % len(rows))
    told = sum('standby told' in r for r in rows)
    if told < len(rows):
        print('(%d of them without the standby steps: a spawned mlq-shim, or events perf lost)'
              % (len(rows) - told))
    print('| step | since exec | this step |')
    print('|---|---|---|')
    prev = 'exec'
    for name, *_ in STEPS:
        got = [r for r in rows if name in r and prev in r]
        if not got:
            continue
        at = statistics.median(r[name] - r['exec'] for r in got)
        step = statistics.median(r[name] - r[prev] for r in got)
        print('| %s | %.2f | %.2f |' % (name, at, step))
        prev = name
    for end in ('shim forks the job', 'job exec (sh): first instruction'):
        got = [r[end] - r['worker receives'] for r in rows]
        print('| (worker receives -> %s) | | %.2f |' % (end, statistics.median(got)))
    for name, _, _, _, since in ASIDE:
        got = [r for r in rows if name in r]
        if got:
            print('| (%s) | %.2f | %.2f after %s |' % (
                name, statistics.median(r[name] - r['exec'] for r in got),
                statistics.median(r[name] - r[since] for r in got), since))


if __name__ == '__main__':
    main()

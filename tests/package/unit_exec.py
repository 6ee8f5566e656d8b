"""How systemd would start a service: reads a unit file and drop-ins.

usage: unit_exec.py UNIT [DROPIN...]

Prints bash assignments to eval: UNIT_USER, UNIT_TYPE, UNIT_KILLMODE, and
the arrays UNIT_ENV (NAME=VALUE, from Environment= lines, later ones win)
and UNIT_ARGV (ExecStart= with systemd's variable expansion: a word that is
exactly $NAME becomes the value split at white space, ${NAME} anywhere in a
word is replaced as is). Only the [Service] keys the package's units use
are read; drop-ins are read after the unit, as systemd does.
"""
import re
import shlex
import sys


def read(paths):
    keys = {}
    for path in paths:
        section = None
        with open(path) as f:
            for raw in f:
                line = raw.strip()
                if not line or line[0] in "#;":
                    continue
                if line.startswith("["):
                    section = line.strip("[]")
                    continue
                if section != "Service" or "=" not in line:
                    continue
                k, v = line.split("=", 1)
                keys.setdefault(k.strip(), []).append(v.strip())
    return keys


def expand(argv, env):
    out = []
    for w in argv:
        m = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", w)
        if m:
            out.extend(env.get(m.group(1), "").split())
            continue
        out.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}",
                          lambda m: env.get(m.group(1), ""), w))
    return out


def main():
    keys = read(sys.argv[1:])
    env = {}
    for line in keys.get("Environment", []):
        for assignment in shlex.split(line):
            name, _, value = assignment.partition("=")
            env[name] = value
    starts = [v for v in keys.get("ExecStart", []) if v]
    if len(starts) != 1:
        sys.exit("unit_exec.py: want exactly one ExecStart=, got %d" % len(starts))
    argv = expand(shlex.split(starts[0].lstrip("-@+!:")), env)
    last = lambda k, d: keys.get(k, [d])[-1]
    print("UNIT_USER=%s" % shlex.quote(last("User", "root")))
    print("UNIT_TYPE=%s" % shlex.quote(last("Type", "simple")))
    print("UNIT_KILLMODE=%s" % shlex.quote(last("KillMode", "control-group")))
    print("UNIT_ENV=(%s)" % " ".join(shlex.quote("%s=%s" % kv) for kv in env.items()))
    print("UNIT_ARGV=(%s)" % " ".join(shlex.quote(a) for a in argv))


main()

#!/usr/bin/env bash
# gen-man.sh PROG SECTION OUT.gz INCLUDE.h2m...: the man page of PROG made
# by help2man from PROG's own --help and --version, plus the include files
# (NAME, DESCRIPTION, FILES, SEE ALSO), compressed for /usr/share/man.
#
# help2man is given a wrapper of the same name that adapts the programs'
# output to what it parses: "usage:" becomes "Usage:" and a further usage
# line ("       PROG ...") "   or: PROG ..." (its SYNOPSIS), and
# --version keeps the release of its first line ("PROG RELEASE (git DESC)"):
# the page's footer names the release, not the commit it was built from.
set -euo pipefail
prog=$1 section=$2 out=$3
shift 3
command -v help2man >/dev/null || { echo "gen-man.sh: help2man is missing (deploy/install-deps.sh)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
name=$(basename "$prog")
cat >"$tmp/$name" <<WRAP
#!/bin/sh
if [ "\$1" = --version ]; then "$prog" --version | head -n 1 | sed -e 's/ (git [^)]*)\$//'; exit 0; fi
"$prog" "\$@" | sed -e 's/^usage:/Usage:/' -e 's/^       \($name \)/   or: \1/'
WRAP
chmod +x "$tmp/$name"
incs=()
for f in "$@"; do incs+=(--include "$f"); done
help2man --no-info --section "$section" "${incs[@]}" --output "$tmp/page" "$tmp/$name"
gzip -9n <"$tmp/page" >"$out.tmp"
mv "$out.tmp" "$out"

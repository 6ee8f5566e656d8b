#!/usr/bin/env bash
# commands-h2m.sh MLQ OUT: writes a help2man include with a COMMANDS section
# holding `MLQ CMD --help` for every command that `MLQ --help` lists, so
# that mlq(1) documents each command from the program itself.
set -euo pipefail
mlq=$1 out=$2

# roff-safe preformatted text: backslashes escaped, lines that start with a
# control character protected.
roff() {
    sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"
}

cmds=$("$mlq" --help | awk '/^commands:/ { on = 1; next } on && /^$/ { exit } on && /^  [a-z]/ { print $1 }')
[ -n "$cmds" ] || { echo "commands-h2m.sh: no commands in $mlq --help" >&2; exit 1; }
{
    echo '[COMMANDS]'
    for c in $cmds; do
        [ "$c" != help ] || continue
        help=$("$mlq" "$c" --help) || { echo "commands-h2m.sh: $mlq $c --help failed" >&2; exit 1; }
        printf '.SS "mlq %s"\n.nf\n' "$c"
        printf '%s\n' "$help" | roff
        printf '.fi\n'
    done
} >"$out.tmp"
mv "$out.tmp" "$out"

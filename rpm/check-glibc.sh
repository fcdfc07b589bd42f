#!/usr/bin/env bash
# Fails if a native library we ship needs a newer glibc than an XCP-ng 8.x dom0 has (CentOS 7:
# glibc 2.17; xcp-ng-host.md §1.1, §2.4).
#
# Checks every x86-64 ELF file under the given paths, and every .so inside every .jar under them
# (JNA and sqlite-jdbc carry theirs in the jar), by the highest GLIBC_x.y symbol version in its
# dynamic symbol table (objdump -T), and prints one line per file.
# usage: check-glibc.sh <highest allowed, e.g. 2.17> <file or directory>...
set -euo pipefail
max=$1
shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
checked=0

# check <ELF file> <name to print>
check() {
    readelf -h "$1" 2>/dev/null | grep -q 'Advanced Micro Devices X86-64' || return 0
    local need
    need=$(objdump -T "$1" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/^GLIBC_//' | sort -uV | tail -1 || true)
    checked=$((checked + 1))
    if [ -z "$need" ]; then
        printf '  %-12s %s\n' "none" "$2"
    elif [ "$(printf '%s\n%s\n' "$max" "$need" | sort -V | tail -1)" != "$max" ]; then
        printf '  %-12s %s   <-- needs more than GLIBC_%s\n' "GLIBC_$need" "$2" "$max"
        failed=1
    else
        printf '  %-12s %s\n' "GLIBC_$need" "$2"
    fi
}

for top in "$@"; do
    while IFS= read -r -d '' f; do
        case $f in
            *.jar)
                n=0
                while IFS= read -r entry; do
                    n=$((n + 1))
                    mkdir -p "$work/$n"
                    unzip -q -o -d "$work/$n" "$f" "$entry"
                    check "$work/$n/$entry" "$(basename "$f")!/$entry"
                done < <(unzip -Z1 "$f" | grep '\.so$' || true)
                rm -rf "${work:?}"/*
                ;;
            *)
                # ELF magic, without relying on file(1)
                [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] && check "$f" "$f"
                ;;
        esac
    done < <(find "$top" -type f -print0 | sort -z)
done

if [ "$checked" -eq 0 ]; then
    echo "check-glibc: no x86-64 ELF file found under $*; nothing was checked" >&2
    exit 1
fi
if [ "$failed" -ne 0 ]; then
    echo "check-glibc: a library above needs a glibc newer than $max and would not load on an XCP-ng 8.x dom0." >&2
    echo "  For the runtime: jlink from a JDK built for glibc $max (Temurin), never from Debian's OpenJDK." >&2
    echo "  For a jar: pick a version of that dependency whose Linux x86-64 library needs at most $max." >&2
    exit 1
fi
echo "check-glibc: $checked x86-64 ELF files, none needs more than GLIBC_$max"

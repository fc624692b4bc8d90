#!/bin/bash
# check-binary.sh BINARY: the binary is self-contained. It links only system libraries
# (libc, libm, libacl, libstdc++, libgcc_s, and libsystemd for sd-bus), nothing from a Swift
# toolchain and no ICU, and it runs with the toolchain's directory hidden.
# Output: "ok - ..." / "not ok - ..." lines; exit status 0 only if all passed.
set -u
bin=${1:?usage: check-binary.sh BINARY}
failed=0
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; failed=1; }

if ! out=$(ldd "$bin" 2>&1); then not_ok "ldd $bin: $out"; exit 1; fi
# The libraries it names (DT_NEEDED) are only these; what they pull in themselves (libsystemd's
# libcap, libzstd, ...) must come from the system's library directories too, like everything ldd lists.
needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
bad=$(printf '%s\n' "$needed" | awk '{ name = $1; sub(/\.so.*/, "", name) }
    name !~ /^(libc|libm|libacl|libstdc\+\+|libgcc_s|libsystemd|ld-linux-x86-64|ld-linux-aarch64)$/ { print }')
if [ -z "$bad" ]; then
    ok "$bin names only system libraries: $(printf '%s\n' "$needed" | tr '\n' ' ')"
else
    not_ok "$bin names libraries that are not in the allowed set:"; printf '%s\n' "$bad" | sed 's/^/#   /'
fi
bad=$(printf '%s\n' "$out" | awk '/linux-vdso\.so/ { next }
    { path = ($2 == "=>") ? $3 : $1 } path !~ /^\/(usr\/)?lib(64)?\// { print }')
if [ -z "$bad" ]; then
    ok "every library ldd lists is in /lib or /usr/lib"
else
    not_ok "libraries outside /lib and /usr/lib:"; printf '%s\n' "$bad" | sed 's/^/#   /'
fi
if printf '%s\n' "$out" | grep -qiE 'icu|swift|Foundation'; then
    not_ok "$bin needs no Swift runtime, Foundation or ICU library"
else
    ok "$bin needs no Swift runtime, Foundation or ICU library"
fi
if readelf -d "$bin" 2>/dev/null | grep -qE 'RPATH|RUNPATH'; then
    not_ok "$bin has no RPATH/RUNPATH: $(readelf -d "$bin" | grep -E 'RPATH|RUNPATH')"
else
    ok "$bin has no RPATH/RUNPATH"
fi
# Run it where no toolchain can be found: the toolchain of the swift on PATH (if any) hidden by
# an empty tmpfs in a private mount namespace, and an empty environment.
toolchain=""
if command -v swift >/dev/null 2>&1; then toolchain=$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")"); fi
real=$(readlink -f "$bin")
case "$real" in "$toolchain"/*) toolchain="" ;; esac
if [ -n "$toolchain" ] && [ "$toolchain" != / ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
    if v=$(unshare --mount --propagation private sh -c 'mount -t tmpfs none "$1" && exec env -i "$2" --version' sh "$toolchain" "$real" 2>&1); then
        ok "$bin --version runs with the toolchain ($toolchain) hidden: $v"
    else
        not_ok "$bin --version runs with the toolchain ($toolchain) hidden: $v"
    fi
else
    if v=$(env -i "$real" --version 2>&1); then ok "$bin --version runs: $v"; else not_ok "$bin --version runs: $v"; fi
fi
exit "$failed"

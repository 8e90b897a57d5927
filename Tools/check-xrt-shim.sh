#!/usr/bin/env bash
# Compile-checks Sources/CXRT's real (CXRT_HAVE_XRT) path against XRT's headers, with no XRT install
# and no NPU: g++ -std=c++17 -fsyntax-only. Downloads nothing; you bring the headers (see usage).
set -euo pipefail

usage() {
    cat >&2 <<'EOF'
usage: Tools/check-xrt-shim.sh XRT_DIR

XRT_DIR is one of:
  - a checkout of the public XRT sources, e.g.
        git clone --depth 1 https://github.com/Xilinx/XRT /tmp/XRT            (newest)
        git clone --depth 1 -b 202420.2.18.179 https://github.com/Xilinx/XRT /tmp/XRT-2.18   (the oldest NPULlama supports)
    (only src/runtime_src/core/include and src/CMake are read). The version headers XRT's CMake
    would generate (version.h, version-slim.h, version-git.h, from src/CMake/config/*.in) are
    written to a temporary folder with the checkout's version numbers filled in;
  - the src/runtime_src/core/include folder of such a checkout;
  - an installed XRT include folder (e.g. /opt/xilinx/xrt/include), used as is.

Environment: CXX (default g++); XRT_VERSION=MAJOR.MINOR.PATCH to override the numbers read from
the checkout. Prints the XRT commit when XRT_DIR is a git checkout.
EOF
    exit 2
}

[[ $# -eq 1 && -d "$1" ]] || usage
here="$(cd "$(dirname "$0")/.." && pwd)"
dir="$(cd "$1" && pwd)"
cxx="${CXX:-g++}"

config=""
src_root=""
if [[ -f "$dir/src/runtime_src/core/include/xrt/xrt_device.h" ]]; then
    src_root="$dir"
elif [[ -f "$dir/xrt/xrt_device.h" && -d "$dir/../../../CMake/config" ]]; then
    src_root="$(cd "$dir/../../../.." && pwd)"
fi
if [[ -n "$src_root" ]]; then
    include="$src_root/src/runtime_src/core/include"
    config="$src_root/src/CMake/config"
elif [[ -f "$dir/xrt/xrt_device.h" ]]; then
    include="$dir"
else
    echo "check-xrt-shim: no xrt/xrt_device.h under $dir (nor src/runtime_src/core/include/xrt/)" >&2
    usage
fi

gen="$(mktemp -d)"
trap 'rm -rf "$gen"' EXIT

if [[ -n "$config" ]]; then
    # The version numbers, as XRT's CMake sets them (src/CMake/settings.cmake or src/CMakeLists.txt).
    read_number() {
        grep -hoE "^[[:space:]]*(set|SET)\($1 [0-9]+\)" \
            "$src_root/src/CMake/settings.cmake" "$src_root/src/CMakeLists.txt" 2>/dev/null |
            head -1 | grep -oE '[0-9]+\)' | tr -d ')' || true
    }
    if [[ -n "${XRT_VERSION:-}" ]]; then
        IFS=. read -r major minor patch <<<"$XRT_VERSION"
    else
        major="$(read_number XRT_VERSION_MAJOR)"
        minor="$(read_number XRT_VERSION_MINOR)"
        patch=0
    fi
    [[ -n "$major" && -n "$minor" ]] || {
        echo "check-xrt-shim: could not read XRT's version numbers; set XRT_VERSION=2.18.0" >&2
        exit 2
    }
    patch="${patch:-0}"
    hash="unknown"
    if git -C "$src_root" rev-parse HEAD >/dev/null 2>&1; then
        hash="$(git -C "$src_root" rev-parse HEAD)"
    fi
    mkdir -p "$gen/xrt/detail"
    made=()
    for template in "$config"/version.h.in "$config"/version-slim.h.in "$config"/version-git.h.in; do
        [[ -f "$template" ]] || continue
        name="$(basename "$template" .in)"
        sed -e "s/@XRT_VERSION_MAJOR@/$major/g" -e "s/@XRT_VERSION_MINOR@/$minor/g" \
            -e "s/@XRT_VERSION_PATCH@/$patch/g" -e "s/@XRT_VERSION_STRING@/$major.$minor.$patch/g" \
            -e "s/@XRT_HASH@/$hash/g" -e "s/@XRT_BRANCH@/check/g" -e "s/@XRT_MODIFIED_FILES@//g" \
            -e "s/@XRT_HASH_DATE@/unknown/g" -e "s/@XRT_DATE@/unknown/g" -e "s/@XRT_DATE_RFC@/unknown/g" \
            -e "s/@XRT_HEAD_COMMITS@/0/g" -e "s/@XRT_BRANCH_COMMITS@/0/g" \
            "$template" >"$gen/xrt/detail/$name"
        if grep -qE '@[A-Z_]+@' "$gen/xrt/detail/$name"; then
            echo "check-xrt-shim: unfilled placeholders in $name:" \
                "$(grep -oE '@[A-Z_]+@' "$gen/xrt/detail/$name" | sort -u | tr '\n' ' ')" >&2
            exit 1
        fi
        # XRT <= 2.18 includes "version.h" from the include root; later ones "xrt/detail/version*.h".
        cp "$gen/xrt/detail/$name" "$gen/$name"
        made+=("$name")
    done
    [[ ${#made[@]} -gt 0 ]] || { echo "check-xrt-shim: no version*.h.in under $config" >&2; exit 1; }
    echo "XRT sources: $src_root (commit $hash, version $major.$minor.$patch)"
    echo "generated: ${made[*]}"
else
    echo "XRT headers: $include (installed; used as is)"
fi

flags=(-std=c++17 -fsyntax-only -Wall -Wextra -I "$here/Sources/CXRT/include" -I "$here/Sources/CXRT")
status=0
check() {
    local what="$1"; shift
    local log
    if log="$("$cxx" "${flags[@]}" "$@" 2>&1)"; then
        # Warnings in XRT's own headers are theirs; warnings in the shim fail the check.
        if grep -q "Sources/CXRT/.*warning" <<<"$log"; then
            echo "FAIL $what (warnings in the shim)"; echo "$log"; status=1
        else
            echo "ok   $what"
        fi
    else
        echo "FAIL $what"; echo "$log"; status=1
    fi
}
check "cxrt_xrt.cpp with XRT (-DCXRT_HAVE_XRT)" -DCXRT_HAVE_XRT -I "$gen" -I "$include" \
    "$here/Sources/CXRT/cxrt_xrt.cpp"
check "cxrt_error.cpp" "$here/Sources/CXRT/cxrt_error.cpp"
check "cxrt_stub.cpp without XRT" "$here/Sources/CXRT/cxrt_stub.cpp"
exit $status

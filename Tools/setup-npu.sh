#!/usr/bin/env bash
# Sets up a Ryzen AI (XDNA2) Linux machine for `--device npu` in one command: checks the driver, firmware, XRT and its XDNA plugin, applies the memlock and group fixes `npu-llama doctor` names, installs the pinned mlir-aie and llvm-aie (Peano) wheels into a Python 3.12+ venv, records the versions, and builds the default model's kernels.
#
# What it installs (nothing else; the driver, firmware and XRT it only checks, with the fix):
#   - a venv at $NPULLAMA_CACHE/venv-aie (default ~/.cache/npu-llama/venv-aie) with
#       mlir_aie==$MLIR_AIE_VERSION  from mlir-aie's wheel index $MLIR_AIE_INDEX   (mlir-aie README, "pip install mlir_aie -f")
#       llvm-aie==$LLVM_AIE_VERSION  from llvm-aie's nightly index $LLVM_AIE_INDEX (mlir-aie README, "Install the Peano compiler")
#     the pair Xilinx/mlir-air's Ryzen AI CI installs together (utils/clone-mlir-aie.sh WHEEL_VERSION, workflows
#     buildAndTestRyzenAI.yml); the wheels exist for CPython 3.12-3.14 only;
#   - with --fix: /etc/security/limits.d/99-amdxdna.conf (memlock unlimited) and the user in the group of
#     /dev/accel/accel0 (render), the fixes doctor names (sudo);
#   - $NPULLAMA_CACHE/toolchain.json: the versions installed and found (build-kernels.py puts the toolchain's
#     versions into every kernel build's cache key; kernels.json records them);
#   - the default model's kernels under $NPULLAMA_CACHE/kernels (npu-llama kernels build; a progress line per kernel
#     with an estimate of the time left).
# Usage: Tools/setup-npu.sh [--dry-run] [--fix] [--python PY] [--venv DIR] [--model M] [--ctx N] [--skip-build] [-j N]
#   --dry-run prints every command it would run and the checks' findings, and changes nothing.
# Exit: 0 set up; 1 a step failed; 2 bad arguments; 3 the machine lacks something only a person can install
# (driver, firmware, XRT), named with its fix.
set -euo pipefail

MLIR_AIE_VERSION="1.4.2.dev16+g7e00b57"
MLIR_AIE_INDEX="https://github.com/Xilinx/mlir-aie/releases/expanded_assets/latest-wheels-4"
LLVM_AIE_VERSION="21.0.0.2026080601+f4a72c27"
LLVM_AIE_INDEX="https://github.com/Xilinx/llvm-aie/releases/expanded_assets/nightly"
MIN_KERNEL="6.14"      # amdxdna is in mainline Linux from 6.14 (older kernels: amd/xdna-driver out of tree)
MIN_XRT="2.18"         # Kernels/xdna_limits.json xrt.minimumVersion: 2.17's runlist cannot submit on amdxdna
MIN_PYTHON="3.12"
MAX_PYTHON="3.14"
DEFAULT_MODEL="smollm2"

# ---- pure helpers (tested by Tools/tests/test_setup_npu.py without the machine) ----

# version_ge A B: A >= B, comparing dotted numeric parts ("2.19.0" >= "2.18"; "6.14.0-arch1" >= "6.14").
version_ge() {
  local a b i x y
  IFS=. read -r -a a <<<"$(numeric_version "$1")"
  IFS=. read -r -a b <<<"$(numeric_version "$2")"
  for ((i = 0; i < ${#a[@]} || i < ${#b[@]}; i++)); do
    x=${a[i]:-0}; y=${b[i]:-0}
    ((10#$x > 10#$y)) && return 0
    ((10#$x < 10#$y)) && return 1
  done
  return 0
}

# numeric_version TEXT: the first dotted number in TEXT ("6.8.0-45-generic" -> 6.8.0), empty when none.
numeric_version() { grep -oE '[0-9]+(\.[0-9]+)+' <<<"$1" | head -n1 || true; }

# xrt_smi_version TEXT: the version on xrt-smi --version's "Version : 2.19.0" line (as NPUEnvironment.parseXrtSmiVersion).
xrt_smi_version() {
  awk -F: 'tolower($1) ~ /^[[:space:]]*version[[:space:]]*$/ { print $2; exit }' <<<"$1" | grep -oE '[0-9]+(\.[0-9]+)+' | head -n1 || true
}

# xrt_json_version TEXT: BUILD_VERSION of XRT's version.json.
xrt_json_version() { grep -oE '"BUILD_VERSION"[[:space:]]*:[[:space:]]*"[^"]*"' <<<"$1" | grep -oE '[0-9]+(\.[0-9]+)+' | head -n1 || true; }

# python_ok VERSION: within the wheels' MIN_PYTHON..MAX_PYTHON.
python_ok() { version_ge "$1" "$MIN_PYTHON" && ! version_ge "$(cut -d. -f1,2 <<<"$1")" "3.$(( ${MAX_PYTHON#3.} + 1 ))"; }

if [ "${NPU_SETUP_LIB:-}" = 1 ]; then return 0 2>/dev/null || exit 0; fi

# ---- arguments ----
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
DRY=0; FIX=0; PYTHON=""; VENV=""; MODEL="$DEFAULT_MODEL"; CTX=4096; BUILD=1; JOBS=""
need_value() { [ $# -ge 2 ] && [ -n "$2" ] && [ "${2#-}" = "$2" ] || { echo "setup-npu: $1 needs a value" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --fix) FIX=1 ;;
    --python) need_value "$@"; PYTHON="$2"; shift ;;
    --venv) need_value "$@"; VENV="$2"; shift ;;
    --model) need_value "$@"; MODEL="$2"; shift ;;
    --ctx) need_value "$@"; CTX="$2"; shift
           [[ "$CTX" =~ ^[1-9][0-9]*$ ]] || { echo "setup-npu: --ctx must be a positive integer, not '$CTX'" >&2; exit 2; } ;;
    -j) need_value "$@"; JOBS="$2"; shift
        [[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || { echo "setup-npu: -j must be a positive integer, not '$JOBS'" >&2; exit 2; } ;;
    --skip-build) BUILD=0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "setup-npu: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

cd "$(dirname "$0")/.."
ROOT="${NPU_SETUP_ROOT:-}"          # tests point the system checks at a fake /sys, /dev, /lib, /opt
CACHE="${NPULLAMA_CACHE:-$HOME/.cache/npu-llama}"
VENV="${VENV:-$CACHE/venv-aie}"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
MISSING=0

say() { echo "setup-npu: $*"; }
run() {   # prints the command; runs it unless --dry-run
  echo "+ $*"
  [ "$DRY" = 1 ] || "$@"
}
finding() {   # finding OK NAME TEXT [FIX]
  if [ "$1" = ok ]; then echo "  [ok] $2: $3"; else echo "  [!!] $2: $3"; [ -n "${4:-}" ] && echo "       fix: $4"; fi
}

# ---- 1. the machine: driver, device node, firmware, XRT and its XDNA plugin ----
say "1/5 checking the NPU driver, firmware and XRT"
KERNEL="$(uname -r)"
if [ -e "$ROOT/sys/module/amdxdna" ]; then
  finding ok "amdxdna driver" "loaded (kernel $KERNEL)"
elif version_ge "$KERNEL" "$MIN_KERNEL"; then
  finding bad "amdxdna driver" "not loaded (kernel $KERNEL has it)" "sudo modprobe amdxdna"; MISSING=1
else
  finding bad "amdxdna driver" "not loaded; kernel $KERNEL is older than $MIN_KERNEL" \
    "a kernel >= $MIN_KERNEL, or the out-of-tree driver from github.com/amd/xdna-driver"; MISSING=1
fi
NODE="$(ls "$ROOT"/dev/accel/accel* 2>/dev/null | head -n1 || true)"
if [ -z "$NODE" ]; then
  finding bad "device node" "no /dev/accel/accel*" "enable the NPU in the firmware setup and load amdxdna"; MISSING=1
fi
FW="$(ls -d "$ROOT"/lib/firmware/amdnpu/*/ "$ROOT"/usr/lib/firmware/amdnpu/*/ 2>/dev/null | head -n1 || true)"
if [ -n "$FW" ]; then finding ok "NPU firmware" "$FW"
else finding bad "NPU firmware" "no /lib/firmware/amdnpu/<device>/" "install the XDNA plugin package built with your driver (it installs the firmware)"; MISSING=1; fi
XRT_VERSION=""
for r in "${XILINX_XRT:-}" "$ROOT/opt/xilinx/xrt" "$ROOT/usr"; do
  if [ -n "$r" ] && [ -f "$r/version.json" ]; then XRT_VERSION="$(xrt_json_version "$(cat "$r/version.json")")"; break; fi
done
if [ -z "$XRT_VERSION" ] && command -v xrt-smi >/dev/null 2>&1; then XRT_VERSION="$(xrt_smi_version "$(xrt-smi --version 2>/dev/null || true)")"; fi
if [ -z "$XRT_VERSION" ]; then
  finding bad "XRT" "not found" "XRT >= $MIN_XRT with the XDNA plugin: amd/xdna-driver builds both (build/build.sh -release), then source /opt/xilinx/xrt/setup.sh"; MISSING=1
elif version_ge "$XRT_VERSION" "$MIN_XRT"; then finding ok "XRT" "$XRT_VERSION >= $MIN_XRT"
else finding bad "XRT" "$XRT_VERSION is older than $MIN_XRT (its runlist cannot submit on amdxdna)" "install XRT >= $MIN_XRT with the XDNA plugin built for it"; MISSING=1; fi
PLUGIN="$(ls "$ROOT"/opt/xilinx/xrt/lib/libxrt_driver_xdna.so* 2>/dev/null | head -n1 || true)"
if [ -n "$PLUGIN" ]; then finding ok "XDNA plugin" "$PLUGIN"
else finding bad "XDNA plugin" "no libxrt_driver_xdna.so under /opt/xilinx/xrt/lib" "install the xdna-driver plugin package built for XRT ${XRT_VERSION:-(yours)}"; MISSING=1; fi
command -v xclbinutil >/dev/null 2>&1 || [ -x "$ROOT/opt/xilinx/xrt/bin/xclbinutil" ] ||
  { finding bad "xclbinutil" "not on PATH (aiecc skips the xclbin without it and still succeeds)" "source /opt/xilinx/xrt/setup.sh"; MISSING=1; }

# ---- 2. permissions: memlock and the device node's group (doctor's fixes) ----
say "2/5 checking memlock and device permissions"
MEMLOCK="$(ulimit -l)"
if [ "$MEMLOCK" = unlimited ]; then finding ok "memlock" "unlimited"
else
  finding bad "memlock" "ulimit -l is $MEMLOCK KiB; the XDNA plugin maps every buffer MAP_LOCKED (npu-llama doctor --model M prints the need)" \
    "printf '* soft memlock unlimited\\n* hard memlock unlimited\\n' | sudo tee /etc/security/limits.d/99-amdxdna.conf, then log in again"
  if [ "$FIX" = 1 ]; then
    echo "+ printf '* soft memlock unlimited\\n* hard memlock unlimited\\n' | $SUDO tee /etc/security/limits.d/99-amdxdna.conf"
    [ "$DRY" = 1 ] || printf '* soft memlock unlimited\n* hard memlock unlimited\n' | $SUDO tee /etc/security/limits.d/99-amdxdna.conf >/dev/null
  fi
fi
if [ -n "$NODE" ]; then
  if [ -r "$NODE" ] && [ -w "$NODE" ]; then finding ok "device node" "$NODE readable and writable"
  else
    GROUP="$(stat -c %G "$NODE" 2>/dev/null || echo render)"
    finding bad "device node" "$NODE is not readable and writable by $(id -un)" "sudo usermod -aG $GROUP $(id -un), then log in again"
    if [ "$FIX" = 1 ]; then run $SUDO usermod -aG "$GROUP" "$(id -un)"; fi
  fi
fi

# ---- 3. Python 3.12+ and the pinned wheels ----
say "3/5 Python $MIN_PYTHON-$MAX_PYTHON venv with mlir_aie $MLIR_AIE_VERSION and llvm-aie $LLVM_AIE_VERSION at $VENV"
if [ -z "$PYTHON" ]; then
  for p in python3.14 python3.13 python3.12 python3; do
    if command -v "$p" >/dev/null 2>&1 && python_ok "$("$p" -c 'import platform; print(platform.python_version())' 2>/dev/null || echo 0)"; then
      PYTHON="$(command -v "$p")"; break
    fi
  done
fi
if [ -z "$PYTHON" ]; then
  say "error: no Python $MIN_PYTHON-$MAX_PYTHON found (the mlir-aie wheels exist for those only); install one (e.g. apt-get install python3.12-venv) or pass --python" >&2
  exit 3
fi
PYV="$("$PYTHON" -c 'import platform; print(platform.python_version())')"
python_ok "$PYV" || { say "error: $PYTHON is Python $PYV; the mlir-aie wheels need $MIN_PYTHON-$MAX_PYTHON" >&2; exit 2; }
[ -x "$VENV/bin/python" ] || run "$PYTHON" -m venv "$VENV"
run "$VENV/bin/python" -m pip install --disable-pip-version-check --upgrade pip
run "$VENV/bin/python" -m pip install --disable-pip-version-check "mlir_aie==$MLIR_AIE_VERSION" -f "$MLIR_AIE_INDEX"
run "$VENV/bin/python" -m pip install --disable-pip-version-check "llvm-aie==$LLVM_AIE_VERSION" -f "$LLVM_AIE_INDEX"

# ---- 4. record the versions (build-kernels.py puts the toolchain's versions into the kernel cache key) ----
say "4/5 recording the versions in $CACHE/toolchain.json"
if [ "$DRY" = 1 ]; then
  echo "+ $VENV/bin/python Tools/kernel_toolchain.py > $CACHE/toolchain.json"
else
  mkdir -p "$CACHE"
  NPULLAMA_AIE_PYTHON="$VENV/bin/python" "$VENV/bin/python" Tools/kernel_toolchain.py > "$CACHE/toolchain.json.tmp" &&
    mv "$CACHE/toolchain.json.tmp" "$CACHE/toolchain.json" ||
    { say "error: the toolchain is incomplete (above); fix it and re-run" >&2; exit 3; }
fi

# ---- 5. build the default model's kernels ----
if [ "$BUILD" = 0 ]; then say "5/5 skipped (--skip-build)"; exit $(( MISSING ? 3 : 0 )); fi
say "5/5 building the kernels of --model $MODEL (ctx $CTX); size of the build for the default model:"
python3 Tools/build-kernels.py --preset smollm2-135m --weights q4_1 --lm-head bf16 --ctx "$CTX" --estimate | tail -n1
run swift build -c release --product npu-llama
run env NPULLAMA_AIE_PYTHON="$VENV/bin/python" ${JOBS:+NPULLAMA_KERNEL_JOBS=$JOBS} .build/release/npu-llama kernels build --model "$MODEL" --ctx "$CTX"
if [ "$MISSING" = 1 ]; then
  say "the kernels are built, but the machine lacks what is marked [!!] above; npu-llama doctor re-checks it"
  exit 3
fi
say "done: Tools/run.sh generate \"The capital of France is\" runs on the NPU"

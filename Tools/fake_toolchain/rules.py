#!/usr/bin/env python3
# The recorded command-line rules of the real kernel tools that the fake toolchain enforces; every rule cites where the real tool defines it (read for facts only).
import os

# mlir-aie tools/aiecc/aiecc.cpp: the cl::opt names of the C++ aiecc we target (a subset: those a build may use).
# An unknown option is NOT an error there: cl::Sink collects it into sinkArgs, which only the host compile sees,
# so a misspelt flag is silently dropped — the fake refuses it instead.
AIECC_BOOL = {"no-xchesscc", "no-xbridge", "xchesscc", "xbridge", "aie-generate-xclbin", "aie-generate-npu-insts",
              "aie-generate-pdi", "dynamic-objFifos", "packet-sw-objFifos", "no-compile-host", "compile-host",
              "no-aiesim", "verbose", "v", "n", "unified", "no-unified", "aie-version", "version"}
AIECC_VALUE = {"xclbin-name", "xclbin-input", "xclbin-kernel-name", "xclbin-kernel-id", "xclbin-instance-name",
               "npu-insts-name", "pdi-name", "tmpdir", "peano", "device-name", "sequence-name", "alloc-scheme", "O",
               "nthreads", "sysroot", "aietools"}
AIECC_SOURCE = "mlir-aie tools/aiecc/aiecc.cpp (cl::opt declarations; cl::Sink swallows unknown options)"

WARNING_FLAGS = ["-Wno-parentheses", "-Wno-attributes", "-Wno-macro-redefined", "-Wno-empty-body",
                 "-Wno-missing-template-arg-list-after-template-kw"]


class RuleError(Exception):
    """A command line the real tool would reject or mis-handle; the message names the rule and its source."""


def parse_aiecc(argv):
    """(options, positionals) of an aiecc command line, or RuleError."""
    opts, pos = {}, []
    for a in argv:
        if a.startswith("-j") and a[2:].isdigit():        # cl::Prefix unsigned: -j0 (auto), -j4
            opts["j"] = a[2:]
            continue
        if a.startswith("-") and len(a) > 1:
            name, _, value = a.lstrip("-").partition("=")
            if name in AIECC_BOOL and not value:
                opts[name] = True
            elif name in AIECC_VALUE and value:
                if name in opts and name != "xclbin-input":
                    raise RuleError(f"aiecc: --{name} given twice ({AIECC_SOURCE})")
                opts[name] = value
            else:
                raise RuleError(f"aiecc: unknown or malformed option {a!r}: the real aiecc would sink it silently "
                                f"({AIECC_SOURCE})")
        else:
            pos.append(a)
    if "xclbin-input" in opts and "xclbin-name" in opts and \
            os.path.realpath(opts["xclbin-input"]) == os.path.realpath(opts["xclbin-name"]):
        raise RuleError("aiecc: --xclbin-input equals --xclbin-name; xclbinutil refuses an output that is also an "
                        "input (XRT src/runtime_src/tools/xclbinutil/XclBinUtilMain.cxx drcCheckFiles)")
    return opts, pos


def check_xclbinutil_files(inputs, outputs, force):
    """XclBinUtilMain.cxx drcCheckFiles: inputs must exist; an existing output needs --force; no output may be an
    input (checked on canonical paths, even with --force)."""
    src = "XRT src/runtime_src/tools/xclbinutil/XclBinUtilMain.cxx drcCheckFiles"
    for f in inputs:
        if not os.path.exists(f):
            raise RuleError(f"xclbinutil: ERROR: The following input file does not exist: {f} ({src})")
    canon = {os.path.realpath(f) for f in inputs}
    for f in outputs:
        if not os.path.exists(f):
            continue
        if not force:
            raise RuleError(f"xclbinutil: ERROR: The following output file already exists on disk: {f} ({src})")
        if os.path.realpath(f) in canon:
            raise RuleError(f"xclbinutil: ERROR: The following output file is also used for input : {f} ({src})")


def check_clang(argv, include_dir):
    """Peano clang++ for an aie2p kernel object as mlir-aie programming_examples/makefile-common PEANOWRAP2P_FLAGS:
    -O2 -std=c++20 --target=aie2p-none-unknown-elf, the -Wno-… flags some Peano nightlies need to compile aie_api,
    -DNDEBUG, and -I the mlir-aie root's include (aie.utils.config.cxx_header_path(), python/utils/config.py),
    where the wheel keeps aie_api."""
    src = "mlir-aie programming_examples/makefile-common PEANOWRAP2P_FLAGS"
    for flag in ["-O2", "-std=c++20", "--target=aie2p-none-unknown-elf", "-DNDEBUG", "-c", *WARNING_FLAGS]:
        if flag not in argv:
            raise RuleError(f"clang++: missing {flag} ({src})")
    includes = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "-I"]
    if os.path.realpath(include_dir) not in [os.path.realpath(i) for i in includes]:
        raise RuleError(f"clang++: -I {includes} does not name mlir-aie's headers {include_dir} "
                        "(aie.utils.config.cxx_header_path(), mlir-aie python/utils/config.py)")
    if not os.path.exists(os.path.join(include_dir, "aie_api", "aie.hpp")):
        raise RuleError(f"clang++: aie_api/aie.hpp not found under {include_dir}")
    if "-o" not in argv:
        raise RuleError("clang++: no -o")

#!/usr/bin/env python3
# Builds the kernels of one model shape into ONE xclbin the way the real tools allow: objects compiled once (in parallel, cached by toolchain and source), one aiecc per kernel (PDI, instruction stream, its kernel JSON), then one xclbinutil call that writes a new xclbin holding every kernel with a PDI of its own, and a check of the product.
#
# Why not chain `aiecc --xclbin-input=A --xclbin-name=B` per kernel (mlir-aie test/npu-xrt/add_one_two/run.lit):
# the C++ aiecc gives every PDI the uuid 00000000-… (tools/aiecc/aiecc.cpp generatePartitionJson), and each
# append dumps the existing AIE_PARTITION with its PDIs written to files named by uuid (XRT xclbinutil
# SectionAIEPartition.cxx), so from the third kernel on earlier images overwrite each other. Instead each aiecc
# writes its own new xclbin (kept for inspection) and leaves its kernel JSON, partition JSON, memory topology and
# PDI in its --tmpdir; we give every PDI a distinct uuid and assemble them with the same xclbinutil options aiecc
# uses for a new xclbin (--add-replace-section MEM_TOPOLOGY, --add-kernel per kernel — a repeatable option,
# XclBinUtilMain.cxx — and AIE_PARTITION) into a file that is no input (drcCheckFiles refuses an output that is
# also an input, even with --force). The runtime finds each kernel's PDI by its kernel id in the cdo groups
# (amd/xdna-driver src/shim/hwctx.cpp get_pdi), which aiecc writes per kernel (dpu_kernel_ids).
# Per kernel aiecc gets a distinct --xclbin-instance-name (its default MLIRAIE is the same for all) and -j<N>:
# aiecc compiles cores one at a time unless -j says otherwise (aiecc.cpp numThreads, default 1).
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
import kernel_toolchain  # noqa: E402
import xclbin_format  # noqa: E402

MAX_KERNELS_PER_CONTEXT = 32     # amd/xdna-driver src/driver/amdxdna/aie2_msg_priv.h MAX_NUM_CUS
FIRST_KERNEL_ID = 0x901          # aiecc's default --xclbin-kernel-id


class BuildError(Exception):
    pass


def pdi_uuid(name, pdi_bytes):
    """A uuid of the kernel's name and PDI bytes: distinct per kernel, stable for a rebuild of the same image."""
    h = hashlib.sha256(name.encode() + b"\0" + pdi_bytes).hexdigest()[:32]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def instance_name(kernel):
    return kernel.upper().replace("-", "_") + "_INST"


class Progress:
    """One line per step with the share done and an estimate from the average step so far."""

    def __init__(self, total, out=sys.stdout):
        self.total, self.done, self.start, self.out = total, 0, time.monotonic(), out

    def step(self, what):
        self.done += 1
        elapsed = time.monotonic() - self.start
        left = elapsed / self.done * (self.total - self.done)
        bar = "#" * (20 * self.done // self.total)
        print(f"[{bar:<20}] {self.done}/{self.total} {what} ({elapsed:.0f} s, about {left:.0f} s left)",
              file=self.out, flush=True)


def run(cmd, **kw):
    print("+", " ".join(map(str, cmd)), flush=True)
    r = subprocess.run([str(c) for c in cmd], **kw)
    if r.returncode != 0:
        raise BuildError(f"{os.path.basename(str(cmd[0]))} failed with exit code {r.returncode}: {' '.join(map(str, cmd))}")
    return r


def source_digest(toolchain, sources, kernels_dir):
    """The object cache key: toolchain versions, flags, and every source and header of Kernels/ (headers are shared)."""
    h = hashlib.sha256(json.dumps([toolchain.versions, kernel_toolchain.AIE2P_FLAGS, kernel_toolchain.OUR_FLAGS,
                                   sources], sort_keys=True).encode())
    for root, _, files in sorted(os.walk(kernels_dir)):
        for name in sorted(files):
            if name.endswith((".h", ".hpp")) or os.path.relpath(os.path.join(root, name), kernels_dir) in sources:
                with open(os.path.join(root, name), "rb") as f:
                    h.update(name.encode() + f.read())
    return h.hexdigest()[:24]


def build_objects(toolchain, kernels, kernels_dir, cache_dir, jobs):
    """{object name: path}: every object the kernels link. Each source is compiled once (in parallel, `jobs` at a
    time) and each role's object linked from its sources (ld.lld -r); both cached in cache_dir by source_digest,
    so builds of other model shapes reuse them."""
    wanted = {}
    for k in kernels:
        wanted.update(k.objects)

    def part(source):
        return os.path.join(cache_dir, source_digest(toolchain, [source], kernels_dir),
                            os.path.basename(source).replace(".cc", ".o"))

    sources = sorted({s for srcs in wanted.values() for s in srcs})
    compiles = [(s, part(s)) for s in sources if not os.path.exists(part(s))]
    for _, target in compiles:
        os.makedirs(os.path.dirname(target), exist_ok=True)

    def compile_one(item):
        source, target = item
        run(toolchain.compile_command(os.path.join(kernels_dir, source), target + ".tmp"))
        os.replace(target + ".tmp", target)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(compile_one, compiles))
    paths = {}
    for obj, srcs in sorted(wanted.items()):
        target = os.path.join(cache_dir, source_digest(toolchain, srcs, kernels_dir), obj)
        paths[obj] = target
        if not os.path.exists(target):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            run(toolchain.link_command([part(s) for s in srcs], target + ".tmp"))
            os.replace(target + ".tmp", target)
    return paths


def aiecc_command(toolchain, k, kid, work, insts, flags, jobs):
    return [toolchain.aiecc, "--no-xchesscc", "--no-xbridge", f"--peano={toolchain.peano}", f"-j{jobs}",
            "--aie-generate-xclbin", "--aie-generate-npu-insts", *flags, f"--tmpdir={os.path.join(work, 'prj')}",
            f"--xclbin-name={os.path.join(work, k.name + '.xclbin')}", f"--npu-insts-name={insts}",
            f"--xclbin-kernel-name={k.name}", f"--xclbin-kernel-id={hex(kid)}",
            f"--xclbin-instance-name={instance_name(k.name)}", os.path.join(work, "aie.mlir")]


def one_json(prj, suffix, what):
    found = sorted(glob.glob(os.path.join(prj, "*" + suffix)))
    if len(found) != 1:
        raise BuildError(f"aiecc left {len(found)} {what} files (*{suffix}) in {prj}; expected one")
    with open(found[0]) as f:
        return found[0], json.load(f)


def assemble(toolchain, parts, out_dir, xclbin_name):
    """One xclbinutil call: every kernel JSON, one AIE_PARTITION listing every kernel's PDI under its own uuid."""
    pdis_dir = os.path.join(out_dir, "pdis")
    os.makedirs(pdis_dir, exist_ok=True)
    partition = None
    pdis = []
    for name, prj in parts:
        _, doc = one_json(prj, "_aie_partition.json", "partition")
        entries = doc["aie_partition"]["PDIs"]
        if len(entries) != 1:
            raise BuildError(f"{name}: aiecc's partition lists {len(entries)} PDIs; one kernel has one")
        pdi = dict(entries[0])
        source = pdi["file_name"] if os.path.isabs(pdi["file_name"]) else os.path.join(prj, pdi["file_name"])
        with open(source, "rb") as f:
            image = f.read()
        target = os.path.join(pdis_dir, name + ".pdi")
        with open(target, "wb") as f:
            f.write(image)
        pdi.update(uuid=pdi_uuid(name, image), file_name=target)
        pdis.append(pdi)
        partition = partition or doc
    partition["aie_partition"]["PDIs"] = pdis
    merged = os.path.join(out_dir, "aie_partition.json")
    with open(merged, "w") as f:
        json.dump(partition, f, indent=1)
    mem, _ = one_json(parts[0][1], "_mem_topology.json", "memory topology")
    final = os.path.join(out_dir, xclbin_name)
    new = final + ".new"
    if os.path.exists(new):
        os.remove(new)
    cmd = [toolchain.xclbinutil, "--add-replace-section", f"MEM_TOPOLOGY:JSON:{mem}"]
    for _, prj in parts:
        cmd += ["--add-kernel", one_json(prj, "_kernels.json", "kernel JSON")[0]]
    cmd += ["--add-replace-section", f"AIE_PARTITION:JSON:{merged}", "--force", "--output", new]
    run(cmd)
    if not os.path.exists(new):
        raise BuildError(f"xclbinutil wrote no {new}")
    os.replace(new, final)
    return final


def check_product(path, kernels, first_id=FIRST_KERNEL_ID):
    """Problems of the built xclbin read back (xclbin_format): every kernel present with opcode (scalar), instr
    (buffer), ninstr (scalar) then at least the buffers NPUBackend binds, any further argument a buffer (the rule of
    Sources/NPUBackend/KernelSignatureCheck.swift); at most 32 kernels; each kernel id with exactly one PDI; PDI uuids
    distinct."""
    try:
        x = xclbin_format.Xclbin.load(path)
    except (OSError, xclbin_format.XclbinError) as e:
        return [str(e)]
    problems = []
    if len(x.kernels) > MAX_KERNELS_PER_CONTEXT:
        problems.append(f"{len(x.kernels)} kernels; one hw_context takes {MAX_KERNELS_PER_CONTEXT} (xdna MAX_NUM_CUS)")
    for i, k in enumerate(kernels):
        meta = x.kernels.get(k.name)
        if meta is None:
            problems.append(f"{k.name}: not in the xclbin (it has {', '.join(sorted(x.kernels)) or 'no kernels'})")
            continue
        args = meta["arguments"]
        shape = [(a["name"], a["buffer"]) for a in args[:3]]
        if shape != [("opcode", False), ("instr", True), ("ninstr", False)]:
            problems.append(f"{k.name}: arguments 0-2 are {shape}, not opcode, instr (buffer), ninstr")
        buffers = [a for a in args[3:] if a["buffer"]]
        if len(args) - 3 < k.buffers:
            problems.append(f"{k.name}: {len(args) - 3} data arguments, NPUBackend binds {k.buffers} buffers")
        elif len(buffers) != len(args) - 3:
            problems.append(f"{k.name}: a data argument is a scalar: {[a['name'] for a in args[3:] if not a['buffer']]}")
        kid = first_id + i
        owners = [p for p in x.pdis if kid in p["kernelIds"]]
        if len(owners) != 1:
            problems.append(f"{k.name}: kernel id {hex(kid)} is in {len(owners)} PDIs' cdo groups, not one")
    uuids = [p["uuid"] for p in x.pdis]
    if len(set(uuids)) != len(uuids):
        problems.append(f"PDI uuids repeat ({uuids}); xclbinutil would write their images over each other")
    return problems


def build(toolchain, kernels, kernels_dir, out_dir, object_cache, design_flags, make_mlir, jobs, xclbin_name):
    """Builds every kernel and returns the kernels.json entries; raises BuildError naming the failing step."""
    if len(kernels) > MAX_KERNELS_PER_CONTEXT:
        raise BuildError(f"{len(kernels)} kernels do not fit one hw_context ({MAX_KERNELS_PER_CONTEXT}, xdna MAX_NUM_CUS); "
                         "a runlist's runs must share one")
    objects = build_objects(toolchain, kernels, kernels_dir, object_cache, jobs)
    progress = Progress(len(kernels))
    parts, index = [], []
    for n, k in enumerate(kernels):
        work = os.path.join(out_dir, k.name)
        if os.path.isdir(os.path.join(work, "prj")):
            shutil.rmtree(os.path.join(work, "prj"))
        os.makedirs(work, exist_ok=True)
        for obj in k.objects:            # aiecc links the objects the design names from its working directory
            shutil.copyfile(objects[obj], os.path.join(work, obj))
        make_mlir(k, os.path.join(work, "aie.mlir"), work)
        if n == 0:
            sig = kernel_toolchain.probe_signature(toolchain, os.path.join(work, "aie.mlir"), work, run)
            if sig is not None:
                refused = kernel_toolchain.refuse_narrow_signature(sig[1], [(x.name, x.buffers) for x in kernels])
                if refused:
                    raise BuildError("\n".join(refused))
        kid = FIRST_KERNEL_ID + n
        insts = os.path.join(out_dir, f"{k.name}.insts.bin")
        run(aiecc_command(toolchain, k, kid, work, insts, design_flags(k.design), jobs), cwd=work)
        if not os.path.exists(os.path.join(work, k.name + ".xclbin")):
            raise BuildError(f"aiecc wrote no {k.name}.xclbin (it skips the xclbin silently when it cannot run xclbinutil)")
        _, buffers = kernel_toolchain.kernel_signature(one_json(os.path.join(work, "prj"), "_kernels.json", "kernel JSON")[0])
        refused = kernel_toolchain.refuse_narrow_signature(buffers, [(k.name, k.buffers)])
        if refused:
            raise BuildError("\n".join(refused))
        parts.append((k.name, os.path.join(work, "prj")))
        index.append({"name": k.name, "design": k.design, "designArgs": [f"{a}={v}" for a, v in k.params.items()],
                      "xclbin": xclbin_name, "xclbinKernel": k.name, "kernelId": kid, "insts": os.path.basename(insts)})
        progress.step(k.name)
    final = assemble(toolchain, parts, out_dir, xclbin_name)
    problems = check_product(final, kernels)
    if problems:
        raise BuildError(f"the built {final} does not match the designs:\n  - " + "\n  - ".join(problems))
    return index

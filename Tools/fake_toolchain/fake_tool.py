#!/usr/bin/env python3
# The fake kernel toolchain (aiecc, xclbinutil, clang++, ld.lld) for CI: records every invocation to $FAKE_TOOLCHAIN_LOG (JSON lines), enforces the real tools' recorded command-line rules (rules.py) and writes outputs shaped like the real ones (kernel/partition JSONs, PDIs, an xclbin in XRT's layout).
# Invoked through a wrapper named after the tool (install.py lays them out). Knobs: FAKE_AIECC_BUFFERS (buffer
# arguments aiecc's kernel JSON declares, default 5 as generateKernelsJson before mlir-aie PR #3252).
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import rules  # noqa: E402
import xclbin_writer  # noqa: E402
sys.path.insert(0, os.path.dirname(HERE))
import xclbin_format  # noqa: E402


def record(tool, argv, status, error=None):
    log = os.environ.get("FAKE_TOOLCHAIN_LOG")
    if log:
        with open(log, "a") as f:
            f.write(json.dumps({"tool": tool, "argv": argv, "cwd": os.getcwd(), "status": status, "error": error}) + "\n")


def kernel_json(name, kid, instance, buffers):
    """aiecc.cpp generateKernelsJson: opcode, instr, ninstr, then bo0.. (8 bytes apart from 0x14)."""
    args = [{"name": "opcode", "address-qualifier": "SCALAR", "type": "uint64_t", "offset": "0x00"},
            {"name": "instr", "memory-connection": "SRAM", "address-qualifier": "GLOBAL", "type": "char *", "offset": "0x08"},
            {"name": "ninstr", "address-qualifier": "SCALAR", "type": "uint32_t", "offset": "0x10"}]
    args += [{"name": f"bo{i}", "memory-connection": "HOST", "address-qualifier": "GLOBAL", "type": "void*",
              "offset": f"0x{0x14 + 8 * i:X}"} for i in range(buffers)]
    return {"ps-kernels": {"kernels": [{"name": name, "type": "dpu",
                                        "extended-data": {"subtype": "DPU", "functional": "0", "dpu_kernel_id": kid},
                                        "arguments": args, "instances": [{"name": instance}]}]}}


def partition_json(kid, pdi_path):
    """aiecc.cpp generatePartitionJson: one PDI with the all-zero uuid, cdo group naming the kernel id."""
    return {"aie_partition": {"name": "QoS", "operations_per_cycle": "2048", "inference_fingerprint": "23423",
                              "pre_post_fingerprint": "12345", "partition": {"column_width": 8, "start_columns": [0]},
                              "PDIs": [{"uuid": "00000000-0000-0000-0000-000000000000", "file_name": pdi_path,
                                        "cdo_groups": [{"name": "DPU", "type": "PRIMARY", "pdi_id": "0x01",
                                                        "dpu_kernel_ids": [kid], "pre_cdo_groups": ["0xC1"]}]}]}}


def aiecc(argv):
    if "--version" in argv or "--aie-version" in argv:
        print("aiecc (C++ version) fake-" + os.environ.get("FAKE_AIECC_COMMIT", "0000000"))
        return 0
    opts, pos = rules.parse_aiecc(argv)
    mlirs = [p for p in pos if p.endswith(".mlir")]
    if len(mlirs) != 1:
        raise rules.RuleError(f"aiecc: needs one .mlir input, got {pos}")
    if not opts.get("no-xchesscc") or not opts.get("no-xbridge"):
        raise rules.RuleError("aiecc: without Vitis, --no-xchesscc --no-xbridge select Peano (aiecc.cpp xchesscc/xbridge default true)")
    tmp = opts.get("tmpdir") or os.path.basename(mlirs[0]) + ".prj"
    os.makedirs(tmp, exist_ok=True)
    with open(mlirs[0]) as f:
        mlir = f.read()
    dev = "main"
    name = opts.get("xclbin-kernel-name", "MLIR_AIE")
    kid = opts.get("xclbin-kernel-id", "0x901")
    buffers = int(os.environ.get("FAKE_AIECC_BUFFERS", "5"))
    if opts.get("aie-generate-xclbin"):   # JSONs even with -n (aiecc.cpp generateCdoArtifacts)
        pdi = os.path.abspath(os.path.join(tmp, f"{dev}.pdi"))
        for suffix, doc in (("_kernels.json", kernel_json(name, kid, opts.get("xclbin-instance-name", "MLIRAIE"), buffers)),
                            ("_aie_partition.json", partition_json(kid, pdi)),
                            ("_mem_topology.json", {"mem_topology": {"m_count": "1", "m_mem_data": []}})):
            with open(os.path.join(tmp, dev + suffix), "w") as f:
                json.dump(doc, f)
    if opts.get("n"):
        return 0
    if "IRON stub record" not in mlir:
        raise rules.RuleError("aiecc: the input is not a design's output")
    if not [f for f in os.listdir(".") if f.endswith(".o")]:
        raise rules.RuleError("aiecc: no kernel object next to the design (Kernel(name, object_file_name) links it)")
    with open(os.path.join(tmp, f"{dev}.pdi"), "wb") as f:
        f.write(b"FAKEPDI:" + name.encode() + b":" + mlir.encode()[:64])
    if opts.get("aie-generate-npu-insts"):
        with open(opts.get("npu-insts-name", "insts.bin"), "wb") as f:
            f.write(b"\x01\x00\x00\x06" * 8)
    if opts.get("aie-generate-xclbin"):
        xu = shutil.which("xclbinutil")
        if not xu:          # aiecc.cpp: "xclbinutil not found, skipping xclbin generation", exit 0
            return 0
        out = opts.get("xclbin-name", f"{dev}.xclbin")
        import subprocess
        if opts.get("xclbin-input"):   # aiecc.cpp extractAndMergePartition, then the append
            dumped = os.path.join(tmp, "input_aie_partition.json")
            r = subprocess.run([xu, "--dump-section", f"AIE_PARTITION:JSON:{dumped}", "--force", "--quiet",
                                "--input", opts["xclbin-input"]])
            if r.returncode:
                return r.returncode
            with open(dumped) as f:
                merged = json.load(f)
            with open(os.path.join(tmp, dev + "_aie_partition.json")) as f:
                merged["aie_partition"]["PDIs"] += json.load(f)["aie_partition"]["PDIs"]
            merged_path = os.path.join(tmp, dev + "_merged_partition.json")
            with open(merged_path, "w") as f:
                json.dump(merged, f)
            cmd = [xu, "--input", opts["xclbin-input"], "--add-kernel", os.path.join(tmp, dev + "_kernels.json"),
                   "--add-replace-section", f"AIE_PARTITION:JSON:{merged_path}", "--force", "--output", out]
        else:
            cmd = [xu, "--add-replace-section", f"MEM_TOPOLOGY:JSON:{os.path.join(tmp, dev + '_mem_topology.json')}",
                   "--add-kernel", os.path.join(tmp, dev + "_kernels.json"),
                   "--add-replace-section", f"AIE_PARTITION:JSON:{os.path.join(tmp, dev + '_aie_partition.json')}",
                   "--force", "--output", out]
        return subprocess.run(cmd).returncode
    return 0


def xclbinutil(argv):
    if argv == ["--version"]:
        print("XRT Build Version: 2.26.0 (fake)")
        return 0
    inputs, outputs, kernels, sections, force, dumps = [], [], [], {}, False, []
    i = 0
    while i < len(argv):
        a = argv[i]
        nxt = argv[i + 1] if i + 1 < len(argv) else None
        if a in ("--input", "-i"):
            inputs.append(nxt); i += 2
        elif a in ("--output", "-o"):
            outputs.append(nxt); i += 2
        elif a == "--add-kernel":           # a vector option: repeatable (XclBinUtilMain.cxx addKernels)
            kernels.append(nxt); i += 2
        elif a == "--add-replace-section":
            kind, fmt, path = nxt.split(":", 2)
            if fmt != "JSON":
                raise rules.RuleError(f"xclbinutil: fake supports JSON sections only, not {fmt}")
            sections[kind] = path; i += 2
        elif a == "--dump-section":
            kind, fmt, path = nxt.split(":", 2)
            dumps.append((kind, fmt, path)); i += 2
        elif a == "--force":
            force = True; i += 1
        elif a == "--quiet":
            i += 1
        else:
            raise rules.RuleError(f"xclbinutil: option {a!r} is not one the build uses (XclBinUtilMain.cxx options)")
    rules.check_xclbinutil_files(inputs + kernels + list(sections.values()), outputs + [d[2] for d in dumps], force)
    kernel_docs, partition, images = [], None, []
    if inputs:
        old = xclbin_format.Xclbin.load(inputs[0])
        kernel_docs = [kernel_doc(name, k) for name, k in old.kernels.items()]
    if dumps:
        if len(inputs) != 1 or dumps[0][:2] != ("AIE_PARTITION", "JSON"):
            raise rules.RuleError("xclbinutil: the fake dumps AIE_PARTITION:JSON of one --input only")
        dump_partition(old, dumps[0][2])
        return 0
    if len(outputs) != 1:
        raise rules.RuleError("xclbinutil: needs one --output")
    for k in kernels:
        with open(k) as f:
            kernel_docs += json.load(f)["ps-kernels"]["kernels"]
    if "AIE_PARTITION" in sections:
        with open(sections["AIE_PARTITION"]) as f:
            partition = json.load(f)
        for p in partition["aie_partition"]["PDIs"]:   # relative names: from the JSON's directory (SectionAIEPartition.cxx)
            with open(os.path.join(os.path.dirname(os.path.abspath(sections["AIE_PARTITION"])), p["file_name"]), "rb") as f:
                images.append(f.read())
    parts = [("MEM_TOPOLOGY", "", b"\0" * 8), ("EMBEDDED_METADATA", "", xclbin_writer.embedded_metadata(kernel_docs))]
    if partition:
        parts.append(("AIE_PARTITION", "QoS", xclbin_writer.aie_partition(partition, images)))
    with open(outputs[0], "wb") as f:
        f.write(xclbin_writer.xclbin(parts))
    return 0


def kernel_doc(name, k):
    """A kernel JSON entry back from the reader's view of EMBEDDED_METADATA (for an append)."""
    quals = {0: "SCALAR", 1: "GLOBAL", 2: "CONSTANT", 3: "LOCAL", 4: "STREAM"}
    return {"name": name, "extended-data": {"subtype": "DPU", "functional": "0", "dpu_kernel_id": k["kernelId"]},
            "arguments": [{"name": a["name"], "address-qualifier": quals[a["addressQualifier"]], "type": a["type"],
                           "offset": hex(a["offset"])} for a in k["arguments"]],
            "instances": [{"name": i} for i in k["instances"]]}


def dump_partition(x, path):
    """SectionAIEPartition.cxx populate_PDIs: each PDI image written to '<uuid>.pdi' in the JSON's directory and
    named so in the JSON: PDIs sharing a uuid write the same file, the last one's bytes win."""
    pdis = []
    for p, image in zip(x.pdis, x.pdi_images):
        name = p["uuid"] + ".pdi"
        with open(os.path.join(os.path.dirname(os.path.abspath(path)), name), "wb") as f:
            f.write(image)
        pdis.append({"uuid": p["uuid"], "file_name": name,
                     "cdo_groups": [{"name": "DPU", "type": "PRIMARY", "pdi_id": "0x01",
                                     "dpu_kernel_ids": [hex(k) for k in p["kernelIds"]], "pre_cdo_groups": ["0xC1"]}]})
    doc = partition_json("0x0", "")
    doc["aie_partition"]["PDIs"] = pdis
    with open(path, "w") as f:
        json.dump(doc, f)


def clang(argv):
    if "--version" in argv:
        print("clang version 19.0.0 (fake llvm-aie " + os.environ.get("FAKE_PEANO_VERSION", "1") + ")")
        return 0
    include = os.environ["FAKE_MLIR_AIE_INCLUDE"]
    rules.check_clang(argv, include)
    src = [a for a in argv if a.endswith(".cc")]
    if len(src) != 1 or not os.path.exists(src[0]):
        raise rules.RuleError(f"clang++: needs one existing .cc source, got {src}")
    with open(argv[argv.index("-o") + 1], "wb") as f:
        f.write(b"FAKEOBJ:" + os.path.basename(src[0]).encode())
    return 0


def ld(argv):
    if argv[:1] != ["-r"] or argv[1:2] != ["-o"] or len(argv) < 4:
        raise rules.RuleError(f"ld.lld: expected -r -o OUT PARTS..., got {argv}")
    for p in argv[3:]:
        if not os.path.exists(p):
            raise rules.RuleError(f"ld.lld: {p}: no such file")
    with open(argv[2], "wb") as f:
        f.write(b"FAKEREL:" + ",".join(os.path.basename(p) for p in argv[3:]).encode())
    return 0


TOOLS = {"aiecc": aiecc, "xclbinutil": xclbinutil, "clang++": clang, "ld.lld": ld}

if __name__ == "__main__":
    tool, argv = sys.argv[1], sys.argv[2:]
    try:
        status = TOOLS[tool](argv)
        record(tool, argv, status)
    except rules.RuleError as e:
        record(tool, argv, 1, str(e))
        print(str(e), file=sys.stderr)
        status = 1
    sys.exit(status)

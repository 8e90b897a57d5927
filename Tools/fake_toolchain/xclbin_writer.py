#!/usr/bin/env python3
# Writes an xclbin by hand to XRT's documented layout (src/runtime_src/core/include/xrt/detail/xclbin.h), for the fake xclbinutil and the reader's tests: axlf header, section table, EMBEDDED_METADATA XML as xclbinutil writes it from kernel JSONs, AIE_PARTITION from a partition JSON.
# Offsets are spelled out here on purpose, not imported from Tools/xclbin_format.py, so a test of the reader
# against this writer checks two independent readings of xclbin.h.
import struct
from xml.sax.saxutils import quoteattr

KIND = {"EMBEDDED_METADATA": 2, "MEM_TOPOLOGY": 6, "IP_LAYOUT": 8, "AIE_PARTITION": 32}


def embedded_metadata(kernels):
    """XML project/platform/device/core/kernel/arg as XRT xclbinutil KernelUtilities.cxx builds it from each kernel
    JSON ({"name", "extended-data", "arguments": [{"name", "address-qualifier", "type", "offset"}], "instances"})."""
    quals = {"SCALAR": 0, "GLOBAL": 1, "CONSTANT": 2, "LOCAL": 3, "STREAM": 4}
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<project name="npu"><platform><device><core>']
    for k in kernels:
        out.append(f'<kernel name={quoteattr(k["name"])} language="c" type="dpu">')
        ext = k.get("extended-data")
        if ext:
            out.append("<extended-data " + " ".join(f"{a}={quoteattr(str(v))}" for a, v in ext.items()) + "/>")
        for i, a in enumerate(k["arguments"]):
            size = 8 if "*" in a["type"] or a["type"] == "uint64_t" else 4
            out.append(f'<arg name={quoteattr(a["name"])} addressQualifier="{quals[a["address-qualifier"]]}" id="{i}" '
                       f'size="0x{size:x}" offset={quoteattr(a["offset"])} hostOffset="0x0" hostSize="0x{size:x}" '
                       f'type={quoteattr(a["type"])}/>')
        for inst in k.get("instances", []):
            out.append(f'<instance name={quoteattr(inst["name"])}/>')
        out.append("</kernel>")
    out.append("</core></device></platform></project>")
    return "".join(out).encode()


def uuid_bytes(text):
    h = text.replace("0x", "").replace("-", "")
    return bytes.fromhex(h.rjust(32, "0")[-32:])


def aie_partition(partition, images):
    """struct aie_partition (184 B) + aie_pdi[] (96 B each) + cdo_group[] (96 B each) + kernel ids + images, with every
    array_offset relative to the section start. `images`: the bytes of each PDI, in order."""
    pdis = partition["aie_partition"]["PDIs"]
    groups = [g for p in pdis for g in p["cdo_groups"]]
    head = 184
    pdi_at = head
    group_at = pdi_at + 96 * len(pdis)
    ids_at = group_at + 96 * len(groups)
    ids = [[int(k, 0) if isinstance(k, str) else k for k in g["dpu_kernel_ids"]] for g in groups]
    img_at = ids_at + 8 * sum(len(x) for x in ids)
    body = bytearray(img_at + sum(len(i) for i in images))
    struct.pack_into("<B3xIIxxxxQQ", body, 0, 0, 0, int(partition["aie_partition"].get("operations_per_cycle", "0")), 0, 0)
    struct.pack_into("<H6x", body, 32, int(partition["aie_partition"]["partition"]["column_width"]))
    struct.pack_into("<II", body, 120, len(pdis), pdi_at)
    g = 0
    id_cursor, img_cursor = ids_at, img_at
    for p, (pdi, image) in enumerate(zip(pdis, images)):
        at = pdi_at + 96 * p
        body[at:at + 16] = uuid_bytes(pdi["uuid"])
        struct.pack_into("<II", body, at + 16, len(image), img_cursor)
        body[img_cursor:img_cursor + len(image)] = image
        img_cursor += len(image)
        struct.pack_into("<II", body, at + 24, len(pdi["cdo_groups"]), group_at + 96 * g)
        for cdo in pdi["cdo_groups"]:
            gat = group_at + 96 * g
            struct.pack_into("<IB3xQ", body, gat, 0, 1, int(str(cdo.get("pdi_id", "0")), 0))
            struct.pack_into("<II", body, gat + 16, len(ids[g]), id_cursor)
            for k in ids[g]:
                struct.pack_into("<Q", body, id_cursor, k)
                id_cursor += 8
            g += 1
    return bytes(body)


def xclbin(sections, uuid=b"\x11" * 16):
    """axlf: magic @0, signature length -1 @8, reserved 0xFF @12..40, key block @40, unique id @296, axlf_header @304
    (m_length @+0, version 2.1 @+26/+27, uuid @+112, m_numSections @+144), section headers (40 B) @456, then data
    (8-byte aligned). `sections`: [(kind name or number, section name, bytes)]."""
    n = len(sections)
    at = 456 + 40 * n
    blobs = []
    for kind, name, data in sections:
        at = (at + 7) & ~7
        blobs.append((KIND.get(kind, kind), name, at, data))
        at += len(data)
    out = bytearray(at)
    out[0:8] = b"xclbin2\0"
    struct.pack_into("<i", out, 8, -1)
    out[12:40] = b"\xff" * 28
    struct.pack_into("<Q", out, 304, len(out))
    out[304 + 26] = 2
    out[304 + 27] = 1
    out[304 + 112:304 + 128] = uuid
    struct.pack_into("<I", out, 304 + 144, n)
    for i, (kind, name, offset, data) in enumerate(blobs):
        h = 456 + 40 * i
        struct.pack_into("<I16s4xQQ", out, h, kind, name.encode()[:16], offset, len(data))
        out[offset:offset + len(data)] = data
    return bytes(out)

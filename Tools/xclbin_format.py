#!/usr/bin/env python3
# Reads an xclbin's kernel metadata ourselves, treating every byte as hostile: the axlf header and section table, each kernel's argument list (EMBEDDED_METADATA) and the AIE_PARTITION's PDIs (uuid, kernel ids).
#
# Layout (XRT src/runtime_src/core/include/xrt/detail/xclbin.h, facts only):
#   struct axlf: m_magic[8] "xclbin2\0" @0, m_signature_length i32 @8, reserved[28] @12, m_keyBlock[256] @40,
#     m_uniqueId u64 @296, m_header (struct axlf_header, 152 bytes) @304, m_sections[] @456.
#   struct axlf_header: m_length u64 @0, ..., m_versionMajor u8 @26, m_versionMinor u8 @27, uuid[16] @112,
#     m_numSections u32 @144 (XCLBIN_MAX_NUM_SECTION 0x10000).
#   struct axlf_section_header (40 bytes): m_sectionKind u32 @0, m_sectionName[16] @4, m_sectionOffset u64 @24,
#     m_sectionSize u64 @32. Kinds: EMBEDDED_METADATA 2, MEM_TOPOLOGY 6, IP_LAYOUT 8, AIE_PARTITION 32.
#   EMBEDDED_METADATA: XML project/platform/device/core/kernel[@name]/arg[@name,@addressQualifier,@id,@size,
#     @offset,@type] as xclbinutil writes it from a kernel JSON (tools/xclbinutil/KernelUtilities.cxx).
#   AIE_PARTITION: struct aie_partition (184 bytes): info (aie_partition_info, 88 bytes) @32, aie_pdi
#     (array_offset {u32 size, u32 offset}) @120; struct aie_pdi (96 bytes): uuid[16] @0, pdi_image @16,
#     cdo_groups @24; struct cdo_group (96 bytes): mpo_name u32 @0, cdo_type u8 @4, pdi_id u64 @8,
#     dpu_kernel_ids (u64 array) @16, pre_cdo_groups @24. Offsets inside the section are from its start.
# The runtime finds a kernel's PDI by its kernel id through the cdo groups (amd/xdna-driver src/shim/hwctx.cpp
# get_pdi); xclbinutil names dumped PDIs by uuid (SectionAIEPartition.cxx), so equal uuids overwrite each other.
# The Swift side reads signatures through XRT itself (Sources/NPUBackend/XRTXclbin.swift), not this file.
# Usage: xclbin_format.py FILE.xclbin   (prints the kernels, their arguments and the PDIs as JSON)
import hashlib
import json
import struct
import sys
import xml.etree.ElementTree as ET

MAGIC = b"xclbin2\0"
HEADER_AT = 304
SECTIONS_AT = 456
SECTION_HEADER_BYTES = 40
MAX_SECTIONS = 0x10000
KINDS = {"EMBEDDED_METADATA": 2, "MEM_TOPOLOGY": 6, "IP_LAYOUT": 8, "AIE_PARTITION": 32}
MAX_XML_BYTES = 4 << 20
MAX_ARRAY = 4096


class XclbinError(ValueError):
    """A malformed or unexpected xclbin; the message says where."""


def _unpack(fmt, data, at, what):
    size = struct.calcsize(fmt)
    if at < 0 or at + size > len(data):
        raise XclbinError(f"{what}: needs bytes {at}..{at + size} but the data has {len(data)}")
    return struct.unpack_from(fmt, data, at)


def _array(section, at, what, element_bytes):
    """An array_offset {u32 size, u32 offset}: (count, offset), checked to lie inside the section."""
    count, offset = _unpack("<II", section, at, what)
    if count > MAX_ARRAY:
        raise XclbinError(f"{what}: {count} elements (more than {MAX_ARRAY})")
    if count and offset + count * element_bytes > len(section):
        raise XclbinError(f"{what}: {count} × {element_bytes} bytes at {offset} run past the section's {len(section)} bytes")
    return count, offset


def _uuid(raw):
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Xclbin:
    """An xclbin read from bytes: sections (kind -> list of bytes), kernels (name -> argument dicts), pdis."""

    def __init__(self, data, path="<bytes>"):
        self.path = path
        if len(data) < SECTIONS_AT:
            raise XclbinError(f"{path}: {len(data)} bytes is shorter than the axlf header ({SECTIONS_AT})")
        if data[:8] != MAGIC:
            raise XclbinError(f"{path}: magic is {data[:8]!r}, not {MAGIC!r}")
        length, = _unpack("<Q", data, HEADER_AT, f"{path}: m_length")
        if length != len(data):
            raise XclbinError(f"{path}: the header says {length} bytes, the file has {len(data)}")
        self.version = _unpack("<BB", data, HEADER_AT + 26, f"{path}: version")
        self.uuid = _uuid(data[HEADER_AT + 112:HEADER_AT + 128])
        count, = _unpack("<I", data, HEADER_AT + 144, f"{path}: m_numSections")
        if count > MAX_SECTIONS or SECTIONS_AT + count * SECTION_HEADER_BYTES > len(data):
            raise XclbinError(f"{path}: {count} section headers do not fit in {len(data)} bytes")
        self.sections = {}
        for i in range(count):
            at = SECTIONS_AT + i * SECTION_HEADER_BYTES
            kind, = _unpack("<I", data, at, f"{path}: section {i} kind")
            name = data[at + 4:at + 20].split(b"\0")[0].decode("ascii", "replace")
            offset, size = _unpack("<QQ", data, at + 24, f"{path}: section {i} ({name}) offset/size")
            if offset > len(data) or size > len(data) - offset:
                raise XclbinError(f"{path}: section {i} ({name}, kind {kind}) spans {offset}..{offset + size}, "
                                  f"past the file's {len(data)} bytes")
            self.sections.setdefault(kind, []).append(bytes(data[offset:offset + size]))
        self.kernels = self._kernels()
        self.pdi_images = []
        self.pdis = self._pdis()

    @classmethod
    def load(cls, path):
        with open(path, "rb") as f:
            return cls(f.read(), path)

    def _kernels(self):
        """{kernel name: [{"name", "index", "type", "addressQualifier", "offset", "buffer"}]} from EMBEDDED_METADATA."""
        found = self.sections.get(KINDS["EMBEDDED_METADATA"], [])
        if len(found) != 1:
            raise XclbinError(f"{self.path}: has {len(found)} EMBEDDED_METADATA sections; a kernel xclbin has one")
        xml = found[0].rstrip(b"\0")
        if len(xml) > MAX_XML_BYTES:
            raise XclbinError(f"{self.path}: EMBEDDED_METADATA is larger than {MAX_XML_BYTES} bytes")
        if b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
            raise XclbinError(f"{self.path}: EMBEDDED_METADATA declares a DOCTYPE/ENTITY, which xclbinutil never writes")
        try:
            root = ET.fromstring(xml)
        except (ET.ParseError, ValueError, LookupError) as e:   # LookupError: a corrupted encoding name
            raise XclbinError(f"{self.path}: EMBEDDED_METADATA is not XML ({e})") from None
        kernels = {}
        for k in root.iter("kernel"):
            name = k.get("name")
            if not name:
                raise XclbinError(f"{self.path}: a kernel in EMBEDDED_METADATA has no name")
            if name in kernels:
                raise XclbinError(f"{self.path}: kernel {name!r} appears twice in EMBEDDED_METADATA")
            args = []
            for a in k.findall("arg"):
                try:
                    index = int(a.get("id", ""))
                    qualifier = int(a.get("addressQualifier", ""))
                    offset = int(a.get("offset", ""), 0)
                except ValueError:
                    raise XclbinError(f"{self.path}: kernel {name!r}: argument {a.get('name')!r} has a non-numeric "
                                      "id, addressQualifier or offset") from None
                typ = a.get("type", "")
                args.append({"name": a.get("name", ""), "index": index, "type": typ, "addressQualifier": qualifier,
                             "offset": offset, "buffer": "*" in typ})
            args.sort(key=lambda x: x["index"])
            if [a["index"] for a in args] != list(range(len(args))):
                raise XclbinError(f"{self.path}: kernel {name!r}: argument ids {[a['index'] for a in args]} are not 0..n-1")
            instances = [i.get("name", "") for i in k.findall("instance")]
            ext = k.find("extended-data")
            kernels[name] = {"arguments": args, "instances": instances,
                             "kernelId": ext.get("dpu_kernel_id") if ext is not None else None}
        return kernels

    def _pdis(self):
        """[{"uuid", "bytes", "kernelIds"}] from the AIE_PARTITION section (none when absent)."""
        found = self.sections.get(KINDS["AIE_PARTITION"], [])
        if not found:
            return []
        if len(found) > 1:
            raise XclbinError(f"{self.path}: has {len(found)} AIE_PARTITION sections")
        s = found[0]
        where = f"{self.path}: AIE_PARTITION"
        if len(s) < 184:
            raise XclbinError(f"{where}: {len(s)} bytes is shorter than struct aie_partition (184)")
        n, at = _array(s, 120, f"{where} aie_pdi", 96)
        pdis = []
        for i in range(n):
            p = at + 96 * i
            _array(s, p + 16, f"{where} PDI {i} image", 1)
            size, image_at = _unpack("<II", s, p + 16, f"{where} PDI {i} image")
            groups, gat = _array(s, p + 24, f"{where} PDI {i} cdo_groups", 96)
            ids = []
            for g in range(groups):
                kn, kat = _array(s, gat + 96 * g + 16, f"{where} PDI {i} cdo group {g} kernel ids", 8)
                ids += [_unpack("<Q", s, kat + 8 * j, f"{where} kernel id")[0] for j in range(kn)]
            pdis.append({"uuid": _uuid(s[p:p + 16]), "bytes": size, "kernelIds": ids,
                         "sha256": hashlib.sha256(s[image_at:image_at + size]).hexdigest()[:16]})
        self.pdi_images = [s[_unpack("<I", s, at + 96 * i + 20, "image")[0]:][:p["bytes"]] for i, p in enumerate(pdis)]
        return pdis


def main(argv):
    if len(argv) != 2:
        print("usage: xclbin_format.py FILE.xclbin", file=sys.stderr)
        return 2
    try:
        x = Xclbin.load(argv[1])
    except (OSError, XclbinError) as e:
        print(f"xclbin_format: {e}", file=sys.stderr)
        return 1
    print(json.dumps({"uuid": x.uuid, "kernels": x.kernels, "pdis": x.pdis}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

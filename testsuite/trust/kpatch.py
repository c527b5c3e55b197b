#!/usr/bin/env python3
"""kpatch.py - what an attacker does to a patch file, for the trust tests.

    kpatch.py flip FILE OFFSET OUT          invert the byte at OFFSET
    kpatch.py set FILE FIELD VALUE OUT      set a header field, reseal (sha256)
    kpatch.py reseal FILE OUT               recompute the hash, drop a signature
    kpatch.py strip FILE OUT                drop the signature trailer only
    kpatch.py daddr FILE DELTA OUT          move the first jump site by DELTA bytes
    kpatch.py daddr-to FILE VADDR OUT       put the first jump site at link-time VADDR
    kpatch.py dlen FILE VALUE OUT           set the first replaced function's size
    kpatch.py fields                        the header fields: NAME OFFSET SIZE

Every command but `fields` writes OUT and prints nothing.  `set` takes
integers for the numeric fields, text for the strings ("\\e" = ESC), hex for
build_id.  docs/patch-format.md has the layout.
"""
import hashlib
import struct
import sys

HDR = 712
HASHED = 680
SIG = 112
FIELDS = [  # name, offset, size, kind
    ("magic", 0, 8, "raw"), ("version", 8, 4, "u32"), ("header_size", 12, 4, "u32"),
    ("build_id", 16, 64, "hex"), ("build_id_len", 80, 4, "u32"), ("level", 84, 4, "u32"),
    ("target_name", 88, 256, "str"), ("id", 344, 64, "str"), ("description", 408, 256, "str"),
    ("created", 664, 8, "u64"), ("payload_size", 672, 8, "u64"), ("sha256", 680, 32, "raw"),
]


def load(path):
    with open(path, "rb") as f:
        return bytearray(f.read())


def payload_size(b):
    return struct.unpack_from("<Q", b, 672)[0]


def reseal(b):
    """The attacker's reseal: hash of header + payload, no signature."""
    n = payload_size(b)
    b = b[:HDR + n]
    b[HASHED:HDR] = hashlib.sha256(bytes(b[:HASHED]) + bytes(b[HDR:HDR + n])).digest()
    return b


def elf_sections(p):
    shoff, = struct.unpack_from("<Q", p, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", p, 0x3a)
    secs = []
    for i in range(shnum):
        name, typ, flags, addr, off, size, link, info, align, entsize = \
            struct.unpack_from("<IIQQQQIIQQ", p, shoff + i * shentsize)
        secs.append([name, typ, off, size, link, info, entsize])
    stroff = secs[shstrndx][2]
    out = {}
    for s in secs:
        end = p.index(b"\0", stroff + s[0])
        out[p[stroff + s[0]:end].decode()] = s
    return out


def first_info_rela(b):
    """Offset in the file of the addend of the daddr relocation of record 0."""
    p = b[HDR:HDR + payload_size(b)]
    secs = elf_sections(p)
    rela = secs[".rela.kpatch.info"]
    for i in range(rela[3] // 24):
        off, info, addend = struct.unpack_from("<QQq", p, rela[2] + i * 24)
        if off == 0:                      # daddr of record 0
            return HDR + rela[2] + i * 24 + 16, addend
    raise SystemExit("kpatch.py: no relocation for the first record's daddr")


def main(argv):
    cmd = argv[1]
    if cmd == "fields":
        for name, off, size, _ in FIELDS:
            print(name, off, size)
        return
    b = load(argv[2])
    out = argv[-1]
    if cmd == "flip":
        b[int(argv[3])] ^= 0xff
    elif cmd == "set":
        name, value = argv[3], argv[4]
        _, off, size, kind = next(f for f in FIELDS if f[0] == name)
        if kind == "u32":
            b[off:off + 4] = struct.pack("<I", int(value, 0))
        elif kind == "u64":
            b[off:off + 8] = struct.pack("<Q", int(value, 0))
        elif kind == "hex":
            raw = bytes.fromhex(value)
            b[off:off + size] = raw + bytes(size - len(raw))
        else:
            raw = value.replace("\\e", "\x1b").encode()[:size]
            b[off:off + size] = raw + bytes(size - len(raw))
        b = reseal(b)
    elif cmd == "reseal":
        b = reseal(b)
    elif cmd == "strip":
        b = b[:HDR + payload_size(b)]
    elif cmd in ("daddr", "daddr-to"):
        at, addend = first_info_rela(b)
        new = addend + int(argv[3], 0) if cmd == "daddr" else int(argv[3], 0)
        b[at:at + 8] = struct.pack("<q", new)
        b = reseal(b)
    elif cmd == "dlen":
        p = b[HDR:HDR + payload_size(b)]
        info = elf_sections(p)[".kpatch.info"]
        at = HDR + info[2] + 16             # struct lc_info_record.dlen of record 0
        b[at:at + 4] = struct.pack("<I", int(argv[3], 0))
        b = reseal(b)
    else:
        raise SystemExit("kpatch.py: unknown command " + cmd)
    with open(out, "wb") as f:
        f.write(b)


if __name__ == "__main__":
    main(sys.argv)

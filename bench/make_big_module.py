#!/usr/bin/env python3
"""Writes a valid ~1 MiB wasm module (a 1 MiB data segment, an exported
memory and an empty _start) for deploy-to-ready benchmarks of large modules.
Usage: make_big_module.py OUT.wasm [SIZE_BYTES]"""
import sys


def leb(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def section(sid, payload):
    return bytes([sid]) + leb(len(payload)) + payload


def name(s):
    return leb(len(s)) + s.encode()


def main():
    out = sys.argv[1]
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 1 << 20
    pages = (size + 65535) // 65536 + 1
    data = bytes((i * 131 + 7) & 0xFF for i in range(size))
    types = section(1, leb(1) + b"\x60\x00\x00")                      # () -> ()
    funcs = section(3, leb(1) + leb(0))
    memory = section(5, leb(1) + b"\x00" + leb(pages))                # min pages, no max
    exports = section(7, leb(2) + name("memory") + b"\x02" + leb(0) + name("_start") + b"\x00" + leb(0))
    code = section(10, leb(1) + leb(2) + b"\x00\x0b")                  # empty body
    seg = b"\x00" + b"\x41" + leb(1024) + b"\x0b" + leb(len(data)) + data  # active, i32.const 1024
    datas = section(11, leb(1) + seg)
    module = b"\x00asm\x01\x00\x00\x00" + types + funcs + memory + exports + code + datas
    with open(out, "wb") as f:
        f.write(module)


if __name__ == "__main__":
    main()

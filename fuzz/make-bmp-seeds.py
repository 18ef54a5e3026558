#!/usr/bin/python3
"""Writes the seeds of fuzz-bmp into a directory (fuzz/seeds/bmp/ in git).

Usage: make-bmp-seeds.py DIR

A few small BMPs, one per path through filters/bmp.c: PIL's writer for
1-bit, 8-bit grey and palette, 24-bit and 32-bit files; the rest by hand
(PIL writes no core header, 4-bit, 16-bit, bit fields or top-down rows).
Two are hostile: a size claim over any limit and a palette cut short.
Each is at most a few hundred octets so that the committed seeds stay
small.  Deterministic: the same files on every run.
"""

import io
import os
import struct
import sys

from PIL import Image


def pil_bmp(mode, size=(7, 5)):
    img = Image.new(mode, size)
    w, h = size
    for y in range(h):
        for x in range(w):
            v = (x * 37 + y * 91) % 256
            if mode == "1":
                img.putpixel((x, y), (x + y) % 2)
            elif mode in ("L", "P"):
                img.putpixel((x, y), v)
            elif mode == "RGB":
                img.putpixel((x, y), (v, 255 - v, (v * 3) % 256))
            else:
                img.putpixel((x, y), (v, 255 - v, (v * 3) % 256, (x * 40) % 256))
    out = io.BytesIO()
    img.save(out, "BMP")
    return out.getvalue()


def by_hand(hsize, width, height, bpp, compression=0, masks=(), palette=(), rows=b"", used=None):
    """File header + info header of hsize octets (12 = core) + masks + palette + rows."""
    if hsize == 12:
        info = struct.pack("<IHHHH", 12, width, height, 1, bpp)
    else:
        info = struct.pack("<IiiHHIIiiII", hsize, width, height, 1, bpp, compression,
                           len(rows), 2835, 2835,
                           len(palette) if used is None else used, 0)
        tail = b"".join(struct.pack("<I", m) for m in masks)
        info += tail
        info = info.ljust(hsize, b"\0") if len(info) < hsize else info
    pal = b"".join(bytes(c) for c in palette)
    off = 14 + len(info) + pal.__len__()
    head = b"BM" + struct.pack("<IHHI", off + len(rows), 0, 0, off)
    return head + info + pal + rows


def rows_of(width, height, bpp, f):
    stride = (width * bpp + 31) // 32 * 4
    out = b""
    for y in range(height):
        bits = 0
        nbits = 0
        row = bytearray()
        for x in range(width):
            v = f(x, y)
            if bpp < 8:
                bits = bits << bpp | v
                nbits += bpp
                if nbits == 8:
                    row.append(bits)
                    bits = nbits = 0
            else:
                row += v.to_bytes(bpp // 8, "little")
        if nbits:
            row.append(bits << (8 - nbits))
        out += bytes(row).ljust(stride, b"\0")
    return out


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    seeds = {
        "pil-1bit.bmp": pil_bmp("1"),
        "pil-8bit-grey.bmp": pil_bmp("L"),
        "pil-8bit-palette.bmp": pil_bmp("P"),
        "pil-24bit.bmp": pil_bmp("RGB"),
        "pil-32bit-alpha.bmp": pil_bmp("RGBA"),
        # BITMAPCOREHEADER, 4-bit with 16 RGBTRIPLEs (a core header has
        # no colour count: the palette is always 2^bpp entries)
        "core-4bit.bmp": by_hand(12, 3, 2, 4, palette=[(i * 16, 0, 255 - i * 16) for i in range(16)],
                                 rows=rows_of(3, 2, 4, lambda x, y: (x * 5 + y) % 16)),
        # 4-bit palette, 5 of 16 colours used, top-down (negative height)
        "info-4bit-topdown.bmp": by_hand(
            40, 5, -3, 4, palette=[(i * 50, 255 - i * 50, i * 20, 0) for i in range(5)],
            rows=rows_of(5, 3, 4, lambda x, y: (x + y) % 6)),
        # 16-bit BI_RGB (5-5-5)
        "info-16bit.bmp": by_hand(40, 4, 2, 16,
                                  rows=rows_of(4, 2, 16, lambda x, y: (x * 0x1234 + y) & 0x7fff)),
        # 16-bit BI_BITFIELDS 5-6-5 right after a BITMAPINFOHEADER
        "info-16bit-565.bmp": by_hand(40, 4, 2, 16, 3, masks=(0xF800, 0x07E0, 0x001F),
                                      rows=rows_of(4, 2, 16, lambda x, y: x * 0x3001 + y * 7)),
        # 32-bit BI_RGB whose fourth octet is padding (0): RGB out
        "info-32bit-pad.bmp": by_hand(40, 3, 2, 32,
                                      rows=rows_of(3, 2, 32, lambda x, y: x * 0x10203 + y)),
        # V5 header, 32-bit BI_BITFIELDS with an alpha mask
        "v5-32bit-alpha.bmp": by_hand(
            124, 3, 2, 32, 3, masks=(0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000),
            rows=rows_of(3, 2, 32, lambda x, y: (x * 0x40 << 24) | x * 0x10203 + y)),
        # V4 header, 16-bit 4-4-4-4 with alpha
        "v4-16bit-argb4444.bmp": by_hand(
            108, 3, 2, 16, 3, masks=(0x0F00, 0x00F0, 0x000F, 0xF000),
            rows=rows_of(3, 2, 16, lambda x, y: x * 0x1111 + y)),
        # hostile: a 26-octet core header that claims 65535 x 65535
        # pixels (a limit, refused before any allocation) ...
        "hostile-huge.bmp": by_hand(12, 65535, 65535, 24),
        # ... and an 8-bit file whose palette (256 entries: no colour
        # count) runs past the end of the file
        "hostile-palette-cut.bmp": by_hand(40, 2, 2, 8, palette=[(1, 2, 3, 0)] * 3, used=0),
    }
    for name, data in sorted(seeds.items()):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()

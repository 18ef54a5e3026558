#!/usr/bin/env python3
"""filter-image.py - TAP tests for mugai-filter-image

Usage: filter-image.py PATH/TO/mugai-filter-image

Every input is built at run time with PIL (python3-pil) or by hand:
metadata (EXIF with GPS, comments, text chunks) and appended data must
be gone from the output, the pixels must survive, limits must be exit 3
before any pixel memory is spent, and malformed input must be exit 1 with
nothing on standard output.  Prints TAP.
"""
import io
import os
import struct
import subprocess
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mugaitest import Tap  # noqa: E402

try:
    from PIL import Image, ImageOps, features
except ImportError:
    # The Debian package installs PIL for the system interpreter only;
    # a pyenv or venv python3 earlier in PATH does not see it.
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath(
            "/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    Tap.plan(0, "PIL (python3-pil) not installed")
    sys.exit(0)

SECRET = b"MUGAI-SECRET-DESCRIPTION"
COMMENT = b"MUGAI-SECRET-COMMENT"
TRAILER = b"TRAILING-PAYLOAD" + b"PK\x03\x04" + bytes(range(256)) * 4

results = []


def check(ok, desc):
    results.append((bool(ok), desc, None))


def skip(desc, why):
    results.append((True, desc, why))


def run(binary, data, *args, timeout=20):
    start = time.monotonic()
    p = subprocess.run([binary, *args], input=data, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace"), time.monotonic() - start


def last_line(err):
    lines = [l for l in err.splitlines() if l.strip()]
    return lines[-1] if lines else ""


def save(img, fmt, **kw):
    b = io.BytesIO()
    img.save(b, fmt, **kw)
    return b.getvalue()


def gradient(w, h, mode="RGB"):
    img = Image.new("RGB", (w, h))
    img.putdata([((x * 7) % 256, (y * 11) % 256, (x * y) % 256) for y in range(h) for x in range(w)])
    if mode == "RGBA":
        img = img.convert("RGBA")
        img.putalpha(Image.linear_gradient("L").resize((w, h)))
    return img


def transparent_palette_output(binary, fmt, size, clear, colour, hole):
    """The filter's output (RGBA) for a palette image in fmt of size, all
    colour but the pixel at hole, which is index 0 (clear), the
    transparent index; None when the filter failed."""
    src = Image.new("P", size, 1)
    src.putpalette(list(clear) + list(colour) + [0] * 762)
    src.putpixel(hole, 0)
    rc, out, _err, _ = run(binary, save(src, fmt, transparency=0))
    return Image.open(io.BytesIO(out)).convert("RGBA") if rc == 0 else None


def png_chunks(data):
    """(types, ok, rest after IEND) of a PNG, walking its chunks."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return [], False, b""
    pos, types = 8, []
    while pos + 12 <= len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        ctype = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        if zlib.crc32(ctype + body) != crc:
            return types, False, b""
        types.append(ctype.decode("latin-1"))
        pos += 12 + n
        if ctype == b"IEND":
            return types, True, data[pos:]
    return types, False, b""


def jpeg_markers(data):
    """(markers, ok, rest after EOI) of a JPEG: segment markers walked
    from SOI, entropy-coded data skipped after each SOS."""
    if data[:2] != b"\xff\xd8":
        return [], False, b""
    pos, markers = 2, []
    while pos + 2 <= len(data):
        if data[pos] != 0xFF:
            return markers, False, b""
        m = data[pos + 1]
        if m == 0xD9:
            return markers, True, data[pos + 2:]
        (n,) = struct.unpack(">H", data[pos + 2:pos + 4])
        markers.append((m, data[pos + 4:pos + 2 + n]))
        pos += 2 + n
        if m == 0xDA:
            while pos + 1 < len(data):
                if data[pos] == 0xFF and data[pos + 1] != 0 and not 0xD0 <= data[pos + 1] <= 0xD7:
                    break
                pos += 1
    return markers, False, b""


def crafted_png(width, height):
    """A PNG whose IHDR claims width x height, with valid CRCs and a
    tiny IDAT: the decompression bomb shape."""
    def chunk(t, body):
        return struct.pack(">I", len(body)) + t + body + struct.pack(">I", zlib.crc32(t + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0" * 100000, 9)) + chunk(b"IEND", b""))


def png_with_metadata(img):
    """img as a PNG with tEXt, iTXt and eXIf chunks, then appended data."""
    plain = save(img, "PNG")
    exif = Image.Exif()
    exif[0x010E] = SECRET.decode()

    def chunk(t, body):
        return struct.pack(">I", len(body)) + t + body + struct.pack(">I", zlib.crc32(t + body))
    extra = (chunk(b"tEXt", b"Comment\0" + COMMENT)
             + chunk(b"iTXt", b"Description\0\0\0\0\0" + SECRET)
             + chunk(b"eXIf", exif.tobytes()[6:]))
    return plain[:33] + extra + plain[33:] + TRAILER


def main():
    binary = sys.argv[1]

    # 1-6: JPEG with EXIF (GPS, ImageDescription), a comment, trailing data.
    src = gradient(64, 48)
    exif = Image.Exif()
    exif[0x010E] = SECRET.decode()
    exif[0x010F] = "MUGAI-CAMERA-MAKER"
    exif[0x8825] = {1: "N", 2: (35.0, 41.0, 22.0), 3: "E", 4: (139.0, 41.0, 30.0)}
    jpeg = save(src, "JPEG", quality=95, exif=exif.tobytes())
    com = b"\xff\xfe" + struct.pack(">H", len(COMMENT) + 2) + COMMENT
    jpeg = jpeg[:2] + com + jpeg[2:] + TRAILER
    check(SECRET in jpeg and COMMENT in jpeg, "JPEG input carries the EXIF and the comment")
    rc, out, err, _ = run(binary, jpeg)
    check(rc == 0 and last_line(err) == "info type=image/jpeg width=64 height=48",
          "JPEG: exit 0 and info line (%d, %r)" % (rc, last_line(err)))
    try:
        dec = Image.open(io.BytesIO(out))
        dec.load()
        check(dec.format == "JPEG" and dec.size == (64, 48), "JPEG: output is a 64x48 JPEG")
        check(len(dec.getexif()) == 0, "JPEG: output has no EXIF")
    except Exception as e:  # noqa: BLE001 - any decode failure is a failed test
        check(False, "JPEG: output is a 64x48 JPEG (%s)" % e)
        check(False, "JPEG: output has no EXIF")
    check(all(s not in out for s in (SECRET, COMMENT, b"MUGAI-CAMERA", b"Exif", b"TRAILING")),
          "JPEG: no metadata string and no payload in the output bytes")
    markers, ok, rest = jpeg_markers(out)
    bad = [hex(m) for m, body in markers
           if 0xE1 <= m <= 0xEF or m == 0xFE or (m == 0xE0 and not body.startswith(b"JFIF\0"))]
    check(ok and rest == b"" and out.endswith(b"\xff\xd9") and not bad,
          "JPEG: only JFIF APP0 and image segments, output ends at EOI (%s)" % bad)

    # 7-10: PNG with tEXt/iTXt/eXIf and appended data.
    src = gradient(40, 30)
    png = png_with_metadata(src)
    rc, out, err, _ = run(binary, png)
    check(rc == 0 and last_line(err) == "info type=image/png width=40 height=30",
          "PNG: exit 0 and info line (%d, %r)" % (rc, last_line(err)))
    types, ok, rest = png_chunks(out)
    check(ok and set(types) <= {"IHDR", "sRGB", "gAMA", "IDAT", "IEND"} and types[0] == "IHDR",
          "PNG: only IHDR/IDAT/IEND chunks (%s)" % types)
    check(ok and rest == b"" and SECRET not in out and COMMENT not in out,
          "PNG: nothing after IEND, no text in the output")
    check(out and Image.open(io.BytesIO(out)).convert("RGB").tobytes() == src.tobytes(),
          "PNG: pixels identical")

    # 11: PNG with alpha keeps alpha.
    src = gradient(33, 17, "RGBA")
    rc, out, err, _ = run(binary, save(src, "PNG"))
    dec = Image.open(io.BytesIO(out)) if rc == 0 else None
    check(dec is not None and dec.mode == "RGBA" and dec.tobytes() == src.tobytes(),
          "PNG RGBA: alpha kept, pixels identical")

    # 12: palette PNG with a transparent entry becomes RGBA.
    dec = transparent_palette_output(binary, "PNG", (8, 8), (255, 0, 0), (0, 255, 0), (0, 0))
    check(dec is not None and dec.getpixel((0, 0))[3] == 0 and dec.getpixel((1, 1)) == (0, 255, 0, 255),
          "PNG palette with tRNS: transparency kept")

    # 13-14: animated GIF, 3 frames.
    frames = [Image.new("RGB", (20, 10), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    frames[0].paste((255, 255, 0), (0, 0, 5, 5))
    gif = save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    rc, out, err, _ = run(binary, gif)
    check(rc == 0 and last_line(err) == "info type=image/png width=20 height=10 frames=3",
          "GIF: exit 0 and frames=3 (%d, %r)" % (rc, last_line(err)))
    first = Image.open(io.BytesIO(gif)).convert("RGB")
    check(rc == 0 and Image.open(io.BytesIO(out)).convert("RGB").tobytes() == first.tobytes(),
          "GIF: output is frame 1")

    # 15: GIF with a transparent index.
    dec = transparent_palette_output(binary, "GIF", (6, 6), (0, 0, 0), (200, 100, 50), (2, 3))
    check(dec is not None and dec.getpixel((2, 3))[3] == 0 and dec.getpixel((0, 0)) == (200, 100, 50, 255),
          "GIF transparency: alpha 0 where the index was transparent")

    # 16-19: BMP.
    src = gradient(13, 7)  # odd width: row padding
    rc, out, err, _ = run(binary, save(src, "BMP"))
    check(rc == 0 and Image.open(io.BytesIO(out)).convert("RGB").tobytes() == src.tobytes()
          and last_line(err) == "info type=image/png width=13 height=7",
          "BMP 24-bit: PNG with identical pixels")
    pal = src.quantize(colors=50)
    rc, out, err, _ = run(binary, save(pal, "BMP"))
    check(rc == 0 and Image.open(io.BytesIO(out)).convert("RGB").tobytes()
          == pal.convert("RGB").tobytes(), "BMP 8-bit palette: PNG with identical pixels")
    mono = src.convert("1")
    rc, out, err, _ = run(binary, save(mono, "BMP"))
    check(rc == 0 and Image.open(io.BytesIO(out)).convert("RGB").tobytes()
          == mono.convert("RGB").tobytes(), "BMP 1-bit: PNG with identical pixels")
    rgba = gradient(9, 5, "RGBA")
    rc, out, err, _ = run(binary, save(rgba, "BMP"))
    check(rc == 0 and Image.open(io.BytesIO(out)).tobytes() == rgba.tobytes(),
          "BMP 32-bit with alpha: RGBA PNG with identical pixels")

    # 20-21: WebP.
    if features.check("webp"):
        src = gradient(24, 16, "RGBA")
        rc, out, err, _ = run(binary, save(src, "WEBP", lossless=True))
        check(rc == 0 and last_line(err) == "info type=image/png width=24 height=16"
              and Image.open(io.BytesIO(out)).tobytes() == src.tobytes(),
              "WebP lossless with alpha: PNG with identical pixels")
        frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 255, 0))]
        anim = save(frames[0], "WEBP", save_all=True, append_images=frames[1:])
        rc, out, err, _ = run(binary, anim)
        check(rc == 1 and out == b"", "WebP animated: exit 1 (not supported)")
    else:
        skip("WebP lossless with alpha", "PIL built without WebP")
        skip("WebP animated", "PIL built without WebP")

    # 22: decompression bomb.
    rc, out, err, secs = run(binary, crafted_png(100000, 100000))
    check(rc == 3 and out == b"" and secs < 1.0 and "limit" in last_line(err),
          "PNG claiming 100000x100000: exit 3 in %.2fs (%r)" % (secs, last_line(err)))

    # 23: truncated JPEG: refused (libjpeg would pad it with grey).
    whole = save(gradient(64, 64), "JPEG", quality=90)
    rc, out, err, _ = run(binary, whole[:len(whole) // 2])
    check(rc == 1 and out == b"" and "Premature end" in err,
          "truncated JPEG: exit 1, no output (%d, %r)" % (rc, last_line(err)))

    # 24: truncated PNG.
    whole = save(gradient(64, 64), "PNG")
    rc, out, err, _ = run(binary, whole[:len(whole) // 2])
    check(rc == 1 and out == b"", "truncated PNG: exit 1, no output")

    # 25: garbage.
    rc, out, err, _ = run(binary, b"PK\x03\x04" + os.urandom(2000))
    check(rc == 1 and out == b"" and "not a supported image" in err, "garbage: exit 1, no output")

    # 26: --output jpeg on a PNG with alpha.
    rc, out, err, _ = run(binary, save(gradient(20, 20, "RGBA"), "PNG"), "--output", "jpeg")
    check(rc == 0 and out[:3] == b"\xff\xd8\xff" and Image.open(io.BytesIO(out)).format == "JPEG"
          and last_line(err) == "info type=image/jpeg width=20 height=20",
          "--output jpeg on a PNG: a JPEG")

    # 27: --output png on a JPEG.
    rc, out, err, _ = run(binary, save(gradient(20, 20), "JPEG"), "--output", "png")
    check(rc == 0 and out.startswith(b"\x89PNG"), "--output png on a JPEG: a PNG")

    # 28: EXIF orientation 6 (90 degrees clockwise) is applied.
    src = Image.new("RGB", (40, 20), (0, 0, 255))
    src.paste((255, 0, 0), (0, 0, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6
    data = save(src, "JPEG", quality=95, exif=exif.tobytes())
    rc, out, err, _ = run(binary, data)
    want = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    dec = Image.open(io.BytesIO(out)) if rc == 0 else None
    check(dec is not None and dec.size == (20, 40) == want.size
          and dec.getpixel((15, 5))[0] > 200 and dec.getpixel((5, 35))[2] > 200,
          "JPEG orientation 6: rotated to 20x40")

    # 29: CMYK JPEG (Adobe, inverted) to RGB.
    cmyk = Image.new("CMYK", (16, 16), (0, 255, 255, 0))
    rc, out, err, _ = run(binary, save(cmyk, "JPEG", quality=95))
    dec = Image.open(io.BytesIO(out)) if rc == 0 else None
    px = dec.getpixel((8, 8)) if dec else (0, 0, 0)
    check(dec is not None and dec.mode == "RGB" and px[0] > 200 and px[1] < 60 and px[2] < 60,
          "CMYK JPEG: red stays red in RGB (%s)" % (px,))

    # 30: grey JPEG stays grey; progressive decodes.
    grey = gradient(30, 30).convert("L")
    rc, out, err, _ = run(binary, save(grey, "JPEG", progressive=True))
    check(rc == 0 and Image.open(io.BytesIO(out)).mode == "L", "progressive grey JPEG: grey JPEG")

    # 31-32: option limits are exit 3.
    rc, out, err, _ = run(binary, save(gradient(64, 48), "JPEG"), "--max-width", "50")
    check(rc == 3 and out == b"", "JPEG wider than --max-width: exit 3")
    rc, out, err, _ = run(binary, save(gradient(64, 48), "PNG"), "--max-input", "100")
    check(rc == 3 and out == b"", "input over --max-input: exit 3")

    # 33: GIF whose screen is within limits but whose frame is not.
    gif = bytearray(save(Image.new("P", (4, 4)), "GIF"))
    at = gif.rindex(b",\0\0\0\0\x04\0\x04\0")  # the image descriptor
    gif[at + 5:at + 9] = struct.pack("<HH", 60000, 60000)
    rc, out, err, _ = run(binary, bytes(gif))
    check(rc == 3 and out == b"", "GIF frame of 60000x60000 on a 4x4 screen: exit 3")

    # 34: bad usage.
    rc, out, err, _ = run(binary, b"", "--output", "tiff")
    check(rc == 64, "bad --output: exit 64")

    tap = Tap()
    tap.plan(len(results))
    for ok, desc, why in results:
        tap.result(ok, desc, skip=why)
    return tap.exit_code()


if __name__ == "__main__":
    sys.exit(main())

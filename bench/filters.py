#!/usr/bin/env python3
"""Speed of the filters against the tools everyone knows.

    python3 bench/filters.py BUILD_DIR [--pages N] [--docs N]

pdf:    one PDF of N pages (text in a standard font and a vector drawing
        on each page, written here), rendered at 150 dpi by
        mugai-filter-pdf (to an image-only PDF) and by `pdftoppm -r 150
        -png` (poppler-utils, to PNG files): pages per second of each,
        best of 3 runs.
office: N docx documents of 40 paragraphs and a 20-row table each, run
        through mugai-filter-office one process per document (as the
        daemon does): documents per second.
soffice: that document saved as .doc by LibreOffice, then M times through
        mugai-filter-soffice (LibreOffice headless with a throw-away
        profile, to PDF) and mugai-filter-pdf (to an image-only PDF): the
        office = image path; against `soffice --convert-to pdf` with a
        new profile each time and with one profile reused.

The filters run directly here, not in the sandbox: this measures the
converters; the sandbox adds one fork+exec and a memfd per document.
"""

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import threatmail  # noqa: E402


def make_pdf(pages):
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", None,
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for p in range(pages):
        lines = b"".join(b"BT /F1 11 Tf 60 %d Td (Page %d line %d: the quick brown fox jumps over the lazy dog) Tj ET\n"
                         % (780 - 14 * i, p + 1, i) for i in range(45))
        draw = b"0.2 0.4 0.8 rg 60 60 %d 40 re f 0 0 0 RG 2 w 60 120 m 530 160 l S\n" % (100 + 7 * p)
        content = lines + draw
        objs.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        cid = len(objs)
        objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R"
                    b" /Resources << /Font << /F1 3 0 R >> >> >>" % cid)
        kids.append(len(objs))
    objs[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), pages)
    return threatmail.pdf_bytes(objs)


def make_docx(n):
    ns = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    paras = "".join("<w:p><w:r><w:t>第%d段落：会議の議事録です。本日の議題は予算と日程です。</w:t></w:r></w:p>" % i
                    for i in range(40))
    rows = "".join("<w:tr>%s</w:tr>" % "".join("<w:tc><w:p><w:r><w:t>%d-%d 項目</w:t></w:r></w:p></w:tc>" % (r, c)
                                               for c in range(4)) for r in range(20))
    doc = '<?xml version="1.0" encoding="UTF-8"?><w:document %s><w:body>%s<w:tbl>%s</w:tbl></w:body></w:document>' % (
        ns, paras, rows)
    ct = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
          'content-types"><Default Extension="xml" ContentType="application/xml"/><Default Extension="rels" '
          'ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Override PartName='
          '"/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
          'wordprocessingml.document.main+xml"/></Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", ct)
        z.writestr("_rels/.rels", rels)
        z.writestr("word/document.xml", doc)
    return buf.getvalue()


def best(fn, runs=3):
    t = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return min(t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--pages", type=int, default=20)
    ap.add_argument("--docs", type=int, default=200)
    ap.add_argument("--lo-docs", type=int, default=10)
    a = ap.parse_args()
    filters = os.path.join(os.path.abspath(a.build), "filters")
    with tempfile.TemporaryDirectory(prefix="mugai-bench-filters-") as tmp:
        pdf = os.path.join(tmp, "bench.pdf")
        with open(pdf, "wb") as f:
            f.write(make_pdf(a.pages))

        def ours():
            with open(pdf, "rb") as fin:
                subprocess.run([os.path.join(filters, "mugai-filter-pdf"), "--dpi", "150",
                                "--max-pages", str(a.pages)], stdin=fin, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, check=True)

        def theirs():
            subprocess.run(["pdftoppm", "-r", "150", "-png", pdf, os.path.join(tmp, "p")], check=True)

        t_ours, t_theirs = best(ours), best(theirs)
        print("pdf: %d pages at 150 dpi: mugai-filter-pdf %.2f s (%.1f pages/s), "
              "pdftoppm -png %.2f s (%.1f pages/s)"
              % (a.pages, t_ours, a.pages / t_ours, t_theirs, a.pages / t_theirs))

        docx = make_docx(0)
        exe = os.path.join(filters, "mugai-filter-office")

        def office():
            for _ in range(a.docs):
                subprocess.run([exe], input=docx, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               check=True)

        t = best(office, runs=2)
        print("office: %d docx (%d octets each) to text: %.2f s (%.0f documents/s)"
              % (a.docs, len(docx), t, a.docs / t))

        doc = threatmail.soffice_convert(tmp, "bench.docx", docx, "doc")
        if doc is None:
            print("soffice: LibreOffice is not installed: skipped")
            return 0
        doc_path = os.path.join(tmp, "bench.doc")
        with open(doc_path, "wb") as f:
            f.write(doc)
        soffice_exe = os.path.join(filters, "mugai-filter-soffice")
        pdf_exe = os.path.join(filters, "mugai-filter-pdf")
        pages = []

        def lo_ours(image):
            for i in range(a.lo_docs):
                cwd = tempfile.mkdtemp(dir=tmp)
                p = subprocess.run([soffice_exe, "--ext", "doc"], input=doc, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, cwd=cwd, check=True)
                if image:
                    r = subprocess.run([pdf_exe, "--dpi", "150", "--max-pages", "50"], input=p.stdout,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
                    pages.append(r.stderr.decode())

        def lo_plain(fresh):
            for i in range(a.lo_docs):
                prof = tempfile.mkdtemp(dir=tmp) if fresh else os.path.join(tmp, "shared-profile")
                subprocess.run(["soffice", "--headless", "--norestore", "-env:UserInstallation=file://" + prof,
                                "--convert-to", "pdf", "--outdir", os.path.join(tmp, "lo-out"), doc_path],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)

        lo_plain(False)  # makes the shared profile
        t_soffice = best(lambda: lo_ours(False), runs=2)
        t_image = best(lambda: lo_ours(True), runs=2)
        t_fresh = best(lambda: lo_plain(True), runs=2)
        t_shared = best(lambda: lo_plain(False), runs=2)
        n = a.lo_docs
        print("soffice: %d .doc (%d octets, %s): mugai-filter-soffice to PDF %.2f s (%.2f documents/s); "
              "then mugai-filter-pdf as well (office = image) %.2f s (%.2f documents/s); "
              "soffice --convert-to pdf with a new profile each %.2f s (%.2f documents/s), "
              "with one profile reused %.2f s (%.2f documents/s)"
              % (n, len(doc), (pages[-1].strip() if pages else "?"), t_soffice, n / t_soffice,
                 t_image, n / t_image, t_fresh, n / t_fresh, t_shared, n / t_shared))
    return 0


if __name__ == "__main__":
    sys.exit(main())

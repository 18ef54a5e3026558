"""Building OOXML and OpenDocument packages for the filter tests
(tests/filter-office.py, tests/filter-soffice.py): namespaces, the
relationship and content-type parts, and the zip itself."""

import zipfile

DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
R = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
S = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
REL_T = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"


def rels(*items):
    """A relationships part: items of (id, type after REL_T, target)."""
    body = "".join(f'<Relationship Id="{i}" Type="{REL_T}{t}" Target="{g}"/>' for i, t, g in items)
    return f'{DECL}<Relationships xmlns="{REL_NS}">{body}</Relationships>'


def content_types(*overrides):
    """[Content_Types].xml: overrides of (part name, content type)."""
    body = "".join(f'<Override PartName="{p}" ContentType="{c}"/>' for p, c in overrides)
    return (f'{DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            f'<Default Extension="xml" ContentType="application/xml"/>{body}</Types>')


def make_zip(path, entries, compression=zipfile.ZIP_DEFLATED):
    """Writes a package of (name, str or bytes) entries to path, with a
    fixed date; an entry named "mimetype" (OpenDocument: first) is stored.
    Returns path."""
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, data in entries:
            if isinstance(data, str):
                data = data.encode("utf-8")
            z.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data,
                       compress_type=zipfile.ZIP_STORED if name == "mimetype" else compression)
    return path


def docx(path, body):
    """A minimal docx whose w:body holds body."""
    return make_zip(path, [
        ("[Content_Types].xml", content_types(("/word/document.xml", DOCX_MAIN))),
        ("_rels/.rels", rels(("rId1", "officeDocument", "word/document.xml"))),
        ("word/document.xml", f"{DECL}<w:document {W}><w:body>{body}</w:body></w:document>"),
    ])

"""The blankline end-to-end scenario (run-e2e.py, which sets sys.path,
runs it; its docstring describes it)."""

import harness as h
import mugaitest as mt
from common import Item, send_one


def sc_blankline(ctx):
    """A header field whose continuation line is only white space (RFC
    5322 obsolete folding), through Postfix: the delivered header block
    has no whitespace-only line, and MIME-Version, Content-Type and
    X-Mugai-Status are in it (a reader that ends the header block at such
    a line would lose them)."""
    m = ctx.new_milter("blankline")
    if not ctx.start_milter(m):
        return
    cases = [("space", b"Subject: a\r\n \r\n b"), ("tabs", b"Subject: tabs\r\n\t \t\r\n\tend"),
             ("last", b"Subject: last\r\n  ")]
    for name, field in cases:
        ident = "blankline-%s" % name
        data = (b"From: Sender <sender@internet.test>\r\nTo: <user@lgwan.test>\r\n" + field + b"\r\n"
                b"Date: Mon, 20 Nov 2023 10:00:00 +0900\r\nMessage-ID: <" + ident.encode() + b"@internet.test>\r\n"
                b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nbody\r\n")
        it = Item(ident, h.with_id(data, ident))
        r = send_one(ctx.postfix.smtp_port, it)
        ok = r.code == 250 and ctx.wait_delivered([ident], 30)
        sink = ctx.sink.by_id(ident).get(ident, [])
        probs = []
        if ok and sink:
            lines = sink[0].data.split(b"\r\n")
            end = next((i for i, l in enumerate(lines) if not l.strip(b" \t")), len(lines))
            head = lines[:end]
            if lines[end:end + 1] != [b""]:
                probs.append("the header block ends at a whitespace-only line: %r" % lines[end:end + 1])
            for want in (b"mime-version:", b"content-type:", b"x-mugai-status:"):
                if not any(l.lower().startswith(want) for l in head):
                    probs.append("%s not in the header block" % want.decode())
            if probs:
                probs += [mt.short(l) for l in lines[:end + 2]]
        ctx.ok(ok and not probs, "%s: no whitespace-only line in the delivered header, MIME fields there (%s)"
               % (name, r), probs)

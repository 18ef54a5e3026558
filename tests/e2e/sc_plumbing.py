"""The plumbing end-to-end scenario (run-e2e.py, which sets sys.path,
runs it; its docstring describes it)."""

import harness as h
from common import text_message, Item, Sender


# ---------------------------------------------------------------------------
# Scenarios


def sc_plumbing(ctx):
    items = [Item("plumb-%d" % n, h.with_id(text_message("plumb-%d" % n, "plumbing", "hello\r\n"),
                                            "plumb-%d" % n)) for n in range(1, 5)]
    items[-1].port = ctx.postfix.hop_port
    Sender(ctx.postfix.smtp_port, items, sessions=2).start().join(60)
    ctx.ok(all(i.final and i.final.code == 250 for i in items), "4 messages accepted (one via the hop)",
           ["%s: %s" % (i.ident, i.final) for i in items])
    ok = ctx.wait_delivered([i.ident for i in items], 30)
    got = ctx.sink.by_id("plumb-")
    ctx.ok(ok and all(len(got.get(i.ident, [])) == 1 for i in items), "each arrived at the sink once",
           ["%s: %d" % (i.ident, len(got.get(i.ident, []))) for i in items])

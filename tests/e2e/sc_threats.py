"""The threats end-to-end scenario (run-e2e.py, which sets sys.path,
runs it; its docstring describes it)."""

import tempfile
import time

import harness as h
import threatmail
import judges
from common import (
    Item, Sender, quarantine_index, leftover_check, judge_case_delivered)


def sc_threats(ctx):
    """The real hostile files of tests/threatmail.py through Postfix: each
    message delivered without the file (and with the notice naming what
    was found: archive members, true types, reasons) or refused with 550
    when it carries malware; each original in the quarantine.  The cases
    with settings of their own (office = image, a short sandbox timeout)
    go through a milter started with those settings."""
    tmp = tempfile.mkdtemp(prefix="threats-", dir=ctx.root)
    groups = {}
    for case in threatmail.cases(tmp):
        if case.skip:
            ctx.tap.result(True, "threats: %s" % case.key, skip=case.skip)
            continue
        groups.setdefault(case.config_extra or "", []).append(case)
    for n, (extra, cases) in enumerate(sorted(groups.items())):
        threats_with(ctx, "threats" if not extra else "threats-%d" % n, extra, cases)


def threats_with(ctx, name, extra, cases):
    m = ctx.new_milter(name, extra=("\n" + extra) if extra else "")
    if not ctx.start_milter(m):
        return
    pf = ctx.postfix
    items = []
    for case in cases:
        ident = "threat-" + case.key
        it = Item(ident, h.with_id(case.message, ident))
        it.case = case
        items.append(it)
    before = judges.stale_pipes()
    Sender(pf.smtp_port, items, sessions=4).start().join(300)
    ctx.wait_delivered([i.ident for i in items if i.final and i.final.code == 250], 60)
    sink = ctx.sink.by_id("threat-")
    qidx, _qprob = quarantine_index(m)
    for it in items:
        case, r, probs = it.case, it.final, []
        if case.smtp_reject:
            if not (r and r.code == 550):
                probs.append("expected 550, got %s" % r)
            if sink.get(it.ident):
                probs.append("a refused message reached the sink")
            text = (r.text if r else "") or ""
            for word in case.reply:
                if word not in text:
                    probs.append("the reply does not say %r: %r" % (word, text))
            if "??" in text:
                probs.append("the reply has text that could not be written in ASCII: %r" % text)
        else:
            probs += judge_case_delivered(ctx, it, sink, qidx, lambda _sm, chk: (
                judges.delivered_problems(chk.msg, case) if chk.msg is not None else []))
        ctx.ok(not probs, "%s%s: %s" % (case.key, " (%s)" % extra.strip().replace("\n", " ") if extra else "", r),
               probs)
    if any(c.no_stale_pipes for c in cases):
        left = judges.stale_pipes() - before
        if left:
            time.sleep(1)
            left &= judges.stale_pipes()
        ctx.ok(not left, "no LibreOffice pipe is left in /tmp after LibreOffice was killed", sorted(left))
    leftover_check(ctx, m)

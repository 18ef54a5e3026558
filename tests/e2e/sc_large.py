"""The large end-to-end scenario (run-e2e.py, which sets sys.path,
runs it; its docstring describes it)."""

import os

import harness as h
import mugaitest as mt
from common import (
    big_message, Item, send_one, judge_delivered, quarantine_index, leftover_check, MemSampler, fmt_kb)


FRONT_RSS_LIMIT_MB = 64


def sc_large(ctx):
    m = ctx.new_milter("large", message_timeout=40, queue_timeout=15)
    if not ctx.start_milter(m):
        return
    data = big_message("large-1", 22 * 1024 * 1024 + 123)
    item = Item("large-1", h.with_id(data, "large-1"))
    main = m.main_pid()
    front_pid, _workers = m.roles()
    before = {pid: (d, c, h.proc_status(pid).get("VmHWM")) for pid, d, c in m.tree()}
    ctx.diag("memory before: " + ", ".join("%d %s d%d VmHWM=%s" % (p, c, d, fmt_kb(k)) for p, (d, c, k) in before.items()))
    sampler = MemSampler(m).start()
    r = send_one(ctx.postfix.smtp_port, item, timeout=300)
    sampler.stop()
    ctx.ok(r.code == 250, "a %.1f MB message is accepted (%s)" % (len(item.data) / 1e6, r))
    ok = r.code == 250 and ctx.wait_delivered(["large-1"], 120)
    sink = ctx.sink.by_id("large-1").get("large-1", [])
    probs = judge_delivered(ctx, item, sink)
    if sink:
        sm = sink[0]
        c = mt.check_message(sm.data)
        if len(sm.data) > 1024 * 1024:
            probs.append("delivered message is %d octets: the attachment was not removed?" % len(sm.data))
        mm = mt.STATUS_RE.match(c.status or "")
        if not mm or not mm.group(1) or int(mm.group(1)) < 1:
            probs.append("X-Mugai-Status %s does not say the attachment was removed" % mt.short(c.status))
        if "E2E-LARGE-BODY-TEXT" not in "".join(t for _p, t in c.texts):
            probs.append("the text part is not in the delivered message")
    ctx.ok(ok and not probs, "it is delivered once, sanitized, the attachment removed", probs)
    if r.code == 250:
        qidx, _ = quarantine_index(m)
        ent = qidx.get(r.qid, [])
        size = os.path.getsize(ent[0][2]) if ent and ent[0][2] else 0
        ctx.ok(size >= len(data), "the whole original is in the quarantine (%d octets)" % size)
    peak = sampler.peak
    front = peak.get(front_pid, (0, "?", None))[2]
    workers = {p: v for p, v in peak.items() if p not in (main, front_pid) and "pool" not in v[1]}
    top = max(workers.items(), key=lambda kv: kv[1][2], default=(None, (0, "?", None)))
    ctx.diag("memory: front VmHWM=%s worker VmHWM=%s (front pid %s, worker pid %s %s)"
             % (fmt_kb(front), fmt_kb(top[1][2]), front_pid, top[0], top[1][1]))
    for p, (d, c, k) in sorted(peak.items()):
        ctx.diag("memory:   pid %d %s depth %d VmHWM before=%s peak=%s" % (p, c, d, fmt_kb(before.get(p, (0, 0, None))[2]), fmt_kb(k)))
    limit = FRONT_RSS_LIMIT_MB * (4 if ctx.asan else 1)
    ctx.ok(isinstance(front, int) and front < limit * 1024,
           "the front's peak RSS stays under %d MB%s (it spools, it does not hold the message)"
           % (limit, " (ASan build: 4x)" if ctx.asan else ""))
    spool = m.spool_files()
    ctx.ok(not spool, "the spool file is removed afterwards", spool)
    leftover_check(ctx, m)

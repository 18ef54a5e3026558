"""The bombs end-to-end scenario (run-e2e.py, which sets sys.path,
runs it; its docstring describes it)."""

import json
import os
import threading
import time

import threatmail
from common import (
    text_message, Sender, send_one, judge_delivered, quarantine_index, reason_ok, leftover_check,
    MemSampler, fmt_kb, mail, judge_case_delivered, judge_refused)


def sc_bombs(ctx):
    """Messages that cost the parser (tests/threatmail.py bombs()): 300,000
    empty parts, 60,000 unused alternatives and 100,000 header fields are
    refused with 550 5.7.1 naming the limit (and quarantined with a report
    of at most 1 MiB; the part bombs' ends with its summary), an HTML
    element with 80,000 attributes costs its part (removed, the message
    delivered), while ordinary mail sent meanwhile is delivered.  The time
    to answer each bomb and the worker's peak memory are printed (figures
    for bench/RESULTS.md; memory is also held to twice the message plus
    64 MB, four times that under ASan)."""
    m = ctx.new_milter("bombs")
    if not ctx.start_milter(m):
        return
    pf = ctx.postfix
    cases = []
    for c in threatmail.bombs(asan=ctx.asan):
        if c.skip:
            ctx.tap.result(True, "bombs: %s" % c.key, skip=c.skip)
        else:
            cases.append(c)
    bombs = [mail("bomb-" + c.key, c.message) for c in cases]
    for it, c in zip(bombs, cases):
        it.case = c
    normal = [mail("bomb-normal-%d" % i, text_message("bomb-normal-%d" % i, "normal %d" % i,
                                                       "an ordinary message %d\r\n" % i)) for i in range(8)]
    main = m.main_pid()
    front_pid, _workers = m.roles()
    offset = pf.log_offset()
    sampler = MemSampler(m).start()
    elapsed = {}

    def send_bombs():
        for it in bombs:
            t = time.monotonic()
            send_one(pf.smtp_port, it, timeout=120)
            elapsed[it.ident] = time.monotonic() - t
    bt = threading.Thread(target=send_bombs, daemon=True)
    bt.start()
    time.sleep(0.3)  # a bomb is on its way while the rest is sent
    Sender(pf.smtp_port, normal, sessions=3).start().join(120)
    bt.join(600)
    sampler.stop()
    items = bombs + normal
    ctx.wait_delivered([i.ident for i in items if i.final and i.final.code == 250], 60)
    sink = ctx.sink.by_id("bomb-")
    rejects = ctx.postfix_qids(offset)
    qidx, _qprob = quarantine_index(m)
    for it in normal:
        r = it.final
        probs = [] if r and r.code == 250 else ["not accepted: %s" % r]
        if not probs:
            probs += judge_delivered(ctx, it, sink.get(it.ident, []))
        ctx.ok(not probs, "%s, sent while the bombs are answered, is delivered: %s" % (it.ident, r), probs)
    for it in bombs:
        case, r, probs = it.case, it.final, []
        if case.smtp_reject:
            if not (r and r.code == 550 and (r.text or "").startswith("5.7.1")):
                probs.append("expected 550 5.7.1, got %s" % r)
            elif case.detail not in r.text or not reason_ok(r.text):
                probs.append("the reply does not name the limit (%r): %s" % (case.detail, r.text))
            refused, qid = judge_refused(it, rejects, qidx, sink)
            probs += refused
            if qid:
                for meta, jpath, _eml in qidx.get(qid, []):
                    # the record as the store holds it: its file (files
                    # backend) or its JSON as `show` prints it (sqlite)
                    size = (os.path.getsize(jpath) if jpath and os.path.exists(jpath)
                            else len(json.dumps(meta, ensure_ascii=False).encode("utf-8")))
                    if size > threatmail.REPORT_MAX + 64 * 1024:
                        probs.append("quarantine record of %d octets" % size)
                    rep = meta.get("report")
                    keys = list(rep.keys()) if isinstance(rep, dict) else []
                    if case.summary and (not keys or keys[-1] != "summary"):
                        probs.append("the stored report does not end with its summary: %s" % keys[-3:])
        else:
            probs += judge_case_delivered(ctx, it, sink, qidx, lambda sm, _chk: (
                ["the bomb's text was rendered"] if b"bomb text" in sm.data else []))
        ctx.ok(not probs, "%s (%.1f MB) answered with its reason: %s" % (case.key, len(it.data) / 1e6, r),
               probs)
    peak = sampler.peak
    workers = {p: v for p, v in peak.items() if p not in (main, front_pid) and "pool" not in v[1]}
    top = max((v[2] for v in workers.values()), default=0)
    largest = max(len(it.data) for it in bombs)
    limit_kb = (2 * largest + 64 * 1024 * 1024) // 1024 * (4 if ctx.asan else 1)
    for it in bombs:
        ctx.diag("bombs: %s answered in %.2f s (a quarter of message_timeout: %.2f s)"
                 % (it.case.key, elapsed.get(it.ident, -1), m.message_timeout / 4))
    ctx.diag("bombs: peak worker VmHWM %s (twice the largest message plus 64 MB: %s)"
             % (fmt_kb(top), fmt_kb(limit_kb)))
    ctx.ok(0 < top <= limit_kb, "the workers' peak memory stays within twice the largest bomb plus 64 MB"
           "%s" % (" (ASan build: 4x)" if ctx.asan else ""), ["VmHWM %s" % fmt_kb(top)])
    leftover_check(ctx, m)

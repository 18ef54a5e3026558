"""The load end-to-end scenario (run-e2e.py, which sets sys.path,
runs it; its docstring describes it)."""

import os
import threading
import time

import mugaitest as mt
from common import (
    SESSIONS, Sender, judge_delivered, quarantine_index, judge_quarantined, audit_index, judge_audit,
    reason_ok, leftover_check)


def sc_load(ctx):
    m = ctx.new_milter("load")
    if not ctx.start_milter(m):
        return
    items = ctx.items_from_samples("load")
    offset = ctx.postfix.log_offset()
    t0 = time.monotonic()
    snd = Sender(ctx.postfix.smtp_port, items).start()
    finished = snd.join(300)
    elapsed = time.monotonic() - t0
    ctx.ok(finished, "%d messages sent over %d sessions in %.1f s" % (len(items), SESSIONS, elapsed),
           [] if finished else ["the client threads did not finish within 300 s"])
    accepted = [i for i in items if i.final and i.final.klass == "2xx"]
    refused = [i for i in items if i.final and i.final.klass == "5xx"]
    other = [i for i in items if i not in accepted and i not in refused]
    ctx.wait_delivered([i.ident for i in accepted], 90)
    ctx.diag("load: %d accepted, %d refused, %d other" % (len(accepted), len(refused), len(other)))

    # What mugai sanitize says about the same bytes, with the same config.
    cli = {}
    tmp = os.path.join(m.dir, "cli")
    os.makedirs(tmp, exist_ok=True)

    def run_cli(item):
        path = os.path.join(tmp, item.ident + ".eml")
        with open(path, "wb") as f:
            f.write(item.data)
        r = mt.run([ctx.args.mugai, "sanitize", "--config", m.conf, path], timeout=120)
        status = None
        if r.rc == 0:
            c = mt.check_message(r.stdout)
            status = c.status
        cli[item.ident] = (r, status)
    lock = threading.Lock()
    todo = list(items)

    def cli_worker():
        while True:
            with lock:
                if not todo:
                    return
                it = todo.pop()
            run_cli(it)
    ts = [threading.Thread(target=cli_worker, daemon=True) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(600)

    agree = sum(1 for i in items if i.ident in cli and i.final and
                {0: "2xx", 3: "5xx", 75: "4xx"}.get(cli[i.ident][0].rc) == i.final.klass)
    ctx.diag("load: `mugai sanitize` on the same bytes agrees with the milter's answer for %d of %d"
             % (agree, len(items)))
    sink = ctx.sink.by_id("load-")
    qidx, qproblems = quarantine_index(m)
    alines, aidx, abad = audit_index(m)
    rejects = ctx.postfix_qids(offset)
    cli_class = {0: "2xx", 3: "5xx", 75: "4xx"}

    for item in items:
        r = item.final
        problems = []
        klass = r.klass if r else "none"
        crun, cstatus = cli.get(item.ident, (None, None))
        qid = None
        if r and r.stage == "EOD" and klass != "2xx":
            qids = rejects.get(item.sender, [])
            qid = qids[-1][0] if qids else None
        if klass == "2xx":
            qid = r.qid
            problems += judge_delivered(ctx, item, sink.get(item.ident, []), status_expected=cstatus)
            problems += judge_quarantined(item, qid, qidx)
        elif klass == "5xx":
            if not reason_ok(r.text):
                problems.append("refusal without a reason: %s" % mt.short(r.text))
            if not (r.text or "").startswith("5.7.1") and r.stage == "EOD":
                problems.append("refusal is not 5.7.1: %s" % mt.short(r.text))
            if item.ident in sink:
                problems.append("refused but %d cop(y/ies) at the sink" % len(sink[item.ident]))
        else:
            problems.append("no 2xx/5xx answer: %s" % r)
        if qid:
            problems += judge_audit(qid, klass, aidx, qidx if klass == "2xx" else None)
        elif r and r.stage == "EOD":
            problems.append("queue id not found (reply or Postfix log)")
        if crun is not None:
            want = cli_class.get(crun.rc, crun.describe())
            if want != klass:
                problems.append("milter answered %s, `mugai sanitize` on the same bytes: %s (%s)"
                                % (klass, want, crun.describe()))
        ctx.ok(not problems, "%s (%s): %s" % (item.ident, item.key, r), problems)

    ctx.ok(not other, "no message got a 4xx or a broken session", ["%s (%s): %s" % (i.ident, i.key, i.final) for i in other])
    n_sink = sum(len(v) for v in sink.values())
    stray = sorted(set(sink) - {i.ident for i in accepted})
    ctx.ok(n_sink == len(accepted) and not stray,
           "messages at the sink (%d) == messages accepted (%d)" % (n_sink, len(accepted)),
           ["at the sink but not accepted: %s" % stray] if stray else [])
    with_qid = [i for i in items if i.final and i.final.stage == "EOD"]
    ctx.ok(len(alines) == len(with_qid) and not abad,
           "audit file: %d lines for %d messages that reached end of data" % (len(alines), len(with_qid)),
           abad + ["queue ids in the audit but not in this test: %s" % sorted(
               set(aidx) - {i.final.qid for i in accepted} - {q for v in rejects.values() for q, _ in v})])
    stored_rejects = sum(1 for i in refused if any(q in qidx for q, _ in rejects.get(i.sender, [])))
    ctx.diag("load: %d of %d refused messages have an original in the quarantine" % (stored_rejects, len(refused)))
    ctx.ok(not qproblems, "quarantine records are readable", qproblems)
    spool = m.spool_files()
    ctx.ok(not spool, "spool directory is empty afterwards", spool[:10])
    leftover_check(ctx, m)

"""The load end-to-end scenario (run-e2e.py, which sets sys.path,
runs it; its docstring describes it)."""

import os
import time

import mugaitest as mt
from common import (
    SESSIONS, Sender, judge_delivered, quarantine_index, judge_quarantined, audit_index, judge_audit,
    reason_ok, leftover_check, received_original, expectation_problems, NOT_AS_SENT)


CLASS_OF_EXIT = {mt.EXIT_DELIVER: "2xx", mt.EXIT_REJECT: "5xx", mt.EXIT_TEMPFAIL: "4xx"}


def stored_report(qid, qidx):
    """The report the quarantine keeps with the original of qid, or None."""
    for meta, _jpath, _eml in qidx.get(qid, []):
        if isinstance(meta.get("report"), dict):
            return meta["report"]
    return None


def cli_problems(ctx, m, item, klass):
    """For a sample of common.NOT_AS_SENT: `mugai sanitize` (the milter's
    configuration) on the original as mugai received it gives the same
    answer."""
    data = received_original(ctx, item.ident)
    if data is None:
        return ["no original in the quarantine to give `mugai sanitize`"]
    path = os.path.join(m.dir, item.ident + ".received.eml")
    with open(path, "wb") as f:
        f.write(data)
    r = mt.run([ctx.args.mugai, "sanitize", "--config", m.conf, path], timeout=120)
    want = CLASS_OF_EXIT.get(r.rc, r.describe())
    if want != klass:
        return ["milter answered %s, `mugai sanitize` on the octets it received: %s (%s)"
                % (klass, want, r.describe())]
    return []


def sc_load(ctx):
    """Every sample of testdata/ over 8 concurrent SMTP sessions, each
    judged against its entry in testdata/expected.json (written by
    tools/gen-testdata.py from what it encoded, never from mugai's output)
    by the judge tests/run-samples.py uses (common.expectation_problems(),
    tests/judges.py): the answer (250 for clean or sanitized, 550 5.7.1
    with a reason for reject), the counts and reasons of the report the
    quarantine keeps, and in the delivered message its status, subject,
    sender name, the texts that must be there and those that must not.
    An accepted message arrives exactly once and passes
    mugaitest.check_message(), its original is in the quarantine; one
    audit line per message; no 4xx.  `mugai sanitize` is asked only about
    the samples of common.NOT_AS_SENT: their expectation does not describe
    the message the milter is given (the empty one arrives with header
    fields), so the milter is held to what the command says about the
    octets it received."""
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

    sink = ctx.sink.by_id("load-")
    qidx, qproblems = quarantine_index(m)
    alines, aidx, abad = audit_index(m)
    rejects = ctx.postfix_qids(offset)

    for item in items:
        r = item.final
        problems = []
        klass = r.klass if r else "none"
        qid = None
        if r and r.stage == "EOD" and klass != "2xx":
            qids = rejects.get(item.sender, [])
            qid = qids[-1][0] if qids else None
        if klass == "2xx":
            qid = r.qid
            problems += judge_delivered(ctx, item, sink.get(item.ident, []), report=stored_report(qid, qidx))
            problems += judge_quarantined(item, qid, qidx)
        elif klass == "5xx":
            if not reason_ok(r.text):
                problems.append("refusal without a reason: %s" % mt.short(r.text))
            if not (r.text or "").startswith("5.7.1") and r.stage == "EOD":
                problems.append("refusal is not 5.7.1: %s" % mt.short(r.text))
            if item.ident in sink:
                problems.append("refused but %d cop(y/ies) at the sink" % len(sink[item.ident]))
            problems += expectation_problems(ctx, item, "reject", stored_report(qid, qidx))
        else:
            problems.append("no 2xx/5xx answer: %s" % r)
        if qid:
            problems += judge_audit(qid, klass, aidx, qidx if klass == "2xx" else None)
        elif r and r.stage == "EOD":
            problems.append("queue id not found (reply or Postfix log)")
        if item.key in NOT_AS_SENT:
            problems += cli_problems(ctx, m, item, klass)
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

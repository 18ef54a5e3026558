"""The virus end-to-end scenario (run-e2e.py, which sets sys.path,
runs it; its docstring describes it)."""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time

import harness as h
import mugaitest as mt
from common import (
    TESTDATA, text_message, Item, Sender, judge_delivered, quarantine_index, judge_quarantined, audit_index,
    judge_audit, leftover_check, EICAR, EICAR_SIG, attachment_message, judge_refused)


HASH_SIG = "Mugai.Test.Hash"


ENCRYPTED_NOTICE = "パスワード付きファイルのため検査できません"


def find_member(obj, key):
    """Every value of member `key` anywhere in a JSON value (nested reports
    kept as a JSON string included)."""
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == key:
                out.append(v)
            out += find_member(v, key)
    elif isinstance(obj, list):
        for v in obj:
            out += find_member(v, key)
    elif isinstance(obj, str) and obj.startswith("{"):
        try:
            out += find_member(json.loads(obj), key)
        except ValueError:
            pass
    return out


def judge_virus_refusal(ctx, item, sig, rejects, qidx, aidx, sink):
    """A message with malware: 550 5.7.1 naming the signature, not
    delivered, its original quarantined, audited as reject with the
    signature in its reason, the quarantine record's report's virus
    member naming it."""
    r = item.final
    problems = []
    if not (r and r.code == 550 and r.stage == "EOD" and (r.text or "").startswith("5.7.1")):
        problems.append("expected 550 5.7.1 at end of data")
    if r and ("virus" not in (r.text or "") or sig not in (r.text or "")):
        problems.append("the reply does not say 'virus' and %s" % sig)
    refused, qid = judge_refused(item, rejects, qidx, sink)
    problems += refused
    if qid:
        problems += judge_audit(qid, "5xx", aidx)
        reasons = [a.get("reason") for a in aidx.get(qid, [])]
        if not any(isinstance(v, str) and "virus" in v and sig in v for v in reasons):
            problems.append("the audit line's reason does not name virus %s: %s" % (sig, mt.short(reasons)))
        viruses = [v for meta, _j, _e in qidx.get(qid, []) for v in find_member(meta.get("report"), "virus")]
        if not any(isinstance(v, str) and v.startswith(sig) for v in viruses):
            problems.append("the quarantine record's report names no virus %s (virus members: %s)"
                            % (sig, mt.short(viruses)))
    return problems


def sc_virus(ctx):
    m = ctx.new_milter("virus")
    if not ctx.start_milter(m):
        return
    pf = ctx.postfix
    t0 = time.monotonic()
    with open(os.path.join(TESTDATA, "clamav", "mugai-test-hashed.txt"), "rb") as f:
        hashed = f.read()

    def item(ident, data):
        return Item(ident, h.with_id(data, ident))

    a = item("virus-eicar-att", attachment_message("virus-eicar-att", "EICAR attached", "eicar.com",
                                                   "application/octet-stream", EICAR.encode("ascii")))
    b = item("virus-eicar-inline", text_message("virus-eicar-inline", "EICAR inline",
                                                "Hello,\r\n" + EICAR + "\r\nbye\r\n"))
    c = item("virus-hashed-att", attachment_message("virus-hashed-att", "hashed file attached", "hashed.txt",
                                                    "application/octet-stream", hashed))
    e = item("virus-normal", text_message("virus-normal", "normal", "a perfectly normal message\r\n"))
    zipped = None
    zip_exe = shutil.which("zip")
    if zip_exe:
        tmp = tempfile.mkdtemp(prefix="zip-", dir=m.dir)
        with open(os.path.join(tmp, "secret.txt"), "w") as f:
            f.write("secret contents of an encrypted archive\n" * 20)
        p = subprocess.run([zip_exe, "-q", "-j", "-P", "secret", os.path.join(tmp, "secret.zip"),
                            os.path.join(tmp, "secret.txt")], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        if p.returncode == 0:
            with open(os.path.join(tmp, "secret.zip"), "rb") as f:
                zipped = f.read()
        else:
            ctx.diag("virus: zip -P failed: %s" % p.stdout.decode("utf-8", "replace"))
    d = item("virus-encrypted-zip", attachment_message("virus-encrypted-zip", "encrypted zip", "secret.zip",
                                                       "application/zip", zipped)) if zipped else None
    offset = pf.log_offset()
    items = [a, b, c, e] + ([d] if d else [])
    Sender(pf.smtp_port, items, sessions=len(items)).start().join(120)
    delivered = [i for i in (e, d) if i and i.final and i.final.code == 250]
    ctx.wait_delivered([i.ident for i in delivered], 30)
    sink = ctx.sink.by_id("virus-")
    rejects = ctx.postfix_qids(offset)
    qidx, _qprob = quarantine_index(m)
    _lines, aidx, _bad = audit_index(m)

    for it, sig, what in ((a, EICAR_SIG, "(a) EICAR as a base64 attachment"),
                          (b, EICAR_SIG, "(b) EICAR inline in a text body"),
                          (c, HASH_SIG, "(c) the hashed file as an attachment")):
        probs = judge_virus_refusal(ctx, it, sig, rejects, qidx, aidx, sink)
        ctx.ok(not probs, "%s is refused as virus %s, quarantined, audited: %s" % (what, sig, it.final), probs)

    if d is None:
        ctx.tap.result(True, "virus: (d) an encrypted zip is removed", skip="zip is not installed or failed")
    else:
        r = d.final
        probs = []
        if not (r and r.code == 250):
            probs.append("not accepted")
        else:
            msgs = sink.get(d.ident, [])
            probs += judge_delivered(ctx, d, msgs)
            if msgs:
                chk = mt.check_message(msgs[0].data, d.data)
                text = "\n".join(t for _p, t in chk.texts)
                if ENCRYPTED_NOTICE not in text:
                    probs.append("the notice does not give the encrypted reason %s" % ENCRYPTED_NOTICE)
                zb64 = base64.b64encode(zipped)[:60]
                if zb64 in msgs[0].data.replace(b"\r\n", b"") or b"PK\x03\x04" in msgs[0].data:
                    probs.append("the encrypted zip is still in the delivered message")
                if not (chk.status or "").startswith("sanitized"):
                    probs.append("X-Mugai-Status %s, expected sanitized" % mt.short(chk.status))
            probs += judge_quarantined(d, r.qid, qidx)
            probs += judge_audit(r.qid, "2xx", aidx, qidx)
        ctx.ok(not probs, "(d) an encrypted zip is removed (reason encrypted in the notice), "
               "the message delivered: %s" % r, probs)

    r = e.final
    probs = [] if r and r.code == 250 else ["not accepted"]
    if not probs:
        probs += judge_delivered(ctx, e, sink.get(e.ident, []))
        probs += judge_audit(r.qid, "2xx", aidx, qidx)
    ctx.ok(not probs, "(e) a normal message is delivered: %s" % r, probs)
    ctx.diag("virus: took %.1f s" % (time.monotonic() - t0))
    leftover_check(ctx, m)

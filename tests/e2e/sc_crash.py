"""The crash end-to-end scenario (run-e2e.py, which sets sys.path,
runs it; its docstring describes it)."""

import os
import signal
import time

import harness as h
from common import (
    Sender, judge_delivered, quarantine_index, audit_index, judge_audit, leftover_check, proc_table,
    run_cmd)


def sc_crash(ctx):
    m = ctx.new_milter("crash")
    if not ctx.start_milter(m):
        return
    items = ctx.items_from_samples("crash", count=60)
    snd = Sender(ctx.postfix.smtp_port, items, retry=True, deadline=time.monotonic() + 150,
                 reconnect_every=3).start()
    h.wait_until(lambda: snd.completed >= 12, 60, step=0.02)
    pid_file = m.pid_from_file()
    ctx.ok(pid_file == m.proc.pid, "pid file names the main process",
           ["pid file: %s, process started: %d" % (pid_file, m.proc.pid)])
    before = m.remember()
    tree = proc_table(m)
    victim = m.proc.pid
    completed_at_kill = snd.completed
    os.kill(victim, signal.SIGKILL)
    m.proc.wait()
    ctx.diag("crash: SIGKILL to %d with %d of %d messages done; tree was: %s"
             % (victim, completed_at_kill, len(items), ", ".join("%d(%s,d%d)" % (p, c, d) for p, d, c, _, _ in tree)))
    time.sleep(1.0)
    ok, err = m.start(timeout=30)
    ctx.ok(ok, "mugai-milter restarts after kill -9 (stale pid file, same socket)",
           [err] + (h.tail(m.log, lines=20) if not ok else []))
    # Orphans: the processes of the killed instance must go away by
    # themselves (a worker holding the listening socket would steal
    # connections from the new daemon).
    old = {p: st for p, st in before.items() if p != victim}
    gone = h.wait_until(lambda: not [p for p, st in old.items() if h.alive(p, st[5])], 10)
    orphans = [(p, st) for p, st in old.items() if h.alive(p, st[5])]
    ctx.ok(gone, "processes of the killed daemon exit by themselves within 10 s",
           ["still running: %d %s" % (p, h.cmdline(p)) for p, _ in orphans])
    for p, st in orphans:
        h.kill_pid(p, st[5])
    # The whole of /proc, not the pid files nor the processes seen: every
    # process of this executable is one of the restarted daemon's, and it
    # runs exactly one pool (with the roles' users: the parent-death
    # signal survives each role's change of user).
    exe = os.path.realpath(m.exe)
    # one snapshot of /proc for both: a worker the pool forks meanwhile is
    # then either in neither or a descendant in both
    procs = h.all_procs()
    mine = set([m.proc.pid] + h.descendants(m.proc.pid, procs))
    stray, pools = [], []
    for pid, st in procs.items():
        try:
            if os.path.realpath("/proc/%d/exe" % pid) != exe or st[1] == "Z":
                continue
        except OSError:
            continue
        if pid not in mine:
            stray.append("%d %s" % (pid, st[0]))
        elif st[0] == "mugai-pool" and st[2] == m.proc.pid:
            # (a worker just forked still bears the pool's name: only the
            # supervisor's children count)
            pools.append(pid)
    ctx.ok(not stray and len(pools) == 1,
           "after the restart /proc holds no process of the killed daemon and exactly one pool "
           "(users: %s)" % ("the roles' own" if m.users else "none"),
           ["not of the new daemon: %s" % stray] * bool(stray) + ["pools: %s" % pools])
    finished = snd.join(200)
    accepted = [i for i in items if i.final and i.final.klass == "2xx"]
    refused = [i for i in items if i.final and i.final.klass == "5xx"]
    other = [i for i in items if i not in accepted and i not in refused]
    retried = [i for i in items if len(i.results) > 1]
    ctx.diag("crash: %d attempts; %d messages needed more than one; %d accepted, %d refused"
             % (snd.attempts, len(retried), len(accepted), len(refused)))
    for i in retried[:10]:
        ctx.diag("  %s: %s" % (i.ident, " | ".join(str(r) for r in i.results)))
    ctx.ok(finished and not other, "every message got a final answer after retries",
           ["%s: %s" % (i.ident, " | ".join(str(r) for r in i.results)) for i in other])
    delivered = ctx.wait_delivered([i.ident for i in accepted], 120)
    sink = ctx.sink.by_id("crash-")
    lost = [i.ident for i in accepted if i.ident not in sink]
    dups = [k for k, v in sink.items() if len(v) > 1]
    stray = sorted(set(sink) - {i.ident for i in accepted})
    # The client stops at the first 2xx, so what "accepted twice" can
    # mean is an attempt the client saw fail (a 4xx, a connection cut by
    # the kill) that Postfix queued all the same: a second copy at the sink.
    twice = ["%s: %d copies after %s" % (i.ident, len(sink.get(i.ident, [])),
                                          " | ".join(str(r) for r in i.results))
             for i in retried if len(sink.get(i.ident, [])) > 1]
    ctx.ok(delivered and not twice,
           "no message retried after a failed attempt is at the sink twice (%d retried)" % len(retried),
           twice)
    ctx.ok(delivered and not lost and not dups and not stray,
           "every accepted message is at the sink exactly once (%d)" % len(accepted),
           ["lost: %s" % lost] * bool(lost) + ["duplicated: %s" % dups] * bool(dups) +
           ["not accepted but delivered: %s" % stray] * bool(stray) +
           ([] if delivered else ["Postfix queue: "] + ctx.postfix.mailq()[-20:]))
    # each delivered sample judged by its expectation in
    # testdata/expected.json (judge_delivered), not by mugai's own word
    bad = []
    for i in accepted:
        if i.ident in sink:
            bad += ["%s: %s" % (i.ident, p) for p in judge_delivered(ctx, i, sink[i.ident])]
    ctx.ok(not bad, "every message at the sink is sanitized as testdata/expected.json says "
           "(%d checked)" % sum(map(len, sink.values())), bad[:20])
    qidx, _ = quarantine_index(m)
    missing = [i.ident for i in accepted if i.final.qid not in qidx]
    ctx.ok(not missing, "every accepted message has its original in the quarantine", missing)
    _l, aidx, abad = audit_index(m)
    aprob = abad + ["%s: %s" % (i.ident, p) for i in accepted for p in judge_audit(i.final.qid, "2xx", aidx, qidx)]
    ctx.ok(not aprob, "every accepted message has one audit line (deliver)", aprob[:20])
    # the store after the kills: its index and its originals agree
    rc, out = run_cmd([ctx.args.mugai, "quarantine", "check", "--config", m.conf], 300)
    ctx.ok(rc == 0 and "every record readable" in out,
           "after the kills, `mugai quarantine check` says the index and the originals agree",
           out.splitlines()[-10:])
    ctx.diag("crash: spool files left after restart: %d" % len(m.spool_files()))
    leftover_check(ctx, m)

"""The unit end-to-end scenario (run-e2e.py, which sets sys.path,
runs it; its docstring describes it)."""

import os
import random
import re
import select
import shutil
import signal
import smtplib
import subprocess
import time

import harness as h
import mugaitest as mt
from common import (
    big_message, Item, send_one, leftover_check, attachment_message, run_cmd, delivered_texts)


# ---------------------------------------------------------------------------
# What gets installed, and the daemon under its own unit (issue 10)

NOTICE_JA = "【お知らせ】このメールは無害化されています"


NOTICE_EN = "[Notice] This message has been made harmless"


def sc_unit(ctx):
    """mugai-milter started as data/mugai-milter.service starts it, by
    hand (see harness.UnitSandbox): the README's configuration ([milter]
    socket in Postfix's spool, a user of its own), the unit's read-only
    file system with its writable paths, its capability bounding set.
    Mail flows; a reload changes what is delivered; a reload with a file
    -t refuses leaves every process on the old one, a pool restart
    included; a stop with mail in flight finishes it and ends at once."""
    unit = os.environ.get("MUGAI_TEST_UNIT") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(ctx.args.milter))), "mugai-milter.service")
    if not ctx.ok(os.path.exists(unit), "the generated unit is there: " + unit):
        return
    for tool in ("unshare", "setpriv"):
        if not ctx.ok(shutil.which(tool), "%s is installed (util-linux)" % tool):
            return
    sb = h.UnitSandbox(unit, os.path.join(ctx.root, "unit"))
    ctx.diag("unit: writable %s; bounding set %s; sandbox script %s"
             % (" ".join(sb.writable), " ".join(sb.caps), sb.script))
    sock_inside = "/var/spool/postfix/mugai/milter.sock"
    uncreated = [w for w in sb.writable if w.startswith("/var/spool/")
                 and not any(w in pre and "mkdir" in pre for pre in sb.privileged_pre)]
    ctx.ok(os.path.dirname(sock_inside) in sb.writable and not uncreated,
           "the unit makes the README's socket directory writable (ReadWritePaths=) and creates it "
           "(ExecStartPre=+mkdir)", ["not created: %s" % " ".join(uncreated)] if uncreated else
           ["writable: %s" % " ".join(sb.writable)])
    # The README's configuration; the user: nobody, with the group postfix
    # so that this Postfix (not chrooted) may open the socket, as
    # `adduser postfix mugai` does on a gateway.
    db = os.environ.get("MUGAI_TEST_CLAMAV_DB", "/var/lib/clamav")
    filters = os.environ.get("MUGAI_TEST_FILTERS") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(ctx.args.milter))), "filters")
    conf = ("# the README's, as tests/e2e/run-e2e.py sc_unit runs it\n"
            "[milter]\nsocket = unix:%s\nuser = %s\ngroup = postfix\nworker_user = %s\n"
            "storer_user = %s\nworkers = 2\n"
            "message_timeout = 20\nqueue_timeout = 15\n"
            "[audit]\nsyslog = no\n[sandbox]\nfilters = %s\n[clamav]\ndatabase = %s\n"
            % (sock_inside, h.ROLE_USERS["user"], h.ROLE_USERS["worker_user"],
               h.ROLE_USERS["storer_user"], filters, db))
    m = ctx.new_milter("unit", message_timeout=20, queue_timeout=15)
    m.prefix = sb.prefix()
    m.conf = os.path.join(sb.etc, "mugai.conf")
    m.conf_arg = "/etc/mugai/mugai.conf"
    m.unix_socket = sb.host_path(sock_inside)
    m.tmpdir = "/tmp"
    m.spool = sb.host_path("/var/lib/mugai/spool")
    m.quarantine = sb.host_path("/var/lib/mugai/quarantine")
    m.audit = sb.host_path("/var/log/mugai/audit.jsonl")

    def set_conf(text):
        m.write_config(text)
        os.chmod(m.conf, 0o644)

    # -t checks what the start checks: a [milter] user that does not exist
    set_conf(conf.replace("user = %s" % h.ROLE_USERS["user"], "user = mugai-e2e-no-such-user"))
    rc, out = m.check_config()
    ctx.ok(rc == 78 and "[milter] user mugai-e2e-no-such-user does not exist" in out,
           "mugai-milter -t refuses a [milter] user that does not exist (exit %s)" % rc,
           out.splitlines()[-4:])
    set_conf(conf)
    if m.unix_socket is None:
        # the daemon cannot make its socket there: -t says so, and why
        rc, out = m.check_config()
        ctx.ok(False, "mugai-milter -t under this unit (exit %s)" % rc, out.splitlines()[-8:])
        return
    rc, out = ctx.postfix.set_milters("unix:" + m.unix_socket)
    if not ctx.ok(rc == 0, "Postfix talks to the milter on %s" % m.unix_socket, out.splitlines()):
        return
    try:
        _sc_unit(ctx, m, sb, conf)
    finally:
        rc, out = ctx.postfix.set_milters("inet:127.0.0.1:%d" % ctx.milter_port)
        ctx.ok(rc == 0, "Postfix back on the inet milter", out.splitlines())


def _sc_unit(ctx, m, sb, conf):
    pf = ctx.postfix

    def set_conf(text):
        m.write_config(text)
        os.chmod(m.conf, 0o644)

    with open(m.exe, "rb") as f:
        hooked = b"X-Mugai-Test-Fault" in f.read()
    if not ctx.start_milter(m, "mugai-milter -t and its start under the unit's sandbox"):
        return
    main = m.main_pid()
    if hooked:
        warn = [l for l in h.tail(m.log, lines=40) if "warning: TEST BUILD" in l]
        ctx.ok(warn, "a test build says in its start-up log that the fault hook is in", warn)
    st = h.proc_status(main)
    bnd = int(st.get("CapBnd", "0"), 16)
    ctx.ok(bnd == sb.capability_mask() and st.get("Uid", "").split()[:1] == ["0"],
           "the supervisor runs as root with the unit's bounding set (CapBnd %s)" % st.get("CapBnd"))
    # the pool starts its workers a moment after the socket answers
    h.wait_until(lambda: len(m.roles()[1]) > 0, 30)
    front, workers = m.roles()
    uids = {p: h.proc_status(p).get("Uid", "?").split()[:1] for p in [front] + workers}
    ids = h.role_uids()
    want = {front: str(ids.get("user"))}
    want.update({w: str(ids.get("worker_user")) for w in workers})
    ctx.ok(workers and all(uids[p] == [want[p]] for p in uids),
           "the front runs as [milter] user, the workers as worker_user", ["%s" % uids])
    rc, out = run_cmd(["nsenter", "-t", str(main), "-m", "sh", "-c",
                       "touch /var/lib/mugai-unit-probe 2>&1; touch /etc/mugai/probe 2>&1; "
                       "touch /var/lib/mugai/probe && rm /var/lib/mugai/probe && echo state-writable"], 30)
    ctx.ok(out.count("Read-only file system") == 2 and "state-writable" in out,
           "in its mount namespace only the unit's paths are writable", out.splitlines())
    sock_st = os.stat(m.unix_socket) if os.path.exists(m.unix_socket) else None
    ctx.ok(sock_st is not None, "the milter socket is in the README's directory (host side %s)"
           % m.unix_socket)

    n = [0]

    def mail(tag):
        n[0] += 1
        ident = "unit-%s-%d" % (tag, n[0])
        data = attachment_message(ident, "unit " + tag, "tool.bin", "application/octet-stream",
                                  random.Random(n[0]).randbytes(3000), "Body of %s.\r\n" % ident)
        return Item(ident, h.with_id(data, ident))

    def expect(item, notice, what):
        r = send_one(pf.smtp_port, item)
        probs = [] if r.klass == "2xx" else ["SMTP %s" % r]
        text = ""
        if not probs:
            p2, text = delivered_texts(ctx, item)
            probs += p2
            if notice not in text:
                probs.append("the notice is not the expected one (%s)" % mt.short(notice))
        if not (m.running() and m.main_pid() == main):
            probs.append("the daemon is not running any more (or was restarted)")
        return ctx.ok(not probs, "%s: %s" % (what, r), probs + (h.tail(m.log, lines=15) if probs else []))

    def wait_log(pattern, offset, timeout=60):
        rx = re.compile(pattern)
        found = h.wait_until(lambda: [l for l in h.tail(m.log, offset, lines=400) if rx.search(l)],
                             timeout, step=0.2)
        return found or []

    expect(mail("ja"), NOTICE_JA, "mail is delivered, the notice in Japanese (the default)")

    # a reload that takes: the notice in English from now on
    en = conf + "[notice]\nlanguage = en\n"
    set_conf(en)
    off = h.file_size(m.log)
    os.kill(main, signal.SIGHUP)  # ExecReload=/bin/kill -HUP $MAINPID
    acc = wait_log(r"reload: configuration accepted|reload refused|cannot send", off)
    ctx.ok(any("configuration accepted" in l for l in acc),
           "SIGHUP: the pool and the front take the new file", acc + h.tail(m.log, off, lines=10))
    pool_line = [l for l in h.tail(m.log, off, lines=100) if "pool: configuration reloaded" in l]
    front_line = [l for l in h.tail(m.log, off, lines=100) if "front: settings reloaded" in l]
    ctx.ok(pool_line and front_line, "both children say so in the log", pool_line + front_line)
    expect(mail("en"), NOTICE_EN, "after the reload the notice is in English")

    # a reload with a file that -t refuses: an empty ClamAV directory (and
    # Japanese again, so that taking it would show in the mail)
    empty_inside = "/var/lib/mugai/empty-clamav"
    os.makedirs(sb.host_path(empty_inside), exist_ok=True)
    bad = conf.replace("database = %s" % os.environ.get("MUGAI_TEST_CLAMAV_DB", "/var/lib/clamav"),
                       "database = %s" % empty_inside) + "[notice]\nlanguage = ja\n"
    set_conf(bad)
    rc, out = m.check_config()
    ctx.ok(rc not in (0, None) and "no loadable ClamAV signatures" in out,
           "mugai-milter -t refuses the file with the empty ClamAV directory (exit %s)" % rc,
           out.splitlines()[-5:])
    # `mugai config check` says the same, in the same sandbox (one function)
    rc_c, out_c = run_cmd(m.prefix + [ctx.args.mugai, "config", "check", "--config", m.conf_arg], 60)

    def errors(text, prog):
        return sorted(l[len(prog) + 2:] for l in text.splitlines() if l.startswith(prog + ": error: "))
    ctx.ok(rc_c == 1 and errors(out_c, "mugai") == errors(out, "mugai-milter") and errors(out, "mugai-milter"),
           "mugai config check gives exit 1 and the same errors (exit %s)" % rc_c,
           ["-t: %s" % errors(out, "mugai-milter"), "config check: %s" % errors(out_c, "mugai")])
    off = h.file_size(m.log)
    os.kill(main, signal.SIGHUP)
    ref = wait_log(r"reload refused|configuration accepted", off)
    ctx.ok(any("reload refused" in l for l in ref) and not any("accepted" in l for l in ref),
           "SIGHUP with it: refused, said in the log", ref + h.tail(m.log, off, lines=10))
    expect(mail("kept"), NOTICE_EN, "mail is delivered as before (still English)")
    # a pool restart must start from the old configuration, not the file
    _front, _workers = m.roles()
    pool = next((p for p, _d, c in m.tree() if "pool" in c), None)
    if ctx.ok(pool, "the pool process is found"):
        off = h.file_size(m.log)
        os.kill(pool, signal.SIGKILL)
        back = h.wait_until(lambda: (lambda t: t[0] if t and t[0] != pool else None)(
            [p for p, _d, c in m.tree() if "pool" in c]), 30)
        ctx.ok(back, "the supervisor starts a new pool (pid %s)" % back)
        h.wait_until(lambda: len(m.roles()[1]) >= 2, 30)
        expect(mail("restart"), NOTICE_EN, "after the pool restart mail is delivered as before")
        time.sleep(3)
        died = [l for l in h.tail(m.log, off, lines=400) if re.search(r"pool pid=\d+ died", l)]
        ctx.ok(len(died) == 1, "the pool died once (the kill), not again and again", died)
    set_conf(en)

    # stop with a message in flight: finished, then the daemon ends at once
    ident = "unit-stop"
    item = Item(ident, h.with_id(big_message(ident, 9 * 1024 * 1024, seed=11), ident))
    spool_inside = "/var/lib/mugai/spool/"

    def in_flight():
        for pid in m.remember():
            try:
                fds = os.listdir("/proc/%d/fd" % pid)
            except OSError:
                continue
            for fd in fds:
                try:
                    t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
                except OSError:
                    continue
                if t.startswith(spool_inside) and not t.endswith((".sock", ".conf")):
                    return True
        return False

    s = smtplib.SMTP(timeout=180, local_hostname="client.internet.test")
    caught, code, text, term_at, replied_at = False, None, "", None, None
    try:
        s.connect("127.0.0.1", pf.smtp_port)
        s.ehlo()
        s.mail(item.sender)
        s.rcpt(item.rcpts[0])
        s.docmd("DATA")
        q = smtplib._quote_periods(item.data)
        s.send(q + (b"" if q.endswith(b"\r\n") else b"\r\n") + b".\r\n")
        t_dot = time.monotonic()
        while time.monotonic() - t_dot < 30:
            if select.select([s.sock], [], [], 0)[0]:
                break
            if in_flight():
                caught = True
                break
            time.sleep(0.002)
        if caught:
            term_at = time.monotonic()
            os.kill(main, signal.SIGTERM)  # systemctl stop (KillMode=mixed: the main process)
        code, text = s.getreply()
        replied_at = time.monotonic()
        text = text.decode("utf-8", "replace")
        try:
            s.quit()
        except (smtplib.SMTPException, OSError):
            pass
    except (smtplib.SMTPException, OSError) as e:
        text = "%s: %s" % (type(e).__name__, e)
    finally:
        try:
            s.close()
        except OSError:
            pass
    if not ctx.ok(caught, "SIGTERM sent with a message in flight", ["reply first: %s %s" % (code, text)]):
        return
    ctx.ok(code == 250, "the message in flight is finished: %s %s" % (code, text))
    if code == 250:
        item.results.append(h.Result("EOD", code, text, 0))
        probs, _t = delivered_texts(ctx, item, 60)
        ctx.ok(not probs, "and delivered once, sanitized", probs)
    # the drain's own bound, far below the unit's TimeoutStopSec=240
    bound = m.message_timeout + m.params["queue_timeout"] + 10
    try:
        rc = m.proc.wait(max(1.0, bound - (time.monotonic() - (replied_at or term_at))))
    except subprocess.TimeoutExpired:
        rc = None
    ctx.ok(rc == 0, "the daemon exits with status 0 once the mail is done (status %s, %.1f s after "
           "SIGTERM, %.1f s after the reply)" % (rc, time.monotonic() - term_at,
                                                time.monotonic() - (replied_at or term_at)),
           h.tail(m.log, lines=15) if rc != 0 else [])
    failed = [l for l in h.tail(m.log, lines=400) if "cannot send" in l]
    ctx.ok(not failed, "no signal to a child failed", failed)
    left = m.leftovers()
    ctx.ok(not left, "no process of the daemon outlives it", ["%d %s" % (p, h.cmdline(p)) for p, _ in left])
    leftover_check(ctx, m)

    # kill -9 of the supervisor: its children, which changed their user,
    # die with it all the same (the parent-death signal, which the kernel
    # clears on a change of user, is armed again after the drop)
    ok, err = m.start()
    if ctx.ok(ok, "started again under the unit's sandbox", [err]):
        main = m.main_pid()
        _f, workers = m.roles()
        h.wait_until(lambda: len(m.roles()[1]) >= 2, 30)
        os.kill(main, signal.SIGKILL)
        m.proc.wait(30)
        gone = h.wait_until(lambda: not m.leftovers(), 10)
        ctx.ok(gone, "kill -9 of the supervisor: the front, the pool and the workers die with it",
               ["%d %s" % (p, h.cmdline(p)) for p, _ in m.leftovers()])
    leftover_check(ctx, m)

"""The sockgroup end-to-end scenario (run-e2e.py, which sets sys.path,
runs it; its docstring describes it)."""

import os
import subprocess

import harness as h
from common import (
    text_message, Item, send_one, judge_delivered, leftover_check, store_mode_problems)


SOCK_GROUP = "mugai-e2e-sock"


def sc_sockgroup(ctx):
    """The daemon as an unprivileged user (nobody) with [milter]
    socket_group: the Unix socket is 0660 of that group in a 0710
    directory of that group; Postfix, in that group only, sends mail
    through it; Postfix's uid cannot read the store or the audit log."""
    import grp
    import pwd
    created = False
    try:
        grp.getgrnam(SOCK_GROUP)
    except KeyError:
        r = subprocess.run(["groupadd", "--system", SOCK_GROUP], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            ctx.tap.result(True, "sockgroup: a group of its own for the socket", skip="groupadd: %s" % r.stdout.decode().strip())
            return
        created = True
    try:
        subprocess.run(["gpasswd", "-a", "postfix", SOCK_GROUP], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _sc_sockgroup(ctx, grp.getgrnam(SOCK_GROUP).gr_gid, pwd.getpwnam("postfix"))
    finally:
        if created:
            subprocess.run(["groupdel", SOCK_GROUP], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        else:
            subprocess.run(["gpasswd", "-d", "postfix", SOCK_GROUP], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _sc_sockgroup(ctx, gid, postfix_pw):
    pf = ctx.postfix
    sock_dir = os.path.join(ctx.root, "sockgroup-run")
    sock = os.path.join(sock_dir, "milter.sock")
    m = ctx.new_milter("sockgroup", unix_socket=sock,
                       milter_extra="socket_group = %s\n" % SOCK_GROUP)
    # the daemon's user must reach its own files: the scenario's directory
    # is the audit log's (made 0700 and nobody's by the daemon)
    if not ctx.start_milter(m):
        return
    st = os.stat(sock)
    import stat as stat_
    ctx.ok(stat_.S_ISSOCK(st.st_mode) and st.st_gid == gid and st.st_mode & 0o7777 == 0o660,
           "the milter socket is 0660, group %s" % SOCK_GROUP,
           ["mode %s gid %d (expected %d)" % (oct(st.st_mode & 0o7777), st.st_gid, gid)])
    dt = os.stat(sock_dir)
    ctx.ok(dt.st_gid == gid and dt.st_mode & 0o7777 == 0o710,
           "its directory is 0710, group %s (the group may traverse it, no more)" % SOCK_GROUP,
           ["mode %s gid %d" % (oct(dt.st_mode & 0o7777), dt.st_gid)])
    port = pf.add_smtpd("smtpd_milters=unix:%s" % sock)
    if not ctx.ok(port, "a Postfix smtpd with smtpd_milters = unix:%s listens" % sock, h.tail(pf.log, lines=10)):
        return
    it = Item("sockgroup-1", h.with_id(text_message("sockgroup-1", "through the socket", "hello\r\n"), "sockgroup-1"))
    r = send_one(port, it)
    ok = r.code == 250 and ctx.wait_delivered([it.ident], 30)
    sink = ctx.sink.by_id(it.ident).get(it.ident, [])
    probs = judge_delivered(ctx, it, sink) if ok else h.tail(pf.log, lines=10)
    ctx.ok(ok and not probs and b"X-Mugai-Status:" in h.header_block(sink[0].data),
           "Postfix, in %s, sends mail through the socket; delivered sanitized (%s)" % (SOCK_GROUP, r), probs)
    probs = store_mode_problems(m)
    ctx.ok(not probs and m.quarantine_entries(), "quarantine and audit log modes", probs[:10])
    # Postfix's uid and groups (socket group included) read nothing of mugai's
    targets = [m.audit] + [e[2] for e in m.quarantine_entries() if e[2]][:1]
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([postfix_pw.pw_gid, gid])
            os.setgid(postfix_pw.pw_gid)
            os.setuid(postfix_pw.pw_uid)
            bad = 0
            for t in targets:
                try:
                    with open(t, "rb"):
                        bad += 1
                except OSError:
                    pass
            os._exit(10 + bad)
        except BaseException:  # noqa: BLE001
            os._exit(99)
    _p, status = os.waitpid(pid, 0)
    ctx.ok(len(targets) == 2 and os.WEXITSTATUS(status) == 10,
           "Postfix's uid (groups postfix, %s) can open neither the audit log nor an original" % SOCK_GROUP,
           ["child exit %d (10 + files it could open) for %s" % (os.WEXITSTATUS(status), targets)])
    leftover_check(ctx, m)

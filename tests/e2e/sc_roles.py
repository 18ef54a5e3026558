"""The roles end-to-end scenario (run-e2e.py, which sets sys.path,
runs it; its docstring describes it): each role under its own user, and
what a taken-over role can and cannot do (issue 13)."""

import os
import pwd
import socket
import threading
import time

import harness as h
from common import text_message, attachment_message, Item, send_one, leftover_check, run_cmd

RTF = (b"{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times;}}\\f0 "
       b"Quotation for the city office\\par second line\\par}")


def proc_uid(pid):
    st = h.proc_status(pid)
    uid = st.get("Uid")
    try:
        return int(str(uid).split()[0])
    except (ValueError, IndexError):
        return None


def user_ns(pid):
    try:
        return os.readlink("/proc/%d/ns/user" % pid)
    except OSError:
        return None


class TreeSampler:
    """Records (comm, uid, user namespace) of every process of the daemon
    every 20 ms while mail flows: a filter lives a second or two.  A
    process is recorded again under each name it takes: the sandbox's
    child is still "mugai-worker", already in the filter's namespace,
    between its unshare() and its execve()."""

    def __init__(self, m):
        self.m = m
        self.seen = {}      # (pid, comm) -> (uid, userns)
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stop_ev.is_set():
            main = self.m.main_pid()
            if main:
                for pid in [main] + h.descendants(main):
                    comm = h.proc_stat(pid)
                    if comm and (pid, comm[0]) not in self.seen:
                        uid = proc_uid(pid)
                        if uid is not None:
                            self.seen[(pid, comm[0])] = (uid, user_ns(pid))
            time.sleep(0.02)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_ev.set()
        self.thread.join(5)


def fault_item(ident, fault):
    return Item(ident, h.with_id(text_message(ident, "fault " + fault, "hello\r\n"), ident,
                                 ["X-Mugai-Test-Fault: " + fault]))


def sc_roles(ctx):
    """The README's users, one per role (harness.ROLE_USERS): ps during a
    run shows the front, the pool and its workers, the storer and the
    filters each under its own user (the filters in a user namespace of
    their own); the front's and the workers' users cannot open the
    quarantine or the audit log; -t names the isolation layers; a worker
    taken over (the fault hook) cannot open the store or the log, and
    making an Internet socket kills it (seccomp); an impostor on the
    workers' socket, even under the workers' user, is refused by the
    front, which sends it nothing."""
    uids = h.role_uids()
    if len(uids) != 3:
        ctx.tap.result(True, "roles: the roles' users exist", skip="useradd failed")
        return
    m = ctx.new_milter("roles")
    if not m.users:
        ctx.tap.result(True, "roles: the roles' users", skip="not root")
        return
    rc, out = m.check_config()
    iso = [l for l in out.splitlines() if "isolation:" in l]
    ctx.ok(rc == 0 and iso and "seccomp" in iso[0] and "Landlock ABI" in iso[0]
           and "workers as %s" % h.ROLE_USERS["worker_user"] in iso[0],
           "mugai-milter -t names the roles' users and the isolation layers in force", iso or
           out.splitlines()[-10:])
    if not ctx.start_milter(m):
        return

    # mail with a document for LibreOffice while the tree is watched
    items = [Item("roles-%d" % n, h.with_id(attachment_message(
        "roles-%d" % n, "quotation", "quote.rtf", "application/rtf", RTF), "roles-%d" % n))
        for n in range(1, 4)]
    with TreeSampler(m) as ts:
        results = [send_one(ctx.postfix.smtp_port, it) for it in items]
        time.sleep(0.2)
    ctx.ok(all(r.code == 250 for r in results), "mail with a document is accepted",
           [str(r) for r in results])
    by_comm = {}
    for (_pid, comm), (uid, ns) in ts.seen.items():
        by_comm.setdefault(comm, set()).add((uid, ns))
    rows = ["%s: uids %s" % (c, sorted({u for u, _ in v})) for c, v in sorted(by_comm.items())]
    ctx.diag("roles: processes seen: " + "; ".join(rows))
    expect = {"mugai-front": uids["user"], "mugai-pool": uids["worker_user"],
              "mugai-worker": uids["worker_user"], "mugai-storer": uids["storer_user"]}
    probs = []
    for comm, uid in expect.items():
        got = {u for u, _ in by_comm.get(comm, set())}
        if got != {uid}:
            probs.append("%s ran as %s, expected uid %d" % (comm, sorted(got) or "nothing seen", uid))
    ctx.ok(not probs, "ps: front, pool and workers, storer each under its own user "
           "(front %d, workers %d, storer %d)" % (uids["user"], uids["worker_user"],
                                                  uids["storer_user"]), probs)
    # the workers' namespace is the pool's (they never leave it); a
    # "mugai-worker" sample may be a sandbox child already in a filter's
    worker_ns = {ns for _, ns in by_comm.get("mugai-pool", set())}
    filters = {c: v for c, v in by_comm.items() if c.startswith("mugai-filter") or c.startswith("soffice")}
    # each filter seen at least once in a user namespace other than the
    # workers'; a sample of one in the workers' namespace is reported
    # (a pid reused within 20 ms)
    own = {c for c, v in filters.items() if any(ns not in worker_ns for _, ns in v)}
    odd = ["%s sampled in the workers' user namespace" % c for c, v in filters.items()
           if any(ns in worker_ns for _, ns in v)]
    if odd:
        ctx.diag("roles: " + "; ".join(odd))
    ctx.ok(filters and own == set(filters),
           "ps: the filters ran in a user namespace of their own (%s)" % ", ".join(sorted(filters)),
           ["not seen outside the workers' namespace: %s" % sorted(set(filters) - own)]
           if filters else ["no filter process was seen"])

    # what each user may open: only the storer's reaches the store and log
    originals = [e[2] for e in m.quarantine_entries() if e[2]][:1]
    targets = [m.audit] + originals
    opened = {}
    for key in ("user", "worker_user", "storer_user"):
        opened[key] = open_as(uids[key], targets)
    ctx.ok(len(targets) == 2 and opened["user"] == 0 and opened["worker_user"] == 0
           and opened["storer_user"] == 2,
           "the front's and the workers' users open neither the audit log nor an original; "
           "the storer's opens both", ["%s: opened %s of %s" % (k, v, targets) for k, v in opened.items()])

    # a worker taken over: the store and the log are out of reach
    it = fault_item("roles-open-store", "open-store")
    r = send_one(ctx.postfix.smtp_port, it)
    txt = r.text or ""
    ctx.ok(r.code == 451 and "quarantine=" in txt and "audit=" in txt and "opened" not in txt,
           "a worker that tries to open the quarantine and the audit log is refused both (%s)" % r)
    # ... and an Internet socket ends it
    offset = h.file_size(m.log)
    it = fault_item("roles-socket", "socket")
    r = send_one(ctx.postfix.smtp_port, it)
    h.wait_until(lambda: "killed by signal 31" in "\n".join(h.tail(m.log, offset, lines=200)), 5)
    log = "\n".join(h.tail(m.log, offset, lines=200))
    ctx.ok(r.code == 451 and "killed by signal 31" in log,
           "a worker that makes an Internet socket is killed by its seccomp filter (SIGSYS) "
           "and the message deferred (%s)" % r, [l for l in log.splitlines() if "worker" in l][-5:])

    # a worker that answers "deliver" and names no original to keep: the
    # front defers it, and nothing reaches the sink
    offset = h.file_size(m.log)
    it = fault_item("roles-no-id", "no-id")
    r = send_one(ctx.postfix.smtp_port, it)
    log = "\n".join(h.tail(m.log, offset, lines=200))
    ctx.ok(r.code == 451 and "names no quarantine id" in log and not ctx.sink.by_id(it.ident),
           "a worker's \"clean\" that names no quarantine id is deferred, never delivered unstored "
           "(%s)" % r, [l for l in log.splitlines() if "front" in l][-3:])
    # an impostor on the workers' socket: the workers' user cannot even
    # put one there (run_dir is root's) ...
    sock = os.path.join(m.run_dir, "workers.sock")
    aside = sock + ".real"
    os.rename(sock, aside)
    code = run_as(uids["worker_user"], lambda: bind_only(sock))
    ctx.ok(code == 13, "the workers' user cannot bind a socket in run_dir (errno %d, 13 expected)" % code)
    # ... and one that is there all the same (bound by root, listening
    # under the workers' user: what SO_PEERCRED shows) is refused
    pid = os.fork()
    if pid == 0:
        os._exit(impostor(sock, uids["worker_user"], uids["user"]))
    h.wait_until(lambda: os.path.exists(sock), 5)
    time.sleep(0.2)
    offset = h.file_size(m.log)
    it = Item("roles-impostor", h.with_id(text_message("roles-impostor", "impostor", "hello\r\n"),
                                           "roles-impostor"))
    r = send_one(ctx.postfix.smtp_port, it)
    _p, status = os.waitpid(pid, 0)
    log = "\n".join(h.tail(m.log, offset, lines=200))
    if os.path.exists(sock):
        os.unlink(sock)
    os.rename(aside, sock)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
    ctx.ok(r.code == 451 and code == 10 and "refused" in log,
           "an impostor listening on the workers' socket under the workers' user is refused by the "
           "front, which sends it nothing (%s)" % r,
           ["impostor exit %d (10 + octets it got; 99: could not listen)" % code] +
           [l for l in log.splitlines() if "front" in l][-3:])
    it = Item("roles-after", h.with_id(text_message("roles-after", "after", "hello\r\n"), "roles-after"))
    r = send_one(ctx.postfix.smtp_port, it)
    ctx.ok(r.code == 250, "with the real socket back, mail flows again (%s)" % r)
    # the administrator's purge goes through the storer, which records who
    n_before = len(m.quarantine_entries())
    time.sleep(1.1)  # the cutoff is "received before now", to the second
    rc, out = run_cmd([ctx.args.mugai, "quarantine", "purge", "--older-than", "0", "--config", m.conf], 60)
    lines, _bad = m.audit_lines()
    purges = [l for l in lines if l.get("action") == "purge"]
    ctx.ok(rc == 0 and "by mugai-milter's storer" in out and n_before > 0
           and not m.quarantine_entries()
           and purges and "purge by root (uid 0)" in (purges[-1].get("reason") or ""),
           "mugai quarantine purge while the daemon runs: done by the storer (%d entries), "
           "recorded in the audit log with who asked" % n_before,
           out.splitlines()[-3:] + ["audit: %s" % purges[-1:]])
    m.stop()
    # the storer's log is one hash chain, checkpointed at the stop
    rc, out = run_cmd([ctx.args.mugai, "audit", "verify", "--config", m.conf], 60)
    ctx.ok(rc == 0 and out.startswith("intact:") and "checkpoint" in out,
           "mugai audit verify: the storer's log is an intact chain, up to its checkpoint (%s)"
           % out.strip(), out.splitlines()[-3:])
    leftover_check(ctx, m)

    # a worker leaves after worker_messages messages, a fresh one serves
    m2 = ctx.new_milter("roles-recycle", workers=1, milter_extra="worker_messages = 2\n")
    if not ctx.start_milter(m2):
        return
    with TreeSampler(m2) as ts:
        rs = []
        for n in range(6):
            it = Item("recycle-%d" % n, h.with_id(text_message("recycle-%d" % n, "r", "hello\r\n"),
                                                  "recycle-%d" % n))
            rs.append(send_one(ctx.postfix.smtp_port, it))
            time.sleep(0.1)
    workers = sorted({p for (p, c) in ts.seen if c == "mugai-worker"})
    ctx.ok(all(r.code == 250 for r in rs) and len(workers) >= 3,
           "with worker_messages = 2 and one worker, 6 messages are served by at least 3 workers "
           "in turn (%d seen)" % len(workers), [str(r) for r in rs if r.code != 250])
    leftover_check(ctx, m2)


def open_as(uid, paths):
    """How many of paths a process under uid (and its own group) opens."""
    def opens():
        n = 0
        for p in paths:
            try:
                with open(p, "rb"):
                    n += 1
            except OSError:
                pass
        return n
    return run_as(uid, opens)


def run_as(uid, fn):
    """fn() in a child under uid and its group; its return value (0-255)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(pwd.getpwuid(uid).pw_gid)
            os.setuid(uid)
            os._exit(fn())
        except BaseException:  # noqa: BLE001
            os._exit(99)
    _p, status = os.waitpid(pid, 0)
    return os.WEXITSTATUS(status)


def bind_only(path):
    """0 when a Unix socket could be bound at path, else the errno."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.bind(path)
        os.unlink(path)
        return 0
    except OSError as e:
        return e.errno
    finally:
        s.close()


def impostor(path, uid, front_uid):
    """Binds path as root (for the front's user to connect to), listens
    under uid, takes one connection and counts what it is sent.  Exit
    status 10 + octets received (at most 100), 99 on a failure."""
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        os.chown(path, front_uid, -1)
        os.setgroups([])
        os.setgid(pwd.getpwuid(uid).pw_gid)
        os.setuid(uid)
        s.listen(4)
        s.settimeout(30)
        c, _ = s.accept()
        c.settimeout(5)
        n = 0
        try:
            while True:
                b = c.recv(65536)
                if not b:
                    break
                n += len(b)
        except OSError:
            pass
        return 10 + min(n, 100)
    except BaseException:  # noqa: BLE001
        return 99

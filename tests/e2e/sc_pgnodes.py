"""The pgnodes end-to-end scenario (run-e2e.py, which sets sys.path,
runs it; its docstring describes it): two nodes, each a Postfix and a
mugai-milter, storing into one PostgreSQL database (issue 14, "What it
must show", the paragraph on postgresql).

    client --> Postfix A (smtpd, hop) --milter--> mugai-milter A (node-a) --+
    client --> Postfix B (smtpd)      --milter--> mugai-milter B (node-b) --+--> one database
                  |  both relay to the sink                                 |   (tests/pgcluster.py,
                  v                                                          |    a Unix socket only)
                 sink <-----------------------------------------------------+

The cluster (tests/pgcluster.py) lives under the run's directory and is
shared with the storers' user alone: its directory and socket are of the
group of [milter] storer_user (mode 0710, socket 0770), nobody else gets
in, there is no TCP listener; the store's role logs in with a password
(scram-sha-256) that only the DSN file holds, each node's copy 0600 and
its storer's user's.  The superuser is reached by peer authentication,
as root only (the test's own psql).  The cluster is stopped by its PID at
the end whatever happens."""

import hashlib
import json
import os
import re
import shutil
import signal
import time

import harness as h
import pgcluster
from common import (
    text_message, attachment_message, Item, Sender, judge_delivered, leftover_check)

PREFIX = "pgnodes-"


class Node:
    """One node: a Postfix instance of its own (smtpd with the milter, and
    the harness's queueing hop in front of a second smtpd with it) and a
    mugai-milter whose storer keeps everything in the shared database."""

    def __init__(self, ctx, name, port, dsn_source):
        self.name = "node-" + name
        base = os.path.join(ctx.root, "pgnodes-" + name)
        self.milter = h.Milter(ctx.args.milter, base, port,
                               milter_extra="node_name = %s\n" % self.name)
        ctx.milters.append(self.milter)
        m = self.milter
        # the DSN file: this node's copy, its storer's alone
        self.dsn = os.path.join(base, "quarantine.dsn")
        shutil.copyfile(dsn_source, self.dsn)
        uids = h.role_uids()
        import pwd
        pw = pwd.getpwuid(uids["storer_user"])
        os.chown(self.dsn, pw.pw_uid, pw.pw_gid)
        os.chmod(self.dsn, 0o600)
        text = m.config_text()
        anchor = "[quarantine]\n"
        if anchor not in text:
            raise RuntimeError("harness.CONFIG_TEMPLATE has no [quarantine] group")
        m.write_config(text.replace(anchor, anchor + "backend = postgresql\ndsn_file = %s\n"
                                    % self.dsn, 1))
        self.postfix = h.Postfix(os.path.join(base, "postfix"), ctx.sink.port, port,
                                 content_timeout="60s")

    @property
    def conf(self):
        return self.milter.conf


def mugai(ctx, *args, timeout=120):
    """(exit status, stdout bytes, stderr text) of the mugai command."""
    import subprocess
    try:
        p = subprocess.run([ctx.args.mugai] + list(args), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, b"", str(e)


def store_list(ctx, conf):
    """([entry dicts] of `mugai quarantine list --json --config conf`,
    problems)."""
    rc, out, err = mugai(ctx, "quarantine", "list", "--json", "--config", conf)
    entries, probs = [], []
    if rc != 0:
        probs.append("mugai quarantine list --config %s: exit %s: %s" % (conf, rc, err.strip()[-300:]))
    for line in out.decode("utf-8", "replace").splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            probs.append("not JSON: %r" % line[:200])
    return entries, probs


def by_message_id(entries):
    """{X-E2E-Id: [entries]}: the test's messages carry Message-ID
    <IDENT@internet.test> (common.text_message, attachment_message)."""
    out = {}
    for e in entries:
        m = re.match(r"<?([^@<>]+)@internet\.test>?$", e.get("message_id") or "")
        if m:
            out.setdefault(m.group(1), []).append(e)
    return out


def item(ident, port, attachment=False):
    if attachment:
        # 見積書 (a quotation), as a Japanese mailer writes it
        data = attachment_message(ident, "=?ISO-2022-JP?B?GyRCOCtAUT1xGyhC?= " + ident, "quote.bin", "application/octet-stream",
                                  os.urandom(3000), "Please see the quotation.\r\n")
    else:
        data = text_message(ident, "pgnodes " + ident, "hello from %s\r\n" % ident)
    return Item(ident, h.with_id(data, ident), port=port)


def original_problems(stored, it):
    """The original as the store gives it back: the octets the milter was
    given, which are the message exactly as the client sent it (Postfix
    hands a milter its header fields and body as received; its own
    Received field is not among them)."""
    if stored is None:
        return ["no original"]
    if stored != it.data:
        n = next((k for k in range(min(len(stored), len(it.data))) if stored[k] != it.data[k]),
                 min(len(stored), len(it.data)))
        return ["%d octets, %d sent; the first difference at octet %d: %r, sent %r"
                % (len(stored), len(it.data), n, stored[max(0, n - 20):n + 40],
                   it.data[max(0, n - 20):n + 40])]
    return []


def restart_while_down(ctx, cluster, node):
    """The database stopped, a message tempfailed by node (its audit
    record cannot be copied to the table), node's mugai-milter stopped,
    the database and node started again: the new storer copies what the
    old one could not, from the log file (checked with the whole table
    below)."""
    try:
        cluster.stop()
    except Exception as e:  # noqa: BLE001
        ctx.ok(False, "restart: the database stops", [str(e)])
        return
    probe = item(PREFIX + "r-01", node.postfix.smtp_port)
    Sender(None, [probe], sessions=1).start().join(120)
    ctx.ok(probe.final and probe.final.klass == "4xx",
           "restart: database stopped, %s tempfails (%s)" % (node.name, probe.final))
    offset = h.file_size(node.milter.log)
    rc, problems = node.milter.stop()
    ctx.ok(rc == 0 and not problems, "restart: %s's mugai-milter stops (exit %s) with the database "
           "away" % (node.name, rc), problems)
    try:
        cluster.start()
    except Exception as e:  # noqa: BLE001
        ctx.ok(False, "restart: the database starts again", [str(e)])
        return
    if not ctx.start_milter(node.milter, "restart: %s's mugai-milter starts again" % node.name):
        return

    def copied():
        with open(node.milter.log, "rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", "replace")
        return [l for l in text.splitlines() if "audit records from the log to the database's audit table" in l]
    said = h.wait_until(copied, 60, step=0.5)
    ctx.ok(said, "restart: the new storer copies the records the stopped one could not to the "
           "database's audit table", (said or [])[:1] + h.tail(node.milter.log, offset, lines=8) * (not said))


RELEASE_CONF = """
[release]
relay = smtp://127.0.0.1:%d
approvals = 1
on_approve = send
"""

REQUESTER = "nobody"  # a login without an approver account


def released_problems(got, original):
    """The message the sink got for a release: the original octet for
    octet but for X-Mugai-Released at the top (mugai's, relay.h) and the
    Received field that the re-injection smtpd prepends."""
    head_end = got.find(b"\r\n\r\n")
    fields = re.findall(rb"(?m)^[^ \t\r\n][^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*", got[:head_end + 2])
    released = [f for f in fields if f.lower().startswith(b"x-mugai-released:")]
    if len(released) != 1:
        return ["%d X-Mugai-Released fields" % len(released)], None
    rest = got
    for f in fields:
        if f.lower().startswith((b"x-mugai-released:", b"received:")) and rest.startswith(f):
            rest = rest[len(f):]
    if rest != original:
        return ["not the original once X-Mugai-Released and the Received field are taken off "
                "(%d octets, the original %d)" % (len(rest), len(original))], released[0]
    return [], released[0]


def release_through(ctx, it, a, b):
    """request (a login mapped to a requester account) and approve (root,
    an approver) through node B's configuration, of an entry node A
    stored: the sink gets the original once, with the original envelope
    and X-Mugai-Released; the entry is released."""
    entries, probs = store_list(ctx, b.conf)
    es = [e for e in by_message_id(entries).get(it.ident, []) if e.get("node") == "node-a"]
    if not ctx.ok(len(es) == 1 and not probs, "release: %s is one entry of node-a" % it.ident, probs):
        return
    ident = es[0]["id"]
    for name, role, login in (("pg-requester", "requester", REQUESTER), ("pg-approver", "approver", "root")):
        rc, out, err = mugai(ctx, "admin", "add", name, "--role", role, "--unix-user", login,
                             "--config", b.conf)
        if not ctx.ok(rc == 0, "release: `mugai admin add %s --role %s` through node B's storer"
                      % (name, role), [out.decode("utf-8", "replace"), err]):
            return
    rc, out, err = mugai(ctx, "admin", "list", "--config", a.conf)
    text = out.decode("utf-8", "replace")
    ctx.ok(rc == 0 and "pg-requester" in text and "pg-approver" in text,
           "release: node A's configuration lists the accounts made through node B (one database)",
           [text, err])
    import pwd
    pw = pwd.getpwnam(REQUESTER)
    import subprocess
    p = subprocess.run([ctx.args.mugai, "quarantine", "request", ident, "--reason",
                        "the quotation is needed as sent", "--config", b.conf],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=120,
                       user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
    ctx.ok(p.returncode == 0, "release: %s requests %s (node A's) through node B's configuration"
           % (REQUESTER, ident), [p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")])
    before = len(ctx.sink.by_id(it.ident).get(it.ident, []))
    rc, out, err = mugai(ctx, "quarantine", "approve", ident, "--config", b.conf)
    ctx.ok(rc == 0, "release: root (an approver) approves it through node B's configuration "
           "(on_approve = send)", [out.decode("utf-8", "replace"), err])

    def arrived():
        msgs = ctx.sink.by_id(it.ident).get(it.ident, [])
        return msgs[before:] if len(msgs) > before and not b.postfix.queue_files() else None
    new = h.wait_until(arrived, 120, step=0.25)
    time.sleep(0.5)  # a second copy would arrive right behind
    new = ctx.sink.by_id(it.ident).get(it.ident, [])[before:]
    probs, field = [], None
    if len(new) != 1:
        probs.append("%d copies at the sink" % len(new))
    for m in new[:1]:
        probs_, field = released_problems(m.data, it.data)
        probs += probs_
        if m.mail_from != it.sender or m.rcpts != it.rcpts:
            probs.append("envelope from=<%s> to=%s, the original's <%s> %s"
                         % (m.mail_from, m.rcpts, it.sender, it.rcpts))
    ctx.ok(new and not probs, "release: the sink gets node A's original once, octet for octet but "
           "for X-Mugai-Released, with its envelope (%s)"
           % (field.decode("ascii", "replace").strip()[:160] if field else "-"),
           probs + ([] if new else h.tail(b.milter.log, lines=10)))
    rc, out, err = mugai(ctx, "quarantine", "show", ident, "--config", a.conf)
    try:
        state = json.loads(out.decode("utf-8")).get("state")
    except ValueError:
        state = None
    ctx.ok(state == "released", "release: node A's configuration shows the entry released (%s)" % state,
           [err])


def audit_rows_of_file(path):
    """["SEQ HASH MD5-OF-LINE"] of the chained records of an audit log."""
    out = []
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return out
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            rec = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            out.append("unreadable line")
            continue
        out.append("%s %s %s" % (rec.get("seq"), rec.get("hash"), hashlib.md5(line).hexdigest()))
    return out


def audit_rows_of_table(cluster, node):
    """The same of the database's audit table, the rows of node in seq
    order (node is ours: node-a, node-b)."""
    try:
        text = cluster.psql("SELECT seq || ' ' || hash || ' ' || md5(convert_to(line, 'UTF8')) "
                            "FROM audit WHERE node = '%s' ORDER BY seq" % node, dbname="mugai")
    except RuntimeError as e:
        return ["psql: %s" % e]
    return text.splitlines()


def wait_all(ctx, nodes, idents, timeout, flush=False):
    """Until every ident is at the sink and the nodes' queues are empty
    (postqueue -f every few seconds with flush)."""
    want = set(idents)
    last = [0.0]

    def done():
        if flush and time.monotonic() - last[0] > 3:
            for n in nodes:
                n.postfix.flush()
            last[0] = time.monotonic()
        return want <= set(ctx.sink.by_id(PREFIX)) and not any(n.postfix.queue_files() for n in nodes)
    ok = h.wait_until(done, timeout, step=0.25)
    time.sleep(0.5)  # a duplicate would arrive right behind
    return ok


def sc_pgnodes(ctx):
    """Two nodes on one PostgreSQL database: mail through both is
    delivered sanitized and every original is in the one store (listed,
    extracted byte for byte and checked through the other node's
    configuration, each entry naming its node); mugai-milter -t refuses a
    DSN file its group may read; the database killed (SIGKILL to the
    postmaster) while mail flows through node A, then stopped (a fast
    shutdown) while mail flows through node B: 451 4.7.0 to the client and
    from the other node, Postfix's queue defers, nothing reaches the sink
    unstored; started again, every message is delivered exactly once and
    is in the store, stored by the node it went through; a message node A
    accepted is requested (a login mapped to a requester account) and
    approved through node B's configuration and reaches the sink once,
    the original octet for octet but for X-Mugai-Released, with its
    envelope; the database's audit table holds each node's records as its
    log file does; each node's audit log verifies."""
    if pgcluster.bindir() is None:
        ctx.tap.result(True, "pgnodes: PostgreSQL", skip="no /usr/lib/postgresql/N/bin (tools/install-deps.sh)")
        return
    if not h.ensure_role_users():
        ctx.tap.result(True, "pgnodes: the roles' users", skip="useradd failed")
        return
    pg_root = os.path.join(ctx.root, "pgnodes-pg")
    os.makedirs(pg_root)
    cluster = pgcluster.Cluster(pg_root, client_group=h.ROLE_USERS["storer_user"])
    nodes = []

    def reap():
        keep = {p.pid for n in nodes for p in n.milter.procs if p.returncode is None}
        if cluster.proc is not None:
            keep.add(cluster.proc.pid)
        h.reap(keep)
    cluster.reap = reap
    try:
        _sc_pgnodes(ctx, cluster, nodes)
    finally:
        failed = ctx.scenario_failed
        problems = []
        for n in nodes:
            problems += n.milter.cleanup()
            problems += n.postfix.stop()
        try:
            cluster.stop()
        except Exception as e:  # noqa: BLE001 - then by its PID, below
            problems.append("the cluster did not stop: %s" % e)
        pid = cluster.pid()
        if pid and pgcluster._alive(pid):
            problems.append("postgres %d left running: killed" % pid)
            os.kill(pid, signal.SIGKILL)
        if cluster.proc is not None and cluster.proc.poll() is None:
            cluster.proc.kill()
            cluster.proc.wait()
        ctx.ok(not problems, "the nodes' Postfix and mugai-milter, and the cluster, stop by PID and "
               "leave nothing running", problems)
        if failed or ctx.scenario_failed:
            for n in nodes:
                ctx.diag("---- %s ----" % n.postfix.log)
                for l in h.tail(n.postfix.log, lines=40):
                    ctx.diag(l)
            ctx.diag("---- %s ----" % cluster.log)
            for l in h.tail(cluster.log, lines=30):
                ctx.diag(l)


def _sc_pgnodes(ctx, cluster, nodes):
    try:
        cluster.init()
        cluster.start()
        dsn = cluster.make_store()
    except Exception as e:  # noqa: BLE001 - reported, then the finally stops it
        ctx.ok(False, "a private PostgreSQL cluster starts under the run's directory", [str(e)])
        return
    ctx.ok(True, "a private PostgreSQL cluster starts (%s: a Unix socket of group %s, no TCP; "
           "the store's role logs in with a password)" % (cluster.sock, h.ROLE_USERS["storer_user"]))
    pa, pb = h.free_ports(2)
    a = Node(ctx, "a", pa, dsn)
    nodes.append(a)
    b = Node(ctx, "b", pb, dsn)
    nodes.append(b)

    # -t: the configuration is accepted, and a DSN file others may read is not
    rc, out = a.milter.check_config()
    ctx.ok(rc == 0, "mugai-milter -t accepts node A's configuration (backend = postgresql)",
           out.splitlines()[-10:])
    os.chmod(a.dsn, 0o640)
    rc, out = a.milter.check_config()
    ctx.ok(rc not in (0, None) and "dsn_file" in out and a.dsn in out,
           "mugai-milter -t refuses a DSN file its group may read, naming it (exit %s)" % rc,
           out.splitlines()[-10:])
    os.chmod(a.dsn, 0o600)

    for n in nodes:
        n.postfix.write_config()
        rc, out = n.postfix.check()
        if not ctx.ok(rc == 0, "postfix check passes for %s's Postfix" % n.name, out.splitlines()):
            return
        rc, out = n.postfix.start()
        if not ctx.ok(rc == 0, "%s's Postfix starts (smtpd 127.0.0.1:%d, hop 127.0.0.1:%d)"
                      % (n.name, n.postfix.smtp_port, n.postfix.hop_port), out.splitlines()):
            return
        if n is b:
            # released mail goes back in through an smtpd without milters
            # (the README's re-injection port), and on to the sink
            port = n.postfix.add_smtpd("smtpd_milters=")
            if not ctx.ok(port, "node-b's Postfix has a re-injection smtpd without milters",
                          h.tail(n.postfix.log, lines=10)):
                return
            with open(n.conf) as f:
                n.milter.write_config(f.read() + RELEASE_CONF % port)
        if not ctx.start_milter(n.milter, "%s's mugai-milter starts and answers on its socket" % n.name):
            return

    # -- 1. both nodes up: mail through each is delivered, stored once
    items_a = [item("%sa-%02d" % (PREFIX, i), a.postfix.smtp_port, attachment=i % 2 == 0)
               for i in range(1, 7)]
    items_b = [item("%sb-%02d" % (PREFIX, i), b.postfix.smtp_port, attachment=i % 2 == 0)
               for i in range(1, 7)]
    snd = Sender(None, items_a + items_b, sessions=4).start()
    snd.join(180)
    bad = ["%s: %s" % (i.ident, i.final) for i in items_a + items_b if not (i.final and i.final.code == 250)]
    ctx.ok(not bad, "12 messages, 6 through each node, are accepted with 250", bad)
    accepted = [i for i in items_a + items_b if i.final and i.final.code == 250]
    ok = wait_all(ctx, nodes, [i.ident for i in accepted], 120)
    sink = ctx.sink.by_id(PREFIX)
    probs = []
    for i in accepted:
        msgs = sink.get(i.ident, [])
        probs += ["%s: %s" % (i.ident, p) for p in judge_delivered(ctx, i, msgs)]
        if msgs and b"X-Mugai-Status:" not in h.header_block(msgs[0].data):
            probs.append("%s: no X-Mugai-Status field at the sink" % i.ident)
    ctx.ok(ok and not probs, "each is delivered once, sanitized, with its envelope",
           probs[:20] + ([] if ok else [n.name + ": " + l for n in nodes for l in n.postfix.mailq()[-5:]]))

    entries, probs = store_list(ctx, b.conf)
    ids = [e.get("id") for e in entries]
    dup_ids = sorted({x for x in ids if ids.count(x) > 1})
    ctx.ok(not probs and not dup_ids and len(entries) >= len(accepted),
           "`mugai quarantine list --json` through node B's configuration lists %d entries, "
           "ids unique" % len(entries), probs + ["ids listed twice: %s" % dup_ids] * bool(dup_ids))
    idx = by_message_id(entries)
    probs = []
    for node, its in ((a, items_a), (b, items_b)):
        for i in its:
            es = idx.get(i.ident, [])
            if len(es) != 1:
                probs.append("%s: %d entries" % (i.ident, len(es)))
                continue
            e = es[0]
            if e.get("node") != node.name:
                probs.append("%s: node %r, expected %s" % (i.ident, e.get("node"), node.name))
            if i.final and e.get("queue_id") != i.final.qid:
                probs.append("%s: queue_id %s, Postfix said %s" % (i.ident, e.get("queue_id"), i.final.qid))
            if e.get("sender") != i.sender or e.get("recipients") != i.rcpts:
                probs.append("%s: envelope %s %s" % (i.ident, e.get("sender"), e.get("recipients")))
    ctx.ok(not probs, "each message accepted by node A or B is one entry there, naming its node, "
           "its queue id and its envelope", probs[:20])

    # node A's originals, extracted with node B's configuration
    probs = []
    for i in items_a:
        es = idx.get(i.ident, [])
        if len(es) != 1:
            continue
        rc, data, err = mugai(ctx, "quarantine", "extract", es[0]["id"], "--config", b.conf)
        if rc != 0:
            probs.append("%s: extract %s: exit %s: %s" % (i.ident, es[0]["id"], rc, err.strip()[-200:]))
            continue
        probs += ["%s: %s" % (i.ident, p) for p in original_problems(data, i)]
        if hashlib.sha256(data).hexdigest() != es[0].get("sha256"):
            probs.append("%s: sha256 of the octets extracted is not the entry's" % i.ident)
    ctx.ok(not probs and len(items_a) == 6,
           "`mugai quarantine extract ID` through node B's configuration gives node A's 6 "
           "originals byte for byte (the message as the client sent it), each the entry's sha256",
           probs[:20])
    for n in nodes:
        rc, out, err = mugai(ctx, "quarantine", "check", "--config", n.conf)
        text = out.decode("utf-8", "replace").strip()
        ctx.ok(rc == 0 and "every original as recorded" in text,
               "`mugai quarantine check` through %s's configuration: intact" % n.name,
               text.splitlines()[-5:] + [err.strip()[-300:]])

    # -- 2. the database killed while mail flows through node A, then
    # stopped while mail flows through node B
    outage(ctx, cluster, a, b, "kill", "k")
    outage(ctx, cluster, b, a, "stop", "s", n_queued=20, n_direct=10, n_late=5)

    # -- 3. node A's storer stops while the database is away: what it
    # could not copy to the audit table, the next one copies
    restart_while_down(ctx, cluster, a)

    # -- 4. a message node A accepted, released through node B
    release_through(ctx, items_a[0], a, b)

    # every record of each node's log is also a row of the database's
    # audit table (the storer copies them; those written while the
    # database was away once it is back)
    for n in nodes:
        want = audit_rows_of_file(n.milter.audit)

        def same():
            return audit_rows_of_table(cluster, n.name) == want  # noqa: B023 - called at once
        got = h.wait_until(same, 60, step=1.0)
        have = audit_rows_of_table(cluster, n.name)
        first = next((k for k in range(max(len(want), len(have)))
                      if k >= len(want) or k >= len(have) or want[k] != have[k]), None)
        ctx.ok(want and got, "the database's audit table holds %s's %d records, seq, hash and line "
               "as in its log file" % (n.name, len(want)),
               ["file: %d records, table: %d rows; first difference at record %s: file %s, table %s"
                % (len(want), len(have), first, want[first] if first is not None and first < len(want) else "-",
                   have[first] if first is not None and first < len(have) else "-")] if not got else [])
    for n in nodes:
        rc, out, err = mugai(ctx, "audit", "verify", "--config", n.conf)
        ctx.ok(rc == 0, "`mugai audit verify --config` passes on %s's audit log" % n.name,
               (out.decode("utf-8", "replace") + err).strip().splitlines()[-5:])
    for n in nodes:
        with open(n.milter.log, "rb") as f:
            log = f.read().decode("utf-8", "replace")
        died = [l for l in log.splitlines() if re.search(r"\bpid=\d+ died\b", l)]
        ctx.ok(not died, "no role of %s's mugai-milter died (the database going away included)"
               % n.name, died[:5])
    for n in nodes:
        leftover_check(ctx, n.milter, "nothing of %s's mugai-milter is left running" % n.name)


def outage(ctx, cluster, node, other, how, tag, n_queued=40, n_direct=20, n_late=10):
    """The database goes away (how: "kill", SIGKILL to the postmaster, or
    "stop", a fast shutdown that ends every session and removes the
    socket) while mail flows through node, and comes back."""
    pf = node.postfix
    offset = pf.log_offset()
    pre = "%s%s" % (PREFIX, tag)
    # Postfix's own retry: through the node's queueing hop (no milter) to
    # its smtpd with the milter; and an SMTP client that retries a 4xx
    # itself, straight to that smtpd
    queued = [item("%sq-%02d" % (pre, i), pf.hop_port) for i in range(1, n_queued + 1)]
    direct = [item("%sd-%02d" % (pre, i), pf.smtp_port) for i in range(1, n_direct + 1)]
    late = [item("%sl-%02d" % (pre, i), pf.hop_port) for i in range(1, n_late + 1)]
    hop = Sender(pf.hop_port, queued, sessions=2).start()
    cli = Sender(pf.smtp_port, direct, sessions=2, retry=True, deadline=time.monotonic() + 400,
                 pause=1.0).start()
    # under load: some of both have gone through the milter when it goes
    h.wait_until(lambda: cli.completed >= 3 and len(ctx.sink.by_id(pre + "q-")) >= 3, 120, step=0.02)
    at_kill = (cli.completed, len(ctx.sink.by_id(pre + "q-")))
    what = {"kill": "killed (SIGKILL to the postmaster)", "stop": "stopped (fast shutdown)"}[how]
    try:
        getattr(cluster, how)()
    except Exception as e:  # noqa: BLE001
        ctx.ok(False, "the database is %s" % what, [str(e)])
        return
    before = {k: len(v) for k, v in ctx.sink.by_id(pre).items()}
    ctx.diag("pgnodes: database %s with %d direct messages answered and %d queued ones "
             "delivered" % ((what,) + at_kill))
    # more mail arrives while it is down
    hop2 = Sender(pf.hop_port, late, sessions=1).start()
    deferred = re.compile(r"relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d.*status=deferred \((.*)\)"
                          % pf.relayin_port)
    seen = h.wait_until(lambda: deferred.search(pf.log_text(offset)), 90)
    ctx.ok(seen and "451 4.7.0" in seen.group(1),
           "database %s: Postfix's delivery through %s's milter is deferred with mugai's 451 4.7.0"
           % (how, node.name), [seen.group(1)] if seen else h.tail(pf.log, offset, lines=10))

    def tempfailed():
        with cli.lock:
            return [r for i in direct for r in i.results if r.klass == "4xx"]
    t4 = h.wait_until(tempfailed, 90)
    ctx.ok(t4 and all(r.code == 451 and (r.text or "").startswith("4.7.0") for r in t4),
           "database %s: the SMTP client gets 451 4.7.0 (%d so far: %s)"
           % (how, len(t4 or []), t4[0] if t4 else "none"),
           [str(r) for r in (t4 or []) if r.code != 451][:5])
    hop.join(120)
    hop2.join(120)
    # the other node, whose database is the same, tempfails as well
    probe = item("%sdown-%s" % (pre, other.name), other.postfix.smtp_port)
    snd = Sender(None, [probe], sessions=1).start()
    snd.join(120)
    ctx.ok(probe.final and probe.final.klass == "4xx",
           "database %s: %s tempfails as well (%s)" % (how, other.name, probe.final))
    # what reached the sink while it was down: messages stored before it went
    during = sum(n - before.get(k, 0) for k, n in
                 ((k, len(v)) for k, v in ctx.sink.by_id(pre).items()))

    try:
        cluster.start()
    except Exception as e:  # noqa: BLE001
        ctx.ok(False, "the database starts again", [str(e)])
        return
    for n in (node, other):
        n.postfix.flush()
    finished = cli.join(400)
    bad = ["%s: %s" % (i.ident, " | ".join(str(r) for r in i.results))
           for i in direct if not (i.final and i.final.code == 250)]
    ctx.ok(finished and not bad, "database started again: the client's retries are accepted "
           "(%d of %d needed more than one attempt)" % (sum(len(i.results) > 1 for i in direct), len(direct)),
           bad[:10])
    bad = ["%s: %s" % (i.ident, i.final) for i in queued + late if not (i.final and i.final.code == 250)]
    ctx.ok(not bad, "%s's queueing hop accepted the %d queued messages" % (node.name, len(queued + late)),
           bad[:10])
    want = [i.ident for i in queued + late + direct if i.final and i.final.code == 250]
    ok = wait_all(ctx, [node, other], want, 300, flush=True)
    sink = ctx.sink.by_id(pre)
    lost = [x for x in want if x not in sink]
    dups = sorted(k for k, v in sink.items() if len(v) > 1)
    stray = sorted(k for k in sink if k not in want)
    ctx.ok(ok and not lost and not dups and not stray,
           "every message is delivered exactly once (%d; %d of them reached the sink while the "
           "database was down)" % (len(want), during),
           ["lost: %s" % lost] * bool(lost) + ["at the sink more than once: %s" % dups] * bool(dups)
           + ["delivered, never accepted: %s" % stray] * bool(stray)
           + ([] if ok else ["queue: " + l for l in pf.mailq()[-10:]]))
    probs = []
    for i in queued + late + direct:
        if i.ident in sink:
            probs += ["%s: %s" % (i.ident, p) for p in judge_delivered(ctx, i, sink[i.ident])]
    ctx.ok(not probs, "each is sanitized, with its envelope", probs[:20])

    # nothing was delivered unstored: an entry is never removed here, so
    # one missing now was never written
    entries, probs = store_list(ctx, other.conf)
    idx = by_message_id(entries)
    all_sink = ctx.sink.by_id(PREFIX)
    unstored = sorted(k for k in all_sink if not idx.get(k))
    ctx.ok(not probs and not unstored,
           "every message at the sink has its original in the store (%d)" % len(all_sink),
           probs + ["not in the store: %s" % unstored] * bool(unstored))
    probs, several = [], []
    for i in queued + late + direct:
        es = idx.get(i.ident, [])
        if not es:
            probs.append("%s: not in the store" % i.ident)
        elif any(e.get("node") != node.name for e in es):
            probs.append("%s: stored by %s" % (i.ident, sorted({e.get("node") for e in es})))
        elif len(es) > 1:
            several.append("%s: %d" % (i.ident, len(es)))
    ctx.ok(not probs, "each message sent through %s is stored, by %s" % (node.name, node.name), probs[:20])
    if several:
        # a commit whose answer was lost when the database went: the
        # storer said 451, the retry was stored again (nothing lost)
        ctx.diag("pgnodes: stored more than once (an attempt committed, its answer lost): %s"
                 % ", ".join(several))
    ids = [e.get("id") for e in entries]
    ctx.ok(len(ids) == len(set(ids)), "ids stay unique across both nodes (%d entries)" % len(ids))
    for n in (node, other):
        rc, out, err = mugai(ctx, "quarantine", "check", "--config", n.conf)
        text = out.decode("utf-8", "replace").strip()
        ctx.ok(rc == 0 and "every original as recorded" in text,
               "`mugai quarantine check` through %s's configuration: intact" % n.name,
               text.splitlines()[-5:] + [err.strip()[-300:]])
    with open(node.milter.log, "rb") as f:
        log = f.read()[-200000:].decode("utf-8", "replace")
    lines = [l for l in log.splitlines() if "storer:" in l and "PostgreSQL" in l]
    ctx.diag("pgnodes: %s's storer on the outage: %s" % (node.name, lines[-1][-300:] if lines else "(nothing logged)"))

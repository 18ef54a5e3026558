/*
 * node.h - the node's own settings: where it listens, as whom, where it writes
 *
 * DESCRIPTION
 *	MugaiNodeSettings is what one mugai installation is, apart from what
 *	it does with a message (MugaiPolicy, src/core/policy.h): the milter
 *	socket and who may reach it, the user the daemon becomes, the
 *	workers and their bounds, the spool, the pid file, the quarantine,
 *	the audit log, how often the pool looks for a new ClamAV database.
 *	The store's database DSNs and the portal's secrets are to come here.
 *	config.c fills it from mugai.conf in the same parse as the policy.
 *
 *	The core never sees it: src/config/ is above src/core/ (README,
 *	Layout), so the core's include path does not have this header and
 *	no core source or header can name the type; the policy the core is
 *	handed has no member that could hold a node setting.  Each process
 *	takes from it only what it needs (mugai-milter.c, pool.c, worker.h).
 *
 *	A secret added here must be wiped when it is freed: every child
 *	forked from the supervisor starts with a copy of its memory.
 *
 * OWNERSHIP
 *	A MugaiNodeSettings owns its strings; mugai_node_settings_free()
 *	accepts NULL.
 */
#pragma once

#include <glib.h>

/* [milter]: the daemon's processes.  The command reads message_timeout
 * too (its deadline per message, as a worker's). */
typedef struct
{
  char *socket; /* "unix:/run/mugai/milter.sock" or "inet:PORT@HOST" */
  char *user;   /* the front (and every role whose own user is unset); NULL: keep the
                 * starting user */
  char *group;
  char *worker_user;     /* the pool and its workers; NULL: user */
  char *storer_user;     /* the storer, owner of the quarantine and the audit log; NULL: user */
  char *run_dir;         /* the roles' sockets and reload files: the supervisor's, 0755 */
  char *socket_group;    /* the milter socket's group (Postfix's way in); NULL: group */
  char *pid_file;        /* NULL: none */
  char *spool_dir;       /* large messages spill here */
  gsize spool_threshold; /* octets held in memory before spilling */
  guint workers;         /* worker processes */
  gsize worker_memory;   /* address-space limit of one worker */
  guint message_timeout; /* seconds one worker may spend on one message */
  guint queue_timeout;   /* seconds a message may wait for a free worker */
  guint worker_messages; /* messages a worker handles before it is replaced */
} MugaiMilterSettings;

/* [quarantine] backend */
typedef enum
{
  MUGAI_BACKEND_SQLITE,     /* index in dir/index.sqlite, originals as files */
  MUGAI_BACKEND_FILES,      /* the plain files of mugai before 2026-12 */
  MUGAI_BACKEND_POSTGRESQL, /* everything in the database of dsn_file */
} MugaiBackendKind;

/* [release] on_approve */
typedef enum
{
  MUGAI_ON_APPROVE_WAIT, /* an approved message waits for `mugai quarantine release` */
  MUGAI_ON_APPROVE_SEND, /* the last approval sends it */
} MugaiOnApprove;

typedef struct
{
  char *relay;         /* smtp://HOST:PORT the released mail is re-injected to */
  char *helo;          /* the name said in EHLO; NULL: the host name */
  guint approvals;     /* 1 or 2 distinct approvers */
  guint request_days;  /* a request waits this long, then expires */
  int on_approve;      /* MugaiOnApprove */
  char *notify;        /* where approvers are told of a request (addresses,
                        * comma-separated); NULL: no one */
  char *from;          /* the notices' From and envelope sender */
  guint retry_minutes; /* a 4xx is retried for this long, then the release fails */
} MugaiReleaseSettings;

typedef struct
{
  MugaiMilterSettings milter;
  MugaiReleaseSettings release;
  char *node_name;           /* [milter] node_name: this node's name in records (the host name) */
  int quarantine_backend;    /* [quarantine] backend: MugaiBackendKind */
  char *quarantine_dsn_file; /* [quarantine] dsn_file: libpq conninfo, the storer's alone */
  char *quarantine_dir;      /* [quarantine] dir */
  guint keep_days;           /* [quarantine] keep_days: the storer purges older entries
                              * once a day; 0: never */
  char *audit_file;          /* [audit] file */
  gboolean audit_syslog;     /* [audit] syslog */
  guint clamav_reload;       /* [clamav] reload_check: seconds between the pool's looks at the
                              * database (the core loads what it is given, once) */
} MugaiNodeSettings;

MugaiNodeSettings *mugai_node_settings_new_default (void);
void mugai_node_settings_free (MugaiNodeSettings *node);

/* The store's location (quarantine.h) these settings name:
 * "sqlite:DIR", "file:DIR" or "postgresql:DSN_FILE". */
char *mugai_node_store_location (const MugaiNodeSettings *node);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MugaiNodeSettings, mugai_node_settings_free)

/*
 * node.c - the node's own settings: the built-in defaults
 *
 * DESCRIPTION
 *	The values mugai.conf(5) documents for [milter], [quarantine],
 *	[audit] and [clamav] reload_check; config.c overrides them from the
 *	file.  The bounds come from mugai-limits.h, with the reasons.
 */
#include "node.h"

#include "mugai-limits.h"

MugaiNodeSettings *
mugai_node_settings_new_default (void)
{
  MugaiNodeSettings *node = g_new0 (MugaiNodeSettings, 1);
  node->milter = (MugaiMilterSettings){
    .socket = g_strdup ("unix:/run/mugai/milter.sock"),
    .spool_dir = g_strdup ("/var/lib/mugai/spool"),
    .run_dir = g_strdup ("/run/mugai-milter"),
    .spool_threshold = MUGAI_LIMIT_SPOOL_THRESHOLD,
    .workers = MUGAI_DEFAULT_WORKERS,
    .worker_memory = MUGAI_LIMIT_WORKER_MEMORY,
    .message_timeout = MUGAI_LIMIT_MESSAGE_TIMEOUT,
    .queue_timeout = MUGAI_LIMIT_QUEUE_TIMEOUT,
    .worker_messages = MUGAI_DEFAULT_WORKER_MESSAGES,
  };
  node->quarantine_dir = g_strdup ("/var/lib/mugai/quarantine");
  node->quarantine_backend = MUGAI_BACKEND_SQLITE;
  node->quarantine_dsn_file = g_strdup ("/etc/mugai/quarantine.dsn");
  node->node_name = g_strdup (g_get_host_name ());
  node->release = (MugaiReleaseSettings){
    .relay = g_strdup ("smtp://127.0.0.1:10026"),
    .approvals = 1,
    .request_days = 14,
    .on_approve = MUGAI_ON_APPROVE_WAIT,
    .from = g_strdup_printf ("postmaster@%s", g_get_host_name ()),
    .retry_minutes = 24 * 60,
  };
  node->keep_days = MUGAI_DEFAULT_KEEP_DAYS;
  node->audit_file = g_strdup ("/var/log/mugai/audit.jsonl");
  node->audit_syslog = TRUE;
  node->clamav_reload = 60;
  return node;
}

void
mugai_node_settings_free (MugaiNodeSettings *node)
{
  if (!node)
    return;
  g_free (node->milter.socket);
  g_free (node->milter.user);
  g_free (node->milter.group);
  g_free (node->milter.socket_group);
  g_free (node->milter.worker_user);
  g_free (node->milter.storer_user);
  g_free (node->milter.run_dir);
  g_free (node->milter.pid_file);
  g_free (node->milter.spool_dir);
  g_free (node->quarantine_dir);
  g_free (node->quarantine_dsn_file);
  g_free (node->node_name);
  g_free (node->release.relay);
  g_free (node->release.helo);
  g_free (node->release.notify);
  g_free (node->release.from);
  g_free (node->audit_file);
  g_free (node);
}

char *
mugai_node_store_location (const MugaiNodeSettings *node)
{
  switch (node->quarantine_backend)
    {
    case MUGAI_BACKEND_FILES:
      return g_strconcat ("file:", node->quarantine_dir, NULL);
    case MUGAI_BACKEND_POSTGRESQL:
      return g_strconcat ("postgresql:", node->quarantine_dsn_file, NULL);
    default:
      return g_strconcat ("sqlite:", node->quarantine_dir, NULL);
    }
}

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
  g_free (node->audit_file);
  g_free (node);
}

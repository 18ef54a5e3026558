/*
 * audit-verify.c - mugai audit verify [--config FILE] [LOG...]: is the
 *                  audit log's hash chain intact (audit-chain.h)?
 *
 * DESCRIPTION
 *	Without LOG, the configured [audit] file and the files logrotate
 *	made of it (FILE.N ... FILE.1, oldest first; compressed ones cannot
 *	be read and are named), checked against FILE.checkpoint when it is
 *	there.  With LOG..., those files in the order given, and no
 *	checkpoint unless --checkpoint names one.
 *
 * EXIT STATUS
 *	0 intact, 1 a record changed, removed or reordered, a file truncated
 *	or replaced (the first such place is printed), 64 usage.
 */
#include "audit-verify.h"

#include <stdio.h>
#include <string.h>

#include "audit-chain.h"
#include "config.h"
#include "quarantine.h"

int
mugai_cmd_audit (int argc, char **argv)
{
  g_autofree char *config = NULL;
  g_autofree char *checkpoint = NULL;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config, "Configuration file", "FILE" },
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &checkpoint, "The checkpoint to hold it to",
      "FILE" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("verify [LOG...] - check the audit chain");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc < 2
      || !g_str_equal (argv[1], "verify"))
    {
      fprintf (stderr, "usage: mugai audit verify [--config FILE] [--checkpoint FILE] [LOG...]\n");
      return 64;
    }
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  /* the store's checkpoint of this node, when the configured log is read */
  MugaiAuditHead stored = { 0 };
  g_autofree char *stored_where = NULL;
  if (argc > 2)
    for (int i = 2; i < argc; i++)
      g_ptr_array_add (files, g_strdup (argv[i]));
  else
    {
      g_autoptr (MugaiConfig) loaded = mugai_config_load (config, &error);
      if (!loaded)
        {
          fprintf (stderr, "mugai: configuration: %s\n", error->message);
          return 1;
        }
      const char *log = loaded->node->audit_file;
      int n = 1;
      while (n < 10000)
        {
          g_autofree char *rotated = g_strdup_printf ("%s.%d", log, n);
          g_autofree char *gz = g_strconcat (rotated, ".gz", NULL);
          if (g_file_test (gz, G_FILE_TEST_EXISTS))
            fprintf (stderr, "mugai audit: %s is compressed: not read (gunzip it to check it)\n",
                     gz);
          else if (!g_file_test (rotated, G_FILE_TEST_EXISTS))
            break;
          n++;
        }
      for (int i = n - 1; i >= 1; i--)
        {
          char *rotated = g_strdup_printf ("%s.%d", log, i);
          if (g_file_test (rotated, G_FILE_TEST_EXISTS))
            g_ptr_array_add (files, rotated);
          else
            g_free (rotated);
        }
      g_ptr_array_add (files, g_strdup (log));
      if (!checkpoint)
        {
          g_autofree char *cp = g_strconcat (log, ".checkpoint", NULL);
          if (g_file_test (cp, G_FILE_TEST_EXISTS))
            checkpoint = g_steal_pointer (&cp);
        }
      /* the store keeps the checkpoint too, out of the log's directory */
      g_autofree char *location = mugai_node_store_location (loaded->node);
      g_autoptr (GError) none = NULL;
      g_autoptr (MugaiStore) q = mugai_store_open (location, MUGAI_STORE_EXISTING, &none);
      g_autofree char *hash = NULL;
      if (q && mugai_store_checkpoint_get (q, loaded->node->node_name, &stored.seq, &hash, &none)
          && strlen (hash) == MUGAI_AUDIT_HASH_HEX)
        {
          memcpy (stored.hash, hash, sizeof stored.hash);
          stored_where = g_strdup_printf ("the checkpoint in %s (node %s)", location,
                                          loaded->node->node_name);
        }
    }
  g_ptr_array_add (files, NULL);
  guint64 records = 0;
  g_autofree char *problem = NULL;
  if (!mugai_audit_verify ((const char *const *)files->pdata, checkpoint, &records, &problem)
      || (stored_where
          && !mugai_audit_verify_head ((const char *const *)files->pdata, &stored, stored_where,
                                       &records, &problem)))
    {
      printf ("NOT INTACT: %s\n", problem);
      return 1;
    }
  printf ("intact: %" G_GUINT64_FORMAT " chained records in %u file(s)%s%s%s%s\n", records,
          files->len - 1, checkpoint ? ", up to the checkpoint " : "", checkpoint ? checkpoint : "",
          stored_where ? " and to " : "", stored_where ? stored_where : "");
  return 0;
}

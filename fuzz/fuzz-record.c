/*
 * fuzz-record.c - libFuzzer target: the report's wire reader (report.c)
 *                 and the store's record reader (quarantine.c)
 *
 * DESCRIPTION
 *	The input is, as it is, the report text a worker sent and, cut at
 *	its first NUL (the files backend reads a record into a
 *	NUL-terminated buffer), a record file of the store.  A report the
 *	reader accepts must pass the check again and come back equal from
 *	its own wire form; a record the reader accepts must be written and
 *	read back to an entry with the same id, time, state and report.
 *	Anything else the readers say must be an error, never a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "store-backend.h"
#include "fuzz-common.h"

#define ID "20261122T004644Z-0123456789ab"

static void
fuzz_report (const char *text, gsize len)
{
  GError *error = NULL;
  JsonNode *node = mugai_report_node_from_text (text, len, &error);
  if (!node)
    {
      if (!error || error->domain != MUGAI_REPORT_ERROR)
        abort ();
      g_error_free (error);
      return;
    }
  if (!mugai_report_node_check (node, NULL))
    abort ();
  char *again = mugai_report_node_to_text (node);
  JsonNode *back = mugai_report_node_from_text (again, strlen (again), NULL);
  if (!back || !json_node_equal (node, back))
    abort ();
  json_node_unref (back);
  g_free (again);
  json_node_unref (node);
}

static void
fuzz_record (const char *text)
{
  GError *error = NULL;
  MugaiStoreEntry *e = mugai_store_entry_from_json (text, strlen (text), ID, "fuzz", &error);
  if (!e)
    {
      if (!error || error->domain != MUGAI_STORE_ERROR)
        abort ();
      g_error_free (error);
      return;
    }
  char *json = mugai_store_entry_to_json (e, TRUE);
  MugaiStoreEntry *back = mugai_store_entry_from_json (json, strlen (json), ID, "fuzz", NULL);
  if (!back || back->time != e->time || back->state != e->state || back->size != e->size
      || (e->report == NULL) != (back->report == NULL)
      || (e->report && !json_node_equal (e->report, back->report)))
    abort ();
  mugai_store_entry_free (back);
  g_free (json);
  mugai_store_entry_free (e);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  fuzz_report ((const char *)data, size);
  char *text = g_strndup ((const char *)data, size);
  fuzz_record (text);
  g_free (text);
  return 0;
}

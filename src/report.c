/*
 * report.c - the per-message report and its JSON form
 *
 * DESCRIPTION
 *	JSON is written with json-glib, so every string from the mail is
 *	escaped by the library.  The format is versioned by the
 *	"mugai_version" member and documented in mugai(1).
 */
#include "report.h"

#include <json-glib/json-glib.h>

#include "mugai-build.h"

void
mugai_entry_report_free (gpointer data)
{
  MugaiEntryReport *e = data;
  g_free (e->name);
  g_free (e->type);
  g_free (e->danger);
  g_free (e);
}

static void
part_report_free (gpointer data)
{
  MugaiPartReport *p = data;
  g_free (p->path);
  g_free (p->declared_type);
  g_free (p->detected_type);
  g_free (p->filename);
  g_free (p->sha256);
  g_free (p->charset);
  g_free (p->detail);
  g_free (p->type_label);
  g_free (p->true_type);
  if (p->entries)
    g_ptr_array_unref (p->entries);
  g_free (p);
}

MugaiReport *
mugai_report_new (void)
{
  MugaiReport *report = g_new0 (MugaiReport, 1);
  report->findings = g_ptr_array_new_with_free_func ((GDestroyNotify) mugai_finding_free);
  report->parts = g_ptr_array_new_with_free_func (part_report_free);
  report->verdict = MUGAI_VERDICT_CLEAN;
  return report;
}

void
mugai_report_free (MugaiReport *report)
{
  if (!report)
    return;
  g_ptr_array_unref (report->findings);
  g_ptr_array_unref (report->parts);
  g_free (report->message_id);
  g_free (report->subject);
  g_free (report->status);
  g_free (report->output_charset);
  g_free (report->virus);
  g_free (report);
}

MugaiPartReport *
mugai_report_add_part (MugaiReport *report, const char *path, const char *kind)
{
  MugaiPartReport *p = g_new0 (MugaiPartReport, 1);
  p->path = g_strdup (path);
  p->kind = kind;
  p->reason = MUGAI_REASON_NONE;
  p->action = MUGAI_ACTION_KEEP;
  g_ptr_array_add (report->parts, p);
  return p;
}

void
mugai_report_add_finding (MugaiReport *report, MugaiFinding *finding)
{
  g_ptr_array_add (report->findings, finding);
}

const MugaiFinding *
mugai_report_reject_finding (const MugaiReport *report)
{
  /* Findings that reject are recorded with the reject; the policy that
   * decided is not needed again here: the part record says REJECT. */
  for (guint i = 0; i < report->parts->len; i++)
    {
      const MugaiPartReport *p = report->parts->pdata[i];
      if (p->action != MUGAI_ACTION_REJECT)
        continue;
      for (guint j = 0; j < report->findings->len; j++)
        {
          const MugaiFinding *f = report->findings->pdata[j];
          if (g_str_equal (f->path, p->path) && (int) f->category == p->reason)
            return f;
        }
    }
  for (guint j = 0; j < report->findings->len; j++)
    {
      const MugaiFinding *f = report->findings->pdata[j];
      if (f->path[0] == '\0')
        return f;
    }
  return NULL;
}

void
mugai_json_add_strings (JsonBuilder *b, const char *name, GPtrArray *values)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (guint i = 0; values && i < values->len; i++)
    {
      g_autofree char *valid = g_utf8_make_valid (values->pdata[i], -1);
      json_builder_add_string_value (b, valid);
    }
  json_builder_end_array (b);
}

const char *
mugai_verdict_name (MugaiVerdict verdict)
{
  switch (verdict)
    {
    case MUGAI_VERDICT_CLEAN:
      return "clean";
    case MUGAI_VERDICT_SANITIZED:
      return "sanitized";
    case MUGAI_VERDICT_REJECT:
      return "reject";
    case MUGAI_VERDICT_TEMPFAIL:
      return "tempfail";
    case MUGAI_VERDICT_DISCARD:
      return "discard";
    case MUGAI_VERDICT_HOLD:
      return "hold";
    }
  return "unknown";
}

void
mugai_json_add_string (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value)
    {
      /* JSON is UTF-8: never let a raw octet from the mail through */
      g_autofree char *valid = g_utf8_make_valid (value, -1);
      json_builder_add_string_value (b, valid);
    }
  else
    json_builder_add_null_value (b);
}

char *
mugai_report_to_json (const MugaiReport *report, gboolean pretty)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  mugai_json_add_string (b, "mugai_version", MUGAI_VERSION);
  mugai_json_add_string (b, "verdict", mugai_verdict_name (report->verdict));
  mugai_json_add_string (b, "status", report->status);
  mugai_json_add_string (b, "message_id", report->message_id);
  mugai_json_add_string (b, "subject", report->subject);
  mugai_json_add_string (b, "output_charset", report->output_charset);
  mugai_json_add_string (b, "virus", report->virus);
  json_builder_set_member_name (b, "removed");
  json_builder_add_int_value (b, report->removed);
  json_builder_set_member_name (b, "converted");
  json_builder_add_int_value (b, report->converted);

  json_builder_set_member_name (b, "reasons");
  json_builder_begin_array (b);
  for (guint i = 0; i < report->findings->len; i++)
    {
      const MugaiFinding *f = report->findings->pdata[i];
      json_builder_begin_object (b);
      mugai_json_add_string (b, "category", mugai_finding_category_name (f->category));
      mugai_json_add_string (b, "path", f->path);
      mugai_json_add_string (b, "detail", f->detail);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "parts");
  json_builder_begin_array (b);
  for (guint i = 0; i < report->parts->len; i++)
    {
      const MugaiPartReport *p = report->parts->pdata[i];
      json_builder_begin_object (b);
      mugai_json_add_string (b, "path", p->path);
      mugai_json_add_string (b, "kind", p->kind);
      mugai_json_add_string (b, "declared_type", p->declared_type);
      mugai_json_add_string (b, "detected_type", p->detected_type);
      mugai_json_add_string (b, "filename", p->filename);
      json_builder_set_member_name (b, "size");
      json_builder_add_int_value (b, (gint64) p->size);
      mugai_json_add_string (b, "sha256", p->sha256);
      mugai_json_add_string (b, "charset", p->charset);
      mugai_json_add_string (b, "action", mugai_action_name (p->action));
      mugai_json_add_string (b, "reason", p->reason == MUGAI_REASON_NONE
                                      ? NULL
                                      : mugai_finding_category_name ((MugaiFindingCategory) p->reason));
      mugai_json_add_string (b, "detail", p->detail);
      mugai_json_add_string (b, "true_type", p->true_type);
      mugai_json_add_string (b, "type_label", p->type_label);
      if (p->entries)
        {
          json_builder_set_member_name (b, "entries_total");
          json_builder_add_int_value (b, p->entries_total);
          json_builder_set_member_name (b, "entries");
          json_builder_begin_array (b);
          for (guint e = 0; e < p->entries->len; e++)
            {
              const MugaiEntryReport *er = p->entries->pdata[e];
              json_builder_begin_object (b);
              mugai_json_add_string (b, "name", er->name);
              json_builder_set_member_name (b, "size");
              json_builder_add_int_value (b, er->size);
              mugai_json_add_string (b, "type", er->type);
              mugai_json_add_string (b, "danger", er->danger);
              json_builder_set_member_name (b, "encrypted");
              json_builder_add_boolean_value (b, er->encrypted);
              json_builder_end_object (b);
            }
          json_builder_end_array (b);
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);

  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, pretty);
  return json_generator_to_data (gen, NULL);
}

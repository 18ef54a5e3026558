/*
 * report.c - the per-message report and its JSON form
 *
 * DESCRIPTION
 *	JSON is written with json-glib, so every string from the mail is
 *	escaped by the library.  The format is versioned by the
 *	"mugai_version" member and documented in mugai(1).
 *
 * LIMITS
 *	A report is at most MUGAI_LIMIT_REPORT_SIZE octets (it must fit the
 *	worker's IPC frame and is stored with every original): each entry
 *	is measured before it is added; the first ones that fit are
 *	written, and what is left out is counted in one summary at the end.
 *
 *	The report leaves the worker as data: mugai_report_to_node() builds
 *	the object once; between processes it travels as the compact text
 *	of mugai_report_node_to_text() and is taken back only through
 *	mugai_report_node_from_text(), which refuses anything larger than
 *	the limit or shaped otherwise than this file writes.  No other code
 *	parses report text.
 */
#include "report.h"

#include <json-glib/json-glib.h>

#include <string.h>

#include "mugai-build.h"
#include "mugai-limits.h"
#include "notice.h"

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
  report->findings = g_ptr_array_new_with_free_func ((GDestroyNotify)mugai_finding_free);
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
          if (g_str_equal (f->path, p->path) && (int)f->category == p->reason)
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

static JsonNode *
finding_node (const MugaiFinding *f)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  mugai_json_add_string (b, "category", mugai_finding_category_name (f->category));
  mugai_json_add_string (b, "path", f->path);
  mugai_json_add_string (b, "detail", f->detail);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static JsonNode *
part_node (const MugaiPartReport *p)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  mugai_json_add_string (b, "path", p->path);
  mugai_json_add_string (b, "kind", p->kind);
  mugai_json_add_string (b, "declared_type", p->declared_type);
  mugai_json_add_string (b, "detected_type", p->detected_type);
  mugai_json_add_string (b, "filename", p->filename);
  json_builder_set_member_name (b, "size");
  json_builder_add_int_value (b, (gint64)p->size);
  mugai_json_add_string (b, "sha256", p->sha256);
  mugai_json_add_string (b, "charset", p->charset);
  mugai_json_add_string (b, "action", mugai_action_name (p->action));
  mugai_json_add_string (b, "reason",
                         p->reason == MUGAI_REASON_NONE
                             ? NULL
                             : mugai_finding_category_name ((MugaiFindingCategory)p->reason));
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
  return json_builder_get_root (b);
}

/* Octets the node takes in the whole document: its own text, a comma,
 * and, when pretty, two more levels of indentation (2 spaces each) on
 * each of its lines. */
static gsize
node_cost (JsonNode *node, gboolean pretty)
{
  g_autofree char *text = json_to_string (node, pretty);
  gsize cost = strlen (text) + 2;
  if (pretty)
    for (const char *c = text; *c; c++)
      if (*c == '\n')
        cost += 4;
  return cost + (pretty ? 8 : 0);
}

/* The members before "reasons". */
static void
add_head (JsonBuilder *b, const MugaiReport *report)
{
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
}

static char *
generate (JsonBuilder *b, gboolean pretty)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, pretty);
  return json_generator_to_data (gen, NULL);
}

/* How many of the first nodes of `all`, in order, fit in *budget (each
 * costed by node_cost); *budget is left with what they did not use. */
static guint
fitting (GPtrArray *all, gboolean pretty, gsize *budget)
{
  guint n = 0;
  for (; n < all->len; n++)
    {
      gsize cost = node_cost (all->pdata[n], pretty);
      if (cost > *budget)
        break;
      *budget -= cost;
    }
  return n;
}

/* What is left out, in one line at the end of the report. */
#define SUMMARY_RESERVE 512

static JsonNode *
to_node (const MugaiReport *report, gboolean pretty, gsize limit)
{
  g_autoptr (GPtrArray) reasons = g_ptr_array_new_with_free_func ((GDestroyNotify)json_node_unref);
  g_autoptr (GPtrArray) parts = g_ptr_array_new_with_free_func ((GDestroyNotify)json_node_unref);
  for (guint i = 0; i < report->findings->len; i++)
    g_ptr_array_add (reasons, finding_node (report->findings->pdata[i]));
  for (guint i = 0; i < report->parts->len; i++)
    g_ptr_array_add (parts, part_node (report->parts->pdata[i]));

  /* the head alone, to know what is left for the lists */
  g_autoptr (JsonBuilder) hb = json_builder_new ();
  json_builder_begin_object (hb);
  add_head (hb, report);
  json_builder_end_object (hb);
  g_autofree char *head = generate (hb, pretty);
  gsize fixed = strlen (head) + SUMMARY_RESERVE + 64;
  gsize budget = limit > fixed ? limit - fixed : 0;
  /* findings first, but at most half of the room: the parts say more */
  gsize reasons_budget = budget / 2;
  guint n_reasons = fitting (reasons, pretty, &reasons_budget);
  budget -= budget / 2 - reasons_budget;
  guint n_parts = fitting (parts, pretty, &budget);

  guint omitted_parts = report->parts_omitted + report->parts_counted + (parts->len - n_parts);
  guint omitted_reasons = reasons->len - n_reasons;

  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  add_head (b, report);
  json_builder_set_member_name (b, "reasons");
  json_builder_begin_array (b);
  for (guint i = 0; i < n_reasons; i++)
    json_builder_add_value (b, json_node_ref (reasons->pdata[i]));
  json_builder_end_array (b);
  json_builder_set_member_name (b, "parts");
  json_builder_begin_array (b);
  for (guint i = 0; i < n_parts; i++)
    json_builder_add_value (b, json_node_ref (parts->pdata[i]));
  json_builder_end_array (b);
  if (omitted_parts > 0 || omitted_reasons > 0)
    {
      json_builder_set_member_name (b, "omitted_parts");
      json_builder_add_int_value (b, omitted_parts);
      json_builder_set_member_name (b, "omitted_reasons");
      json_builder_add_int_value (b, omitted_reasons);
      g_autoptr (GString) why = g_string_new (NULL);
      if (report->parts_counted > 0)
        g_string_append_printf (
            why, "refused before parsing: up to %u MIME parts counted, more than %u; none listed",
            report->parts_counted, report->parts_limit);
      if (report->parts_omitted > 0)
        {
          guint removed = report->parts_omitted_removed;
          guint unused = report->parts_omitted - removed;
          g_string_append_printf (why, "%spast the limit of %u MIME parts, ", why->len ? "; " : "",
                                  report->parts_limit);
          if (removed > 0)
            g_string_append_printf (why, "%u parts removed%s", removed, unused > 0 ? " and " : "");
          if (unused > 0)
            g_string_append_printf (why, "%u alternatives not shown", unused);
          g_string_append (why, ", not listed one by one");
        }
      if (parts->len > n_parts || omitted_reasons > 0)
        {
          g_string_append_printf (why,
                                  "%sthe report is limited to %zu octets: ", why->len ? "; " : "",
                                  (gsize)MUGAI_LIMIT_REPORT_SIZE);
          if (parts->len > n_parts)
            g_string_append_printf (why, "%u more parts%s", parts->len - n_parts,
                                    omitted_reasons > 0 ? " and " : "");
          if (omitted_reasons > 0)
            g_string_append_printf (why, "%u more reasons", omitted_reasons);
          g_string_append (why, " not listed");
        }
      mugai_json_add_string (b, "summary", why->str);
    }
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* The bounded object and, when text is not NULL, its text. */
static JsonNode *
bounded (const MugaiReport *report, gboolean pretty, char **text_out)
{
  JsonNode *node = to_node (report, pretty, MUGAI_LIMIT_REPORT_SIZE);
  char *text = json_to_string (node, pretty);
  /* The costs above are exact for compact output and generous for pretty
   * output; should json-glib format otherwise, the lists give way. */
  for (gsize limit = MUGAI_LIMIT_REPORT_SIZE / 2;
       strlen (text) > MUGAI_LIMIT_REPORT_SIZE && limit > 0; limit /= 2)
    {
      g_free (text);
      json_node_unref (node);
      node = to_node (report, pretty, limit);
      text = json_to_string (node, pretty);
    }
  if (text_out)
    *text_out = text;
  else
    g_free (text);
  return node;
}

char *
mugai_report_to_json (const MugaiReport *report, gboolean pretty)
{
  char *text = NULL;
  json_node_unref (bounded (report, pretty, &text));
  return text;
}

JsonNode *
mugai_report_to_node (const MugaiReport *report)
{
  return bounded (report, FALSE, NULL);
}

/* ---- the report as data, checked ----------------------------------------------- */

/* The quark name is a string, not a subtraction. */
/* clang-format off */
G_DEFINE_QUARK (mugai-report-error-quark, mugai_report_error)
/* clang-format on */

typedef enum
{
  M_STRING, /* a string or null */
  M_COUNT,  /* an integer >= 0 */
  M_SIZE,   /* an integer >= -1 (an archive member's -1: unknown) */
  M_BOOL,
  M_ARRAY, /* checked by its own table */
} MemberType;

typedef struct
{
  const char *name;
  MemberType type;
  const struct MemberSpec *elements; /* M_ARRAY: the members of each object in it */
} Member;

struct MemberSpec
{
  const Member *members;
  gsize n;
};

static const Member entry_members[] = {
  { "name", M_STRING, NULL },   { "size", M_SIZE, NULL },      { "type", M_STRING, NULL },
  { "danger", M_STRING, NULL }, { "encrypted", M_BOOL, NULL },
};
static const struct MemberSpec entry_spec = { entry_members, G_N_ELEMENTS (entry_members) };

static const Member reason_members[] = {
  { "category", M_STRING, NULL },
  { "path", M_STRING, NULL },
  { "detail", M_STRING, NULL },
};
static const struct MemberSpec reason_spec = { reason_members, G_N_ELEMENTS (reason_members) };

static const Member part_members[] = {
  { "path", M_STRING, NULL },          { "kind", M_STRING, NULL },
  { "declared_type", M_STRING, NULL }, { "detected_type", M_STRING, NULL },
  { "filename", M_STRING, NULL },      { "size", M_COUNT, NULL },
  { "sha256", M_STRING, NULL },        { "charset", M_STRING, NULL },
  { "action", M_STRING, NULL },        { "reason", M_STRING, NULL },
  { "detail", M_STRING, NULL },        { "true_type", M_STRING, NULL },
  { "type_label", M_STRING, NULL },    { "entries_total", M_COUNT, NULL },
  { "entries", M_ARRAY, &entry_spec },
};
static const struct MemberSpec part_spec = { part_members, G_N_ELEMENTS (part_members) };

static const Member report_members[] = {
  { "mugai_version", M_STRING, NULL },  { "verdict", M_STRING, NULL },
  { "status", M_STRING, NULL },         { "message_id", M_STRING, NULL },
  { "subject", M_STRING, NULL },        { "output_charset", M_STRING, NULL },
  { "virus", M_STRING, NULL },          { "removed", M_COUNT, NULL },
  { "converted", M_COUNT, NULL },       { "reasons", M_ARRAY, &reason_spec },
  { "parts", M_ARRAY, &part_spec },     { "omitted_parts", M_COUNT, NULL },
  { "omitted_reasons", M_COUNT, NULL }, { "summary", M_STRING, NULL },
};
static const struct MemberSpec report_spec = { report_members, G_N_ELEMENTS (report_members) };

static gboolean check_object (JsonNode *node, const struct MemberSpec *spec, const char *where,
                              GError **error);

static gboolean
check_member (const Member *m, JsonNode *v, const char *where, GError **error)
{
  gboolean ok;
  switch (m->type)
    {
    case M_STRING:
      ok = JSON_NODE_HOLDS_NULL (v)
           || (JSON_NODE_HOLDS_VALUE (v) && json_node_get_value_type (v) == G_TYPE_STRING);
      break;
    case M_COUNT:
    case M_SIZE:
      ok = JSON_NODE_HOLDS_VALUE (v) && json_node_get_value_type (v) == G_TYPE_INT64
           && json_node_get_int (v) >= (m->type == M_SIZE ? -1 : 0);
      break;
    case M_BOOL:
      ok = JSON_NODE_HOLDS_VALUE (v) && json_node_get_value_type (v) == G_TYPE_BOOLEAN;
      break;
    case M_ARRAY:
      ok = JSON_NODE_HOLDS_ARRAY (v);
      if (ok)
        {
          JsonArray *a = json_node_get_array (v);
          for (guint i = 0; i < json_array_get_length (a); i++)
            {
              g_autofree char *inner = g_strdup_printf ("%s.%s[%u]", where, m->name, i);
              if (!check_object (json_array_get_element (a, i), m->elements, inner, error))
                return FALSE;
            }
        }
      break;
    default:
      ok = FALSE;
    }
  if (!ok)
    g_set_error (error, MUGAI_REPORT_ERROR, MUGAI_REPORT_ERROR_INVALID,
                 "report member %s.%s has the wrong type", where, m->name);
  return ok;
}

static gboolean
check_object (JsonNode *node, const struct MemberSpec *spec, const char *where, GError **error)
{
  if (!node || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, MUGAI_REPORT_ERROR, MUGAI_REPORT_ERROR_INVALID,
                   "report: %s is not an object", where);
      return FALSE;
    }
  JsonObject *o = json_node_get_object (node);
  JsonObjectIter it;
  const char *name;
  JsonNode *v;
  json_object_iter_init (&it, o);
  while (json_object_iter_next (&it, &name, &v))
    {
      const Member *m = NULL;
      for (gsize i = 0; i < spec->n && !m; i++)
        if (g_str_equal (spec->members[i].name, name))
          m = &spec->members[i];
      if (!m)
        {
          g_autofree char *safe = mugai_text_safe_display (name, 40);
          g_autofree char *escaped = g_strescape (safe, NULL);
          g_set_error (error, MUGAI_REPORT_ERROR, MUGAI_REPORT_ERROR_INVALID,
                       "report: %s has an unknown member \"%s\"", where, escaped);
          return FALSE;
        }
      if (!check_member (m, v, where, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
mugai_report_node_check (JsonNode *node, GError **error)
{
  return check_object (node, &report_spec, "report", error);
}

char *
mugai_report_node_to_text (JsonNode *node)
{
  return json_to_string (node, FALSE);
}

JsonNode *
mugai_report_node_from_text (const char *text, gsize len, GError **error)
{
  if (len > MUGAI_LIMIT_REPORT_SIZE)
    {
      g_set_error (error, MUGAI_REPORT_ERROR, MUGAI_REPORT_ERROR_INVALID,
                   "report: %zu octets, more than %u", len, MUGAI_LIMIT_REPORT_SIZE);
      return NULL;
    }
  /* json-glib reads up to a NUL; one inside would hide the rest */
  if (memchr (text, '\0', len) || !g_utf8_validate (text, (gssize)len, NULL))
    {
      g_set_error (error, MUGAI_REPORT_ERROR, MUGAI_REPORT_ERROR_INVALID, "report: not UTF-8 text");
      return NULL;
    }
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) local = NULL;
  if (!json_parser_load_from_data (parser, text, (gssize)len, &local))
    {
      g_set_error (error, MUGAI_REPORT_ERROR, MUGAI_REPORT_ERROR_INVALID, "report: %s",
                   local->message);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (!mugai_report_node_check (root, error))
    return NULL;
  return json_node_ref (root);
}

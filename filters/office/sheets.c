/*
 * sheets.c - the text of an xlsx workbook
 *
 * DESCRIPTION
 *	convert_xlsx() reads the workbook's sheet list, the shared strings
 *	(in one arena: "<si/>" is five octets, and a pointer for each of
 *	millions would weigh ten times the part) and each sheet in workbook
 *	order: "[シート: NAME]", then one line per row, each cell in its
 *	column.  Shared and inline strings lose their phonetic runs (rPh)
 *	and have their "_xHHHH_" escapes decoded; booleans are TRUE/FALSE;
 *	anything else is written as in <v> (no number or date formats).
 *
 * LIMITS
 *	MAX_COLUMNS columns (Excel's XFD); sheets at most --max-entries,
 *	each read once; the text at most --max-output (the sink).
 *
 * ERRORS
 *	OFFICE_ERROR: MUGAI_FILTER_FAILED for a sheet listed but missing or
 *	listed twice; MUGAI_FILTER_LIMIT for too many sheets; and the
 *	package's and xml.c's.
 */
#include "office.h"

/* ST_Xstring (ECMA-376 Part 1): "_xHHHH_" stands for the UTF-16
 * unit HHHH (Excel writes controls, such as CR, that way).  Controls are
 * dropped later; surrogates and NUL stay as written. */
static char *
xstring_decode (const char *s, gsize n)
{
  GString *out = g_string_sized_new (n);
  for (gsize i = 0; i < n;)
    {
      if (n - i >= 7 && s[i] == '_' && s[i + 1] == 'x' && s[i + 6] == '_'
          && g_ascii_isxdigit (s[i + 2]) && g_ascii_isxdigit (s[i + 3])
          && g_ascii_isxdigit (s[i + 4]) && g_ascii_isxdigit (s[i + 5]))
        {
          gunichar c = (gunichar)(g_ascii_xdigit_value (s[i + 2]) << 12
                                  | g_ascii_xdigit_value (s[i + 3]) << 8
                                  | g_ascii_xdigit_value (s[i + 4]) << 4
                                  | g_ascii_xdigit_value (s[i + 5]));
          if (c != 0 && g_unichar_validate (c))
            {
              g_string_append_unichar (out, c);
              i += 7;
              continue;
            }
        }
      g_string_append_c (out, s[i++]);
    }
  return g_string_free (out, FALSE);
}

/* The shared strings, decoded, one after the other with their NULs in
 * one arena: "<si/>" is five octets, and a pointer and an allocation
 * for each of millions of them would weigh ten times the part. */
typedef struct
{
  GString *arena;
  GArray *offsets; /* gsize: where each string starts in arena */
  GString *cur;
  gboolean in_si, in_t;
} SharedStrings;

static const char *
sst_get (const SharedStrings *sst, guint64 i)
{
  return i < sst->offsets->len ? sst->arena->str + g_array_index (sst->offsets, gsize, i) : "";
}

static XmlGo
sst_start (XmlRun *run, Ns ns, const char *local, const XmlAttrs *attrs)
{
  SharedStrings *sst = run->user;
  if (ns != NS_S)
    return XML_DESCEND;
  if (strcmp (local, "si") == 0)
    {
      sst->in_si = TRUE;
      g_string_truncate (sst->cur, 0);
    }
  else if (strcmp (local, "t") == 0)
    sst->in_t = TRUE;
  else if (strcmp (local, "rPh") == 0 || strcmp (local, "phoneticPr") == 0)
    return XML_SKIP; /* furigana */
  return XML_DESCEND;
}

static void
sst_end (XmlRun *run, Ns ns, const char *local)
{
  SharedStrings *sst = run->user;
  if (ns != NS_S)
    return;
  if (strcmp (local, "t") == 0)
    sst->in_t = FALSE;
  else if (strcmp (local, "si") == 0 && sst->in_si)
    {
      g_autofree char *text = xstring_decode (sst->cur->str, sst->cur->len);
      gsize offset = sst->arena->len;
      g_string_append_len (sst->arena, text, (gssize)strlen (text) + 1);
      g_array_append_val (sst->offsets, offset);
      sst->in_si = FALSE;
    }
}

static void
sst_text (XmlRun *run, const char *p, gsize len)
{
  SharedStrings *sst = run->user;
  if (sst->in_si && sst->in_t)
    g_string_append_len (sst->cur, p, (gssize)len);
}

static const XmlHandlers SST_HANDLERS = { sst_start, sst_end, sst_text };

typedef struct
{
  char *name;
  char *id;
} SheetRef;

static void
sheet_ref_free (gpointer p)
{
  SheetRef *ref = p;
  g_free (ref->name);
  g_free (ref->id);
  g_free (ref);
}

static XmlGo
workbook_start (XmlRun *run, Ns ns, const char *local, const XmlAttrs *attrs)
{
  RefList *list = run->user;
  if (ns == NS_S && strcmp (local, "sheet") == 0)
    {
      SheetRef *ref = g_new0 (SheetRef, 1);
      ref->name = xml_attr (attrs, NS_NONE, "name");
      ref->id = xml_attr (attrs, NS_R, "id");
      if (!ref_list_add (run, list, ref))
        sheet_ref_free (ref);
      return XML_SKIP;
    }
  return XML_DESCEND;
}

static const XmlHandlers WORKBOOK_HANDLERS = { workbook_start, NULL, NULL };

typedef struct
{
  guint col;
  guint seq; /* document order, to keep the sort stable */
  char *text;
} XCell;

typedef struct
{
  Sink *sink;
  const SharedStrings *sst;
  GArray *cells; /* XCell of the current row */
  guint next_col;
  guint col; /* of the current cell, 0 if out of range */
  char *type;
  GString *value;
  gboolean in_c, in_v, in_is, in_t;
} SheetWalk;

/* "BC12" -> 55; 0 when not a cell reference within MAX_COLUMNS. */
static guint
column_of (const char *ref)
{
  guint col = 0, letters = 0;
  for (; g_ascii_isalpha (*ref); ref++)
    {
      if (++letters > 3)
        return 0;
      col = col * 26 + (guint)(g_ascii_toupper (*ref) - 'A' + 1);
    }
  return letters > 0 && col <= MAX_COLUMNS ? col : 0;
}

static XmlGo
sheet_start (XmlRun *run, Ns ns, const char *local, const XmlAttrs *attrs)
{
  SheetWalk *w = run->user;
  if (ns != NS_S)
    return XML_DESCEND;
  if (strcmp (local, "row") == 0)
    {
      g_array_set_size (w->cells, 0);
      w->next_col = 1;
    }
  else if (strcmp (local, "c") == 0)
    {
      g_autofree char *ref = xml_attr (attrs, NS_NONE, "r");
      guint col = ref != NULL ? column_of (ref) : 0;
      if (col == 0)
        col = w->next_col;
      w->col = col <= MAX_COLUMNS ? col : 0;
      w->next_col = col + 1;
      g_free (w->type);
      w->type = xml_attr (attrs, NS_NONE, "t");
      g_string_truncate (w->value, 0);
      w->in_c = TRUE;
    }
  else if (strcmp (local, "v") == 0 && w->in_c)
    w->in_v = TRUE;
  else if (strcmp (local, "is") == 0 && w->in_c)
    w->in_is = TRUE;
  else if (strcmp (local, "t") == 0 && w->in_is)
    w->in_t = TRUE;
  else if (strcmp (local, "rPh") == 0 || strcmp (local, "f") == 0 || strcmp (local, "extLst") == 0
           || strcmp (local, "sheetPr") == 0 || strcmp (local, "cols") == 0)
    return XML_SKIP;
  return XML_DESCEND;
}

static int
xcell_compare (gconstpointer a, gconstpointer b)
{
  const XCell *x = a, *y = b;
  if (x->col != y->col)
    return x->col < y->col ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
sheet_row (SheetWalk *w)
{
  Sink *s = w->sink;
  g_array_sort (w->cells, xcell_compare);
  sink_row_begin (s);
  guint col = 1;
  for (guint i = 0; i < w->cells->len; i++)
    {
      XCell *c = &g_array_index (w->cells, XCell, i);
      if (c->col < col)
        continue; /* two cells in one column: the first is kept */
      for (; col < c->col; col++)
        {
          sink_cell_begin (s);
          sink_cell_end (s, 1);
        }
      sink_cell_begin (s);
      sink_text (s, c->text, strlen (c->text), FALSE);
      sink_cell_end (s, 1);
      col++;
    }
  sink_row_end (s, 1);
  g_array_set_size (w->cells, 0); /* xcell_clear frees the texts */
}

static char *
sheet_cell_value (SheetWalk *w)
{
  const char *type = w->type != NULL ? w->type : "n";
  const char *v = w->value->str;
  if (strcmp (type, "s") == 0)
    {
      guint64 i = 0;
      if (!g_ascii_string_to_unsigned (v, 10, 0, G_MAXUINT32, &i, NULL))
        return g_strdup ("");
      return g_strdup (sst_get (w->sst, i));
    }
  if (strcmp (type, "b") == 0)
    return g_strdup (strcmp (v, "1") == 0 ? "TRUE" : strcmp (v, "0") == 0 ? "FALSE" : v);
  if (strcmp (type, "inlineStr") == 0 || strcmp (type, "str") == 0)
    return xstring_decode (v, w->value->len);
  return g_strdup (v); /* n, d, e: as written */
}

static void
sheet_end (XmlRun *run, Ns ns, const char *local)
{
  SheetWalk *w = run->user;
  if (ns != NS_S)
    return;
  if (strcmp (local, "v") == 0)
    w->in_v = FALSE;
  else if (strcmp (local, "t") == 0)
    w->in_t = FALSE;
  else if (strcmp (local, "is") == 0)
    w->in_is = FALSE;
  else if (strcmp (local, "c") == 0 && w->in_c)
    {
      w->in_c = FALSE;
      g_autofree char *text = sheet_cell_value (w);
      if (text[0] != '\0' && w->col > 0 && w->cells->len < MAX_COLUMNS)
        {
          XCell c = { w->col, w->cells->len, g_steal_pointer (&text) };
          g_array_append_val (w->cells, c);
        }
    }
  else if (strcmp (local, "row") == 0)
    sheet_row (w);
  if (w->sink->over)
    xml_run_fail (run, MUGAI_FILTER_LIMIT, "text longer than %zu octets (--max-output)",
                  w->sink->max_output);
}

static void
sheet_text (XmlRun *run, const char *p, gsize len)
{
  SheetWalk *w = run->user;
  if (w->in_v || (w->in_is && w->in_t))
    g_string_append_len (w->value, p, (gssize)len);
}

static const XmlHandlers SHEET_HANDLERS = { sheet_start, sheet_end, sheet_text };

static void
xcell_clear (gpointer p)
{
  g_free (((XCell *)p)->text);
}

gboolean
convert_xlsx (Package *pkg, const char *main_key, Sink *sink, GError **error)
{
  g_autoptr (Rels) rels = rels_parse (pkg, main_key, error);
  if (rels == NULL)
    return FALSE;
  g_autoptr (GPtrArray) sheets = g_ptr_array_new_with_free_func (sheet_ref_free);
  RefList list = { sheets, pkg->opt->max_entries };
  if (!xml_parse (package_get (pkg, main_key), &WORKBOOK_HANDLERS, &list, error))
    return FALSE;
  g_autoptr (GHashTable) used = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GPtrArray) keys = g_ptr_array_new ();
  const char *sst_key = NULL;
  for (guint i = 0; i < rels->list->len; i++)
    {
      Rel *rel = rels->list->pdata[i];
      if (strcmp (rel->type, "sharedStrings") == 0 && rel->target != NULL)
        sst_key = rel->target;
    }
  g_ptr_array_add (keys, (gpointer)sst_key);
  for (guint i = 0; i < sheets->len; i++)
    {
      SheetRef *ref = sheets->pdata[i];
      const char *target = rels_target (rels, ref->id);
      if (target == NULL || !g_hash_table_contains (pkg->names, target))
        {
          g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED,
                               "a sheet of the workbook is missing");
          return FALSE;
        }
      if (!g_hash_table_add (used, (gpointer)target))
        {
          g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED,
                               "a sheet of the workbook is listed twice");
          return FALSE;
        }
      g_ptr_array_add (keys, (gpointer)target);
    }
  if (!package_load (pkg, keys, error))
    return FALSE;

  g_autoptr (GString) arena = g_string_new (NULL);
  g_autoptr (GArray) offsets = g_array_new (FALSE, FALSE, sizeof (gsize));
  g_autoptr (GString) cur = g_string_new (NULL);
  SharedStrings sst = { arena, offsets, cur, FALSE, FALSE };
  GBytes *sst_part = package_get (pkg, sst_key);
  if (sst_part != NULL && !xml_parse (sst_part, &SST_HANDLERS, &sst, error))
    return FALSE;
  for (guint i = 0; i < sheets->len; i++)
    {
      SheetRef *ref = sheets->pdata[i];
      g_autofree char *label = g_strdup_printf (pkg->opt->en ? "[Sheet: %s]" : "[シート: %s]",
                                                ref->name != NULL ? ref->name : "");
      sink_label (sink, label);
      SheetWalk w = { .sink = sink, .sst = &sst };
      w.cells = g_array_new (FALSE, FALSE, sizeof (XCell));
      g_array_set_clear_func (w.cells, xcell_clear);
      w.value = g_string_new (NULL);
      gboolean ok = xml_parse (package_get (pkg, keys->pdata[i + 1]), &SHEET_HANDLERS, &w, error);
      g_array_unref (w.cells);
      g_string_free (w.value, TRUE);
      g_free (w.type);
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

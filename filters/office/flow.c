/*
 * flow.c - flowing text: the parts of docx, pptx and ODF documents
 *
 * DESCRIPTION
 *	flow_part() walks one part with xml.c and writes its paragraphs,
 *	tabs, breaks and tables into the sink; a FlowClass says for each
 *	element what it is (classify_docx(), classify_pptx(),
 *	classify_odf()) and whether white space collapses (ODF).  Only the
 *	first branch of mc:AlternateContent is read.  convert_docx() adds
 *	the header, footer, footnote, endnote and comment sections;
 *	convert_pptx() the slides in presentation order.  ODF_FLOW is the
 *	class main.c uses for content.xml (odt, ods, odp).
 *
 * LIMITS
 *	The element stack is MAX_XML_DEPTH deep (xml.c refuses deeper);
 *	text:s repeats at most MAX_SPACES spaces and table rows at most
 *	MAX_ROW_REPEAT times; slides at most --max-entries (ref_list_add(),
 *	which sheets.c shares), each slide read once.
 *
 * ERRORS
 *	OFFICE_ERROR: MUGAI_FILTER_LIMIT when the sink is full (the text
 *	is longer than --max-output) or for too many slides;
 *	MUGAI_FILTER_FAILED for a slide listed but missing or listed twice;
 *	and the package's and xml.c's.
 */
#include "office.h"

typedef enum
{
  A_DESCEND,
  A_SKIP,
  A_PARA,
  A_TEXT, /* character data directly inside is text */
  A_TAB,
  A_BREAK,
  A_SPACES, /* text:s */
  A_HYPHEN, /* w:noBreakHyphen */
  A_TABLE,
  A_ROW,
  A_CELL,
  A_ALT,        /* mc:AlternateContent */
  A_ALT_BRANCH, /* mc:Choice, mc:Fallback */
  A_PAGE,       /* draw:page */
} Action;

typedef struct Flow Flow;

struct FlowClass
{
  Action (*classify) (Flow *f, Ns ns, const char *local, const XmlAttrs *attrs, guint *repeat);
  gboolean collapse;  /* white space collapses (ODF) */
  gboolean para_text; /* character data directly in a paragraph is text (ODF) */
};

struct Flow
{
  const FlowClass *cls;
  Sink *sink;
  const OfficeOptions *opt;
  Kind kind;    /* ODF: set from office:body's child */
  guint pages;  /* draw:page seen */
  guint tables; /* open tables */
  guint depth;  /* open elements (not skipped) */
  guint8 action[MAX_XML_DEPTH + 1];
  guint8 alt_taken[MAX_XML_DEPTH + 1];
  guint32 repeat[MAX_XML_DEPTH + 1];
};

/* "Pr" elements hold properties, never text: w:pPr (with its w:tabs,
 * tab stops that are not tabs), w:rPr, w:sectPr, a:bodyPr, ... */
static gboolean
is_properties (const char *local)
{
  gsize n = strlen (local);
  return n > 2 && strcmp (local + n - 2, "Pr") == 0;
}

static Action
classify_mc (Ns ns, const char *local)
{
  if (strcmp (local, "AlternateContent") == 0)
    return A_ALT;
  if (strcmp (local, "Choice") == 0 || strcmp (local, "Fallback") == 0)
    return A_ALT_BRANCH;
  return A_DESCEND;
}

static Action
classify_docx (Flow *f, Ns ns, const char *local, const XmlAttrs *attrs, guint *repeat)
{
  static const struct
  {
    const char *local;
    Action action;
  } W[] = {
    { "p", A_PARA },
    { "t", A_TEXT },
    { "tab", A_TAB },
    { "ptab", A_TAB },
    { "br", A_BREAK },
    { "cr", A_BREAK },
    { "noBreakHyphen", A_HYPHEN },
    { "tbl", A_TABLE },
    { "tr", A_ROW },
    { "tc", A_CELL },
    /* tracked deletions and moves away, field codes, ruby readings,
     * symbols, grid definitions */
    { "del", A_SKIP },
    { "moveFrom", A_SKIP },
    { "delText", A_SKIP },
    { "instrText", A_SKIP },
    { "delInstrText", A_SKIP },
    { "rt", A_SKIP },
    { "sym", A_SKIP },
    { "tblGrid", A_SKIP },
  };
  if (ns == NS_MC)
    return classify_mc (ns, local);
  if (ns != NS_W)
    return A_DESCEND;
  if (is_properties (local))
    return A_SKIP;
  for (gsize i = 0; i < G_N_ELEMENTS (W); i++)
    if (strcmp (local, W[i].local) == 0)
      return W[i].action;
  return A_DESCEND;
}

static Action
classify_pptx (Flow *f, Ns ns, const char *local, const XmlAttrs *attrs, guint *repeat)
{
  if (ns == NS_MC)
    return classify_mc (ns, local);
  if (ns != NS_A)
    return A_DESCEND;
  if (is_properties (local) || strcmp (local, "lstStyle") == 0 || strcmp (local, "tblGrid") == 0)
    return A_SKIP;
  if (strcmp (local, "p") == 0)
    return A_PARA;
  if (strcmp (local, "t") == 0)
    return A_TEXT;
  if (strcmp (local, "br") == 0)
    return A_BREAK;
  if (strcmp (local, "tbl") == 0)
    return A_TABLE;
  if (strcmp (local, "tr") == 0)
    return A_ROW;
  if (strcmp (local, "tc") == 0)
    return A_CELL;
  return A_DESCEND;
}

/* A repeat count attribute, 1 when absent or bad, at most max. */
static guint
attr_count (const XmlAttrs *attrs, Ns ns, const char *local, guint max)
{
  g_autofree char *v = xml_attr (attrs, ns, local);
  guint64 n = 1;
  if (v == NULL || !g_ascii_string_to_unsigned (v, 10, 1, G_MAXUINT32, &n, NULL))
    return 1;
  return (guint)MIN (n, (guint64)max);
}

static Action
classify_odf (Flow *f, Ns ns, const char *local, const XmlAttrs *attrs, guint *repeat)
{
  switch (ns)
    {
    case NS_OFFICE:
      if (strcmp (local, "text") == 0)
        f->kind = KIND_ODT;
      else if (strcmp (local, "spreadsheet") == 0)
        f->kind = KIND_ODS;
      else if (strcmp (local, "presentation") == 0)
        f->kind = KIND_ODP;
      else if (strcmp (local, "annotation") == 0 || strcmp (local, "annotation-end") == 0
               || strcmp (local, "forms") == 0 || strcmp (local, "scripts") == 0
               || strcmp (local, "font-face-decls") == 0 || strcmp (local, "automatic-styles") == 0)
        return A_SKIP;
      return A_DESCEND;
    case NS_TEXT:
      if (strcmp (local, "p") == 0 || strcmp (local, "h") == 0)
        return A_PARA;
      if (strcmp (local, "s") == 0)
        {
          *repeat = attr_count (attrs, NS_TEXT, "c", MAX_SPACES);
          return A_SPACES;
        }
      if (strcmp (local, "tab") == 0)
        return A_TAB;
      if (strcmp (local, "line-break") == 0)
        return A_BREAK;
      /* deleted text kept for change tracking; declarations */
      if (strcmp (local, "tracked-changes") == 0 || g_str_has_suffix (local, "-decls"))
        return A_SKIP;
      return A_TEXT;
    case NS_TABLE:
      if (strcmp (local, "table") == 0)
        {
          if (f->kind == KIND_ODS && f->tables == 0)
            {
              g_autofree char *name = xml_attr (attrs, NS_TABLE, "name");
              g_autofree char *label = g_strdup_printf (f->opt->en ? "[Sheet: %s]" : "[シート: %s]",
                                                        name != NULL ? name : "");
              sink_label (f->sink, label);
            }
          return A_TABLE;
        }
      if (strcmp (local, "table-row") == 0)
        {
          *repeat = attr_count (attrs, NS_TABLE, "number-rows-repeated", MAX_ROW_REPEAT);
          return A_ROW;
        }
      if (strcmp (local, "table-cell") == 0 || strcmp (local, "covered-table-cell") == 0)
        {
          *repeat = attr_count (attrs, NS_TABLE, "number-columns-repeated", MAX_COLUMNS);
          return A_CELL;
        }
      if (strcmp (local, "table-columns") == 0 || strcmp (local, "table-column") == 0
          || strcmp (local, "table-header-columns") == 0 || strcmp (local, "named-expressions") == 0
          || strcmp (local, "database-ranges") == 0 || strcmp (local, "content-validations") == 0
          || strcmp (local, "calculation-settings") == 0 || strcmp (local, "table-source") == 0)
        return A_SKIP;
      return A_DESCEND;
    case NS_DRAW:
      if (strcmp (local, "page") == 0 && f->kind == KIND_ODP)
        return A_PAGE;
      return A_DESCEND;
    case NS_PRES:
      /* speaker notes: left out, as for pptx */
      if (strcmp (local, "notes") == 0)
        return A_SKIP;
      return A_DESCEND;
    default:
      return A_DESCEND;
    }
}

static const FlowClass DOCX_FLOW = { classify_docx, FALSE, FALSE };
static const FlowClass PPTX_FLOW = { classify_pptx, FALSE, FALSE };
const FlowClass ODF_FLOW = { classify_odf, TRUE, TRUE };

static void
flow_check (XmlRun *run, Flow *f)
{
  if (f->sink->over)
    xml_run_fail (run, MUGAI_FILTER_LIMIT, "text longer than %zu octets (--max-output)",
                  f->sink->max_output);
}

static XmlGo
flow_start (XmlRun *run, Ns ns, const char *local, const XmlAttrs *attrs)
{
  Flow *f = run->user;
  Sink *s = f->sink;
  guint repeat = 1;
  Action action = f->cls->classify (f, ns, local, attrs, &repeat);
  XmlGo go = XML_DESCEND;
  switch (action)
    {
    case A_SKIP:
      go = XML_SKIP;
      break;
    case A_ALT_BRANCH:
      if (f->depth > 0 && f->action[f->depth] == A_ALT)
        {
          if (f->alt_taken[f->depth])
            go = XML_SKIP;
          f->alt_taken[f->depth] = TRUE;
        }
      break;
    case A_TAB:
      sink_tab (s);
      go = XML_SKIP;
      break;
    case A_BREAK:
      sink_break (s);
      go = XML_SKIP;
      break;
    case A_SPACES:
      for (guint i = 0; i < repeat; i++)
        sink_text (s, " ", 1, FALSE);
      go = XML_SKIP;
      break;
    case A_HYPHEN:
      sink_text (s, "-", 1, FALSE);
      go = XML_SKIP;
      break;
    case A_PARA:
      sink_para_begin (s);
      break;
    case A_TABLE:
      f->tables++;
      break;
    case A_ROW:
      sink_row_begin (s);
      break;
    case A_CELL:
      sink_cell_begin (s);
      break;
    case A_PAGE:
      {
        g_autofree char *label
            = g_strdup_printf (f->opt->en ? "[Slide %u]" : "[スライド %u]", ++f->pages);
        sink_label (s, label);
      }
      break;
    case A_DESCEND:
    case A_TEXT:
    case A_ALT:
      break;
    }
  flow_check (run, f);
  if (go != XML_DESCEND)
    return go;
  f->depth++;
  f->action[f->depth] = (guint8)action;
  f->alt_taken[f->depth] = FALSE;
  f->repeat[f->depth] = repeat;
  return XML_DESCEND;
}

static void
flow_end (XmlRun *run, Ns ns, const char *local)
{
  Flow *f = run->user;
  Sink *s = f->sink;
  if (f->depth == 0)
    return;
  guint repeat = f->repeat[f->depth];
  switch ((Action)f->action[f->depth--])
    {
    case A_PARA:
      sink_para_end (s);
      break;
    case A_TABLE:
      f->tables--;
      break;
    case A_ROW:
      sink_row_end (s, repeat);
      break;
    case A_CELL:
      sink_cell_end (s, repeat);
      break;
    default:
      break;
    }
  flow_check (run, f);
}

static void
flow_text (XmlRun *run, const char *p, gsize len)
{
  Flow *f = run->user;
  Action top = f->depth > 0 ? (Action)f->action[f->depth] : A_DESCEND;
  if (top == A_TEXT || (top == A_PARA && f->cls->para_text))
    sink_text (f->sink, p, len, f->cls->collapse);
  flow_check (run, f);
}

static const XmlHandlers FLOW_HANDLERS = { flow_start, flow_end, flow_text };

gboolean
flow_part (Sink *sink, const OfficeOptions *opt, const FlowClass *cls, GBytes *part, Kind *kind,
           GError **error)
{
  g_autofree Flow *f = g_new0 (Flow, 1);
  f->cls = cls;
  f->sink = sink;
  f->opt = opt;
  f->kind = kind != NULL ? *kind : KIND_NONE;
  if (!xml_parse (part, &FLOW_HANDLERS, f, error))
    return FALSE;
  /* a part ends its last line, whatever its elements */
  sink->cell_depth = 0;
  sink->mute = FALSE;
  sink_emit (sink, FALSE);
  if (kind != NULL)
    *kind = f->kind;
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* docx                                                                */
/* ------------------------------------------------------------------ */

gboolean
convert_docx (Package *pkg, const char *main_key, Sink *sink, GError **error)
{
  static const struct
  {
    const char *type, *ja, *en;
  } SECTIONS[] = {
    { "header", "[ヘッダー]", "[Header]" },     { "footer", "[フッター]", "[Footer]" },
    { "footnotes", "[脚注]", "[Footnotes]" },   { "endnotes", "[文末脚注]", "[Endnotes]" },
    { "comments", "[コメント]", "[Comments]" },
  };
  const OfficeOptions *opt = pkg->opt;
  g_autoptr (Rels) rels = rels_parse (pkg, main_key, error);
  if (rels == NULL)
    return FALSE;
  g_autoptr (GPtrArray) keys = g_ptr_array_new ();
  for (guint i = 0; i < rels->list->len; i++)
    {
      Rel *rel = rels->list->pdata[i];
      for (gsize j = 0; j < G_N_ELEMENTS (SECTIONS); j++)
        if (strcmp (rel->type, SECTIONS[j].type) == 0)
          g_ptr_array_add (keys, rel->target);
    }
  if (!package_load (pkg, keys, error))
    return FALSE;
  if (!flow_part (sink, opt, &DOCX_FLOW, package_get (pkg, main_key), NULL, error))
    return FALSE;
  for (gsize j = 0; j < G_N_ELEMENTS (SECTIONS); j++)
    {
      SinkMark mark = sink_mark (sink);
      sink_label (sink, opt->en ? SECTIONS[j].en : SECTIONS[j].ja);
      gsize label_end = sink->out->len;
      g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
      for (guint i = 0; i < rels->list->len; i++)
        {
          Rel *rel = rels->list->pdata[i];
          GBytes *part = package_get (pkg, rel->target);
          if (strcmp (rel->type, SECTIONS[j].type) != 0 || part == NULL
              || !g_hash_table_add (seen, rel->target))
            continue;
          if (!flow_part (sink, opt, &DOCX_FLOW, part, NULL, error))
            return FALSE;
        }
      sink_rewind_if_empty (sink, mark, label_end);
    }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* pptx                                                                */
/* ------------------------------------------------------------------ */

gboolean
ref_list_add (XmlRun *run, RefList *list, gpointer ref)
{
  if (list->refs->len >= list->max)
    {
      xml_run_fail (run, MUGAI_FILTER_LIMIT,
                    "more sheets or slides than zip entries (--max-entries %" G_GUINT64_FORMAT ")",
                    list->max);
      return FALSE;
    }
  g_ptr_array_add (list->refs, ref);
  return TRUE;
}

static XmlGo
presentation_start (XmlRun *run, Ns ns, const char *local, const XmlAttrs *attrs)
{
  RefList *list = run->user;
  if (ns == NS_P && strcmp (local, "sldId") == 0)
    {
      char *id = xml_attr (attrs, NS_R, "id");
      if (id != NULL && !ref_list_add (run, list, id))
        g_free (id);
      return XML_SKIP;
    }
  return XML_DESCEND;
}

static const XmlHandlers PRESENTATION_HANDLERS = { presentation_start, NULL, NULL };

gboolean
convert_pptx (Package *pkg, const char *main_key, Sink *sink, GError **error)
{
  g_autoptr (Rels) rels = rels_parse (pkg, main_key, error);
  if (rels == NULL)
    return FALSE;
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  RefList list = { ids, pkg->opt->max_entries };
  if (!xml_parse (package_get (pkg, main_key), &PRESENTATION_HANDLERS, &list, error))
    return FALSE;
  g_autoptr (GPtrArray) keys = g_ptr_array_new ();
  g_autoptr (GHashTable) used = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < ids->len; i++)
    {
      const char *target = rels_target (rels, ids->pdata[i]);
      if (target == NULL || !g_hash_table_contains (pkg->names, target))
        {
          g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED,
                               "a slide of the presentation is missing");
          return FALSE;
        }
      /* read once: a part listed many times would be parsed many times */
      if (!g_hash_table_add (used, (gpointer)target))
        {
          g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED,
                               "a slide of the presentation is listed twice");
          return FALSE;
        }
      g_ptr_array_add (keys, (gpointer)target);
    }
  if (!package_load (pkg, keys, error))
    return FALSE;
  for (guint i = 0; i < keys->len; i++)
    {
      g_autofree char *label
          = g_strdup_printf (pkg->opt->en ? "[Slide %u]" : "[スライド %u]", i + 1);
      sink_label (sink, label);
      if (!flow_part (sink, pkg->opt, &PPTX_FLOW, package_get (pkg, keys->pdata[i]), NULL, error))
        return FALSE;
    }
  return TRUE;
}

/*
 * html.c - HTML to readable plain text (libxml2's HTML parser): the
 *          converter
 *
 * NAME
 *	mugai_html_render, mugai_html_to_text
 *
 * SYNOPSIS
 *	#include "html.h"
 *
 *	gboolean mugai_html_render (const char *utf8_html, gsize len,
 *	                            const MugaiHtmlOptions *options,
 *	                            char **out_text, MugaiHtmlStats *stats,
 *	                            GError **error);
 *	gboolean mugai_html_to_text (const char *utf8_html, gsize len,
 *	                             MugaiLinkMode links, gsize max_output,
 *	                             char **out_text, MugaiHtmlStats *stats,
 *	                             GError **error);
 *
 * DESCRIPTION
 *	mugai_html_render() parses the document with libxml2's HTML parser
 *	(recovering, no network, no diagnostics on stderr, internal charset
 *	declarations ignored: the caller has already converted the part to
 *	UTF-8, and a <meta charset> must not make libxml2 decode it twice)
 *	and walks the tree once, iteratively, writing the text through a
 *	small layout engine that owes newlines, white space and indentation
 *	until the next visible character (html-writer.c).  That is what
 *	keeps the output free of trailing blanks and of more than one blank
 *	line in a row.  What libxml2 is given, and the bounds on what it may
 *	cost, are html-input.c's; the <meta> charset prescan
 *	(mugai_html_meta_charset()) is html-charset.c's.
 *
 *	This file is about 1,100 lines and one concept: the element table
 *	and the walk that maps each element to what the writer owes are one
 *	piece (the output format below), and mugai_html_render() is the
 *	only caller of the walk.
 *
 *	The output format is fixed (tests/test-html.c asserts it):
 *
 *	    <p>, <pre>, headings, top-level lists and <blockquote> are set
 *	    off by one blank line; other blocks (div, li, tr, table, form,
 *	    section, ...) start on a new line; <br> is a newline.
 *	    h1 and h2 are underlined with "=" and "-" (the width of their
 *	    last line, in columns, at most 72).
 *	    <ul> items start with "- ", <ol> items with "1. ", "2. " ...
 *	    (from the start attribute); continuation lines and nested lists
 *	    are indented by the width of the marker ("  " under "- ").
 *	    <blockquote> lines start with "> ", as in a mail reply.
 *	    <dd> is indented by two spaces under its <dt>.
 *	    Table rows are lines, cells in a row are separated by a tab.
 *	    <hr> is a line "----".  <img alt="x"> is "[x]" (nothing if
 *	    the alt text is empty or absent).  <rt> (ruby) is "(reading)".
 *	    Runs of white space (and U+00A0) collapse to one space, except
 *	    inside <pre>; a line break between two East Asian wide
 *	    characters disappears, as CSS Text 3 asks, so that Japanese
 *	    source wrapped by the sender's editor reads as one sentence.
 *
 *	Links are written as "text [target]" (see html.h); when the text is
 *	the target itself ("https://x/y" linked to itself, ignoring case and
 *	one trailing "/") it is written once, in the form the mode asks for,
 *	so that DEFANG does not leave a live copy of the URL for the mail
 *	client to turn into a link again.  Only http, https, ftp, mailto and
 *	tel targets are written; a javascript:, vbscript: or data: link is
 *	shown as "[リンク（スクリプト）を削除しました]" ("[script link
 *	removed]"), and for any other scheme (file:, and protocol handlers
 *	such as ms-msdt: or search-ms:) only the scheme is shown: "text
 *	[file:]".  Targets that are a bare fragment ("#top") are not
 *	written.  <area href> is a link whose text is its alt text.  URLs in
 *	the text are defanged as they are written (html-writer.c), unless
 *	the options say text_links = keep; targets are written as the link
 *	mode says.  Cleaning, classifying and defanging are url.c's.
 *
 *	Dropped with their content: head, title, script, style, template,
 *	object, applet, iframe, frame, frameset, svg, math, link, meta,
 *	base, comments, processing instructions, and the form controls
 *	input, button, select, option, textarea, datalist, output.
 *	stats->scripts counts script, style, template, object, embed,
 *	applet, iframe, frame and frameset elements wherever they are,
 *	inside dropped elements too (a <script> in <head> counts).  <embed>
 *	is void in HTML, but libxml2 2.9 does not know it and makes what
 *	follows its content; so only the element is dropped, not that.
 *
 *	A <form> is counted in stats->forms but its content other than the
 *	controls is kept: labels and text around the controls explain what
 *	the sender asked for, and pages saved from ASP.NET sites wrap the
 *	whole body in a form.  <noscript> content is kept: it is what a
 *	reader without scripts (this one) is meant to see.
 *
 *	Office HTML is common in Japanese mail and gets two fixes:
 *	<p class="Mso..."> paragraphs have no margin in Outlook, so they
 *	end a line instead of adding a blank one (an empty one is a blank
 *	line); <o:p> arrives from libxml2 as a <p> nested in a <p>, which
 *	cannot happen in real HTML, so a <p> inside a <p> is inline; and
 *	the "downlevel-revealed" conditional markers <![if ...]> and
 *	<![endif]> are removed before parsing (browsers treat them as bogus
 *	comments, libxml2 as text: html-input.c).
 *
 * OWNERSHIP
 *	All strings returned are owned by the caller (g_free).  Nothing is
 *	kept between calls.
 *
 * LIMITS
 *	Output: max_output octets, cut at a character boundary.  Structure
 *	(lists, quotes, tables, headings) is followed to HTML_MAX_DEPTH
 *	levels; deeper elements only contribute text and line breaks, but
 *	links, images and dropped elements are handled at any depth, so
 *	depth cannot hide a link target or reveal a script.  libxml2 2.9
 *	itself stops building the tree at 256 nested elements and at a text
 *	node over 10 MB (unless XML_PARSE_HUGE, which we do not set); what
 *	follows is lost, so stats->truncated is set then too.  The other
 *	statistics always cover the whole tree, past max_output as well.
 *	Indentation is capped at HTML_MAX_PREFIX octets and link text
 *	examined for the mismatch check at HTML_MAX_LINK_TEXT (html-writer.c),
 *	a written link target at URL_MAX_TARGET (url.c).  Memory is
 *	libxml2's tree (about 20 times the input for markup-dense mail) plus
 *	the output.
 *
 *	mugai_html_render() with options->bounds bounds the cost of one
 *	part (html-input.c says why and how): an element with more than
 *	max_attributes attributes, or a parse still running at the
 *	deadline, fails the part with MUGAI_HTML_ERROR_ATTRIBUTES or
 *	MUGAI_HTML_ERROR_BUDGET and the caller removes it; the message goes
 *	on.
 *
 * DIAGNOSTICS
 *	FALSE with MUGAI_HTML_ERROR_PARSE when libxml2 builds no document or
 *	the input is over G_MAXINT / 3 octets (libxml2 takes an int length,
 *	and the U+FFFD replacements below can triple the input); with
 *	MUGAI_HTML_ERROR_ATTRIBUTES or MUGAI_HTML_ERROR_BUDGET past the
 *	bounds given in options->bounds.
 *
 *	Invalid UTF-8 and NUL octets in the input are replaced by U+FFFD
 *	first (html-input.c).
 *
 * BUGS
 *	CSS is not interpreted: text hidden with display:none or the hidden
 *	attribute is rendered.  Legacy entities without ";" ("&nbsp") stay
 *	literal, as libxml2 2.9 leaves them.  Table cells that contain
 *	blocks are rendered one below the other, not side by side.
 *
 * THREAD SAFETY
 *	Reentrant once xmlInitParser() has been called.  xmlCleanupParser()
 *	is never called here.
 */
#include "html-private.h"

#include <string.h>

#include "url.h"
#include "words.h"

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

/* libxml2 types are used only in this file, so their cleanup functions are
 * declared here rather than in a shared header. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlDoc, xmlFreeDoc)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlParserCtxt, htmlFreeParserCtxt)

/* The macro's first argument is the quark's text, not an expression. */
/* clang-format off */
G_DEFINE_QUARK (mugai-html-error-quark, mugai_html_error)
/* clang-format on */

/* Elements below this depth keep their layout.  libxml2 2.9 stops at 256
 * anyway; the cap protects us if a later libxml2 does not. */
#define HTML_MAX_DEPTH 256

/* A list marker run ("- - 1. ") waiting for its item's first text. */
#define HTML_MAX_MARKER 64

/* Tab separators for empty cells in a row; more add no information. */
#define HTML_MAX_TABS 32

#define HTML_MAX_UNDERLINE 72

/* ---------------------------------------------------------------------- */
/* Element classes */

typedef enum
{
  EL_INLINE, /* no layout of its own: b, span, font, unknown names */
  EL_DROP,   /* not rendered, content included */
  EL_BLOCK,  /* starts and ends a line */
  EL_P,
  EL_HEADING,
  EL_BR,
  EL_HR,
  EL_IMG,
  EL_A,
  EL_AREA,
  EL_LIST,
  EL_LI,
  EL_DD,
  EL_QUOTE,
  EL_PRE,
  EL_TABLE,
  EL_TR,
  EL_CELL,
  EL_FORM,
  EL_RT
} ElKind;

enum
{
  F_ACTIVE = 1 << 0,  /* counted in stats->scripts */
  F_ORDERED = 1 << 1, /* <ol> */
  F_H1 = 1 << 2,      /* underlined with "=" */
  F_H2 = 1 << 3,      /* underlined with "-" */
};

typedef struct
{
  const char *name;
  guint8 kind;
  guint8 flags;
} ElInfo;

/* Sorted by name (strcmp) for bsearch.  libxml2 lower-cases HTML element
 * names and drops namespace prefixes ("o:p" arrives as "p"). */
static const ElInfo elements[] = {
  { "a", EL_A, 0 },
  { "address", EL_BLOCK, 0 },
  { "applet", EL_DROP, F_ACTIVE },
  { "area", EL_AREA, 0 },
  { "article", EL_BLOCK, 0 },
  { "aside", EL_BLOCK, 0 },
  { "base", EL_DROP, 0 },
  { "blockquote", EL_QUOTE, 0 },
  { "body", EL_BLOCK, 0 },
  { "br", EL_BR, 0 },
  { "button", EL_DROP, 0 },
  { "caption", EL_BLOCK, 0 },
  { "center", EL_BLOCK, 0 },
  { "datalist", EL_DROP, 0 },
  { "dd", EL_DD, 0 },
  { "details", EL_BLOCK, 0 },
  { "dialog", EL_BLOCK, 0 },
  { "dir", EL_LIST, 0 },
  { "div", EL_BLOCK, 0 },
  { "dl", EL_BLOCK, 0 },
  { "dt", EL_BLOCK, 0 },
  { "embed", EL_INLINE, F_ACTIVE }, /* void, but libxml2 2.9 nests what follows */
  { "fieldset", EL_BLOCK, 0 },
  { "figcaption", EL_BLOCK, 0 },
  { "figure", EL_BLOCK, 0 },
  { "footer", EL_BLOCK, 0 },
  { "form", EL_FORM, 0 },
  { "frame", EL_DROP, F_ACTIVE },
  { "frameset", EL_DROP, F_ACTIVE },
  { "h1", EL_HEADING, F_H1 },
  { "h2", EL_HEADING, F_H2 },
  { "h3", EL_HEADING, 0 },
  { "h4", EL_HEADING, 0 },
  { "h5", EL_HEADING, 0 },
  { "h6", EL_HEADING, 0 },
  { "head", EL_DROP, 0 },
  { "header", EL_BLOCK, 0 },
  { "hgroup", EL_BLOCK, 0 },
  { "hr", EL_HR, 0 },
  { "html", EL_BLOCK, 0 },
  { "iframe", EL_DROP, F_ACTIVE },
  { "img", EL_IMG, 0 },
  { "input", EL_DROP, 0 },
  { "isindex", EL_DROP, 0 },
  { "keygen", EL_INLINE, 0 }, /* void, unknown to libxml2 2.9: as <embed> */
  { "legend", EL_BLOCK, 0 },
  { "li", EL_LI, 0 },
  { "link", EL_DROP, 0 },
  { "listing", EL_PRE, 0 },
  { "main", EL_BLOCK, 0 },
  { "math", EL_DROP, 0 },
  { "menu", EL_LIST, 0 },
  { "meta", EL_DROP, 0 },
  { "nav", EL_BLOCK, 0 },
  { "object", EL_DROP, F_ACTIVE },
  { "ol", EL_LIST, F_ORDERED },
  { "optgroup", EL_DROP, 0 },
  { "option", EL_DROP, 0 },
  { "output", EL_DROP, 0 },
  { "p", EL_P, 0 },
  { "param", EL_DROP, 0 },
  { "plaintext", EL_PRE, 0 },
  { "pre", EL_PRE, 0 },
  { "rp", EL_DROP, 0 },
  { "rt", EL_RT, 0 },
  { "script", EL_DROP, F_ACTIVE },
  { "section", EL_BLOCK, 0 },
  { "select", EL_DROP, 0 },
  { "style", EL_DROP, F_ACTIVE },
  { "summary", EL_BLOCK, 0 },
  { "svg", EL_DROP, 0 },
  { "table", EL_TABLE, 0 },
  { "td", EL_CELL, 0 },
  { "template", EL_DROP, F_ACTIVE },
  { "textarea", EL_DROP, 0 },
  { "th", EL_CELL, 0 },
  { "title", EL_DROP, 0 },
  { "tr", EL_TR, 0 },
  { "ul", EL_LIST, 0 },
  { "xml", EL_DROP, 0 },
  { "xmp", EL_PRE, 0 },
};

static int
element_cmp (const void *key, const void *member)
{
  return strcmp (key, ((const ElInfo *)member)->name);
}

static const ElInfo *
element_lookup (const xmlChar *name)
{
  if (name == NULL)
    return NULL;
  return bsearch (name, elements, G_N_ELEMENTS (elements), sizeof elements[0], element_cmp);
}

/* ---------------------------------------------------------------------- */
/* The walk */

typedef struct
{
  guint8 kind;
  guint8 flags;
  gboolean nested;     /* list inside a list */
  gboolean mso;        /* Office paragraph (no margins) */
  gsize prefix_len;    /* prefix to restore on leave */
  gsize out_start;     /* out->len on entry */
  gsize capture_start; /* link: its text in w->capture */
  gsize marker_len;    /* li: marker length before this item */
  guint epoch;         /* link: writer epoch on entry */
  Layout saved;        /* link: layout on entry, to write the target once */
  gint64 counter;      /* list: next number; table/row: cells seen */
  gint saved_list;     /* context to restore on leave */
  gint saved_item;
  gint saved_row;
  guint saved_in_p;
  char *href; /* link: owned, cleaned target */
  gboolean href_cut;
} Frame;

typedef struct
{
  Writer w;
  MugaiLinkMode links;
  gboolean english; /* mugai's own words in English */
  MugaiHtmlStats *stats;
  GArray *frames;
  gint cur_list; /* index in frames of the innermost list, or -1 */
  gint cur_item; /* ... li */
  gint cur_row;  /* ... tr (or table, for cells outside rows) */
  guint in_p;
} Walker;

static void
frame_clear (gpointer data)
{
  Frame *f = data;

  g_clear_pointer (&f->href, g_free);
}

static char *
attr_dup (xmlNode *node, const char *name)
{
  xmlChar *v = xmlGetNoNsProp (node, (const xmlChar *)name);
  char *r;

  if (v == NULL)
    return NULL;
  r = g_utf8_make_valid ((const char *)v, -1);
  xmlFree (v);
  return r;
}

/* Office writes class="MsoNormal", "MsoListParagraphCxSpFirst" ... */
static gboolean
has_mso_class (xmlNode *node)
{
  g_autofree char *cls = attr_dup (node, "class");
  g_auto (GStrv) tokens = NULL;
  gsize i;

  if (cls == NULL)
    return FALSE;
  tokens = g_strsplit_set (cls, " \t\r\n\f", -1);
  for (i = 0; tokens[i] != NULL; i++)
    if (g_ascii_strncasecmp (tokens[i], "mso", 3) == 0)
      return TRUE;
  return FALSE;
}

/* Writes the target of a link whose text has just been written (from
 * out_start in the output, capture_start in the capture). */
static void
finish_link (Walker *k, const Frame *f)
{
  Writer *w = &k->w;
  g_autofree char *token = NULL;
  g_autofree char *shown_host = NULL;
  g_autofree char *scheme = NULL;
  g_autofree char *target = NULL;
  g_autofree char *bracketed = NULL;
  MugaiUrlKind kind;
  gboolean mismatch = FALSE;

  if (!w->capture_full && f->capture_start <= w->capture->len)
    token = mugai_url_text_token (w->capture->str + f->capture_start,
                                  w->capture->len - f->capture_start);
  if (token != NULL)
    shown_host = mugai_url_visible_host (token);
  if (shown_host != NULL)
    {
      g_autofree char *real_host = mugai_url_target_host (f->href);

      mismatch = real_host == NULL || strcmp (real_host, shown_host) != 0;
    }
  if (mismatch && k->stats != NULL)
    k->stats->links_mismatch++;

  if (k->links == MUGAI_LINKS_DROP || w->full)
    return;
  kind = mugai_url_classify (f->href, &scheme);
  if (kind == MUGAI_URL_NONE || (kind == MUGAI_URL_FRAGMENT && !mismatch))
    return;

  if (kind == MUGAI_URL_SCRIPT)
    /* the reader is told what the link did, not shown a scheme name */
    bracketed = g_strdup_printf ("[%s%s]", mismatch ? "(!) " : "",
                                 MUGAI_W (!k->english, "script link removed"));
  else if (kind == MUGAI_URL_BLOCKED)
    bracketed = g_strdup_printf ("[%s%s:]", mismatch ? "(!) " : "", scheme);
  else
    {
      if (k->links == MUGAI_LINKS_DEFANG)
        target = mugai_url_defang (f->href);
      else
        target = g_strdup (f->href);

      /* The text is the URL: write it once, as the target.  Only when
       * nothing but text was written since the link started, so that
       * restoring the layout saved then is exact. */
      if (!mismatch && !f->href_cut && token != NULL && mugai_url_same (token, f->href)
          && f->epoch == w->epoch && w->pre == 0)
        {
          g_string_truncate (w->out, f->out_start);
          w->st = f->saved;
          w->literal = TRUE;
          mugai_html_emit_cstring (w, target);
          w->literal = FALSE;
          return;
        }
      bracketed
          = g_strdup_printf ("[%s%s%s]", mismatch ? "(!) " : "", target, f->href_cut ? "..." : "");
    }
  mugai_html_owe_space (w);
  w->literal = TRUE;
  mugai_html_emit_cstring (w, bracketed);
  w->literal = FALSE;
}

static void
begin_link (Walker *k, Frame *f, char *raw_href)
{
  Writer *w = &k->w;

  if (k->stats != NULL)
    k->stats->links++;
  f->href = mugai_url_clean (raw_href, &f->href_cut);
  if (w->capturing == 0)
    {
      g_string_truncate (w->capture, 0);
      w->capture_full = FALSE;
    }
  w->capturing++;
  f->capture_start = w->capture->len;
  f->out_start = w->out->len;
  f->epoch = w->epoch;
  f->saved = w->st;
}

static void
end_link (Walker *k, Frame *f)
{
  finish_link (k, f);
  k->w.capturing--;
}

static void
enter_li (Walker *k, Frame *f)
{
  Writer *w = &k->w;
  char marker[32];
  gsize n;

  mugai_html_request_break (w, 1);
  if (k->cur_list >= 0 && (g_array_index (k->frames, Frame, k->cur_list).flags & F_ORDERED))
    {
      Frame *list = &g_array_index (k->frames, Frame, k->cur_list);

      g_snprintf (marker, sizeof marker, "%" G_GINT64_FORMAT ". ", list->counter);
      if (list->counter < G_MAXINT32)
        list->counter++;
    }
  else
    g_strlcpy (marker, "- ", sizeof marker);
  n = strlen (marker);

  /* An item whose first content is another item ("<li><ul><li>x") gets
   * both markers on one line, as browsers draw it. */
  f->marker_len = w->st.marker_owed ? w->marker->len : 0;
  if (!w->st.marker_owed)
    {
      g_string_truncate (w->marker, 0);
      w->marker_base = w->prefix->len;
    }
  if (w->marker->len + n <= HTML_MAX_MARKER)
    {
      g_string_append_len (w->marker, marker, n);
      w->st.marker_owed = TRUE;
      mugai_html_push_prefix (w, "                                ", n);
    }
}

static void
leave_li (Walker *k, const Frame *f)
{
  Writer *w = &k->w;

  /* An empty item leaves no lone marker behind. */
  if (w->st.marker_owed)
    {
      g_string_truncate (w->marker, f->marker_len);
      w->st.marker_owed = w->marker->len > 0;
    }
  mugai_html_request_break (w, 1);
}

static gint64
ol_start (xmlNode *node)
{
  g_autofree char *start = attr_dup (node, "start");
  gint64 v;

  if (start == NULL)
    return 1;
  v = g_ascii_strtoll (g_strstrip (start), NULL, 10);
  return CLAMP (v, -999999, 999999);
}

static gboolean
has_visible (const char *s)
{
  const char *p;

  for (p = s; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (!(is_html_space (c) || c == 0xa0 || is_control (c)))
        return TRUE;
    }
  return FALSE;
}

static void
emit_image (Walker *k, xmlNode *node)
{
  g_autofree char *alt = attr_dup (node, "alt");

  if (k->stats != NULL)
    k->stats->images++;
  if (alt != NULL && has_visible (alt))
    {
      g_autofree char *shown = g_strdup_printf ("[%s]", alt);

      mugai_html_emit_cstring (&k->w, shown);
    }
}

/* <area href alt>: a link whose text is the alt text. */
static void
emit_area (Walker *k, xmlNode *node)
{
  g_autofree char *href = attr_dup (node, "href");
  g_autofree char *alt = NULL;
  Frame f = { 0 };

  if (href == NULL)
    return;
  alt = attr_dup (node, "alt");
  begin_link (k, &f, href);
  if (alt != NULL)
    mugai_html_emit_cstring (&k->w, alt);
  end_link (k, &f);
  frame_clear (&f);
}

/* Active elements inside a dropped one (<script> in <head>, in <svg>):
 * the policy is told about them even though the walk skips them. */
static guint
count_active (xmlNode *root)
{
  xmlNode *node = root->children;
  guint n = 0;

  while (node != NULL)
    {
      if (node->type == XML_ELEMENT_NODE)
        {
          const ElInfo *info = element_lookup (node->name);

          if (info != NULL && (info->flags & F_ACTIVE))
            n++;
          if (node->children != NULL)
            {
              node = node->children;
              continue;
            }
        }
      while (node->next == NULL)
        {
          node = node->parent;
          if (node == NULL || node == root)
            return n;
        }
      node = node->next;
    }
  return n;
}

/* Returns TRUE when a frame was pushed and the children are to be
 * visited (leave_element() follows). */
static gboolean
enter_element (Walker *k, xmlNode *node)
{
  Writer *w = &k->w;
  const ElInfo *info = element_lookup (node->name);
  Frame f = { 0 };
  gint index = (gint)k->frames->len;

  f.kind = info != NULL ? info->kind : EL_INLINE;
  f.flags = info != NULL ? info->flags : 0;

  if ((f.flags & F_ACTIVE) && k->stats != NULL)
    k->stats->scripts++;
  if (f.kind == EL_DROP)
    {
      if (k->stats != NULL)
        k->stats->scripts += count_active (node);
      return FALSE;
    }

  /* Past the depth cap only text, line breaks, links and images. */
  if (k->frames->len >= HTML_MAX_DEPTH)
    {
      switch (f.kind)
        {
        case EL_P:
        case EL_HEADING:
        case EL_LIST:
        case EL_LI:
        case EL_DD:
        case EL_QUOTE:
        case EL_PRE:
        case EL_TABLE:
        case EL_TR:
          f.kind = EL_BLOCK;
          break;
        case EL_CELL:
        case EL_RT:
          f.kind = EL_INLINE;
          break;
        default:
          break;
        }
    }

  f.prefix_len = w->prefix->len;
  f.out_start = w->out->len;
  f.saved_list = k->cur_list;
  f.saved_item = k->cur_item;
  f.saved_row = k->cur_row;
  f.saved_in_p = k->in_p;

  switch ((ElKind)f.kind)
    {
    case EL_BR:
      mugai_html_hard_newline (w);
      return FALSE;
    case EL_HR:
      mugai_html_request_break (w, 1);
      mugai_html_emit_cstring (w, "----");
      mugai_html_request_break (w, 1);
      return FALSE;
    case EL_IMG:
      emit_image (k, node);
      return FALSE;
    case EL_AREA:
      emit_area (k, node);
      return FALSE;
    case EL_A:
      {
        g_autofree char *href = attr_dup (node, "href");

        if (href != NULL)
          begin_link (k, &f, href);
        else
          f.kind = EL_INLINE;
      }
      break;
    case EL_FORM:
      if (k->stats != NULL)
        k->stats->forms++;
      mugai_html_request_break (w, 1);
      break;
    case EL_BLOCK:
      mugai_html_request_break (w, 1);
      break;
    case EL_P:
      if (k->in_p > 0)
        {
          f.kind = EL_INLINE; /* <o:p> */
          break;
        }
      k->in_p++;
      f.mso = has_mso_class (node);
      mugai_html_request_break (w, f.mso ? 1 : 2);
      break;
    case EL_HEADING:
      mugai_html_request_break (w, 2);
      break;
    case EL_PRE:
      mugai_html_request_break (w, 2);
      w->pre++;
      break;
    case EL_QUOTE:
      mugai_html_request_break (w, 2);
      mugai_html_push_prefix (w, "> ", 2);
      break;
    case EL_DD:
      mugai_html_request_break (w, 1);
      mugai_html_push_prefix (w, "  ", 2);
      break;
    case EL_LIST:
      f.nested = k->cur_list >= 0;
      /* A list directly inside a list (no <li>) is still indented. */
      if (k->cur_list >= 0 && k->cur_item < k->cur_list)
        mugai_html_push_prefix (w, "  ", 2);
      mugai_html_request_break (w, f.nested ? 1 : 2);
      f.counter = (f.flags & F_ORDERED) ? ol_start (node) : 0;
      k->cur_list = index;
      break;
    case EL_LI:
      enter_li (k, &f);
      k->cur_item = index;
      break;
    case EL_TABLE:
      mugai_html_request_break (w, 1);
      k->cur_row = index;
      break;
    case EL_TR:
      mugai_html_request_break (w, 1);
      w->st.row_fresh = TRUE;
      k->cur_row = index;
      break;
    case EL_CELL:
      if (k->cur_row >= 0)
        {
          Frame *row = &g_array_index (k->frames, Frame, k->cur_row);

          if (row->counter > 0 && w->st.want_tabs < HTML_MAX_TABS)
            {
              w->st.want_tabs++;
              w->epoch++;
            }
          row->counter++;
        }
      break;
    case EL_RT:
      mugai_html_emit_cstring (w, "(");
      break;
    case EL_INLINE:
    case EL_DROP:
      break;
    }

  g_array_append_val (k->frames, f);
  return TRUE;
}

static void
leave_element (Walker *k)
{
  Writer *w = &k->w;
  Frame f;

  g_return_if_fail (k->frames->len > 0);
  f = g_array_index (k->frames, Frame, k->frames->len - 1);
  /* The copy owns href now. */
  g_array_index (k->frames, Frame, k->frames->len - 1).href = NULL;
  g_array_set_size (k->frames, k->frames->len - 1);

  switch ((ElKind)f.kind)
    {
    case EL_A:
      end_link (k, &f);
      break;
    case EL_BLOCK:
    case EL_FORM:
    case EL_TABLE:
    case EL_TR:
      mugai_html_request_break (w, 1);
      break;
    case EL_P:
      if (f.mso && w->out->len == f.out_start)
        mugai_html_hard_newline (w); /* an empty Office paragraph is a blank line */
      else
        mugai_html_request_break (w, f.mso ? 1 : 2);
      break;
    case EL_HEADING:
      if ((f.flags & (F_H1 | F_H2)) && w->out->len > f.out_start
          && w->st.content_start < w->out->len && w->st.content_start >= f.out_start)
        {
          gsize width = mugai_html_display_width (w->out->str + w->st.content_start,
                                                  w->out->len - w->st.content_start);
          char line[HTML_MAX_UNDERLINE + 1];

          width = MIN (width, HTML_MAX_UNDERLINE);
          memset (line, (f.flags & F_H1) ? '=' : '-', width);
          line[width] = '\0';
          mugai_html_request_break (w, 1);
          mugai_html_emit_cstring (w, line);
        }
      mugai_html_request_break (w, 2);
      break;
    case EL_PRE:
      if (w->pre > 0)
        w->pre--;
      mugai_html_request_break (w, 2);
      break;
    case EL_QUOTE:
      mugai_html_restore_prefix (w, f.prefix_len);
      mugai_html_request_break (w, 2);
      break;
    case EL_DD:
      mugai_html_restore_prefix (w, f.prefix_len);
      mugai_html_request_break (w, 1);
      break;
    case EL_LIST:
      mugai_html_restore_prefix (w, f.prefix_len);
      mugai_html_request_break (w, f.nested ? 1 : 2);
      break;
    case EL_LI:
      mugai_html_restore_prefix (w, f.prefix_len);
      leave_li (k, &f);
      break;
    case EL_RT:
      mugai_html_emit_cstring (w, ")");
      break;
    case EL_CELL:
    case EL_INLINE:
    case EL_DROP:
    case EL_BR:
    case EL_HR:
    case EL_IMG:
    case EL_AREA:
      break;
    }

  mugai_html_restore_prefix (w, f.prefix_len);
  k->cur_list = f.saved_list;
  k->cur_item = f.saved_item;
  k->cur_row = f.saved_row;
  k->in_p = f.saved_in_p;
  frame_clear (&f);
}

static void
emit_text_node (Walker *k, xmlNode *node)
{
  const char *s = (const char *)node->content;
  gsize len;

  if (s == NULL)
    return;
  len = strlen (s);
  if (g_utf8_validate_len (s, len, NULL))
    mugai_html_emit_text (&k->w, s, len);
  else
    {
      g_autofree char *valid = g_utf8_make_valid (s, len);

      mugai_html_emit_text (&k->w, valid, strlen (valid));
    }
}

/* TRUE when the node's children are to be visited; leave_element() is
 * then called for it after them. */
static gboolean
enter_node (Walker *k, xmlNode *node)
{
  switch (node->type)
    {
    case XML_TEXT_NODE:
    case XML_CDATA_SECTION_NODE:
      emit_text_node (k, node);
      return FALSE;
    case XML_ELEMENT_NODE:
      return enter_element (k, node);
    default:
      /* comments, processing instructions, DTD, entity references */
      return FALSE;
    }
}

/* Pre-order walk over the document using the tree's own parent/next
 * links: no recursion, whatever the depth.  It goes on after the output
 * is full (writing is then a no-op) so that the statistics cover the
 * whole document: a <script> after the cut is still reported. */
static void
walk (Walker *k, xmlDoc *doc)
{
  xmlNode *stop = (xmlNode *)doc;
  xmlNode *node = doc->children;

  while (node != NULL)
    {
      if (enter_node (k, node))
        {
          if (node->children != NULL)
            {
              node = node->children;
              continue;
            }
          leave_element (k);
        }
      while (node != NULL && node->next == NULL)
        {
          node = node->parent;
          if (node == NULL || node == stop)
            return;
          leave_element (k);
        }
      if (node != NULL)
        node = node->next;
    }
}

gboolean
mugai_html_render (const char *utf8_html, gsize len, const MugaiHtmlOptions *opt, char **out_text,
                   MugaiHtmlStats *stats, GError **error)
{
  g_return_val_if_fail (opt != NULL, FALSE);
  MugaiLinkMode links = opt->links;
  gsize max_output = opt->max_output;
  const MugaiHtmlBounds *bounds = opt->bounds;
  g_autoptr (GString) input = NULL;
  g_autoptr (xmlParserCtxt) ctxt = NULL;
  g_autoptr (xmlDoc) doc = NULL;
  g_autoptr (GString) out = NULL;
  g_autoptr (GString) pre_space = NULL;
  g_autoptr (GString) prefix = NULL;
  g_autoptr (GString) marker = NULL;
  g_autoptr (GString) capture = NULL;
  g_autoptr (GArray) frames = NULL;
  MugaiHtmlStats st = { 0 };
  Walker k = { 0 };
  const int options = HTML_PARSE_RECOVER | HTML_PARSE_NONET | HTML_PARSE_NOERROR
                      | HTML_PARSE_NOWARNING | HTML_PARSE_NODEFDTD | HTML_PARSE_IGNORE_ENC;

  g_return_val_if_fail (utf8_html != NULL || len == 0, FALSE);
  g_return_val_if_fail (
      links == MUGAI_LINKS_DEFANG || links == MUGAI_LINKS_SHOW || links == MUGAI_LINKS_DROP, FALSE);
  g_return_val_if_fail (out_text != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* htmlCtxtReadMemory() takes an int; U+FFFD for a bad octet can make
   * the prepared copy up to three times longer. */
  if (len > G_MAXINT / 3)
    {
      g_set_error (error, MUGAI_HTML_ERROR, MUGAI_HTML_ERROR_PARSE,
                   "HTML part of %" G_GSIZE_FORMAT " octets is too large to parse", len);
      return FALSE;
    }
  input = mugai_html_prepare_input (utf8_html != NULL ? utf8_html : "", len);
  if (mugai_html_is_blank (input->str, input->len))
    {
      *out_text = g_strdup ("");
      if (stats != NULL)
        *stats = st;
      return TRUE;
    }

  if (bounds != NULL && bounds->max_attributes > 0)
    {
      guint most = mugai_html_max_attributes (input->str, input->len, bounds->max_attributes);
      if (most > bounds->max_attributes)
        {
          g_set_error (error, MUGAI_HTML_ERROR, MUGAI_HTML_ERROR_ATTRIBUTES,
                       "an HTML element with more than %u attributes", bounds->max_attributes);
          return FALSE;
        }
    }
  BoundedInput reader = { .data = input->str,
                          .len = input->len,
                          .deadline = bounds != NULL ? bounds->deadline : 0,
                          .max_attributes = bounds != NULL ? bounds->max_attributes : 0 };

  ctxt = htmlNewParserCtxt ();
  if (ctxt == NULL)
    {
      g_set_error_literal (error, MUGAI_HTML_ERROR, MUGAI_HTML_ERROR_PARSE,
                           "cannot create an HTML parser");
      return FALSE;
    }
  /* The encoding name and HTML_PARSE_IGNORE_ENC both keep a <meta
   * charset> from re-decoding the UTF-8 we hand over (htmlCheckEncoding). */
  ctxt->_private = &reader;
  reader.start_element = ctxt->sax->startElement;
  ctxt->sax->startElement = mugai_html_bounded_start_element;
  doc = htmlCtxtReadIO (ctxt, mugai_html_bounded_read, NULL, &reader, NULL, "UTF-8", options);
  if (reader.too_many)
    {
      g_set_error (error, MUGAI_HTML_ERROR, MUGAI_HTML_ERROR_ATTRIBUTES,
                   "an HTML element with more than %u attributes", reader.max_attributes);
      return FALSE;
    }
  if (reader.expired)
    {
      g_set_error_literal (error, MUGAI_HTML_ERROR, MUGAI_HTML_ERROR_BUDGET,
                           "rendering the HTML took longer than its time budget");
      return FALSE;
    }
  if (doc == NULL)
    {
      g_set_error_literal (error, MUGAI_HTML_ERROR, MUGAI_HTML_ERROR_PARSE,
                           "libxml2 could not build a document from the HTML part");
      return FALSE;
    }
  /* xmlHaltParser(): too deep, a huge text node, out of memory.  The tree
   * holds only what came before. */
  if (ctxt->disableSAX != 0 || ctxt->instate == XML_PARSER_EOF)
    st.truncated = TRUE;

  out = g_string_sized_new (MIN (max_output, input->len) + 1);
  pre_space = g_string_new (NULL);
  prefix = g_string_new (NULL);
  marker = g_string_new (NULL);
  capture = g_string_new (NULL);
  frames = g_array_new (FALSE, TRUE, sizeof (Frame));
  g_array_set_clear_func (frames, frame_clear);

  k.w.out = out;
  k.w.max_output = max_output;
  k.w.pre_space = pre_space;
  k.w.prefix = prefix;
  k.w.marker = marker;
  k.w.capture = capture;
  k.links = links;
  k.english = opt->english;
  k.w.defang_text = opt->text_links == MUGAI_TEXT_LINKS_DEFANG;
  k.stats = &st;
  k.frames = frames;
  k.cur_list = k.cur_item = k.cur_row = -1;

  walk (&k, doc);
  if (k.w.full)
    st.truncated = TRUE;

  /* Owed layout is never written; what the limit cut may have left is. */
  while (out->len > 0
         && (out->str[out->len - 1] == ' ' || out->str[out->len - 1] == '\t'
             || out->str[out->len - 1] == '\n'))
    g_string_truncate (out, out->len - 1);
  if (out->len > 0 && out->len < max_output)
    g_string_append_c (out, '\n');

  if (!g_utf8_validate_len (out->str, out->len, NULL))
    {
      /* Not reachable by construction; the output is shown to people. */
      char *valid = g_utf8_make_valid (out->str, out->len);

      g_string_assign (out, valid);
      g_free (valid);
    }

  *out_text = g_string_free (g_steal_pointer (&out), FALSE);
  if (stats != NULL)
    *stats = st;
  return TRUE;
}

gboolean
mugai_html_to_text (const char *utf8_html, gsize len, MugaiLinkMode links, gsize max_output,
                    char **out_text, MugaiHtmlStats *stats, GError **error)
{
  const MugaiHtmlOptions opt
      = { .links = links, .text_links = MUGAI_TEXT_LINKS_KEEP, .max_output = max_output };
  return mugai_html_render (utf8_html, len, &opt, out_text, stats, error);
}

char *
mugai_html_defang_url (const char *url)
{
  return mugai_url_defang (url);
}

/*
 * html-private.h - what the files of mugai_html_render() share, and
 *                  nothing else includes
 *
 * DESCRIPTION
 *	HTML to text is one converter in four files of one concept each:
 *
 *	    html.c          the converter: the element table, the walk over
 *	                    libxml2's tree, mugai_html_render()
 *	    html-writer.c   the layout writer (Writer): newlines, blank
 *	                    lines, white space and indentation owed until
 *	                    the next visible character
 *	    html-input.c    what libxml2 is given and how it reads it: the
 *	                    input made valid UTF-8, the attribute pre-scan,
 *	                    the bounded reader
 *	    html-charset.c  mugai_html_meta_charset(), the <meta> prescan
 *
 *	The functions they call across files are named mugai_html_* like
 *	the public ones, but are declared here only; html.h is the
 *	interface.  URLs are url.c's.
 *
 * OWNERSHIP
 *	A Writer borrows the GStrings it writes to (mugai_html_render() owns
 *	them); a BoundedInput borrows the prepared input.
 */
#pragma once

#include <libxml/parser.h>

#include "html.h"

/* ---------------------------------------------------------------------- */
/* Character classes */

static inline gboolean
is_html_space (gunichar c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* C0 (other than the white space handled by the caller), DEL and C1: never
 * in the output. */
static inline gboolean
is_control (gunichar c)
{
  return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

/* ---------------------------------------------------------------------- */
/* Layout: everything is owed until the next visible character. */

typedef struct
{
  guint want_nl;        /* newlines owed, 0..2 (2: a blank line) */
  gboolean want_space;  /* collapsed white space owed (outside <pre>) */
  gboolean space_break; /* ... and it contained a line break */
  guint want_tabs;      /* cell separators owed */
  gboolean row_fresh;   /* nothing written since the table row started */
  gboolean marker_owed; /* list marker waits for the item's first text */
  gsize min_prefix;     /* shortest prefix since the last text: blank lines */
  gsize content_start;  /* offset of the current line's text, after indent */
  gunichar last;        /* last character written */
} Layout;

typedef struct
{
  GString *out;
  gsize max_output;
  gboolean full; /* max_output reached: nothing more is written */
  Layout st;
  GString *pre_space; /* literal white space owed inside <pre> */
  guint pre;          /* open <pre> elements */
  GString *prefix;    /* "> " and list indentation */
  GString *marker;    /* owed list marker(s) */
  gsize marker_base;  /* prefix offset where the marker goes */
  guint epoch;        /* bumped by every change outside st */
  GString *capture;   /* text of the open links */
  guint capturing;
  gboolean capture_full;
  gboolean defang_text; /* URLs in the document's text are defanged */
  gboolean literal;     /* writing a link target: written as it is */
} Writer;

/* libxml2 reads the document through this, 4 KB at a time as it goes,
 * which is where the deadline is checked: past it, the input ends. */
typedef struct
{
  const char *data;
  gsize len, pos;
  gint64 deadline;
  guint max_attributes;
  gboolean expired;
  gboolean too_many;
  startElementSAXFunc start_element; /* libxml2's own */
} BoundedInput;

/* ---- html-writer.c ------------------------------------------------------ */

/* Collapsed white space owed (literal inside <pre>). */
void mugai_html_owe_space (Writer *w);
/* Start a new line (n = 1) or leave a blank line (n = 2). */
void mugai_html_request_break (Writer *w, guint n);
/* <br> and newlines in <pre>: they add up, to at most one blank line. */
void mugai_html_hard_newline (Writer *w);
/* Indentation and "> " of the lines to come, capped at HTML_MAX_PREFIX;
 * restored to len octets when the element that pushed it ends. */
void mugai_html_push_prefix (Writer *w, const char *s, gsize n);
void mugai_html_restore_prefix (Writer *w, gsize len);
/* Text of the document (valid UTF-8). */
void mugai_html_emit_text (Writer *w, const char *s, gsize len);
void mugai_html_emit_cstring (Writer *w, const char *s);
/* Display width in columns of s[0..n), for heading underlines. */
gsize mugai_html_display_width (const char *s, gsize n);

/* ---- html-input.c ------------------------------------------------------- */

/* Valid UTF-8 without NUL, without Office's conditional markers. */
GString *mugai_html_prepare_input (const char *data, gsize len);
gboolean mugai_html_is_blank (const char *s, gsize len);
/* The most attributes on one start tag; stops at max + 1. */
guint mugai_html_max_attributes (const char *s, gsize len, guint max);
/* libxml2's xmlInputReadCallback over a BoundedInput (context). */
int mugai_html_bounded_read (void *context, char *buffer, int len);
/* In place of the SAX startElement: ctxt->_private is the BoundedInput. */
void mugai_html_bounded_start_element (void *ctx, const xmlChar *name, const xmlChar **atts);

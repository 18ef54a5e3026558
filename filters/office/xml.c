/*
 * xml.c - the SAX2 driver every part of an Office document goes through
 *
 * DESCRIPTION
 *	xml_parse() runs libxml2 over one part and calls an XmlHandlers
 *	(start, end, text) with namespaces looked up once (Ns) and the
 *	depth counted; a start handler can skip an element's content or
 *	stop the part.  xml_attr() reads one attribute.
 *
 *	Parts are parsed by libxml2's SAX2 interface: no tree, so memory
 *	stays in proportion to the output.  A document type declaration
 *	stops the parser the moment it is seen, before its internal subset
 *	is read, and fails the document: without a DTD there are no entity
 *	definitions, so no "billion laughs" (CVE-2003-1564) and no external
 *	entities (XXE); Office and LibreOffice never write a DOCTYPE in a
 *	part.  Options: XML_PARSE_NONET, NOERROR, NOWARNING and IGNORE_ENC;
 *	never NOENT, DTDLOAD or HUGE.  OPC allows only UTF-8 and UTF-16
 *	parts: UTF-16 is converted here by GLib and libxml2 is told to
 *	ignore the encoding declaration, so that no declaration can make it
 *	look for an iconv module (a dlopen() the lockdown refuses).
 *	Elements nest at most 256 deep (libxml2's own limit without HUGE).
 *
 * LIMITS
 *	MAX_XML_DEPTH elements deep (office.h); a part of more than
 *	G_MAXINT octets (libxml2 counts in int) is a limit.
 *
 * ERRORS
 *	OFFICE_ERROR: MUGAI_FILTER_FAILED for a missing part, a part that is
 *	neither UTF-8 nor UTF-16, a DOCTYPE, nesting past the limit, XML
 *	that is not well-formed; MUGAI_FILTER_LIMIT for a part too large;
 *	or the error a handler set with xml_run_fail().
 */
#include "office.h"

/* Never NOENT, DTDLOAD or HUGE (see the top of this file). */
#define XML_OPTIONS                                                                                \
  (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_IGNORE_ENC)

static const struct
{
  const char *uri;
  Ns ns;
} NAMESPACES[] = {
  /* ECMA-376 transitional, then ISO/IEC 29500 strict */
  { "http://schemas.openxmlformats.org/wordprocessingml/2006/main", NS_W },
  { "http://purl.oclc.org/ooxml/wordprocessingml/main", NS_W },
  { "http://schemas.openxmlformats.org/drawingml/2006/main", NS_A },
  { "http://purl.oclc.org/ooxml/drawingml/main", NS_A },
  { "http://schemas.openxmlformats.org/presentationml/2006/main", NS_P },
  { "http://purl.oclc.org/ooxml/presentationml/main", NS_P },
  { "http://schemas.openxmlformats.org/spreadsheetml/2006/main", NS_S },
  { "http://purl.oclc.org/ooxml/spreadsheetml/main", NS_S },
  { "http://schemas.openxmlformats.org/officeDocument/2006/relationships", NS_R },
  { "http://purl.oclc.org/ooxml/officeDocument/relationships", NS_R },
  { "http://schemas.openxmlformats.org/markup-compatibility/2006", NS_MC },
  { "http://schemas.openxmlformats.org/package/2006/relationships", NS_PKGREL },
  { "urn:oasis:names:tc:opendocument:xmlns:office:1.0", NS_OFFICE },
  { "urn:oasis:names:tc:opendocument:xmlns:text:1.0", NS_TEXT },
  { "urn:oasis:names:tc:opendocument:xmlns:table:1.0", NS_TABLE },
  { "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0", NS_DRAW },
  { "urn:oasis:names:tc:opendocument:xmlns:presentation:1.0", NS_PRES },
};

static Ns
ns_lookup (const xmlChar *uri)
{
  if (uri == NULL)
    return NS_NONE;
  for (gsize i = 0; i < G_N_ELEMENTS (NAMESPACES); i++)
    if (strcmp ((const char *)uri, NAMESPACES[i].uri) == 0)
      return NAMESPACES[i].ns;
  return NS_OTHER;
}

/* The value of an attribute, or NULL.  Owned by the caller.  Without
 * entity substitution libxml2 hands "&" over as "&#38;" (the SAX2 tree
 * builder would decode it; there is no tree here). */
char *
xml_attr (const XmlAttrs *a, Ns ns, const char *local)
{
  for (int i = 0; i < a->n; i++)
    {
      const xmlChar **t = a->v + 5 * i;
      if (strcmp ((const char *)t[0], local) != 0 || ns_lookup (t[2]) != ns)
        continue;
      const char *p = (const char *)t[3], *end = (const char *)t[4];
      GString *v = g_string_sized_new ((gsize)(end - p));
      while (p < end)
        {
          if (end - p >= 5 && memcmp (p, "&#38;", 5) == 0)
            {
              g_string_append_c (v, '&');
              p += 5;
            }
          else
            g_string_append_c (v, *p++);
        }
      return g_string_free (v, FALSE);
    }
  return NULL;
}

void G_GNUC_PRINTF (3, 4)
xml_run_fail (XmlRun *run, int code, const char *format, ...)
{
  if (run->error == NULL)
    {
      va_list ap;
      va_start (ap, format);
      run->error = g_error_new_valist (OFFICE_ERROR, code, format, ap);
      va_end (ap);
    }
  run->stop = TRUE;
  xmlStopParser (run->ctxt);
}

static void
sax_start (void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri,
           int nb_namespaces, const xmlChar **namespaces, int nb_attributes, int nb_defaulted,
           const xmlChar **attributes)
{
  XmlRun *run = ctx;
  if (run->stop)
    return;
  run->depth++;
  if (run->skip_from > 0)
    return;
  if (run->depth > MAX_XML_DEPTH)
    {
      xml_run_fail (run, MUGAI_FILTER_FAILED, "XML elements nested deeper than %d", MAX_XML_DEPTH);
      return;
    }
  XmlAttrs a = { nb_attributes, attributes };
  XmlGo go = run->h->start (run, ns_lookup (uri), (const char *)local, &a);
  if (run->stop)
    return;
  if (go == XML_SKIP)
    run->skip_from = run->depth;
  else if (go == XML_STOP)
    {
      run->stop = TRUE;
      xmlStopParser (run->ctxt);
    }
}

static void
sax_end (void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri)
{
  XmlRun *run = ctx;
  if (run->stop)
    return;
  if (run->skip_from > 0)
    {
      if (run->depth == run->skip_from)
        run->skip_from = 0;
    }
  else if (run->h->end != NULL)
    run->h->end (run, ns_lookup (uri), (const char *)local);
  run->depth--;
}

static void
sax_text (void *ctx, const xmlChar *s, int len)
{
  XmlRun *run = ctx;
  if (run->stop || run->skip_from > 0 || run->h->text == NULL || len <= 0)
    return;
  run->h->text (run, (const char *)s, (gsize)len);
}

/* Called as soon as "<!DOCTYPE name" has been read, before any of the
 * internal subset: no entity is ever declared. */
static void
sax_doctype (void *ctx, const xmlChar *name, const xmlChar *external_id, const xmlChar *system_id)
{
  XmlRun *run = ctx;
  run->doctype = TRUE;
  run->stop = TRUE;
  xmlStopParser (run->ctxt);
}

void
sax_silent (void *ctx, xmlErrorPtr error)
{
}

/* What libxml2 is given is UTF-8 that starts with "<" (after a BOM and
 * blanks): UTF-16 (with a BOM or recognisable by "<") is converted here,
 * and anything else, which libxml2 would take for UCS-4 or EBCDIC and
 * hand to iconv, is refused.  *converted owns the converted text. */
static gboolean
xml_input_utf8 (const char **data, gsize *len, char **converted, GError **error)
{
  const guint8 *p = (const guint8 *)*data;
  gsize n = *len, skip = 0;
  int utf16 = 0; /* 1: little endian, 2: big endian */
  if (n >= 2 && p[0] == 0xFF && p[1] == 0xFE)
    utf16 = 1, skip = 2;
  else if (n >= 2 && p[0] == 0xFE && p[1] == 0xFF)
    utf16 = 2, skip = 2;
  else if (n >= 4 && p[0] == '<' && p[1] == 0 && p[2] != 0 && p[3] == 0)
    utf16 = 1;
  else if (n >= 4 && p[0] == 0 && p[1] == '<' && p[2] == 0 && p[3] != 0)
    utf16 = 2;
  if (utf16 != 0)
    {
      gsize units = (n - skip) / 2;
      g_autofree gunichar2 *u = g_new (gunichar2, units + 1);
      for (gsize i = 0; i < units; i++)
        {
          guint8 b0 = p[skip + 2 * i], b1 = p[skip + 2 * i + 1];
          u[i] = (gunichar2)(utf16 == 1 ? b0 | b1 << 8 : b0 << 8 | b1);
        }
      glong written = 0;
      char *s
          = (n - skip) % 2 == 0 ? g_utf16_to_utf8 (u, (glong)units, NULL, &written, NULL) : NULL;
      if (s == NULL)
        {
          g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED,
                               "an XML part is not valid UTF-16");
          return FALSE;
        }
      *converted = s;
      *data = s;
      *len = (gsize)written;
      p = (const guint8 *)s;
      n = (gsize)written;
    }
  gsize i = n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF ? 3 : 0;
  while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
    i++;
  if (i >= n || p[i] != '<')
    {
      g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED,
                           "an XML part is neither UTF-8 nor UTF-16 XML");
      return FALSE;
    }
  return TRUE;
}

/* Parses one part, calling h with user.  FALSE (error set) when the
 * part is malformed, has a DOCTYPE, or a handler failed. */
gboolean
xml_parse (GBytes *part, const XmlHandlers *h, gpointer user, GError **error)
{
  gsize len = 0;
  if (part == NULL)
    {
      g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED, "a part is missing");
      return FALSE;
    }
  const char *data = g_bytes_get_data (part, &len);
  g_autofree char *converted = NULL;
  if (!xml_input_utf8 (&data, &len, &converted, error))
    return FALSE;
  if (len > G_MAXINT)
    {
      g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_LIMIT, "an XML part is too large");
      return FALSE;
    }
  xmlParserCtxtPtr ctxt = xmlCreateMemoryParserCtxt (data, (int)len);
  if (ctxt == NULL)
    {
      g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED, "out of memory");
      return FALSE;
    }
  xmlCtxtUseOptions (ctxt, XML_OPTIONS);
  /* Only these callbacks: no tree, no entity declarations, no
   * getEntity (so "&name;" is an undeclared entity, a fatal error). */
  xmlSAXHandler sax;
  memset (&sax, 0, sizeof sax);
  sax.initialized = XML_SAX2_MAGIC;
  sax.startElementNs = sax_start;
  sax.endElementNs = sax_end;
  sax.characters = sax_text;
  sax.ignorableWhitespace = sax_text;
  sax.cdataBlock = sax_text;
  sax.internalSubset = sax_doctype;
  sax.serror = sax_silent;
  memcpy (ctxt->sax, &sax, sizeof sax);
  XmlRun run = { .h = h, .user = user, .ctxt = ctxt };
  ctxt->userData = &run;
  xmlParseDocument (ctxt);
  gboolean well_formed = ctxt->wellFormed != 0;
  xmlFreeParserCtxt (ctxt);
  if (run.error != NULL)
    {
      g_propagate_error (error, run.error);
      return FALSE;
    }
  if (run.doctype)
    {
      g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED,
                           "an XML part has a document type declaration (not allowed)");
      return FALSE;
    }
  if (!run.stop && !well_formed)
    {
      g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED,
                           "an XML part is not well-formed");
      return FALSE;
    }
  return TRUE;
}

XmlGo
root_start (XmlRun *run, Ns ns, const char *local, const XmlAttrs *attrs)
{
  XmlRoot *root = run->user;
  root->ns = ns;
  root->local = g_strdup (local);
  return XML_STOP;
}

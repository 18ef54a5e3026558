/*
 * filetype.c - tricky attachment names and dangerous file types
 *
 * NAME
 *	mugai_filename_check, mugai_filetype_danger
 *
 * SYNOPSIS
 *	#include "filetype.h"
 *
 *	MugaiNameFlags mugai_filename_check (const char *utf8_name,
 *	                                     char **detail_ja,
 *	                                     char **detail_en);
 *	MugaiDangerKind mugai_filetype_danger (const guint8 *data, gsize len,
 *	                                       const char *filename,
 *	                                       char **label_ja,
 *	                                       char **label_en);
 *
 * DESCRIPTION
 *	Names.  The extension is judged the way Windows will see it: the
 *	name is cut at the last '/' or '\\', bidi and zero-width characters
 *	are dropped (they are invisible, so the reader cannot see them split
 *	"exe"), the rest is NFKC-normalised and case-folded (so "ＥＸＥ" and
 *	"．exe" count), and trailing dots and spaces are stripped as Win32
 *	does.  The segment before the final extension is stripped the same
 *	way, so "photo.jpg      .scr" has the decoy "jpg".
 *
 *	Content.  Fixed-offset magic numbers; every offset read from the
 *	file (PE e_lfanew, OLE directory sector) is range-checked against
 *	len before use.  An "MZ" header whose e_lfanew points outside the
 *	data is still reported as an executable when the 64-octet DOS
 *	header is complete: it is a DOS program (or a PE cut short in
 *	transit), and nothing legitimate is sent that way.  Markup (by name
 *	or because it starts with '<') is scanned for a script element,
 *	on* event attributes inside a tag, and javascript:/vbscript: URLs.
 *	mugai_filetype_markup() is stricter and for mugai's own output: the
 *	start of any markup at all, anywhere in the octets.
 *
 * LIMITS
 *	Names are linear in their length.  At most
 *	MUGAI_FILETYPE_MARKUP_SCAN octets are scanned for markup.
 *
 * BUGS
 *	UTF-16 markup and character references that spell "javascript"
 *	(&#106;...) are not decoded; html.c's sanitizer handles markup that
 *	is kept.  OLE files are only recognised as MSI/MSP/MST by the root
 *	entry's CLSID; others (Word, Excel) are left to the other checks.
 *
 * THREAD SAFETY
 *	Reentrant.
 */
#include "filetype.h"

#include <string.h>

#include "words.h"

typedef struct
{
  const char *ext;
  MugaiDangerKind kind;
} DangerExt;

/* Extensions whose double-click runs something.  Sorted by group, not
 * alphabetically; the list is short enough for a linear search. */
static const DangerExt danger_exts[] = {
  /* Windows Script Host, PowerShell, cmd.exe, regedit, scriptlets: run
   * with the user's rights on a double-click, no warning on older
   * Windows.  msc runs MMC snap-ins (GrimResource, 2024); inf installs. */
  { "js", MUGAI_KIND_SCRIPT },
  { "jse", MUGAI_KIND_SCRIPT },
  { "vbs", MUGAI_KIND_SCRIPT },
  { "vbe", MUGAI_KIND_SCRIPT },
  { "wsf", MUGAI_KIND_SCRIPT },
  { "wsh", MUGAI_KIND_SCRIPT },
  { "wsc", MUGAI_KIND_SCRIPT },
  { "hta", MUGAI_KIND_SCRIPT },
  { "ps1", MUGAI_KIND_SCRIPT },
  { "psm1", MUGAI_KIND_SCRIPT },
  { "bat", MUGAI_KIND_SCRIPT },
  { "cmd", MUGAI_KIND_SCRIPT },
  { "reg", MUGAI_KIND_SCRIPT },
  { "sct", MUGAI_KIND_SCRIPT },
  { "msc", MUGAI_KIND_SCRIPT },
  { "inf", MUGAI_KIND_SCRIPT },
  /* Native code and installers: PE images under other names (scr, pif,
   * cpl, ocx are all run by the loader), Windows Installer packages,
   * Java archives (run by javaw when a JRE is installed), app packages,
   * and Excel add-ins (xll are DLLs Excel loads on open). */
  { "exe", MUGAI_KIND_EXECUTABLE },
  { "com", MUGAI_KIND_EXECUTABLE },
  { "scr", MUGAI_KIND_EXECUTABLE },
  { "pif", MUGAI_KIND_EXECUTABLE },
  { "cpl", MUGAI_KIND_EXECUTABLE },
  { "msi", MUGAI_KIND_EXECUTABLE },
  { "msp", MUGAI_KIND_EXECUTABLE },
  { "dll", MUGAI_KIND_EXECUTABLE },
  { "sys", MUGAI_KIND_EXECUTABLE },
  { "ocx", MUGAI_KIND_EXECUTABLE },
  { "jar", MUGAI_KIND_EXECUTABLE },
  { "appx", MUGAI_KIND_EXECUTABLE },
  { "msix", MUGAI_KIND_EXECUTABLE },
  { "xll", MUGAI_KIND_EXECUTABLE },
  /* Shortcuts: point at a program or a remote share with arguments the
   * reader never sees; scf and library-ms leak NTLM hashes merely by
   * being shown in Explorer (CVE-2025-24054); settingcontent-ms ran
   * commands (CVE-2018-8414); ClickOnce references install programs. */
  { "lnk", MUGAI_KIND_SHORTCUT },
  { "url", MUGAI_KIND_SHORTCUT },
  { "scf", MUGAI_KIND_SHORTCUT },
  { "library-ms", MUGAI_KIND_SHORTCUT },
  { "settingcontent-ms", MUGAI_KIND_SHORTCUT },
  { "appref-ms", MUGAI_KIND_SHORTCUT },
  { "application", MUGAI_KIND_SHORTCUT },
  /* Disk images: Windows mounts them on a double-click and the files
   * inside lose the Mark of the Web, so SmartScreen never asks. */
  { "iso", MUGAI_KIND_DISK_IMAGE },
  { "img", MUGAI_KIND_DISK_IMAGE },
  { "vhd", MUGAI_KIND_DISK_IMAGE },
  { "vhdx", MUGAI_KIND_DISK_IMAGE },
  { "dmg", MUGAI_KIND_DISK_IMAGE },
  /* Compiled help: HTML with script run by hh.exe outside the browser's
   * sandbox; WinHelp macros can run programs. */
  { "chm", MUGAI_KIND_HELP },
  { "hlp", MUGAI_KIND_HELP },
};

/* Extensions of markup a browser (or mshta) renders; dangerous only when
 * the content carries script, so they are not in danger_exts. */
static const char *const markup_exts[] = {
  "htm", "html", "xhtml", "xht", "shtml", "svg", "hta", "mht", "mhtml",
};

/* Extensions of documents and media that a lure puts in front of the
 * real one ("invoice.pdf.exe"); jtd is Ichitaro, xdw DocuWorks. */
static const char *const decoy_exts[] = {
  "pdf", "doc", "docx", "docm", "xls",  "xlsx", "xlsm", "ppt",  "pptx", "rtf",
  "txt", "csv", "odt",  "ods",  "odp",  "jtd",  "xdw",  "jpg",  "jpeg", "png",
  "gif", "bmp", "tif",  "tiff", "heic", "webp", "mp3",  "mp4",  "wav",  "avi",
  "mov", "wmv", "zip",  "lzh",  "rar",  "7z",   "htm",  "html", "eml",  "msg",
};

static const DangerExt *
find_danger_ext (const char *ext)
{
  if (!ext)
    return NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (danger_exts); i++)
    if (strcmp (ext, danger_exts[i].ext) == 0)
      return &danger_exts[i];
  return NULL;
}

static gboolean
in_list (const char *ext, const char *const *list, gsize n)
{
  if (!ext)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (strcmp (ext, list[i]) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
is_bidi (gunichar u)
{
  return (u >= 0x202a && u <= 0x202e) || (u >= 0x2066 && u <= 0x2069) || u == 0x200e || u == 0x200f
         || u == 0x061c;
}

static gboolean
is_zero_width (gunichar u)
{
  return (u >= 0x200b && u <= 0x200d) || u == 0x2060 || u == 0xfeff;
}

static gboolean
is_control (gunichar u)
{
  return u < 0x20 || (u >= 0x7f && u < 0xa0);
}

/* Strips the trailing dots and spaces Win32 drops from a name (in place,
 * on NFKC text, where U+3000 and U+00A0 have become ' '). */
static gboolean
strip_trailing (char *s)
{
  gsize n = strlen (s);
  gboolean stripped = FALSE;
  while (n > 0 && (s[n - 1] == '.' || s[n - 1] == ' '))
    {
      s[--n] = '\0';
      stripped = TRUE;
    }
  return stripped;
}

/* The name as Windows sees it: last path component, invisible characters
 * dropped, NFKC, case-folded.  Owned; never NULL. */
static char *
windows_view (const char *valid)
{
  const char *base = valid;
  for (const char *p = valid; *p; p++)
    if (*p == '/' || *p == '\\')
      base = p + 1;

  g_autoptr (GString) visible = g_string_new (NULL);
  for (const char *p = base; *p; p = g_utf8_next_char (p))
    {
      gunichar u = g_utf8_get_char (p);
      if (!is_bidi (u) && !is_zero_width (u))
        g_string_append_unichar (visible, u);
    }
  g_autofree char *nfkc = g_utf8_normalize (visible->str, visible->len, G_NORMALIZE_NFKC);
  if (!nfkc)
    return g_strdup ("");
  return g_utf8_casefold (nfkc, -1);
}

/* Splits a Windows view into final and previous extension (pointers into
 * view, which is modified).  *trailing tells whether dots or spaces were
 * stripped from the end. */
static void
split_extensions (char *view, const char **final_ext, const char **prev_ext, gboolean *trailing)
{
  *final_ext = NULL;
  *prev_ext = NULL;
  *trailing = strip_trailing (view);
  char *dot = strrchr (view, '.');
  if (!dot || dot[1] == '\0')
    return;
  *dot = '\0';
  *final_ext = dot + 1;
  strip_trailing (view);
  char *prev = strrchr (view, '.');
  if (prev && prev[1] != '\0')
    *prev_ext = prev + 1;
}

/* One more reason, in both languages: english is the catalogue's key. */
static void add_detail (GString *ja, GString *en, const char *english, ...) G_GNUC_PRINTF (3, 4);

static void
add_detail (GString *ja, GString *en, const char *english, ...)
{
  if (ja->len > 0)
    g_string_append (ja, "、");
  if (en->len > 0)
    g_string_append (en, "; ");
  va_list ap;
  va_start (ap, english);
  g_string_append_vprintf (ja, mugai_words_get (MUGAI_LANG_JA, english), ap);
  va_end (ap);
  va_start (ap, english);
  g_string_append_vprintf (en, english, ap);
  va_end (ap);
}

MugaiNameFlags
mugai_filename_check (const char *utf8_name, char **detail_ja, char **detail_en)
{
  MugaiNameFlags flags = MUGAI_NAME_OK;
  gunichar first_bidi = 0, first_control = 0, first_zero_width = 0;
  guint space_run = 0, longest_space_run = 0;
  glong chars = 0;

  if (detail_ja)
    *detail_ja = NULL;
  if (detail_en)
    *detail_en = NULL;
  if (!utf8_name)
    return MUGAI_NAME_OK;

  /* names come from headers (RFC 2231 / RFC 2047) and may be anything */
  g_autofree char *valid = g_utf8_make_valid (utf8_name, -1);
  for (const char *p = valid; *p; p = g_utf8_next_char (p))
    {
      gunichar u = g_utf8_get_char (p);
      chars++;
      if (is_bidi (u) && !first_bidi)
        first_bidi = u;
      if (is_control (u) && !first_control)
        first_control = u;
      if (is_zero_width (u) && !first_zero_width)
        first_zero_width = u;
      /* any space separator (U+0020, U+00A0, U+3000...) pads alike */
      if (g_unichar_type (u) == G_UNICODE_SPACE_SEPARATOR)
        {
          space_run++;
          longest_space_run = MAX (longest_space_run, space_run);
        }
      else
        space_run = 0;
    }

  g_autofree char *view = windows_view (valid);
  const char *final_ext = NULL, *prev_ext = NULL;
  gboolean trailing = FALSE;
  split_extensions (view, &final_ext, &prev_ext, &trailing);
  const DangerExt *danger = find_danger_ext (final_ext);

  g_autoptr (GString) ja = g_string_new (NULL);
  g_autoptr (GString) en = g_string_new (NULL);
  if (first_bidi)
    {
      flags |= MUGAI_NAME_BIDI;
      add_detail (ja, en, MUGAI_W_KEY ("bidi control U+%04X"), first_bidi);
    }
  if (first_control)
    {
      flags |= MUGAI_NAME_CONTROL;
      add_detail (ja, en, MUGAI_W_KEY ("control character U+%04X"), first_control);
    }
  if (first_zero_width)
    {
      flags |= MUGAI_NAME_HIDDEN;
      add_detail (ja, en, MUGAI_W_KEY ("zero-width character U+%04X"), first_zero_width);
    }
  if (longest_space_run >= 5)
    {
      flags |= MUGAI_NAME_HIDDEN;
      add_detail (ja, en, MUGAI_W_KEY ("%u spaces in a row"), longest_space_run);
    }
  if (danger && in_list (prev_ext, decoy_exts, G_N_ELEMENTS (decoy_exts)))
    {
      /* both strings come from our own tables, not from the name */
      const char *decoy = NULL;
      for (gsize i = 0; i < G_N_ELEMENTS (decoy_exts); i++)
        if (strcmp (prev_ext, decoy_exts[i]) == 0)
          decoy = decoy_exts[i];
      flags |= MUGAI_NAME_DOUBLE_EXTENSION;
      add_detail (ja, en, MUGAI_W_KEY ("double extension .%s.%s"), decoy, danger->ext);
    }
  if (trailing)
    {
      flags |= MUGAI_NAME_TRAILING;
      add_detail (ja, en, MUGAI_W_KEY ("trailing dots or spaces"));
    }
  if (chars > MUGAI_NAME_MAX_CHARS)
    {
      flags |= MUGAI_NAME_TOO_LONG;
      add_detail (ja, en, MUGAI_W_KEY ("name of %ld characters"), chars);
    }
  if (danger)
    {
      flags |= MUGAI_NAME_DANGEROUS_EXTENSION;
      add_detail (ja, en, MUGAI_W_KEY ("dangerous extension .%s"), danger->ext);
    }

  if (flags != MUGAI_NAME_OK)
    {
      if (detail_ja)
        *detail_ja = g_strdup (ja->str);
      if (detail_en)
        *detail_en = g_strdup (en->str);
    }
  return flags;
}

/* ---- content ---- */

static gboolean
has_at (const guint8 *data, gsize len, gsize off, const void *magic, gsize n)
{
  return off <= len && len - off >= n && memcmp (data + off, magic, n) == 0;
}

static guint32
le32 (const guint8 *p)
{
  return (guint32)p[0] | (guint32)p[1] << 8 | (guint32)p[2] << 16 | (guint32)p[3] << 24;
}

static guint32
be32 (const guint8 *p)
{
  return (guint32)p[3] | (guint32)p[2] << 8 | (guint32)p[1] << 16 | (guint32)p[0] << 24;
}

/* Windows Installer database, patch or transform: an OLE compound file
 * whose root directory entry carries the MSI CLSID {000C1084-...}
 * (patch 1086, transform 1082).  The directory sector number and the
 * sector size come from the file and are checked before use. */
static gboolean
is_msi (const guint8 *data, gsize len)
{
  static const guint8 ole[] = { 0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1 };
  static const guint8 clsid_tail[]
      = { 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46 };
  if (!has_at (data, len, 0, ole, sizeof ole) || len < 512)
    return FALSE;
  guint shift = data[0x1e] | data[0x1f] << 8;
  if (shift != 9 && shift != 12) /* MS-CFB 2.2: 512- or 4096-octet sectors */
    return FALSE;
  guint64 sect = le32 (data + 0x30);
  if (sect >= 0xfffffffaU) /* special values (FREESECT, ENDOFCHAIN...) */
    return FALSE;
  guint64 off = (sect + 1) << shift; /* at most 2^44: no overflow */
  if (off > len || len - off < 0x60)
    return FALSE;
  const guint8 *clsid = data + off + 0x50;
  return clsid[1] == 0x10 && (clsid[0] == 0x84 || clsid[0] == 0x86 || clsid[0] == 0x82)
         && memcmp (clsid + 2, clsid_tail, sizeof clsid_tail) == 0;
}

static gboolean
ascii_prefix_ci (const guint8 *p, const guint8 *end, const char *word)
{
  gsize n = strlen (word);
  return (gsize)(end - p) >= n && g_ascii_strncasecmp ((const char *)p, word, n) == 0;
}

/* "javascript:" or "vbscript:" at p, ignoring the tabs and newlines that
 * browsers strip from URLs (WHATWG URL, "java\tscript:" works). */
static gboolean
script_url_at (const guint8 *p, const guint8 *end)
{
  static const char *const schemes[] = { "javascript:", "vbscript:" };
  for (gsize s = 0; s < G_N_ELEMENTS (schemes); s++)
    {
      const char *w = schemes[s];
      const guint8 *q = p;
      while (*w && q < end)
        {
          if (*q == '\t' || *q == '\n' || *q == '\r')
            {
              q++;
              continue;
            }
          if (g_ascii_tolower (*q) != *w)
            break;
          q++;
          w++;
        }
      if (*w == '\0')
        return TRUE;
    }
  return FALSE;
}

/* Looks for script in markup: a script element (any namespace prefix,
 * "<svg:script"), an on* event attribute inside a tag ("<svg/onload=",
 * "<img src=x onerror ="), or a javascript:/vbscript: URL anywhere. */
static gboolean
markup_has_script (const guint8 *data, gsize len)
{
  if (!data || len == 0)
    return FALSE;
  const guint8 *end = data + MIN (len, (gsize)MUGAI_FILETYPE_MARKUP_SCAN);
  gboolean in_tag = FALSE;
  for (const guint8 *p = data; p < end; p++)
    {
      if ((*p == 'j' || *p == 'J' || *p == 'v' || *p == 'V') && script_url_at (p, end))
        return TRUE;
      if (*p == '<' && p + 1 < end && g_ascii_isalpha (p[1]))
        {
          const guint8 *name = p + 1, *q = name;
          while (q < end && (g_ascii_isalnum (*q) || *q == ':' || *q == '-' || *q == '_'))
            {
              if (*q == ':')
                name = q + 1;
              q++;
            }
          if (q - name == 6 && g_ascii_strncasecmp ((const char *)name, "script", 6) == 0)
            return TRUE;
          in_tag = TRUE;
          p = q - 1;
          continue;
        }
      if (!in_tag)
        continue;
      if (*p == '>')
        {
          in_tag = FALSE;
          continue;
        }
      /* an attribute name starts after a separator */
      gboolean sep = g_ascii_isspace (*p) || *p == '/' || *p == '"' || *p == '\'';
      if (!sep || p + 1 >= end || !ascii_prefix_ci (p + 1, end, "on"))
        continue;
      const guint8 *q = p + 3;
      gsize letters = 0;
      while (q < end && g_ascii_isalpha (*q))
        q++, letters++;
      while (q < end && g_ascii_isspace (*q))
        q++;
      if (letters >= 2 && q < end && *q == '=')
        return TRUE;
    }
  return FALSE;
}

/* What ends a tag name for an HTML tokenizer (HTML 13.2.5.8), and the
 * white space after "<?xml" and "<!doctype". */
static gboolean
ends_tag_name (const guint8 *p, const guint8 *end)
{
  return p < end
         && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\f' || *p == '\r' || *p == '/'
             || *p == '>');
}

const char *
mugai_filetype_markup (const guint8 *data, gsize len)
{
  /* The tag name must end where a parser ends it: "<svgx" is another
   * element, and without the terminator, random octets (zlib and JPEG
   * data) would spell "<svg" once in about 500 MB; with it, once in
   * about 20 GB (see mugai_filetype_markup in filetype.h). */
  static const char *const tags[] = { "script", "html", "svg", "?xml", "!doctype", "iframe" };
  static const char *const found[]
      = { "<script", "<html", "<svg", "<?xml", "<!doctype", "<iframe" };
  if (!data)
    return NULL;
  const guint8 *end = data + len;
  for (const guint8 *p = data; p < end; p++)
    {
      if (*p == '<')
        {
          for (gsize t = 0; t < G_N_ELEMENTS (tags); t++)
            if (ascii_prefix_ci (p + 1, end, tags[t])
                && ends_tag_name (p + 1 + strlen (tags[t]), end))
              return found[t];
        }
      else if ((*p == 'j' || *p == 'J' || *p == 'v' || *p == 'V') && script_url_at (p, end))
        return *p == 'j' || *p == 'J' ? "javascript:" : "vbscript:";
    }
  return NULL;
}

/* Markup is sniffed when the first non-blank octet (after a UTF-8 BOM)
 * is '<': browsers and Windows' shell render such files as HTML/SVG no
 * matter what they are called once the reader renames them. */
static gboolean
looks_like_markup (const guint8 *data, gsize len)
{
  gsize i = 0;
  if (has_at (data, len, 0, "\xef\xbb\xbf", 3))
    i = 3;
  while (i < len && i < 4096 && g_ascii_isspace (data[i]))
    i++;
  return i < len && data[i] == '<';
}

static MugaiDangerKind
set_label (MugaiDangerKind kind, const char *ja, const char *en, char **label_ja, char **label_en)
{
  if (label_ja)
    *label_ja = g_strdup (ja);
  if (label_en)
    *label_en = g_strdup (en);
  return kind;
}

/* set_label with the catalogue's Japanese for english */
static MugaiDangerKind
label (MugaiDangerKind kind, const char *english, char **label_ja, char **label_en)
{
  return set_label (kind, mugai_words_get (MUGAI_LANG_JA, english), english, label_ja, label_en);
}

static MugaiDangerKind
by_content (const guint8 *data, gsize len, char **label_ja, char **label_en)
{
  static const guint8 lnk[] = { 0x4c, 0x00, 0x00, 0x00, 0x01, 0x14, 0x02, 0x00 };
  static const guint8 hlp[] = { 0x3f, 0x5f, 0x03, 0x00 };

  if (has_at (data, len, 0, "MZ", 2) && len >= 0x40)
    {
      guint32 lfanew = le32 (data + 0x3c);
      if (has_at (data, len, lfanew, "PE\0\0", 4))
        return label (MUGAI_KIND_EXECUTABLE, MUGAI_W_KEY ("Windows executable"), label_ja,
                      label_en);
      /* see DESCRIPTION: a bare DOS header is still a program */
      return label (MUGAI_KIND_EXECUTABLE, MUGAI_W_KEY ("MS-DOS executable"), label_ja, label_en);
    }
  if (has_at (data, len, 0,
              "\x7f"
              "ELF",
              4))
    return label (MUGAI_KIND_EXECUTABLE, MUGAI_W_KEY ("ELF executable"), label_ja, label_en);
  if (len >= 8)
    {
      guint32 m = be32 (data);
      if (m == 0xfeedface || m == 0xfeedfacf || m == 0xcefaedfe || m == 0xcffaedfe)
        return label (MUGAI_KIND_EXECUTABLE, MUGAI_W_KEY ("macOS executable"), label_ja, label_en);
      if (m == 0xcafebabe)
        {
          /* shared by Java classes (then a class-file major version,
           * 45 or more) and universal Mach-O (then an architecture
           * count, a handful) -- the test file(1) uses */
          if (be32 (data + 4) < 45)
            return label (MUGAI_KIND_EXECUTABLE, MUGAI_W_KEY ("macOS executable"), label_ja,
                          label_en);
          return label (MUGAI_KIND_EXECUTABLE, MUGAI_W_KEY ("Java class file"), label_ja, label_en);
        }
    }
  if (is_msi (data, len))
    return label (MUGAI_KIND_EXECUTABLE, MUGAI_W_KEY ("Windows Installer package"), label_ja,
                  label_en);
  if (has_at (data, len, 0, lnk, sizeof lnk))
    return label (MUGAI_KIND_SHORTCUT, MUGAI_W_KEY ("Windows shortcut"), label_ja, label_en);
  /* ISO 9660 / UDF volume descriptors start at sector 16 (0x8000); the
   * identifier follows the type octet */
  static const gsize vd_offsets[] = { 0x8001, 0x8801, 0x9001 };
  for (gsize i = 0; i < G_N_ELEMENTS (vd_offsets); i++)
    if (has_at (data, len, vd_offsets[i], "CD001", 5)
        || has_at (data, len, vd_offsets[i], "BEA01", 5))
      return label (MUGAI_KIND_DISK_IMAGE, MUGAI_W_KEY ("disk image (ISO)"), label_ja, label_en);
  /* VHD: footer "conectix" in the last 512 octets (fixed disks) and a
   * copy at the start (dynamic disks) */
  if (has_at (data, len, 0, "conectix", 8)
      || (len >= 512 && has_at (data, len, len - 512, "conectix", 8)))
    return label (MUGAI_KIND_DISK_IMAGE, MUGAI_W_KEY ("disk image (VHD)"), label_ja, label_en);
  if (has_at (data, len, 0, "vhdxfile", 8))
    return label (MUGAI_KIND_DISK_IMAGE, MUGAI_W_KEY ("disk image (VHDX)"), label_ja, label_en);
  /* UDIF: a "koly" trailer in the last 512 octets */
  if (len >= 512 && has_at (data, len, len - 512, "koly", 4))
    return label (MUGAI_KIND_DISK_IMAGE, MUGAI_W_KEY ("disk image (DMG)"), label_ja, label_en);
  if (has_at (data, len, 0, "ITSF", 4) || has_at (data, len, 0, hlp, sizeof hlp))
    return label (MUGAI_KIND_HELP, MUGAI_W_KEY ("help file"), label_ja, label_en);
  if (has_at (data, len, 0, "#!", 2))
    return label (MUGAI_KIND_SCRIPT, MUGAI_W_KEY ("script"), label_ja, label_en);
  return MUGAI_KIND_OTHER;
}

static const struct
{
  MugaiDangerKind kind;
  const char *en; /* the key of its Japanese (src/util/words.c) */
} kind_labels[] = {
  { MUGAI_KIND_EXECUTABLE, MUGAI_W_KEY ("executable") },
  { MUGAI_KIND_SCRIPT, MUGAI_W_KEY ("script") },
  { MUGAI_KIND_SHORTCUT, MUGAI_W_KEY ("shortcut") },
  { MUGAI_KIND_DISK_IMAGE, MUGAI_W_KEY ("disk image") },
  { MUGAI_KIND_HELP, MUGAI_W_KEY ("help file") },
  { MUGAI_KIND_ACTIVE_MARKUP, MUGAI_W_KEY ("markup with script") },
};

const char *
mugai_filetype_kind_label (MugaiDangerKind kind, gboolean japanese)
{
  for (gsize i = 0; i < G_N_ELEMENTS (kind_labels); i++)
    if (kind_labels[i].kind == kind)
      return mugai_words_get (japanese ? MUGAI_LANG_JA : MUGAI_LANG_EN, kind_labels[i].en);
  return NULL;
}

MugaiDangerKind
mugai_filetype_danger (const guint8 *data, gsize len, const char *filename, char **label_ja,
                       char **label_en)
{
  if (label_ja)
    *label_ja = NULL;
  if (label_en)
    *label_en = NULL;
  if (!data)
    len = 0;

  MugaiDangerKind kind = by_content (data, len, label_ja, label_en);
  if (kind != MUGAI_KIND_OTHER)
    return kind;

  g_autofree char *valid = filename ? g_utf8_make_valid (filename, -1) : NULL;
  g_autofree char *view = valid ? windows_view (valid) : NULL;
  const char *final_ext = NULL, *prev_ext = NULL;
  gboolean trailing = FALSE;
  if (view)
    split_extensions (view, &final_ext, &prev_ext, &trailing);

  gboolean markup_name = in_list (final_ext, markup_exts, G_N_ELEMENTS (markup_exts));
  if ((markup_name || looks_like_markup (data, len)) && markup_has_script (data, len))
    return label (MUGAI_KIND_ACTIVE_MARKUP, MUGAI_W_KEY ("HTML/SVG with script"), label_ja,
                  label_en);

  const DangerExt *danger = find_danger_ext (final_ext);
  if (!danger)
    return MUGAI_KIND_OTHER;
  for (gsize i = 0; i < G_N_ELEMENTS (kind_labels); i++)
    if (kind_labels[i].kind == danger->kind)
      {
        g_autofree char *ja = g_strdup_printf (
            "%s (.%s)", mugai_words_get (MUGAI_LANG_JA, kind_labels[i].en), danger->ext);
        g_autofree char *en = g_strdup_printf ("%s (.%s)", kind_labels[i].en, danger->ext);
        return set_label (danger->kind, ja, en, label_ja, label_en);
      }
  return danger->kind;
}

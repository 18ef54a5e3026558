/*
 * doctype.c - what a document really is (see doctype.h)
 *
 * DESCRIPTION
 *	The truth comes from the octets: libmagic's MIME type first, then
 *	mugai's own probes where libmagic says only "some OLE file" or
 *	"some zip".
 *
 *	OLE compound files (MS-CFB) keep a directory of 128-octet entries,
 *	each starting with the entry's name in UTF-16LE, its length in
 *	octets at offset 64 and its type at 66.  Directory sectors start on
 *	a sector boundary (512 or 4096 octets) and so every entry starts on
 *	a multiple of 128: one pass over those slots finds the names without
 *	following sector chains an attacker controls.  Names that tell:
 *	  WordDocument                  Word 97-2003
 *	  Workbook, Book                Excel
 *	  PowerPoint Document           PowerPoint
 *	  DocumentText, JSRV_*          一太郎 8 and later (.jtd/.jtt); the
 *	                                names are those seen in published
 *	                                analyses of Ichitaro files, not
 *	                                verified on a sample here
 *	  __substg1.0_*                 Outlook item (.msg)
 *	  EncryptionInfo +
 *	  EncryptedPackage              password-protected docx/xlsx/pptx
 *	  VBA, _VBA_PROJECT, Macros     a VBA project: macros
 *	一太郎 4-6 (.jaw/.jbw/.jfw) are known to libmagic ("x-ichitaro4..6").
 *
 *	DocuWorks (.xdw/.xbd) has no published signature that mugai could
 *	verify, so it is named from its extension when the content is not
 *	something else mugai knows; a .xdw that holds a zip or a program is
 *	a mismatch like any other.
 *
 *	A zip is a docx/xlsx/pptx when it has [Content_Types].xml and the
 *	part folder (word/, xl/, ppt/), an OpenDocument file when it starts
 *	with the "mimetype" member; a vbaProject.bin member means macros
 *	(.docm, .xlsm, or a macro document renamed .docx), and so do
 *	OpenDocument's Basic/script-lc.xml and Scripts/ members.
 */
#include "doctype.h"
#include "words.h"

#include <string.h>

typedef struct
{
  MugaiDocKind kind;
  const char *name;
  const char *label; /* English: the key of its Japanese (src/util/words.c) */
  const char *exts;  /* space separated, lower case */
  const char *mimes; /* space separated, lower case */
  int group;         /* kinds of one group open in the same program */
  MugaiDocKind parent;
} DocInfo;

enum
{
  G_NONE,
  G_WORDPROC,
  G_SHEET,
  G_SLIDES,
  G_ICHITARO
};

static const DocInfo docs[] = {
  { MUGAI_DOC_UNKNOWN, "unknown", MUGAI_W_KEY ("unknown type"), "", "", G_NONE, MUGAI_DOC_UNKNOWN },
  { MUGAI_DOC_TEXT, "text", MUGAI_W_KEY ("text"), "txt text log", "text/plain", G_NONE,
    MUGAI_DOC_UNKNOWN },
  { MUGAI_DOC_HTML, "html", MUGAI_W_KEY ("HTML document"), "htm html xhtml",
    "text/html application/xhtml+xml", G_NONE, MUGAI_DOC_UNKNOWN },
  { MUGAI_DOC_PDF, "pdf", MUGAI_W_KEY ("PDF document"), "pdf", "application/pdf application/x-pdf",
    G_NONE, MUGAI_DOC_UNKNOWN },
  { MUGAI_DOC_WORD, "doc", MUGAI_W_KEY ("Word document"), "doc dot",
    "application/msword application/vnd.ms-word", G_WORDPROC, MUGAI_DOC_OLE },
  { MUGAI_DOC_WORD_X, "docx", MUGAI_W_KEY ("Word document"), "docx docm dotx dotm",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document "
    "application/vnd.ms-word.document.macroenabled.12 "
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
    G_WORDPROC, MUGAI_DOC_ZIP },
  { MUGAI_DOC_EXCEL, "xls", MUGAI_W_KEY ("Excel workbook"), "xls xlt",
    "application/vnd.ms-excel application/msexcel application/x-msexcel", G_SHEET, MUGAI_DOC_OLE },
  { MUGAI_DOC_EXCEL_X, "xlsx", MUGAI_W_KEY ("Excel workbook"), "xlsx xlsm xltx xltm",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet "
    "application/vnd.ms-excel.sheet.macroenabled.12 "
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template",
    G_SHEET, MUGAI_DOC_ZIP },
  { MUGAI_DOC_POWERPOINT, "ppt", MUGAI_W_KEY ("PowerPoint presentation"), "ppt pps pot",
    "application/vnd.ms-powerpoint application/mspowerpoint", G_SLIDES, MUGAI_DOC_OLE },
  { MUGAI_DOC_POWERPOINT_X, "pptx", MUGAI_W_KEY ("PowerPoint presentation"), "pptx pptm ppsx potx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation "
    "application/vnd.ms-powerpoint.presentation.macroenabled.12 "
    "application/vnd.openxmlformats-officedocument.presentationml.slideshow",
    G_SLIDES, MUGAI_DOC_ZIP },
  { MUGAI_DOC_RTF, "rtf", MUGAI_W_KEY ("RTF document"), "rtf", "application/rtf text/rtf",
    G_WORDPROC, MUGAI_DOC_UNKNOWN },
  { MUGAI_DOC_ODT, "odt", MUGAI_W_KEY ("OpenDocument text"), "odt",
    "application/vnd.oasis.opendocument.text", G_WORDPROC, MUGAI_DOC_ZIP },
  { MUGAI_DOC_ODS, "ods", MUGAI_W_KEY ("OpenDocument spreadsheet"), "ods",
    "application/vnd.oasis.opendocument.spreadsheet", G_SHEET, MUGAI_DOC_ZIP },
  { MUGAI_DOC_ODP, "odp", MUGAI_W_KEY ("OpenDocument presentation"), "odp",
    "application/vnd.oasis.opendocument.presentation", G_SLIDES, MUGAI_DOC_ZIP },
  { MUGAI_DOC_ICHITARO, "ichitaro", MUGAI_W_KEY ("Ichitaro document"),
    "jtd jtt jtdc jttc jaw jbw jfw juw jvw jxw",
    "application/x-js-taro application/x-ichitaro4 application/x-ichitaro5 "
    "application/x-ichitaro6",
    G_ICHITARO, MUGAI_DOC_OLE },
  { MUGAI_DOC_DOCUWORKS, "docuworks", MUGAI_W_KEY ("DocuWorks document"), "xdw xbd xct",
    "application/vnd.fujixerox.docuworks application/vnd.fujixerox.docuworks.binder "
    "application/vnd.fujifilm.fb.docuworks application/vnd.fujifilm.fb.docuworks.binder",
    G_NONE, MUGAI_DOC_UNKNOWN },
  { MUGAI_DOC_OUTLOOK_MSG, "msg", MUGAI_W_KEY ("Outlook item"), "msg", "application/vnd.ms-outlook",
    G_NONE, MUGAI_DOC_OLE },
  { MUGAI_DOC_OLE, "ole", MUGAI_W_KEY ("OLE compound file"), "",
    "application/x-ole-storage application/cdfv2 application/vnd.ms-office", G_NONE,
    MUGAI_DOC_UNKNOWN },
  { MUGAI_DOC_JPEG, "jpeg", MUGAI_W_KEY ("JPEG image"), "jpg jpeg jpe jfif",
    "image/jpeg image/pjpeg", G_NONE, MUGAI_DOC_UNKNOWN },
  { MUGAI_DOC_PNG, "png", MUGAI_W_KEY ("PNG image"), "png", "image/png image/x-png", G_NONE,
    MUGAI_DOC_UNKNOWN },
  { MUGAI_DOC_GIF, "gif", MUGAI_W_KEY ("GIF image"), "gif", "image/gif", G_NONE,
    MUGAI_DOC_UNKNOWN },
  { MUGAI_DOC_BMP, "bmp", MUGAI_W_KEY ("BMP image"), "bmp dib",
    "image/bmp image/x-bmp image/x-ms-bmp", G_NONE, MUGAI_DOC_UNKNOWN },
  { MUGAI_DOC_WEBP, "webp", MUGAI_W_KEY ("WebP image"), "webp", "image/webp", G_NONE,
    MUGAI_DOC_UNKNOWN },
  { MUGAI_DOC_TIFF, "tiff", MUGAI_W_KEY ("TIFF image"), "tif tiff", "image/tiff", G_NONE,
    MUGAI_DOC_UNKNOWN },
  { MUGAI_DOC_ZIP, "zip", MUGAI_W_KEY ("ZIP archive"), "zip",
    "application/zip application/x-zip-compressed application/x-zip", G_NONE, MUGAI_DOC_UNKNOWN },
  { MUGAI_DOC_7Z, "7z", MUGAI_W_KEY ("7-Zip archive"), "7z", "application/x-7z-compressed", G_NONE,
    MUGAI_DOC_UNKNOWN },
  { MUGAI_DOC_RAR, "rar", MUGAI_W_KEY ("RAR archive"), "rar",
    "application/x-rar application/x-rar-compressed application/vnd.rar", G_NONE,
    MUGAI_DOC_UNKNOWN },
  { MUGAI_DOC_LZH, "lzh", MUGAI_W_KEY ("LZH archive"), "lzh lha",
    "application/x-lha application/x-lzh-compressed application/x-lzh", G_NONE, MUGAI_DOC_UNKNOWN },
  { MUGAI_DOC_TAR, "tar", MUGAI_W_KEY ("tar archive"), "tar",
    "application/x-tar application/x-gtar", G_NONE, MUGAI_DOC_UNKNOWN },
  { MUGAI_DOC_GZIP, "gzip", MUGAI_W_KEY ("gzip file"), "gz tgz",
    "application/gzip application/x-gzip", G_NONE, MUGAI_DOC_UNKNOWN },
  { MUGAI_DOC_BZIP2, "bzip2", MUGAI_W_KEY ("bzip2 file"), "bz2 tbz2", "application/x-bzip2", G_NONE,
    MUGAI_DOC_UNKNOWN },
  { MUGAI_DOC_XZ, "xz", MUGAI_W_KEY ("xz file"), "xz txz", "application/x-xz", G_NONE,
    MUGAI_DOC_UNKNOWN },
  { MUGAI_DOC_CAB, "cab", MUGAI_W_KEY ("Cabinet archive"), "cab",
    "application/vnd.ms-cab-compressed", G_NONE, MUGAI_DOC_UNKNOWN },
  { MUGAI_DOC_EXECUTABLE, "executable", MUGAI_W_KEY ("executable"),
    "exe dll com scr sys cpl ocx elf so",
    "application/x-dosexec application/x-msdownload application/x-executable "
    "application/x-sharedlib application/x-pie-executable application/x-mach-binary",
    G_NONE, MUGAI_DOC_UNKNOWN },
};

G_STATIC_ASSERT (G_N_ELEMENTS (docs) == MUGAI_DOC_N);

const char *
mugai_doctype_label (MugaiDocKind kind, gboolean japanese)
{
  if ((guint)kind >= MUGAI_DOC_N)
    kind = MUGAI_DOC_UNKNOWN;
  return mugai_words_get (japanese ? MUGAI_LANG_JA : MUGAI_LANG_EN, docs[kind].label);
}

const char *
mugai_doctype_name (MugaiDocKind kind)
{
  if ((guint)kind >= MUGAI_DOC_N)
    kind = MUGAI_DOC_UNKNOWN;
  return docs[kind].name;
}

/* word (lower case ASCII, no spaces) in the space separated list */
static gboolean
in_word_list (const char *list, const char *word, gsize n)
{
  const char *p = list;
  while (*p)
    {
      const char *e = strchr (p, ' ');
      gsize l = e ? (gsize)(e - p) : strlen (p);
      if (l == n && memcmp (p, word, n) == 0)
        return TRUE;
      if (!e)
        break;
      p = e + 1;
    }
  return FALSE;
}

MugaiDocKind
mugai_doctype_for_extension (const char *filename)
{
  if (!filename)
    return MUGAI_DOC_UNKNOWN;
  const char *dot = strrchr (filename, '.');
  if (!dot || !dot[1] || strlen (dot + 1) > 8)
    return MUGAI_DOC_UNKNOWN;
  g_autofree char *ext = g_ascii_strdown (dot + 1, -1);
  for (guint k = 1; k < MUGAI_DOC_N; k++)
    if (in_word_list (docs[k].exts, ext, strlen (ext)))
      return docs[k].kind;
  return MUGAI_DOC_UNKNOWN;
}

MugaiDocKind
mugai_doctype_for_mime (const char *mime_type)
{
  if (!mime_type || strlen (mime_type) > 200)
    return MUGAI_DOC_UNKNOWN;
  g_autofree char *m = g_ascii_strdown (mime_type, -1);
  for (guint k = 1; k < MUGAI_DOC_N; k++)
    if (in_word_list (docs[k].mimes, m, strlen (m)))
      return docs[k].kind;
  return MUGAI_DOC_UNKNOWN;
}

gboolean
mugai_doctype_compatible (MugaiDocKind claimed, MugaiDocKind actual)
{
  if (claimed == MUGAI_DOC_UNKNOWN || actual == MUGAI_DOC_UNKNOWN || claimed == actual)
    return TRUE;
  if ((guint)claimed >= MUGAI_DOC_N || (guint)actual >= MUGAI_DOC_N)
    return FALSE;
  const DocInfo *c = &docs[claimed], *a = &docs[actual];
  /* a vague truth ("some zip", "some OLE file") does not contradict a
   * more precise claim of that container, nor the other way round */
  if (c->parent == actual || a->parent == claimed)
    return TRUE;
  /* .doc holding RTF or docx: Word opens them all */
  if (c->group != G_NONE && c->group == a->group)
    return TRUE;
  /* text claims: HTML and RTF are text */
  if (claimed == MUGAI_DOC_TEXT && (actual == MUGAI_DOC_HTML || actual == MUGAI_DOC_RTF))
    return TRUE;
  /* a .tgz is gzip, a .gz may hold tar */
  if ((claimed == MUGAI_DOC_GZIP && actual == MUGAI_DOC_TAR)
      || (claimed == MUGAI_DOC_TAR && actual == MUGAI_DOC_GZIP))
    return TRUE;
  return FALSE;
}

gboolean
mugai_doctype_is_archive (MugaiDocKind kind)
{
  switch (kind)
    {
    case MUGAI_DOC_ZIP:
    case MUGAI_DOC_7Z:
    case MUGAI_DOC_RAR:
    case MUGAI_DOC_LZH:
    case MUGAI_DOC_TAR:
    case MUGAI_DOC_GZIP:
    case MUGAI_DOC_BZIP2:
    case MUGAI_DOC_XZ:
    case MUGAI_DOC_CAB:
      return TRUE;
    default:
      return FALSE;
    }
}

/* ---- probes ---- */

static const guint8 ole_magic[] = { 0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1 };

static gboolean
is_ole (const guint8 *data, gsize len)
{
  return len >= 512 && memcmp (data, ole_magic, sizeof ole_magic) == 0;
}

/* Compares a directory entry's UTF-16LE name with an ASCII name;
 * a name ending in '*' matches as a prefix. */
static gboolean
ole_name_is (const guint8 *entry, const char *name)
{
  guint n = entry[64] | entry[65] << 8; /* octets, with the final NUL */
  if (n < 2 || n > 64 || n % 2)
    return FALSE;
  guint chars = n / 2 - 1;
  gsize want = strlen (name);
  gboolean prefix = want > 0 && name[want - 1] == '*';
  if (prefix)
    want--;
  if (prefix ? chars < want : chars != want)
    return FALSE;
  for (guint i = 0; i < want; i++)
    {
      guint c = entry[2 * i] | entry[2 * i + 1] << 8;
      if (c > 0x7f || g_ascii_tolower ((char)c) != g_ascii_tolower (name[i]))
        return FALSE;
    }
  return TRUE;
}

gboolean
mugai_doctype_ole_has (const guint8 *data, gsize len, const char *const *names)
{
  if (!data || !is_ole (data, len))
    return FALSE;
  for (gsize off = 512; off + 128 <= len; off += 128)
    {
      const guint8 *e = data + off;
      guint8 type = e[66];
      if (type != 1 && type != 2 && type != 5) /* storage, stream, root */
        continue;
      for (gsize i = 0; names[i]; i++)
        if (ole_name_is (e, names[i]))
          return TRUE;
    }
  return FALSE;
}

static gboolean
contains (const guint8 *data, gsize len, const char *needle)
{
  return memmem (data, len, needle, strlen (needle)) != NULL;
}

static MugaiDocKind
probe_ole (const guint8 *data, gsize len, MugaiDocFlags *flags)
{
  static const char *const vba[] = { "VBA", "_VBA_PROJECT", "_VBA_PROJECT_CUR", "Macros", NULL };
  static const char *const enc[] = { "EncryptionInfo", NULL };
  static const char *const word[] = { "WordDocument", NULL };
  static const char *const excel[] = { "Workbook", "Book", NULL };
  static const char *const ppt[] = { "PowerPoint Document", NULL };
  static const char *const taro[] = { "DocumentText", "JSRV_*", NULL };
  static const char *const msg[] = { "__substg1.0_*", "__properties_version1.0", NULL };

  if (mugai_doctype_ole_has (data, len, vba))
    *flags |= MUGAI_DOC_FLAG_MACROS;
  if (mugai_doctype_ole_has (data, len, enc))
    *flags |= MUGAI_DOC_FLAG_ENCRYPTED;
  if (mugai_doctype_ole_has (data, len, word))
    return MUGAI_DOC_WORD;
  if (mugai_doctype_ole_has (data, len, excel))
    return MUGAI_DOC_EXCEL;
  if (mugai_doctype_ole_has (data, len, ppt))
    return MUGAI_DOC_POWERPOINT;
  if (mugai_doctype_ole_has (data, len, taro))
    return MUGAI_DOC_ICHITARO;
  if (mugai_doctype_ole_has (data, len, msg))
    return MUGAI_DOC_OUTLOOK_MSG;
  return MUGAI_DOC_OLE;
}

static MugaiDocKind
probe_zip (const guint8 *data, gsize len, MugaiDocFlags *flags)
{
  /* member names appear in the local headers and the central directory */
  if (contains (data, len, "vbaProject.bin"))
    *flags |= MUGAI_DOC_FLAG_MACROS;
  if (len > 38 && memcmp (data + 30, "mimetype", 8) == 0)
    {
      /* OpenDocument keeps Basic libraries under Basic/ and scripts in
       * other languages (Python, BeanShell, JavaScript) under Scripts/;
       * a plain document has neither */
      if (contains (data, len, "Basic/script-lc.xml") || contains (data, len, "Scripts/"))
        *flags |= MUGAI_DOC_FLAG_MACROS;
      if (contains (data, MIN (len, 256), "opendocument.text"))
        return MUGAI_DOC_ODT;
      if (contains (data, MIN (len, 256), "opendocument.spreadsheet"))
        return MUGAI_DOC_ODS;
      if (contains (data, MIN (len, 256), "opendocument.presentation"))
        return MUGAI_DOC_ODP;
    }
  if (contains (data, len, "[Content_Types].xml"))
    {
      if (contains (data, len, "word/"))
        return MUGAI_DOC_WORD_X;
      if (contains (data, len, "xl/"))
        return MUGAI_DOC_EXCEL_X;
      if (contains (data, len, "ppt/"))
        return MUGAI_DOC_POWERPOINT_X;
    }
  return MUGAI_DOC_ZIP;
}

MugaiDocKind
mugai_doctype_identify (const guint8 *data, gsize len, const char *magic_mime, MugaiDocFlags *flags)
{
  MugaiDocFlags dummy = 0;
  if (!flags)
    flags = &dummy;
  *flags = 0;
  if (!data || len == 0)
    return MUGAI_DOC_UNKNOWN;
  if (is_ole (data, len))
    return probe_ole (data, len, flags);
  if (len >= 4 && memcmp (data, "PK\003\004", 4) == 0)
    return probe_zip (data, len, flags);
  if (len >= 7 && data[2] == '-' && data[3] == 'l' && (data[4] == 'h' || data[4] == 'z')
      && data[6] == '-')
    return MUGAI_DOC_LZH; /* "-lh5-" at offset 2: the method of the first member */
  if (len >= 5 && memcmp (data, "{\\rtf", 5) == 0)
    return MUGAI_DOC_RTF;
  static const struct
  {
    gsize off;
    const char *magic;
    gsize n;
    MugaiDocKind kind;
  } fixed[] = {
    { 0, "7z\xbc\xaf\x27\x1c", 6, MUGAI_DOC_7Z },
    { 0, "Rar!\x1a\x07", 6, MUGAI_DOC_RAR },
    { 0, "\x1f\x8b", 2, MUGAI_DOC_GZIP },
    { 0, "BZh", 3, MUGAI_DOC_BZIP2 },
    { 0,
      "\xfd"
      "7zXZ\0",
      6, MUGAI_DOC_XZ },
    { 0, "MSCF\0\0\0\0", 8, MUGAI_DOC_CAB },
    { 257, "ustar", 5, MUGAI_DOC_TAR },
    { 0, "%PDF-", 5, MUGAI_DOC_PDF },
    { 0, "\xff\xd8\xff", 3, MUGAI_DOC_JPEG },
    { 0, "\x89PNG\r\n\x1a\n", 8, MUGAI_DOC_PNG },
    { 0, "GIF8", 4, MUGAI_DOC_GIF },
    { 0, "MZ", 2, MUGAI_DOC_EXECUTABLE },
    { 0,
      "\x7f"
      "ELF",
      4, MUGAI_DOC_EXECUTABLE },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (fixed); i++)
    if (fixed[i].off <= len && len - fixed[i].off >= fixed[i].n
        && memcmp (data + fixed[i].off, fixed[i].magic, fixed[i].n) == 0)
      return fixed[i].kind;

  MugaiDocKind k = mugai_doctype_for_mime (magic_mime);
  if (k == MUGAI_DOC_UNKNOWN && magic_mime)
    {
      if (g_str_has_prefix (magic_mime, "text/"))
        return MUGAI_DOC_TEXT;
    }
  return k;
}

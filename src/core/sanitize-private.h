/*
 * sanitize-private.h - what the files of mugai_sanitize() share, and
 *                      nothing else includes
 *
 * DESCRIPTION
 *	mugai_sanitize() is one pure function spread over the files of one
 *	concept each:
 *
 *	    sanitize.c  the entry point: bounds on the raw octets, the
 *	                parse, the verdict
 *	    engines.c   MugaiEngines (libmagic, ClamAV, the filter slots)
 *	    walk.c      the MIME walk: containers, leaves, the decisions
 *	    textpart.c  text and HTML parts read as UTF-8 text, inline
 *	                payloads cut out
 *	    content.c   what a leaf's content is: scanned, identified,
 *	                listed, converted
 *	    build.c     the output: text and binary parts, the notice, the
 *	                rebuilt message
 *	    headers.c   the header rewrite
 *
 *	The functions they call across files are named mugai_core_*; they
 *	are not part of the core's interface (sanitize.h is).
 *
 * OWNERSHIP
 *	One Ctx per call of mugai_sanitize() owns everything about the
 *	message; a Build per message (the outer one, or an attached one)
 *	owns the parts made for it until they are put in the new message.
 */
#pragma once

#include <magic.h>

#include "arclist.h"
#include "doctype.h"
#include "mugai-gmime.h"
#include "sanitize.h"

struct _MugaiEngines
{
  magic_t magic;
  MugaiScanner *scanner;    /* NULL in a lab without signatures */
  MugaiSandboxSlots *slots; /* filters running at once, shared with forked workers */
  char *no_scanner;         /* why there is none */
};

/* ---- per-call state ---------------------------------------------------- */

typedef struct
{
  const MugaiPolicy *policy;
  MugaiEngines *engines;
  MugaiReport *report;
  GMimeParserOptions *parser_options;
  guint parts_seen;
  gboolean parts_over_noted;
  guint unused_seen; /* alternatives not shown */
  gboolean unused_over_noted;
  gboolean reject;
  gboolean virus;
  GError *scan_error;      /* a scan or a filter that could not run: the message is tempfailed */
  gint64 convert_deadline; /* MugaiSanitizeOptions */
  const char *input;       /* the octets GMime parsed (header offsets point here) */
  gsize input_len;
} Ctx;

/* What one message (the outer one, or an attached one) is rebuilt from. */
typedef struct Build Build;
struct Build
{
  Build *parent;
  GString *body;          /* UTF-8 text of the main body */
  GPtrArray *attachments; /* GMimeObject, owned */
  GPtrArray *items;       /* MugaiPartReport, borrowed: listed in the notice */
};

/* ---- engines.c ---------------------------------------------------------- */

/* libmagic's MIME type of data (its first MAGIC_BYTES), owned, or NULL. */
char *mugai_core_detect_type (MugaiEngines *engines, const guint8 *data, gsize len);

/* ---- walk.c ------------------------------------------------------------- */

MugaiAction mugai_core_decide (Ctx *ctx, MugaiPartReport *rec, Build *build,
                               MugaiFindingCategory category, const char *detail);
void mugai_core_walk_message_body (Ctx *ctx, Build *build, GMimeMessage *msg, const char *prefix,
                                   guint depth);

/* ---- textpart.c --------------------------------------------------------- */

char *mugai_core_cut_decoded_payloads (Ctx *ctx, Build *build, MugaiPartReport *rec, char *text,
                                       guint found, gboolean *over);
char *mugai_core_read_text (Ctx *ctx, Build *build, MugaiPartReport *rec, GMimeObject *obj,
                            const GByteArray *bytes, gboolean *binary);
char *mugai_core_read_html (Ctx *ctx, MugaiPartReport *rec, GMimeObject *obj,
                            const GByteArray *bytes, gboolean enriched, char **detail,
                            gboolean *over);

/* ---- content.c ---------------------------------------------------------- */

gboolean mugai_core_scan_run (Ctx *ctx, const guint8 *data, gsize len, const char *name,
                              MugaiScanResult *result, char **sig);
gboolean mugai_core_scan_apply (Ctx *ctx, Build *build, MugaiPartReport *rec,
                                MugaiScanResult result, const char *sig);
MugaiArchiveListing *mugai_core_describe_content (Ctx *ctx, MugaiPartReport *rec,
                                                  const GByteArray *bytes, MugaiDocFlags *flags,
                                                  char **mismatch, MugaiDocKind *kind_out);
gboolean mugai_core_convert_part (Ctx *ctx, Build *build, MugaiPartReport *rec,
                                  const GByteArray *bytes, MugaiDocKind kind);
gboolean mugai_core_decide_document (Ctx *ctx, Build *build, MugaiPartReport *rec,
                                     MugaiDocFlags flags, const MugaiArchiveListing *listing);

/* ---- build.c ------------------------------------------------------------ */

void mugai_core_build_init (Build *b, Build *parent);
void mugai_core_build_clear (Build *b);
void mugai_core_build_add_item (Build *b, MugaiPartReport *rec);
void mugai_core_build_append_body (Build *b, const char *text);
GMimeObject *mugai_core_make_text_part (const MugaiPolicy *policy, const char *utf8,
                                        const char *filename, const char **charset_used);
void mugai_core_add_text_attachment (Ctx *ctx, Build *build, MugaiPartReport *rec, const char *text,
                                     const char *fallback_name);
GMimeObject *mugai_core_make_binary_part (const char *mime_type, GBytes *data,
                                          const char *filename);
void mugai_core_append_inline_message (Ctx *ctx, Build *build, GMimeMessage *inner,
                                       Build *inner_build);
GMimeMessage *mugai_core_rebuild_message (Ctx *ctx, Build *build, GMimeMessage *src, gboolean top,
                                          const char *quarantine_id);

/* ---- headers.c ---------------------------------------------------------- */

void mugai_core_copy_headers (Ctx *ctx, GMimeMessage *src, GMimeMessage *dst, gboolean top);
void mugai_core_identify (MugaiReport *report, GMimeMessage *message, const MugaiPolicy *policy);

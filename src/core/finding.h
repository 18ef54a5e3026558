/*
 * finding.h - the closed list of what detection code may report
 *
 * DESCRIPTION
 *	Detectors (the MIME walk, the HTML converter, the text scanner) report
 *	findings: a category, the part's path in the MIME tree and a detail
 *	text.  Only policy.c turns findings into actions, and the log, the
 *	report, the notice and (later) the SMTP reply all use the category
 *	names defined here and their texts, whose Japanese comes from the
 *	one catalogue of words (words.h), so they speak the same words.
 *
 *	Actions are what happened to a part.
 *
 * THREAD SAFETY
 *	The tables are constant; everything here is thread-safe.
 */
#pragma once

#include <glib.h>

#include "words.h" /* MugaiLang, and the texts of the tables */

typedef enum
{
  MUGAI_FINDING_VIRUS,           /* malware signature (detection issue) */
  MUGAI_FINDING_BANNED_TYPE,     /* a type that may not cross */
  MUGAI_FINDING_NAME_TRICK,      /* file name that lies about its type */
  MUGAI_FINDING_ENCRYPTED,       /* encrypted content: cannot be inspected */
  MUGAI_FINDING_NOT_INSPECTABLE, /* TNEF, partial, external body... */
  MUGAI_FINDING_SIGNATURE,       /* signature dropped: content was changed */
  MUGAI_FINDING_INLINE_PAYLOAD,  /* uuencode / yEnc / BinHex inside text */
  MUGAI_FINDING_ACTIVE_CONTENT,  /* HTML made into text */
  MUGAI_FINDING_OVER_LIMIT,      /* a limit in mugai-limits.h was reached */
  MUGAI_FINDING_MALFORMED,       /* cannot be understood as declared */
  MUGAI_FINDING_CHARSET,         /* declared charset wrong; another used */
  MUGAI_FINDING_FORGED_HEADER,   /* X-Mugai-* header from outside removed */
  MUGAI_FINDING_ARCHIVE,         /* an archive: listed, then removed or refused by policy */
  MUGAI_FINDING_TYPE_MISMATCH,   /* declared type or extension disagrees with the content */
  MUGAI_FINDING_CONVERTIBLE,     /* a document converted into an inert form (filters) */
  MUGAI_FINDING_N
} MugaiFindingCategory;

typedef enum
{
  MUGAI_ACTION_KEEP,      /* text kept (decoded to UTF-8) */
  MUGAI_ACTION_TO_TEXT,   /* HTML or enriched text rendered as text */
  MUGAI_ACTION_CONVERT,   /* converted to an inert form (filters) */
  MUGAI_ACTION_REMOVE,    /* removed, named in the notice */
  MUGAI_ACTION_UNUSED,    /* alternative not shown; nothing to note */
  MUGAI_ACTION_CONTAINER, /* multipart or message: walked into */
  MUGAI_ACTION_REJECT,    /* the whole message is refused */
  MUGAI_ACTION_N
} MugaiAction;

typedef struct
{
  MugaiFindingCategory category;
  char *path;   /* owned: MIME path such as "2.1", "" for the message */
  char *detail; /* owned: UTF-8, may quote sender text (already decoded) */
} MugaiFinding;

MugaiFinding *mugai_finding_new (MugaiFindingCategory category, const char *path,
                                 const char *detail_fmt, ...) G_GNUC_PRINTF (3, 4);
void mugai_finding_free (MugaiFinding *finding);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MugaiFinding, mugai_finding_free)

/* Stable machine name ("banned-type") used in the report and logs. */
const char *mugai_finding_category_name (MugaiFindingCategory category);
/* Human reason in the notice's language (the catalogue's, words.c). */
const char *mugai_finding_category_text (MugaiFindingCategory category, MugaiLang lang);

const char *mugai_action_name (MugaiAction action);
const char *mugai_action_text (MugaiAction action, MugaiLang lang);

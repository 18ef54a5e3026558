/*
 * report.h - what happened to one message, for the JSON report, the log,
 *            the notice and the SMTP reply
 *
 * DESCRIPTION
 *	A MugaiReport is filled by the core (sanitize.c) and read by
 *	everything else.  It holds the verdict, every finding, and one
 *	MugaiPartReport per MIME entity walked (containers included), in
 *	tree order.  mugai_report_to_json() writes the format documented in
 *	mugai(1) under REPORT.
 *
 * OWNERSHIP
 *	The report owns its findings and part records.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "finding.h"

typedef enum
{
  MUGAI_VERDICT_CLEAN,     /* nothing removed or converted */
  MUGAI_VERDICT_SANITIZED, /* deliver the rewritten message */
  MUGAI_VERDICT_REJECT,    /* must not be delivered */
  MUGAI_VERDICT_TEMPFAIL,  /* could not be processed now; try again */
  MUGAI_VERDICT_DISCARD,   /* malware, on_virus = discard: accepted, dropped */
  MUGAI_VERDICT_HOLD       /* malware, on_virus = hold: accepted, kept in the quarantine only */
} MugaiVerdict;

#define MUGAI_REASON_NONE (-1)

/* One member of an archive attachment, as listed in the notice. */
typedef struct
{
  char *name;   /* UTF-8 as decoded; nested members "inner.zip/member" */
  gint64 size;  /* -1 unknown */
  char *type;   /* what it is by content ("doc" kind name), or NULL */
  char *danger; /* why it is dangerous (policy language), or NULL */
  gboolean encrypted;
} MugaiEntryReport;

typedef struct
{
  char *path;          /* MIME path ("1", "2.1"); "" for the root container */
  const char *kind;    /* static: body, attachment, alternative, container, signature,
                          inline-payload, message */
  char *declared_type; /* "type/subtype", lower case */
  char *detected_type; /* libmagic's MIME type of the decoded content */
  char *filename;      /* decoded UTF-8, as the sender wrote it */
  gsize size;          /* decoded octets */
  char *sha256;        /* hex, of the decoded content */
  char *charset;       /* charset used to read a text part */
  MugaiAction action;
  int reason;          /* MugaiFindingCategory, or MUGAI_REASON_NONE */
  char *detail;        /* UTF-8, may be NULL */
  char *type_label;    /* what the content is, in the policy's language
                          ("一太郎文書"), or NULL when unknown */
  char *true_type;     /* machine name of the same ("ichitaro"), or NULL */
  GPtrArray *entries;  /* MugaiEntryReport of an archive, or NULL */
  guint entries_total; /* members seen (entries may hold fewer) */
} MugaiPartReport;

typedef struct
{
  MugaiVerdict verdict;
  GPtrArray *findings; /* MugaiFinding */
  GPtrArray *parts;    /* MugaiPartReport */
  char *message_id;
  char *subject;
  char *status; /* the X-Mugai-Status value */
  char *output_charset;
  guint removed;
  guint converted;
  char *virus;                 /* first signature found, or NULL */
  guint parts_omitted;         /* MIME entities past [limits] parts: counted, not in parts */
  guint parts_omitted_removed; /* of those, the ones removed (the others were
                                * alternatives not shown); in removed too */
  guint parts_counted;         /* refused before parsing: the upper bound of its
                                * entities counted on the raw octets (none in parts) */
  guint parts_limit;           /* the limit they were past (for the summary) */
} MugaiReport;

MugaiReport *mugai_report_new (void);
void mugai_report_free (MugaiReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MugaiReport, mugai_report_free)

void mugai_entry_report_free (gpointer entry);

MugaiPartReport *mugai_report_add_part (MugaiReport *report, const char *path, const char *kind);

/* Takes ownership of finding. */
void mugai_report_add_finding (MugaiReport *report, MugaiFinding *finding);

/* The first finding that decided a reject, or NULL. */
const MugaiFinding *mugai_report_reject_finding (const MugaiReport *report);

const char *mugai_verdict_name (MugaiVerdict verdict);

/* At most MUGAI_LIMIT_REPORT_SIZE octets: past it, the parts and
 * reasons that do not fit are left out (the first ones are kept), and
 * whenever anything is left out (report->parts_omitted too) the object
 * ends with "omitted_parts", "omitted_reasons" and one "summary" line. */
char *mugai_report_to_json (const MugaiReport *report, gboolean pretty);

/* The same object as data, built once (bounded as the compact text is):
 * what the worker hands on, the store keeps and the audit reads. */
JsonNode *mugai_report_to_node (const MugaiReport *report);

/* The report on its way between processes or out of a file: one writer
 * (compact JSON) and one strict reader.  The reader takes at most
 * MUGAI_LIMIT_REPORT_SIZE octets of UTF-8 without NUL, and only an object
 * whose members are those mugai_report_to_node() writes, each of its
 * type (strings or null, counts >= 0, the parts, reasons and archive
 * entries as arrays of such objects); anything else is
 * MUGAI_REPORT_ERROR_INVALID.  A member added to the report must be
 * added to the checker (report.c), or reports with it are refused. */
char *mugai_report_node_to_text (JsonNode *node);
JsonNode *mugai_report_node_from_text (const char *text, gsize len, GError **error);
/* The check alone, for a node parsed with something else (the store's
 * metadata file holds the report as one of its members). */
gboolean mugai_report_node_check (JsonNode *node, GError **error);

#define MUGAI_REPORT_ERROR (mugai_report_error_quark ())
GQuark mugai_report_error_quark (void);
typedef enum
{
  MUGAI_REPORT_ERROR_INVALID
} MugaiReportError;

/* JSON members from mail text: made valid UTF-8 (never a raw octet from
 * the mail in a JSON file); NULL is written as null.  Shared by the
 * report, the quarantine metadata and the audit log. */
void mugai_json_add_string (JsonBuilder *b, const char *name, const char *value);
void mugai_json_add_strings (JsonBuilder *b, const char *name, GPtrArray *values);

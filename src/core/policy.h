/*
 * policy.h - what mugai does with each finding, as configured
 *
 * DESCRIPTION
 *	MugaiPolicy is what the core reads to sanitize one message: limits,
 *	choices, the notice template, and the settings of the engines it
 *	builds (ClamAV, the filters).  Nothing else: the node's own settings
 *	(socket, user, spool, quarantine, audit log, workers) are
 *	MugaiNodeSettings, in src/config/node.h, a layer the core cannot
 *	see.  config.c fills both from mugai.conf in one parse;
 *	mugai_policy_new_default() gives the built-in defaults.  Detection
 *	code reports findings (finding.h); mugai_policy_action() is the only
 *	place that turns a finding category into an action.
 *
 * OWNERSHIP
 *	A MugaiPolicy owns its strings.  It is immutable once built, so one
 *	policy may be shared by many sanitizations (and, later, threads).
 */
#pragma once

#include <glib.h>

#include "convert.h"
#include "finding.h"
#include "html.h"
#include "scan.h"

typedef enum
{
  MUGAI_ALTERNATIVE_HTML,
  MUGAI_ALTERNATIVE_TEXT
} MugaiAlternative;

typedef enum
{
  MUGAI_RFC822_ATTACH,
  MUGAI_RFC822_INLINE
} MugaiRfc822;

typedef enum
{
  MUGAI_OUTPUT_UTF8,
  MUGAI_OUTPUT_ISO2022JP
} MugaiOutputCharset;

typedef enum
{
  MUGAI_NOTICE_TOP,
  MUGAI_NOTICE_BOTTOM
} MugaiNoticePosition;

typedef enum
{
  MUGAI_ON_REMOVE,
  MUGAI_ON_REJECT
} MugaiOn;

/* What happens to a message in which malware was found.  All three keep
 * the original in the quarantine; none delivers anything. */
typedef enum
{
  MUGAI_VIRUS_REJECT,  /* 550 to the sender */
  MUGAI_VIRUS_DISCARD, /* accepted, dropped silently */
  MUGAI_VIRUS_HOLD     /* accepted, kept in the quarantine for review */
} MugaiOnVirus;

typedef struct
{
  gsize message_size;
  gsize part_size;
  gsize header_length;
  guint depth;
  guint parts;
  guint headers;
  guint inline_payloads;
  gsize html_size;       /* octets of one HTML part rendered */
  guint html_attributes; /* attributes on one HTML element */
  guint html_time;       /* milliseconds one HTML part's parse may take */
  guint archive_depth;   /* archives inside an archive, listed this deep */
  guint archive_entries; /* members listed per attachment */
  gsize archive_expand;  /* octets decompressed per attachment to list it */
} MugaiLimits;

typedef struct
{
  MugaiLimits limits;
  MugaiScanSettings clamav;
  MugaiConvertSettings convert;
  gboolean clamav_required; /* no loadable database: refuse to run */
  MugaiOnVirus on_virus;
  MugaiAlternative alternative;
  MugaiLinkMode links;
  MugaiTextLinks text_links; /* URLs written as text: defanged or kept */
  MugaiRfc822 rfc822;
  MugaiOutputCharset charset;
  MugaiOn encrypted;
  MugaiOn archive;
  MugaiLang language;
  MugaiNoticePosition notice_position;
  char *notice_template_path; /* NULL: built-in template */
  char *notice_template;      /* the template text in use (owned) */
  char *profile;              /* the [profile NAME] it was made from; NULL: the main one */
} MugaiPolicy;

MugaiPolicy *mugai_policy_new_default (void);
void mugai_policy_free (MugaiPolicy *policy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MugaiPolicy, mugai_policy_free)

/* The action for a finding about one part (path non-empty) or about the
 * whole message (path ""). */
MugaiAction mugai_policy_action (const MugaiPolicy *policy, const MugaiFinding *finding);

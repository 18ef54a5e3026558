/*
 * policy.c - the one place where findings become actions
 *
 * DESCRIPTION
 *	Most categories have one sane action in a gateway that must fail
 *	closed: a part that cannot be made harmless is removed.  The choices
 *	an administrator may make are the ones mugai.conf(5) lists; nothing
 *	here lets original content through.
 */
#include "policy.h"

#include "buildtree.h"
#include "mugai-build.h"
#include "mugai-limits.h"
#include "notice.h"

MugaiPolicy *
mugai_policy_new_default (void)
{
  MugaiPolicy *policy = g_new0 (MugaiPolicy, 1);
  policy->limits = (MugaiLimits){
    .message_size = MUGAI_LIMIT_MESSAGE_SIZE,
    .part_size = MUGAI_LIMIT_PART_SIZE,
    .header_length = MUGAI_LIMIT_HEADER_LENGTH,
    .depth = MUGAI_LIMIT_DEPTH,
    .parts = MUGAI_LIMIT_PARTS,
    .headers = MUGAI_LIMIT_HEADERS,
    .inline_payloads = MUGAI_LIMIT_INLINE_PAYLOADS,
    .html_size = MUGAI_LIMIT_HTML_SIZE,
    .html_attributes = MUGAI_LIMIT_HTML_ATTRIBUTES,
    .html_time = MUGAI_LIMIT_HTML_TIME,
    .archive_depth = MUGAI_LIMIT_ARCHIVE_DEPTH,
    .archive_entries = MUGAI_LIMIT_ARCHIVE_ENTRIES,
    .archive_expand = MUGAI_LIMIT_ARCHIVE_EXPAND,
  };
  policy->clamav = (MugaiScanSettings){
    .database = g_strdup ("/var/lib/clamav"),
    .max_scansize = MUGAI_LIMIT_SCAN_SIZE,
    .max_filesize = MUGAI_LIMIT_SCAN_FILE,
    .max_recursion = MUGAI_LIMIT_SCAN_RECURSION,
    .max_files = MUGAI_LIMIT_SCAN_FILES,
    .max_scantime = MUGAI_LIMIT_SCAN_TIME,
    .heuristic_broken = TRUE,
    .heuristic_macros = TRUE,
    .heuristic_encrypted = TRUE,
    .heuristic_phishing = FALSE,
  };
  policy->convert = (MugaiConvertSettings){
    .pdf = MUGAI_PDF_IMAGE,
    .pdf_text = FALSE,
    .dpi = 150,
    .max_pages = 50,
    .office = MUGAI_OFFICE_TEXT,
    .image = MUGAI_IMAGE_REENCODE,
    .filters_dir = g_strdup (mugai_default_filters_dir ()),
    .soffice = g_strdup ("/usr/bin/soffice"),
    .timeout = 60,
    .cpu = 60,
    .memory = 1024u * 1024u * 1024u,
    .output_max = 64u * 1024u * 1024u,
    .max_running = 0,
    .slot_wait = 30,
  };
  policy->clamav_required = TRUE;
  policy->on_virus = MUGAI_VIRUS_REJECT;
  policy->alternative = MUGAI_ALTERNATIVE_HTML;
  policy->links = MUGAI_LINKS_DEFANG;
  policy->text_links = MUGAI_TEXT_LINKS_DEFANG;
  policy->rfc822 = MUGAI_RFC822_ATTACH;
  policy->charset = MUGAI_OUTPUT_UTF8;
  policy->encrypted = MUGAI_ON_REMOVE;
  policy->archive = MUGAI_ON_REMOVE;
  policy->language = MUGAI_LANG_JA;
  policy->notice_position = MUGAI_NOTICE_TOP;
  policy->notice_template = g_strdup (mugai_notice_builtin_template (policy->language));
  return policy;
}

void
mugai_policy_free (MugaiPolicy *policy)
{
  if (!policy)
    return;
  g_free (policy->clamav.database);
  g_free (policy->convert.filters_dir);
  g_free (policy->convert.soffice);
  g_free (policy->notice_template_path);
  g_free (policy->profile);
  g_free (policy->notice_template);
  g_free (policy);
}

MugaiAction
mugai_policy_action (const MugaiPolicy *policy, const MugaiFinding *finding)
{
  g_return_val_if_fail (policy != NULL && finding != NULL, MUGAI_ACTION_REJECT);

  gboolean whole_message = finding->path[0] == '\0';
  switch (finding->category)
    {
    case MUGAI_FINDING_VIRUS:
      /* the message is not delivered; on_virus says how (see sanitize.c) */
      return MUGAI_ACTION_REJECT;
    case MUGAI_FINDING_ENCRYPTED:
      return policy->encrypted == MUGAI_ON_REJECT ? MUGAI_ACTION_REJECT : MUGAI_ACTION_REMOVE;
    case MUGAI_FINDING_OVER_LIMIT:
      /* the message itself over a limit: there is nothing left to deliver */
      return whole_message ? MUGAI_ACTION_REJECT : MUGAI_ACTION_REMOVE;
    case MUGAI_FINDING_ACTIVE_CONTENT:
      return MUGAI_ACTION_TO_TEXT;
    case MUGAI_FINDING_CHARSET:
    case MUGAI_FINDING_TYPE_MISMATCH: /* reported; the part's type decides */
      return MUGAI_ACTION_KEEP;
    case MUGAI_FINDING_CONVERTIBLE:
      /* only reported when [convert] chose a conversion that worked */
      return MUGAI_ACTION_CONVERT;
    case MUGAI_FINDING_ARCHIVE:
      return policy->archive == MUGAI_ON_REJECT ? MUGAI_ACTION_REJECT : MUGAI_ACTION_REMOVE;
    case MUGAI_FINDING_BANNED_TYPE:
    case MUGAI_FINDING_NAME_TRICK:
    case MUGAI_FINDING_NOT_INSPECTABLE:
    case MUGAI_FINDING_SIGNATURE:
    case MUGAI_FINDING_INLINE_PAYLOAD:
    case MUGAI_FINDING_MALFORMED:
    case MUGAI_FINDING_FORGED_HEADER:
    case MUGAI_FINDING_N:
      break;
    }
  return MUGAI_ACTION_REMOVE;
}

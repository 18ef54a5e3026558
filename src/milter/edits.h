/*
 * edits.h - the header changes that turn the original into the sanitized
 *           message, as a milter must apply them
 *
 * DESCRIPTION
 *	A milter cannot replace a message; it changes, deletes and adds
 *	header fields (smfi_chgheader, smfi_addheader) and replaces the body.
 *	mugai_edits_compute() compares the original header block with the
 *	sanitized message's and returns the edits, plus where the sanitized
 *	body starts.  The sanitized header block keeps the original's order
 *	(fields dropped, values re-encoded) and appends new fields at the
 *	end, so one forward walk finds every edit.
 *
 *	Values are unfolded-compared, except that an original field with a
 *	whitespace-only continuation line is always changed; the value
 *	handed to the milter keeps the sanitized folding with "\n" line ends
 *	(libmilter's convention), whitespace-only lines left out.
 *	index is the 1-based occurrence among original fields of that name.
 *
 * LIMITS
 *	Both header blocks were bounded by the core's limits.
 */
#pragma once

#include <glib.h>

typedef enum
{
  MUGAI_EDIT_CHANGE,
  MUGAI_EDIT_DELETE,
  MUGAI_EDIT_ADD
} MugaiEditKind;

typedef struct
{
  MugaiEditKind kind;
  char *name;
  guint index; /* CHANGE, DELETE: occurrence (1-based); ADD: 0 */
  char *value; /* CHANGE, ADD; NULL for DELETE */
} MugaiHeaderEdit;

void mugai_header_edit_free (MugaiHeaderEdit *edit);

/* Returns MugaiHeaderEdit in the order to apply them: changes and
 * deletions from the last original field to the first (so that indexes
 * stay valid), then additions in order.  *body_offset is where the body
 * of the sanitized message starts. */
GPtrArray *mugai_edits_compute (const char *original, gsize original_len, const char *sanitized,
                                gsize sanitized_len, gsize *body_offset);

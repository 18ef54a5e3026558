/*
 * notice.h - the お知らせ block that tells the reader what was done
 *
 * DESCRIPTION
 *	The notice is rendered from a template (built-in per language, or a
 *	file named by [notice] template) in which these placeholders are
 *	replaced:
 *
 *	    ${items}          one entry per removed or converted item
 *	    ${removed}        number of items removed
 *	    ${converted}      number of items converted
 *	    ${quarantine_id}  the id of the stored original ("" when no store)
 *
 *	A template line in which a placeholder expands to the empty string
 *	is left out entirely, so "保管番号: ${quarantine_id}" disappears when
 *	no quarantine store is configured.
 *
 *	File names and other sender text are shown in a safe form: control
 *	and bidirectional-override characters are written as <U+202E>, and
 *	long names are shortened, so a name cannot reorder or hide the text
 *	around it.
 */
#pragma once

#include <glib.h>

#include "logline.h" /* mugai_text_safe_display() */
#include "policy.h"
#include "report.h"

const char *mugai_notice_builtin_template (MugaiLang lang);

/* items: MugaiPartReport pointers (borrowed) to list.  omitted: parts
 * past [limits] parts that were removed without an item of their own;
 * when not 0, ${items} ends with one line that counts them. */
char *mugai_notice_render (const MugaiPolicy *policy, GPtrArray *items, guint omitted,
                           const char *quarantine_id);

/* The line that replaces a payload cut out of a text body. */
char *mugai_notice_placeholder (MugaiLang lang, const char *kind, const char *name);

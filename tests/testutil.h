/*
 * testutil.h - what the GLib unit tests of tests/ share
 *
 * DESCRIPTION
 *	TESTUTIL_ADD_CASES()      one test a row of a table of cases, named
 *	                          PREFIX/<the row's FIELD> and given the row
 */
#pragma once

#include <glib.h>

static inline void
testutil_add_case (const char *prefix, const char *name, gconstpointer row, GTestDataFunc func)
{
  g_autofree char *path = g_strdup_printf ("%s/%s", prefix, name);
  g_test_add_data_func (path, row, func);
}

#define TESTUTIL_ADD_CASES(prefix, cases, field, func)                                             \
  for (gsize testutil_i_ = 0; testutil_i_ < G_N_ELEMENTS (cases); testutil_i_++)                   \
  testutil_add_case ((prefix), (cases)[testutil_i_].field, &(cases)[testutil_i_], (func))

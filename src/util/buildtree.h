/*
 * buildtree.h - where a program run from its build tree finds its parts
 *
 * SYNOPSIS
 *	policy->convert.filters_dir = g_strdup (mugai_default_filters_dir ());
 *
 * DESCRIPTION
 *	A newcomer runs build/src/mugai straight from the build tree (the
 *	README's first command); the filter programs it needs are then in
 *	build/filters, not yet in libexecdir/mugai.  meson writes the build
 *	tree's path into the binaries (MUGAI_BUILD_ROOT, mugai-build.h), and
 *	mugai_build_tree() returns it only when the running executable
 *	(/proc/self/exe, which the kernel sets: no environment variable, no
 *	argv[0]) lies inside it.  An installed program (/usr/local/bin,
 *	/usr/local/sbin) never is, so it always gets the installed paths,
 *	whatever the caller's environment says.
 *
 * THREADS
 *	Thread-safe (computed once).
 */
#pragma once

#include <glib.h>

/* The build tree this executable runs from (no trailing '/'), or NULL
 * when it is an installed one.  Static. */
const char *mugai_build_tree (void);

/* The default of [sandbox] filters: the build tree's filters/ for a
 * program run from its build tree, else the installed libexecdir/mugai.
 * Static. */
const char *mugai_default_filters_dir (void);

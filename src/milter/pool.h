/*
 * pool.h - the worker pool's parent process
 *
 * DESCRIPTION
 *	mugai_pool_run() loads the engines once, forks policy->milter.workers
 *	workers that accept on listen_fd, replaces them as they die and
 *	handles SIGHUP (reload from reload_path, answered on answer_fd) and
 *	SIGTERM (drain).  It takes ownership of policy and returns the
 *	process's exit status.  See pool.c.
 */
#pragma once

#include "policy.h"

int mugai_pool_run (int listen_fd, const char *reload_path, int answer_fd, MugaiPolicy *policy);

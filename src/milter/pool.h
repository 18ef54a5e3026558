/*
 * pool.h - the worker pool's parent process
 *
 * DESCRIPTION
 *	mugai_pool_run() loads the engines once, forks [milter] workers
 *	workers that accept on listen_fd, replaces them as they die and
 *	handles SIGHUP (reload from reload_path, answered on answer_fd) and
 *	SIGTERM (drain).  It takes ownership of config and keeps of it only
 *	the policy and the node values the pool and its workers use (see
 *	pool.c); the rest is freed before the first worker is forked.
 *	Returns the process's exit status.  See pool.c.
 */
#pragma once

#include "config.h"

#include <sys/types.h>

/* front_uid: the only peer the workers answer ((uid_t) -1: any). */
int mugai_pool_run (int listen_fd, const char *reload_path, int answer_fd, MugaiConfig *config,
                    uid_t front_uid, uid_t storer_uid);

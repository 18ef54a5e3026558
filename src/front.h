/*
 * front.h - the libmilter front of mugai-milter
 *
 * DESCRIPTION
 *	mugai_front_run() registers the milter, listens on
 *	policy->milter.socket and serves Postfix until SIGTERM, handing every
 *	message to the worker pool listening on worker_socket.  Returns the
 *	process's exit status.  See front.c.
 */
#pragma once

#include "policy.h"

int mugai_front_run (const MugaiPolicy *policy, const char *config_path, const char *worker_socket);

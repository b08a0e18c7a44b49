/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Errors travel in a context owned by the caller, so threads that read and
 * render at the same time never share a message buffer.
 */
#ifndef KHIST_ERROR_H
#define KHIST_ERROR_H

#define ERROR_TEXT_SIZE 512

struct error_context {
	int code;			/* negative errno, 0 when nothing failed */
	char text[ERROR_TEXT_SIZE];	/* names the path or map and the errno text */
};

/* Records @code and the message; returns @code. */
int error_fail(struct error_context *error, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif

// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

int error_fail(struct error_context *error, int code, const char *fmt, ...)
{
	char text[ERROR_TEXT_SIZE];
	va_list ap;

	if (!error)
		return code;
	/* The message may quote the previous one: format aside, then copy. */
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	memcpy(error->text, text, sizeof(text));
	error->code = code;
	return code;
}

#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealkit/status.h"

sealkit_status sealkit_fail(sealkit_error *err, sealkit_status st, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		err->status = st;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof err->message, fmt, ap);
		va_end(ap);
	}
	return st;
}

const char *sealkit_status_name(sealkit_status st)
{
	static const char *const names[] = {
		[SEALKIT_OK] = "ok",
		[SEALKIT_ERR_ARGS] = "arguments",
		[SEALKIT_ERR_MEMORY] = "memory",
		[SEALKIT_ERR_IO] = "io",
		[SEALKIT_ERR_FORMAT] = "format",
		[SEALKIT_ERR_UNSUPPORTED] = "unsupported",
		[SEALKIT_ERR_MODULE] = "module",
		[SEALKIT_ERR_PIN] = "pin",
		[SEALKIT_ERR_NOT_FOUND] = "not-found",
		[SEALKIT_ERR_CRYPTO] = "crypto",
		[SEALKIT_ERR_INVALID] = "invalid",
	};
	if ((unsigned)st < sizeof names / sizeof names[0] && names[st])
		return names[st];
	return "unknown";
}

void sealkit_warn(sealkit_warnings *w, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	if (!w)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	char **items = realloc(w->items, (w->count + 1) * sizeof *items);
	if (!items)
		return;
	w->items = items;
	if ((items[w->count] = strdup(buf)) != NULL)
		w->count++;
}

void sealkit_warnings_free(sealkit_warnings *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->count; i++)
		free(w->items[i]);
	free(w->items);
	w->items = NULL;
	w->count = 0;
}

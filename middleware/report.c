/* Reports as JSON, the form of `sealkit verify --json` (spec/cli.md). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealkit/verify.h"

typedef struct jbuf {
	char *p;
	size_t len, cap;
	int failed;
} jbuf;

static void put(jbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *q = realloc(b->p, cap);
		if (!q) {
			b->failed = 1;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(jbuf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* A JSON string: UTF-8 passes through; controls, quotes and backslashes are escaped. */
static void put_str(jbuf *b, const char *s)
{
	put(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		char esc[8];
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			put(b, esc, 2);
		} else if (*p < 0x20) {
			snprintf(esc, sizeof esc, "\\u%04x", *p);
			put(b, esc, 6);
		} else {
			put(b, (const char *)p, 1);
		}
	}
	put(b, "\"", 1);
}

char *sealkit_report_json(const sealkit_report *r)
{
	jbuf b = {0};
	puts_(&b, "{\"valid\": ");
	puts_(&b, r->valid ? "true" : "false");
	puts_(&b, ", \"kind\": ");
	put_str(&b, r->kind);
	puts_(&b, ", \"items\": [");
	for (size_t i = 0; i < r->n_items; i++) {
		const sealkit_report_item *it = &r->items[i];
		puts_(&b, i ? ", {" : "{");
		puts_(&b, "\"label\": ");
		put_str(&b, it->label);
		puts_(&b, ", \"version\": ");
		put_str(&b, it->version);
		puts_(&b, ", \"valid\": ");
		puts_(&b, it->valid ? "true" : "false");
		puts_(&b, ", \"checks\": [");
		for (size_t c = 0; c < it->n_checks; c++) {
			const sealkit_check *ck = &it->checks[c];
			puts_(&b, c ? ", {\"name\": " : "{\"name\": ");
			put_str(&b, ck->name);
			puts_(&b, ", \"ok\": ");
			puts_(&b, ck->result == SEALKIT_CHECK_PASSED   ? "true"
				  : ck->result == SEALKIT_CHECK_FAILED ? "false"
								       : "null");
			if (ck->advisory)
				puts_(&b, ", \"advisory\": true");
			puts_(&b, ", \"detail\": ");
			put_str(&b, ck->detail);
			puts_(&b, "}");
		}
		puts_(&b, "], \"warnings\": [");
		for (size_t w = 0; w < it->warnings.count; w++) {
			if (w)
				puts_(&b, ", ");
			put_str(&b, it->warnings.items[w]);
		}
		puts_(&b, "]}");
	}
	puts_(&b, "]}");
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

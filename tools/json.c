/* A small streaming JSON writer for --json output. */
#include "config.h"

#include <string.h>

#include "cli.h"

void json_begin(json_out *j, FILE *f)
{
	memset(j, 0, sizeof *j);
	j->f = f;
	j->first[0] = true;
}

static void escape(FILE *f, const char *s, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void key(json_out *j, const char *k)
{
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = false;
	if (k) {
		escape(j->f, k, strlen(k));
		fputc(':', j->f);
	}
}

static void open_(json_out *j, const char *k, char c)
{
	key(j, k);
	fputc(c, j->f);
	if (j->depth < 31)
		j->depth++;
	j->first[j->depth] = true;
}

void json_obj(json_out *j, const char *k)
{
	open_(j, k, '{');
}
void json_arr(json_out *j, const char *k)
{
	open_(j, k, '[');
}

void json_end_obj(json_out *j)
{
	fputc('}', j->f);
	j->depth--;
}

void json_end_arr(json_out *j)
{
	fputc(']', j->f);
	j->depth--;
}

void json_strn(json_out *j, const char *k, const char *v, size_t n)
{
	key(j, k);
	if (v)
		escape(j->f, v, n);
	else
		fputs("null", j->f);
}

void json_str(json_out *j, const char *k, const char *v)
{
	json_strn(j, k, v, v ? strlen(v) : 0);
}

void json_int(json_out *j, const char *k, long long v)
{
	key(j, k);
	fprintf(j->f, "%lld", v);
}

void json_bool(json_out *j, const char *k, bool v)
{
	key(j, k);
	fputs(v ? "true" : "false", j->f);
}

void json_null(json_out *j, const char *k)
{
	key(j, k);
	fputs("null", j->f);
}

void json_finish(json_out *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}

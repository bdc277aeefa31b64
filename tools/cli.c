/* Helpers every sealkit command uses: messages, files, PINs, modules. */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli.h"

int cli_error(const char *fmt, ...)
{
	va_list ap;
	fputs("sealkit: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAILURE_;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fputs("sealkit: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'sealkit %s --help'.\n", cmd);
	return EXIT_FAILURE_;
}

bool cli_read_file(const char *path, unsigned char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t n = 0, cap = 0;
	*data = NULL;
	*len = 0;
	if (!f) {
		cli_error("%s: cannot open: %s", path, strerror(errno));
		return false;
	}
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			unsigned char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				cli_error("%s: out of memory", path);
				return false;
			}
			buf = nb;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		cli_error("%s: read error: %s", path, strerror(errno));
		free(buf);
		fclose(f);
		return false;
	}
	fclose(f);
	*data = buf;
	*len = n;
	return true;
}

bool cli_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f) {
		cli_error("%s: cannot create: %s", path, strerror(errno));
		return false;
	}
	/* Large outputs go out in pieces, with a progress bar on a terminal. */
	cli_progress bar;
	char what[PATH_MAX + 16];
	snprintf(what, sizeof what, "writing %s", path);
	cli_progress_start(&bar, what);
	bool ok = true;
	for (size_t done = 0; ok && done < len;) {
		size_t n = len - done < ((size_t)4 << 20) ? len - done : ((size_t)4 << 20);
		ok = fwrite((const unsigned char *)data + done, 1, n, f) == n;
		done += n;
		cli_progress_update(&bar, done, len);
	}
	cli_progress_done(&bar);
	if (fclose(f) != 0)
		ok = false;
	if (!ok)
		cli_error("%s: write error: %s", path, strerror(errno));
	return ok;
}

bool cli_read_cert(const char *path, unsigned char **der, size_t *len)
{
	unsigned char *data;
	size_t n;
	if (!cli_read_file(path, &data, &n))
		return false;
	const unsigned char *p = data;
	X509 *x = NULL;
	if (n > 0 && data[0] == 0x30) {
		x = d2i_X509(NULL, &p, (long)n);
	} else {
		BIO *b = BIO_new_mem_buf(data, (int)n);
		x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
	}
	free(data);
	if (!x) {
		cli_error("%s: not an X.509 certificate (PEM or DER)", path);
		return false;
	}
	unsigned char *out = NULL;
	int l = i2d_X509(x, &out);
	X509_free(x);
	if (l <= 0)
		return cli_error("%s: cannot encode the certificate", path), false;
	*der = malloc((size_t)l);
	if (!*der) {
		OPENSSL_free(out);
		return cli_error("out of memory"), false;
	}
	memcpy(*der, out, (size_t)l);
	OPENSSL_free(out);
	*len = (size_t)l;
	return true;
}

bool cli_write_pem(const char *path, const char *label, const unsigned char *der, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *txt;
	bool ok = b && PEM_write_bio(b, label, "", der, (long)len) > 0;
	long n = ok ? BIO_get_mem_data(b, &txt) : 0;
	ok = ok && cli_write_file(path, txt, (size_t)n);
	BIO_free(b);
	return ok;
}

static bool file_exists(const char *p)
{
	return access(p, R_OK) == 0;
}

const char *cli_module_path(const cli_common *c)
{
	static char path[PATH_MAX + 64];
	if (c && c->module)
		return c->module;
	const char *env = getenv("SEALKIT_MODULE");
	if (env && *env)
		return env;
	/* Run from the build tree: tools/.libs/sealkit (libtool) or tools/sealkit. */
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			static const char *const rel[] = {"/../../.libs/sealkit-pkcs11.so",
							  "/../.libs/sealkit-pkcs11.so"};
			for (size_t i = 0; i < 2; i++) {
				snprintf(path, sizeof path, "%s%s", exe, rel[i]);
				if (file_exists(path) && strstr(exe, "/tools"))
					return path;
			}
		}
	}
#ifdef SEALKIT_P11_MODULE_DIR
	snprintf(path, sizeof path, "%s/sealkit-pkcs11.so", SEALKIT_P11_MODULE_DIR);
	if (file_exists(path))
		return path;
#endif
	return NULL;
}

bool cli_load_module(const cli_common *c, sealkit_module **m)
{
	sealkit_error err = {0};
	const char *path = cli_module_path(c);
	if (sealkit_module_load(path, 0, m, &err) != SEALKIT_OK) {
		cli_error("%s%s", err.message,
			  path ? "" : " (give --module PATH or set SEALKIT_MODULE)");
		return false;
	}
	return true;
}

bool cli_prompt_secret(const char *prompt, char *buf, size_t size)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	struct termios old, quiet;
	bool ok = false;
	if (fd < 0)
		return false;
	if (tcgetattr(fd, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		if (write(fd, prompt, strlen(prompt)) >= 0 &&
		    tcsetattr(fd, TCSAFLUSH, &quiet) == 0) {
			size_t n = 0;
			char ch;
			while (n + 1 < size && read(fd, &ch, 1) == 1 && ch != '\n')
				buf[n++] = ch;
			buf[n] = '\0';
			ok = true;
			tcsetattr(fd, TCSAFLUSH, &old);
			if (write(fd, "\n", 1) < 0)
				ok = ok;
		}
	}
	close(fd);
	return ok;
}

static int pin_prompt(void *data, const char *token_label, unsigned flags, char *pin, size_t size)
{
	(void)data;
	char prompt[200];
	if (flags & SEALKIT_PIN_RETRY)
		fprintf(stderr, "sealkit: wrong PIN%s\n",
			(flags & SEALKIT_PIN_FINAL_TRY) ? "; one more wrong PIN locks the token"
							: "");
	snprintf(prompt, sizeof prompt, "PIN for token '%s': ", token_label);
	return cli_prompt_secret(prompt, pin, size) ? 0 : 1;
}

const char *cli_given_pin(const cli_common *c)
{
	if (c && c->pin)
		return c->pin;
	const char *env = getenv("SEALKIT_PIN");
	return env && *env ? env : NULL;
}

void cli_token_options(const cli_common *c, sealkit_token_options *o)
{
	memset(o, 0, sizeof *o);
	o->pin = cli_given_pin(c);
	if (!o->pin && isatty(STDIN_FILENO))
		o->pin_callback = pin_prompt;
}

bool cli_parse_date(const char *s, time_t *t)
{
	struct tm tm = {0};
	char tail = 0;
	int n;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &tail) == 6 &&
	    strlen(s) == 20) {
		n = 6;
	} else if (sscanf(s, "%4d-%2d-%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tail) == 3 &&
		   strlen(s) == 10) {
		n = 3;
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	} else {
		return false;
	}
	(void)n;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*t = timegm(&tm);
	return *t != (time_t)-1;
}

const char *cli_format_time(time_t t, char *buf, size_t size)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
	return buf;
}

bool cli_parse_hex(const char *s, unsigned char *out, size_t max, size_t *len)
{
	size_t n = strlen(s);
	if (n == 0 || n % 2 || n / 2 > max)
		return false;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1 ||
		    !strchr("0123456789abcdefABCDEF", s[2 * i]) ||
		    !strchr("0123456789abcdefABCDEF", s[2 * i + 1]))
			return false;
		out[i] = (unsigned char)v;
	}
	*len = n / 2;
	return true;
}

bool cli_is_ofd(const char *path)
{
	size_t n = strlen(path);
	if (n >= 4 && !strcasecmp(path + n - 4, ".ofd"))
		return true;
	FILE *f = fopen(path, "rb");
	unsigned char magic[4] = {0};
	if (!f)
		return false;
	size_t r = fread(magic, 1, 4, f);
	fclose(f);
	return r == 4 && !memcmp(magic, "PK\x03\x04", 4);
}

/* ---- PINs in messages and process listings ---- */

/* Replaces the first `from` in s (size bytes) with `to`; true when found. */
static bool replace_in(char *s, size_t size, const char *from, const char *to)
{
	char *at = strstr(s, from);
	size_t fl = strlen(from), tl = strlen(to), rest;
	if (!at)
		return false;
	rest = strlen(at + fl);
	if ((size_t)(at - s) + tl + rest + 1 > size)
		return false;
	memmove(at + tl, at + fl, rest + 1);
	memcpy(at, to, tl);
	return true;
}

int cli_token_error(const cli_common *c, const sealkit_error *err)
{
	char msg[SEALKIT_MESSAGE_MAX + 256];
	const char *from = c && c->pin ? "--pin" : cli_given_pin(c) ? "$SEALKIT_PIN" : NULL;
	char src[64];
	snprintf(msg, sizeof msg, "%s", err->message);
	if (from) {
		snprintf(src, sizeof src, "(given with %s)", from);
		replace_in(msg, sizeof msg, "(from the caller)", src);
	}
	replace_in(msg, sizeof msg, "(from the PIN callback)", "(typed at the prompt)");
	replace_in(msg, sizeof msg, "the PIN callback gave up",
		   "no terminal to ask on; give --pin PIN or set SEALKIT_PIN");
	replace_in(msg, sizeof msg, "or give a PIN or a PIN callback",
		   "give --pin PIN, set SEALKIT_PIN, or run sealkit on a terminal to be asked");
	return cli_error("%s", msg);
}

static bool is_secret_option(const char *a, size_t *value_at)
{
	static const char *const names[] = {"--pin", "--so-pin"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		size_t n = strlen(names[i]);
		if (!strncmp(a, names[i], n) && (a[n] == '\0' || a[n] == '=')) {
			*value_at = a[n] ? n + 1 : 0;
			return true;
		}
	}
	return false;
}

void cli_hide_secrets(int argc, char **argv)
{
	/* The copies live until exit, like argv (held here, not leaked). */
	static char *copies[16];
	size_t n_copies = 0;
	for (int i = 1; i < argc && n_copies < sizeof copies / sizeof copies[0]; i++) {
		size_t at;
		if (!strcmp(argv[i], "--"))
			break;
		if (!is_secret_option(argv[i], &at))
			continue;
		int k = at ? i : i + 1; /* the argument holding the value */
		if (k >= argc)
			break;
		char *copy = strdup(argv[k]);
		if (!copy)
			continue;
		/* Blank the value in place: the kernel shows this memory. */
		size_t off = at ? at : 0;
		memset(argv[k] + off, 'x', strlen(argv[k] + off));
		argv[k] = copies[n_copies++] = copy;
		i = k;
	}
}

/* ---- progress bar ---- */

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

void cli_progress_format(char *buf, size_t size, const char *what, uint64_t done, uint64_t total,
			 int width)
{
	char count[64];
	if (total)
		snprintf(count, sizeof count, " %3d%%  %.1f/%.1f MB",
			 (int)(done >= total ? 100 : done * 100 / total), (double)done / 1e6,
			 (double)total / 1e6);
	else
		snprintf(count, sizeof count, "  %.1f MB", (double)done / 1e6);
	if (width < 20)
		width = 20;
	/* what [bar] count, the name shortened to leave a bar of 10 or more. */
	int wl = (int)strlen(what), cl = (int)strlen(count);
	int bar = total ? width - 1 - cl - 3 - wl : 0;
	if (total && bar < 10) {
		wl -= 10 - bar;
		if (wl < 0)
			wl = 0;
		bar = width - 1 - cl - 3 - wl;
		if (bar < 0)
			bar = 0;
	}
	size_t u = (size_t)snprintf(buf, size, "%.*s", wl, what);
	if (total && u + (size_t)bar + 4 < size) {
		int fill =
		    (int)(done >= total ? bar : (int)((double)bar * (double)done / (double)total));
		buf[u++] = ' ';
		buf[u++] = '[';
		for (int i = 0; i < bar; i++)
			buf[u++] = i < fill ? '#' : '.';
		buf[u++] = ']';
		buf[u] = '\0';
	}
	if (u < size)
		snprintf(buf + u, size - u, "%s", count);
}

void cli_progress_start(cli_progress *p, const char *what)
{
	memset(p, 0, sizeof *p);
	p->what = what;
	p->tty = isatty(STDERR_FILENO) == 1;
	p->last_permille = -1;
}

static int term_width(void)
{
	struct winsize ws;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	const char *c = getenv("COLUMNS");
	return c && atoi(c) > 0 ? atoi(c) : 80;
}

void cli_progress_update(void *data, uint64_t done, uint64_t total)
{
	cli_progress *p = data;
	if (!p || !p->tty)
		return;
	/* Small work shows nothing (total unknown: once past the limit). */
	if (total ? total <= CLI_PROGRESS_MIN : done <= CLI_PROGRESS_MIN)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int permille = total ? (int)(done >= total ? 1000 : done * 1000 / total) : -1;
	bool end = total && done >= total;
	/* At most ten redraws a second, and only when the bar moved. */
	if (p->shown && !end &&
	    (seconds_between(&p->last, &now) < 0.1 || (total && permille == p->last_permille)))
		return;
	if (p->shown && end && permille == p->last_permille)
		return;
	char line[512];
	cli_progress_format(line, sizeof line, p->what, done, total, term_width() - 1);
	fprintf(stderr, "\r%s\033[K", line);
	fflush(stderr);
	p->shown = true;
	p->last = now;
	p->last_permille = permille;
	p->last_done = done;
}

void cli_progress_done(cli_progress *p)
{
	if (p && p->shown) {
		fputc('\n', stderr);
		fflush(stderr);
		p->shown = false;
	}
}

/* The sealkit command-line program: what every command shares. */
#ifndef SEALKIT_CLI_H
#define SEALKIT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <sealkit/make.h>
#include <sealkit/seal.h>
#include <sealkit/token.h>
#include <sealkit/verify.h>

/* Exit codes of cli.md. */
#define EXIT_OK       0
#define EXIT_INVALID  1
#define EXIT_FAILURE_ 2

/* Common options (option letters above 0x100 in getopt_long tables). */
enum {
	OPT_HELP = 0x100,
	OPT_MODULE,
	OPT_PIN,
	OPT_JSON,
	OPT_FIRST_COMMAND_OPTION,
};

typedef struct cli_common {
	const char *module; /* --module */
	const char *pin;    /* --pin */
} cli_common;

/* "sealkit: message" on stderr; returns 2. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error: the message and "try 'sealkit CMD --help'"; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Whole file into memory (malloc'ed); false with a message printed. */
bool cli_read_file(const char *path, unsigned char **data, size_t *len);
bool cli_write_file(const char *path, const void *data, size_t len);
/* A certificate file, PEM or DER, as DER (malloc'ed). */
bool cli_read_cert(const char *path, unsigned char **der, size_t *len);
/* Writes DER as PEM with the given label. */
bool cli_write_pem(const char *path, const char *label, const unsigned char *der, size_t len);

/* The module to load: --module, $SEALKIT_MODULE, the build tree's, else
 * NULL (libsealkit's default: the installed one). */
const char *cli_module_path(const cli_common *c);
/* Loads it; false with a message printed. */
bool cli_load_module(const cli_common *c, sealkit_module **m);
/* Token options: the PIN from --pin, $SEALKIT_PIN, else a terminal prompt. */
void cli_token_options(const cli_common *c, sealkit_token_options *o);
/* The PIN if given by --pin or $SEALKIT_PIN (NULL otherwise). */
const char *cli_given_pin(const cli_common *c);
/* Prompts on the terminal without echo; false when there is no terminal. */
bool cli_prompt_secret(const char *prompt, char *buf, size_t size);
/* Prints a libsealkit error from opening a token or logging in, saying
 * where the PIN came from (--pin, $SEALKIT_PIN or the prompt) and what to
 * do when none was given; returns 2. */
int cli_token_error(const cli_common *c, const sealkit_error *err);
/* Moves the values of --pin/--so-pin (and --pin=...) out of argv and blanks
 * them there, so that process listings (/proc/PID/cmdline, ps) never show
 * a PIN. Called once by main() before a command parses its options. */
void cli_hide_secrets(int argc, char **argv);

/* ---- progress bar on stderr for long hashing or writing ----
 * Shown only when stderr is a terminal and the work is over
 * CLI_PROGRESS_MIN bytes. cli_progress_update is a sealkit_progress_fn. */
#define CLI_PROGRESS_MIN (50ull * 1024 * 1024)
typedef struct cli_progress {
	const char *what; /* "hashing doc.bin" */
	bool tty;         /* stderr is a terminal */
	bool shown;       /* a bar is on the screen */
	int last_permille;
	uint64_t last_done;
	struct timespec last;
} cli_progress;
void cli_progress_start(cli_progress *p, const char *what);
void cli_progress_update(void *p, uint64_t done, uint64_t total);
/* Ends the bar's line (when one was shown). */
void cli_progress_done(cli_progress *p);
/* One line of the bar, without "\r", at most width columns: "what
 * [#####.....]  42%  25.2/60.0 MB" (total 0: no bar, only the count). */
void cli_progress_format(char *buf, size_t size, const char *what, uint64_t done, uint64_t total,
			 int width);

/* "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" (UTC). */
bool cli_parse_date(const char *s, time_t *t);
/* UTC "YYYY-MM-DD HH:MM:SS UTC" into buf. */
const char *cli_format_time(time_t t, char *buf, size_t size);
/* Hex string to bytes; false when malformed. */
bool cli_parse_hex(const char *s, unsigned char *out, size_t max, size_t *len);
/* Whether a file is an OFD package (by name or ZIP magic). */
bool cli_is_ofd(const char *path);

/* ---- JSON output (json.c) ---- */
typedef struct json_out {
	FILE *f;
	int depth;
	bool first[32];
} json_out;
void json_begin(json_out *j, FILE *f);
void json_obj(json_out *j, const char *key); /* opens { (key NULL in arrays/top) */
void json_arr(json_out *j, const char *key);
void json_end_obj(json_out *j);
void json_end_arr(json_out *j);
void json_str(json_out *j, const char *key, const char *v);
void json_strn(json_out *j, const char *key, const char *v, size_t n);
void json_int(json_out *j, const char *key, long long v);
void json_bool(json_out *j, const char *key, bool v);
void json_null(json_out *j, const char *key);
void json_finish(json_out *j);

/* ---- commands ---- */
int cmd_token(int argc, char **argv);
int cmd_cert(int argc, char **argv);
int cmd_seal(int argc, char **argv);
int cmd_stamp(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_demo(int argc, char **argv);

/* Parts the demo reuses. */
int verify_print(const char *label, const sealkit_report *r, bool json);

#endif

#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

#define DEFAULT_MAX_PIN_FAILURES 10
/* About 60 ms of PBKDF2-HMAC-SM3 here (one 32-byte block): slow for a PIN
 * guesser, quick enough for a login (target: C_Initialize + C_Login under
 * 200 ms). */
#define DEFAULT_PIN_ITERATIONS 100000

static char *home_path(const char *rel)
{
	const char *home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (!home)
		return NULL;
	size_t n = strlen(home) + strlen(rel) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", home, rel);
	return p;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static CK_RV parse_ulong(const char *path, int line, const char *key, const char *val,
			 CK_ULONG lo, CK_ULONG hi, CK_ULONG *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(val, &end, 10);
	if (errno || end == val || *end || v < lo || v > hi) {
		fprintf(stderr, "sealkit-pkcs11: %s:%d: %s must be a number from %lu to %lu\n",
			path, line, key, lo, hi);
		return CKR_GENERAL_ERROR;
	}
	*out = (CK_ULONG)v;
	return CKR_OK;
}

static CK_RV parse_choice(const char *path, int line, const char *key, const char *val,
			  const char *const *names, int *out)
{
	for (int i = 0; names[i]; i++) {
		if (!strcmp(val, names[i])) {
			*out = i;
			return CKR_OK;
		}
	}
	fprintf(stderr, "sealkit-pkcs11: %s:%d: %s must be one of:", path, line, key);
	for (int i = 0; names[i]; i++)
		fprintf(stderr, " %s", names[i]);
	fputc('\n', stderr);
	return CKR_GENERAL_ERROR;
}

/* `mechanism.<op>` / `key_type.<name>` = one or more codes, comma separated;
 * the names are checked when the profile is built. */
static CK_RV parse_override(sk_config *cfg, const char *path, int line, const char *key,
			    char *val)
{
	bool kt = !strncmp(key, "key_type.", 9);
	const char *name = key + (kt ? 9 : 10);
	sk_code_override *ov;
	char where[512];

	if (!*name) {
		fprintf(stderr, "sealkit-pkcs11: %s:%d: %s needs a name after the dot\n", path,
			line, key);
		return CKR_GENERAL_ERROR;
	}
	ov = realloc(cfg->overrides, (cfg->n_overrides + 1) * sizeof *ov);
	if (!ov)
		return CKR_HOST_MEMORY;
	cfg->overrides = ov;
	ov = &ov[cfg->n_overrides];
	memset(ov, 0, sizeof *ov);
	snprintf(where, sizeof where, "%s:%d", path, line);
	ov->key_type = kt;
	ov->name = strdup(name);
	ov->where = strdup(where);
	if (!ov->name || !ov->where)
		goto nomem;
	cfg->n_overrides++;
	for (char *save = NULL, *tok = strtok_r(val, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *end;
		tok = trim(tok);
		errno = 0;
		unsigned long long v = strtoull(tok, &end, 0);
		if (errno || end == tok || *end || v < CKM_VENDOR_DEFINED || v > 0xFFFFFFFFULL) {
			fprintf(stderr,
				"sealkit-pkcs11: %s: %s: '%s' is not a vendor-defined code "
				"(0x80000000 to 0xFFFFFFFF)\n",
				where, key, tok);
			return CKR_GENERAL_ERROR;
		}
		CK_ULONG *codes = realloc(ov->codes, (ov->n_codes + 1) * sizeof *codes);
		if (!codes)
			return CKR_HOST_MEMORY;
		ov->codes = codes;
		ov->codes[ov->n_codes++] = (CK_ULONG)v;
	}
	if (ov->n_codes == 0) {
		fprintf(stderr, "sealkit-pkcs11: %s: %s needs at least one code\n", where, key);
		return CKR_GENERAL_ERROR;
	}
	return CKR_OK;
nomem:
	free(ov->name);
	free(ov->where);
	return CKR_HOST_MEMORY;
}

static CK_RV set_string(char **dst, const char *val)
{
	free(*dst);
	*dst = strdup(val);
	return *dst ? CKR_OK : CKR_HOST_MEMORY;
}

static void proxy_conf_free(sk_proxy_conf *p)
{
	free(p->module);
	free(p->profile);
	free(p->init_args);
	free(p->ignore);
	free(p->where);
}

static void proxies_clear(sk_config *cfg)
{
	for (size_t i = 0; i < cfg->n_proxies; i++)
		proxy_conf_free(&cfg->proxies[i]);
	free(cfg->proxies);
	cfg->proxies = NULL;
	cfg->n_proxies = 0;
}

/* `proxy = MODULE[:PROFILE]`; the profile is what follows the last ':'
 * unless that holds a '/' (then the ':' belongs to the path). An empty
 * value forgets the entries so far: a nested instance of this module
 * given "proxy =" in its arguments does not proxy what its host does. */
static CK_RV add_proxy(sk_config *cfg, const char *where, const char *val)
{
	sk_proxy_conf *v, *p;
	const char *colon = strrchr(val, ':');
	size_t path_len = strlen(val);

	if (!*val) {
		proxies_clear(cfg);
		return CKR_OK;
	}
	if (colon && !strchr(colon + 1, '/'))
		path_len = (size_t)(colon - val);
	if (path_len == 0 || (colon && path_len < strlen(val) && !colon[1])) {
		fprintf(stderr, "sealkit-pkcs11: %s: proxy needs MODULE or MODULE:PROFILE\n", where);
		return CKR_GENERAL_ERROR;
	}
	v = realloc(cfg->proxies, (cfg->n_proxies + 1) * sizeof *v);
	if (!v)
		return CKR_HOST_MEMORY;
	cfg->proxies = v;
	p = &v[cfg->n_proxies];
	memset(p, 0, sizeof *p);
	p->sm2_ciphertext = SK_UNSET;
	p->module = strndup(val, path_len);
	p->where = strdup(where);
	if (path_len < strlen(val))
		p->profile = strdup(val + path_len + 1);
	if (!p->module || !p->where || (path_len < strlen(val) && !p->profile)) {
		proxy_conf_free(p);
		return CKR_HOST_MEMORY;
	}
	cfg->n_proxies++;
	return CKR_OK;
}

/* `proxy.init_args` / `proxy.ignore_mechanisms`: for the last entry. */
static CK_RV set_proxy_option(sk_config *cfg, const char *where, const char *key, char *val)
{
	sk_proxy_conf *p = cfg->n_proxies ? &cfg->proxies[cfg->n_proxies - 1] : NULL;

	if (!p) {
		fprintf(stderr, "sealkit-pkcs11: %s: %s needs a 'proxy =' line before it\n", where,
			key);
		return CKR_GENERAL_ERROR;
	}
	if (!strcmp(key, "proxy.init_args"))
		return set_string(&p->init_args, val);
	if (!strcmp(key, "proxy.sm2_ciphertext")) {
		static const char *const ct_forms[] = {"c1c3c2", "c1c2c3", "der", NULL};
		for (int i = 0; ct_forms[i]; i++)
			if (!strcmp(val, ct_forms[i])) {
				p->sm2_ciphertext = i;
				return CKR_OK;
			}
		fprintf(stderr, "sealkit-pkcs11: %s: %s must be c1c3c2, c1c2c3 or der\n", where,
			key);
		return CKR_GENERAL_ERROR;
	}
	if (strcmp(key, "proxy.ignore_mechanisms")) {
		fprintf(stderr, "sealkit-pkcs11: %s: unknown setting '%s'\n", where, key);
		return CKR_GENERAL_ERROR;
	}
	for (char *save = NULL, *tok = strtok_r(val, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *end;
		tok = trim(tok);
		errno = 0;
		unsigned long long v = strtoull(tok, &end, 0);
		if (errno || end == tok || *end || v > 0xFFFFFFFFULL) {
			fprintf(stderr, "sealkit-pkcs11: %s: '%s' is not a mechanism code\n", where,
				tok);
			return CKR_GENERAL_ERROR;
		}
		CK_MECHANISM_TYPE *m = realloc(p->ignore, (p->n_ignore + 1) * sizeof *m);
		if (!m)
			return CKR_HOST_MEMORY;
		p->ignore = m;
		p->ignore[p->n_ignore++] = (CK_MECHANISM_TYPE)v;
	}
	return CKR_OK;
}

/* One `key = value` line (comments and blanks allowed). */
static CK_RV parse_line(sk_config *cfg, const char *path, int line, char *buf)
{
	CK_RV rv = CKR_OK;
	do {
		char *hash = strchr(buf, '#');
		if (hash)
			*hash = '\0';
		char *s = trim(buf);
		if (!*s)
			break;
		char *eq = strchr(s, '=');
		if (!eq) {
			fprintf(stderr, "sealkit-pkcs11: %s:%d: expected 'key = value'\n", path,
				line);
			return CKR_GENERAL_ERROR;
		}
		*eq = '\0';
		char *key = trim(s), *val = trim(eq + 1);
		static const char *const yes_no[] = {"no", "yes", NULL};
		static const char *const sig_forms[] = {"raw", "der", NULL};
		static const char *const ct_forms[] = {"c1c3c2", "c1c2c3", "der", NULL};
		if (!strcmp(key, "token_dir")) {
			rv = set_string(&cfg->token_dir, val);
		} else if (!strcmp(key, "profile")) {
			rv = set_string(&cfg->profile, val);
		} else if (!strncmp(key, "mechanism.", 10) || !strncmp(key, "key_type.", 9)) {
			rv = parse_override(cfg, path, line, key, val);
		} else if (!strcmp(key, "proxy")) {
			char where[512];
			snprintf(where, sizeof where, "%s:%d", path, line);
			rv = add_proxy(cfg, where, val);
		} else if (!strncmp(key, "proxy.", 6)) {
			char where[512];
			snprintf(where, sizeof where, "%s:%d", path, line);
			rv = set_proxy_option(cfg, where, key, val);
		} else if (!strcmp(key, "sm2_sign_z")) {
			rv = parse_choice(path, line, key, val, yes_no, &cfg->sm2_sign_z);
		} else if (!strcmp(key, "sm2_signature")) {
			rv = parse_choice(path, line, key, val, sig_forms, &cfg->sm2_signature);
		} else if (!strcmp(key, "sm2_ciphertext")) {
			rv = parse_choice(path, line, key, val, ct_forms, &cfg->sm2_ciphertext);
		} else if (!strcmp(key, "max_pin_failures")) {
			rv = parse_ulong(path, line, key, val, 1, 1000, &cfg->max_pin_failures);
		} else if (!strcmp(key, "pin_iterations")) {
			rv = parse_ulong(path, line, key, val, 1000, 100000000,
					 &cfg->pin_iterations);
		} else if (!strcmp(key, "min_pin_len")) {
			rv = parse_ulong(path, line, key, val, 1, 255, &cfg->min_pin_len);
		} else if (!strcmp(key, "max_pin_len")) {
			rv = parse_ulong(path, line, key, val, 1, 255, &cfg->max_pin_len);
		} else {
			/* Unknown keys belong to later versions: warn, do
			 * not fail. */
			fprintf(stderr, "sealkit-pkcs11: %s:%d: unknown setting '%s' ignored\n",
				path, line, key);
		}
	} while (0);
	return rv;
}

static CK_RV read_file(sk_config *cfg, const char *path, FILE *f)
{
	char buf[4096];
	int line = 0;
	CK_RV rv = CKR_OK;
	while (rv == CKR_OK && fgets(buf, sizeof buf, f))
		rv = parse_line(cfg, path, ++line, buf);
	return rv;
}

/* Settings given in C_Initialize's pReserved, as NSS and p11-kit
 * (x-init-reserved) pass module parameters: lines or ';'-separated. */
static CK_RV read_string(sk_config *cfg, const char *text)
{
	char *copy = strdup(text), *save = NULL;
	int line = 0;
	CK_RV rv = copy ? CKR_OK : CKR_HOST_MEMORY;
	for (char *tok = copy ? strtok_r(copy, ";\n", &save) : NULL; tok && rv == CKR_OK;
	     tok = strtok_r(NULL, ";\n", &save))
		rv = parse_line(cfg, "C_Initialize arguments", ++line, tok);
	free(copy);
	return rv;
}

static CK_RV check_config(const sk_config *cfg, const char *path)
{
	CK_RV rv = CKR_OK;
	if (cfg->min_pin_len > cfg->max_pin_len) {
		fprintf(stderr, "sealkit-pkcs11: %s: min_pin_len is above max_pin_len\n", path);
		rv = CKR_GENERAL_ERROR;
	}
	return rv;
}

CK_RV config_load(sk_config *cfg, const char *args)
{
	CK_RV rv = CKR_OK;
	memset(cfg, 0, sizeof *cfg);
	cfg->max_pin_failures = DEFAULT_MAX_PIN_FAILURES;
	cfg->pin_iterations = DEFAULT_PIN_ITERATIONS;
	cfg->min_pin_len = 4;
	cfg->max_pin_len = 255;
	cfg->sm2_sign_z = cfg->sm2_signature = cfg->sm2_ciphertext = SK_UNSET;

	const char *env = getenv("SEALKIT_CONF");
	char *user = home_path(".config/sealkit/sealkit.conf");
	const char *candidates[3] = {NULL, NULL, NULL};
	size_t n = 0;
	if (env && *env) {
		candidates[n++] = env;
	} else {
		if (user)
			candidates[n++] = user;
		candidates[n++] = SYSCONFDIR "/sealkit/sealkit.conf";
	}
	for (size_t i = 0; i < n; i++) {
		FILE *f = fopen(candidates[i], "r");
		if (!f) {
			if (i == 0 && env && *env && errno != ENOENT) {
				fprintf(stderr, "sealkit-pkcs11: cannot read %s: %s\n", env,
					strerror(errno));
				rv = CKR_GENERAL_ERROR;
				goto out;
			}
			continue;
		}
		rv = read_file(cfg, candidates[i], f);
		fclose(f);
		if (rv != CKR_OK)
			goto out;
		break;
	}

	/* Environment, then the caller's arguments, over the file. */
	const char *prof = getenv("SEALKIT_PROFILE");
	if (prof && *prof && (rv = set_string(&cfg->profile, prof)) != CKR_OK)
		goto out;
	const char *dir = getenv("SEALKIT_TOKEN_DIR");
	if (dir && *dir && (rv = set_string(&cfg->token_dir, dir)) != CKR_OK)
		goto out;
	const char *px = getenv("SEALKIT_PROXY_MODULE");
	if (px && *px && (rv = add_proxy(cfg, "SEALKIT_PROXY_MODULE", px)) != CKR_OK)
		goto out;
	if (args && (rv = read_string(cfg, args)) != CKR_OK)
		goto out;
	if ((rv = check_config(cfg, "configuration")) != CKR_OK)
		goto out;

	if (!cfg->token_dir) {
		const char *xdg = getenv("XDG_DATA_HOME");
		if (xdg && *xdg) {
			size_t len = strlen(xdg) + sizeof "/sealkit/tokens";
			cfg->token_dir = malloc(len);
			if (cfg->token_dir)
				snprintf(cfg->token_dir, len, "%s/sealkit/tokens", xdg);
		} else {
			cfg->token_dir = home_path(".local/share/sealkit/tokens");
		}
	}
	if (!cfg->token_dir)
		rv = CKR_HOST_MEMORY;
out:
	free(user);
	if (rv != CKR_OK)
		config_free(cfg);
	return rv;
}

void config_free(sk_config *cfg)
{
	free(cfg->token_dir);
	free(cfg->profile);
	for (size_t i = 0; i < cfg->n_overrides; i++) {
		free(cfg->overrides[i].name);
		free(cfg->overrides[i].codes);
		free(cfg->overrides[i].where);
	}
	free(cfg->overrides);
	proxies_clear(cfg);
	cfg->token_dir = NULL;
	cfg->profile = NULL;
	cfg->overrides = NULL;
	cfg->n_overrides = 0;
}

#include "slot.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "module.h"
#include "token.h"

#define TOKEN_PREFIX "token-"
#define TOKEN_SUFFIX ".sqlite"

/* mkdir -p with private permissions: the directory holds key stores. */
static int make_dirs(const char *path)
{
	char *p = strdup(path);
	if (!p)
		return -1;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) && errno != EEXIST) {
			free(p);
			return -1;
		}
		*s = '/';
	}
	int r = mkdir(p, 0700);
	free(p);
	return (r && errno != EEXIST) ? -1 : 0;
}

/* "token-12.sqlite" -> 12; anything else (including -wal/-shm files) no. */
static bool parse_name(const char *name, CK_SLOT_ID *id)
{
	size_t plen = strlen(TOKEN_PREFIX), slen = strlen(TOKEN_SUFFIX), n = strlen(name);
	if (n <= plen + slen || strncmp(name, TOKEN_PREFIX, plen) ||
	    strcmp(name + n - slen, TOKEN_SUFFIX))
		return false;
	const char *d = name + plen;
	if (*d == '0' && d + 1 != name + n - slen)
		return false; /* one spelling per ID */
	CK_SLOT_ID v = 0;
	for (; d < name + n - slen; d++) {
		if (*d < '0' || *d > '9' || v > 100000000)
			return false;
		v = v * 10 + (CK_SLOT_ID)(*d - '0');
	}
	*id = v;
	return true;
}

static char *token_path(CK_SLOT_ID id)
{
	const char *dir = module.cfg.token_dir;
	size_t n = strlen(dir) + 64;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/" TOKEN_PREFIX "%lu" TOKEN_SUFFIX, dir, (unsigned long)id);
	return p;
}

static sk_token *find_token(CK_SLOT_ID id)
{
	for (size_t i = 0; i < module.tokens.count; i++) {
		sk_token *t = module.tokens.items[i];
		if (t->slot_id == id)
			return t;
	}
	return NULL;
}

static CK_RV add_token(CK_SLOT_ID id, sk_token **out)
{
	char *path = token_path(id);
	if (!path)
		return CKR_HOST_MEMORY;
	sk_token *t = token_new(id, path);
	free(path);
	if (!t)
		return CKR_HOST_MEMORY;
	/* Keep the table sorted by slot ID. */
	if (!ptrvec_push(&module.tokens, t)) {
		token_free(t);
		return CKR_HOST_MEMORY;
	}
	size_t i = module.tokens.count - 1;
	while (i > 0 && ((sk_token *)module.tokens.items[i - 1])->slot_id > id) {
		module.tokens.items[i] = module.tokens.items[i - 1];
		i--;
	}
	module.tokens.items[i] = t;
	*out = t;
	return CKR_OK;
}

/* A slot is usable when its file is a sealkit store or does not exist yet. */
static bool usable(sk_token *t)
{
	return t->st || access(t->path, F_OK) != 0;
}

CK_RV slot_refresh(void)
{
	CK_SLOT_ID max_id = 0;
	bool any = false;
	make_dirs(module.cfg.token_dir);
	DIR *d = opendir(module.cfg.token_dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			CK_SLOT_ID id;
			if (!parse_name(e->d_name, &id))
				continue;
			if (!any || id > max_id)
				max_id = id;
			any = true;
			sk_token *t = find_token(id);
			if (!t && add_token(id, &t) != CKR_OK)
				continue;
		}
		closedir(d);
	}
	/* Open what appeared since we last looked (including a free slot that
	 * another process initialised). */
	size_t free_slots = 0;
	for (size_t i = 0; i < module.tokens.count; i++) {
		sk_token *t = module.tokens.items[i];
		if (!any || t->slot_id > max_id)
			max_id = t->slot_id;
		any = true;
		pthread_mutex_lock(&t->lock);
		if (!t->st && access(t->path, F_OK) == 0) {
			CK_RV rv = token_open(t);
			if (rv != CKR_OK)
				sk_debug("slot %lu: %s is not a usable token (0x%lx), skipped",
					 (unsigned long)t->slot_id, t->path, (unsigned long)rv);
		} else if (t->st) {
			token_sync(t);
		}
		if (usable(t) && !t->initialized)
			free_slots++;
		pthread_mutex_unlock(&t->lock);
	}
	if (free_slots == 0) {
		sk_token *t;
		CK_RV rv = add_token(any ? max_id + 1 : 0, &t);
		if (rv != CKR_OK)
			return rv;
	}
	return CKR_OK;
}

sk_token *slot_token(CK_SLOT_ID id)
{
	sk_token *t = find_token(id);
	if (!t)
		return NULL;
	pthread_mutex_lock(&t->lock);
	bool ok = usable(t);
	pthread_mutex_unlock(&t->lock);
	return ok ? t : NULL;
}

void slot_free_all(void)
{
	for (size_t i = 0; i < module.tokens.count; i++)
		token_free(module.tokens.items[i]);
	ptrvec_free(&module.tokens);
}

void slot_abandon_all(void)
{
	/* After fork the parent's SQLite handles and locks must not be used
	 * or closed by the child: leak them. */
	memset(&module.tokens, 0, sizeof module.tokens);
}

CK_RV slot_get_info(CK_SLOT_ID id, CK_SLOT_INFO *info)
{
	sk_token *t = slot_token(id);
	if (!t)
		return CKR_SLOT_ID_INVALID;
	memset(info, 0, sizeof *info);
	char desc[64];
	snprintf(desc, sizeof desc, "sealkit soft token slot %lu", (unsigned long)id);
	pad_copy(info->slotDescription, sizeof info->slotDescription, desc);
	pad_copy(info->manufacturerID, sizeof info->manufacturerID, "sealkit");
	info->flags = CKF_TOKEN_PRESENT;
	info->hardwareVersion.major = 0;
	info->hardwareVersion.minor = 1;
	info->firmwareVersion.major = 0;
	info->firmwareVersion.minor = 1;
	return CKR_OK;
}

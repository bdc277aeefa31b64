/* Mutations of the real interop seals and stamps through both parsers, with a
 * fixed seed: bit flips, octet sets, truncation, insertion, deletion, copied
 * chunks, tag swaps and length-octet tweaks aimed at the TLV headers. Every
 * input must end in SEALKIT_OK or SEALKIT_ERR_FORMAT with a message; a crash,
 * an out-of-bounds slice or a leak fails (make check also runs under
 * ASan/UBSan). The libFuzzer targets in tests/fuzz/ do the same without end. */
#include "config.h"

#include "harness.h"
#include "test_seal_fixtures.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz/fuzz.h"
#include "sealkit/seal.h"

/* Under ASan these tests free gigabytes in pieces of 2-40 KB; with the default
 * 256 MB quarantine the process grows past 1.5 GB. 32 MB still catches any
 * use after free within a parse. ASAN_OPTIONS overrides this. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "quarantine_size_mb=32";
}

/* Mutated inputs per sample: 37,500 in all, each through both parsers. */
#define MUTATIONS 1500

static uint64_t rng;

static uint64_t next(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

static size_t below(size_t n)
{
	return n ? (size_t)(next() % n) : 0;
}

/* Offsets of the identifier octets of every TLV inside constructed elements. */
struct headers {
	size_t *at;
	size_t n, cap;
};

static void collect(const unsigned char *b, size_t start, size_t end, int depth, struct headers *h)
{
	size_t pos = start;
	while (pos + 2 <= end && depth < 16) {
		size_t len, hl = 2;
		unsigned char l = b[pos + 1];
		if (l < 0x80) {
			len = l;
		} else {
			size_t k = l & 0x7f;
			if (k == 0 || k > 4 || pos + 2 + k > end)
				return;
			len = 0;
			for (size_t i = 0; i < k; i++)
				len = (len << 8) | b[pos + 2 + i];
			hl += k;
		}
		if (len > end - pos - hl)
			return;
		if (h->n == h->cap) {
			h->cap = h->cap ? 2 * h->cap : 64;
			h->at = realloc(h->at, h->cap * sizeof *h->at);
			if (!h->at)
				abort();
		}
		h->at[h->n++] = pos;
		if (b[pos] & 0x20)
			collect(b, pos + hl, pos + hl + len, depth + 1, h);
		pos += hl + len;
	}
}

struct buf {
	unsigned char *p;
	size_t n;
};

static size_t pick_offset(const struct buf *b, const struct headers *h)
{
	/* Half the time near a header: random offsets mostly land in pictures. */
	if (h->n && (next() & 1)) {
		size_t o = h->at[below(h->n)] + below(6);
		return o < b->n ? o : below(b->n);
	}
	return below(b->n);
}

static void mutate_once(struct buf *b, const struct headers *h)
{
	static const unsigned char interesting[] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x06, 0x16,
						    0x17, 0x18, 0x30, 0x7f, 0x80, 0x81, 0x82,
						    0x83, 0x84, 0x85, 0xa0, 0xff};
	size_t o, n;

	if (b->n == 0)
		return;
	switch (next() % 8) {
	case 0: /* bit flips */
		for (int i = 0, k = 1 + (int)below(3); i < k; i++) {
			o = pick_offset(b, h);
			b->p[o] ^= (unsigned char)(1u << below(8));
		}
		break;
	case 1: /* an interesting octet */
		b->p[pick_offset(b, h)] = interesting[below(sizeof interesting)];
		break;
	case 2: /* truncation */
		b->n = below(b->n);
		break;
	case 3: /* insertion */
		n = 1 + below(8);
		o = pick_offset(b, h);
		b->p = realloc(b->p, b->n + n);
		if (!b->p)
			abort();
		memmove(b->p + o + n, b->p + o, b->n - o);
		for (size_t i = 0; i < n; i++)
			b->p[o + i] = (unsigned char)next();
		b->n += n;
		break;
	case 4: /* deletion */
		o = pick_offset(b, h);
		n = 1 + below(16);
		if (n > b->n - o)
			n = b->n - o;
		memmove(b->p + o, b->p + o + n, b->n - o - n);
		b->n -= n;
		break;
	case 5: /* a chunk copied over another place */
		o = below(b->n);
		n = 1 + below(64);
		if (n > b->n - o)
			n = b->n - o;
		memmove(b->p + below(b->n - n + 1), b->p + o, n);
		break;
	case 6: /* a tag swapped */
		if (h->n) {
			o = h->at[below(h->n)];
			if (o < b->n)
				b->p[o] = interesting[below(sizeof interesting)];
		}
		break;
	default: /* a length octet tweaked */
		if (h->n) {
			o = h->at[below(h->n)] + 1;
			if (o >= b->n)
				break;
			switch (next() % 4) {
			case 0:
				b->p[o]++;
				break;
			case 1:
				b->p[o]--;
				break;
			case 2:
				b->p[o] = 0x80; /* indefinite */
				break;
			default:
				if (o + 1 < b->n)
					b->p[o + 1 + below(b->n - o - 1 < 4 ? b->n - o - 1 : 4)] =
					    (unsigned char)next();
				break;
			}
		}
		break;
	}
}

struct tally {
	unsigned long ok, format, bad;
};

static void run(const struct buf *b, unsigned flags, struct tally *t)
{
	static volatile unsigned sink;
	sealkit_warnings w = {0};
	sealkit_error e = {0};
	sealkit_seal *s = NULL;
	sealkit_stamp *st = NULL;
	sealkit_status r;

	/* The parsers work on an exact-size copy, so ASan sees a read past the end. */
	r = sealkit_seal_parse(b->p, b->n, flags, &s, &w, &e);
	if (r == SEALKIT_OK)
		sink += fuzz_check_seal(s), t->ok++;
	else if (r == SEALKIT_ERR_FORMAT && !strncmp(e.message, "seal: ", 6) && !s)
		t->format++;
	else
		t->bad++, printf("# seal parser: %s '%s'\n", sealkit_status_name(r), e.message);
	sealkit_seal_free(s);
	sealkit_warnings_free(&w);

	memset(&e, 0, sizeof e);
	r = sealkit_stamp_parse(b->p, b->n, flags, &st, &w, &e);
	if (r == SEALKIT_OK)
		sink += fuzz_check_stamp(st), t->ok++;
	else if (r == SEALKIT_ERR_FORMAT && !strncmp(e.message, "stamp: ", 7) && !st)
		t->format++;
	else
		t->bad++, printf("# stamp parser: %s '%s'\n", sealkit_status_name(r), e.message);
	sealkit_stamp_free(st);
	sealkit_warnings_free(&w);
}

static size_t sample_next;
static unsigned long total_parses;

static void test_mutations(void)
{
	const struct seal_fixture *fx = &seal_fixtures[sample_next++];
	size_t len = 0;
	unsigned char *orig = fixture_load(fx->path, &len);
	struct headers h = {0};
	struct tally t = {0, 0, 0};

	if (!orig) {
		printf("# %s: %s\n", fx->path, fx->in_ofd ? "skipped (no unzip)" : "missing");
		CU_ASSERT(fx->in_ofd);
		return;
	}
	rng = 0x5ea1c0de5ea1c0deULL ^ (uint64_t)sample_next * 0x9e3779b97f4a7c15ULL;
	collect(orig, 0, len, 0, &h);
	for (int i = 0; i < MUTATIONS; i++) {
		struct buf b = {malloc(len), len};
		if (!b.p)
			abort();
		memcpy(b.p, orig, len);
		for (int k = 0, n = 1 + (int)below(3); k < n; k++)
			mutate_once(&b, &h);
		run(&b, (unsigned)i & SEALKIT_PARSE_STRICT, &t);
		free(b.p);
	}
	total_parses += t.ok + t.format + t.bad;
	printf("# %s: %d mutations, %zu headers aimed at: %lu parsed, %lu format errors\n",
	       fx->path, MUTATIONS, h.n, t.ok, t.format);
	CU_ASSERT_EQUAL(t.bad, 0);
	/* The seal and the stamp parser disagree on each input: roughly half fail
	 * anyway; some mutations must also survive (picture bytes, etc.). */
	CU_ASSERT(t.ok > 0);
	CU_ASSERT(t.format > MUTATIONS / 2);
	free(h.at);
	free(orig);
}

static void test_summary(void)
{
	printf("# %lu parses of mutated input in all\n", total_parses);
	CU_ASSERT(total_parses >= 2UL * MUTATIONS * 19);
}

void register_tests(void)
{
	CU_pSuite s;

	if (!fixture_interop_dir())
		harness_skip_all("no interop samples ($SEALKIT_INTEROP_DIR or ../shared/interop)");
	s = harness_suite("mutate", NULL, NULL);
	for (size_t i = 0; i < n_seal_fixtures; i++) {
		char name[200];
		snprintf(name, sizeof name, "mutations of %s", seal_fixtures[i].path);
		harness_test(s, name, test_mutations);
	}
	harness_test(s, "summary", test_summary);
}

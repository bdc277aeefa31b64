/* Seal imprints: the PNG decodes at the size asked for, is transparent
 * around a red ring and star; the SVG is well-formed and sized in mm;
 * bad options are refused with the right status. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>

#include "harness.h"
#include "sealkit/draw.h"

#define ORG "北京市某某科技有限公司"

/* Reading PNG bytes back through cairo. */
typedef struct reader {
	const unsigned char *p;
	size_t len, off;
} reader;

static cairo_status_t read_png(void *closure, unsigned char *data, unsigned int n)
{
	reader *r = closure;
	if (r->len - r->off < n)
		return CAIRO_STATUS_READ_ERROR;
	memcpy(data, r->p + r->off, n);
	r->off += n;
	return CAIRO_STATUS_SUCCESS;
}

static cairo_surface_t *decode(const unsigned char *png, size_t len)
{
	reader r = {png, len, 0};
	cairo_surface_t *s = cairo_image_surface_create_from_png_stream(read_png, &r);
	if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
		cairo_surface_destroy(s);
		return NULL;
	}
	cairo_surface_flush(s);
	return s;
}

/* Alpha and red/green of the pixel at (x, y) (premultiplied ARGB32). */
static uint32_t pixel(cairo_surface_t *s, int x, int y)
{
	const unsigned char *d = cairo_image_surface_get_data(s);
	int stride = cairo_image_surface_get_stride(s);
	uint32_t v;
	memcpy(&v, d + (size_t)y * (size_t)stride + (size_t)x * 4, 4);
	return v;
}

static bool is_red(uint32_t v)
{
	unsigned a = v >> 24, r = (v >> 16) & 0xFF, g = (v >> 8) & 0xFF, b = v & 0xFF;
	return a > 200 && r > 180 && g < 40 && b < 60;
}

static bool is_clear(uint32_t v)
{
	return (v >> 24) == 0;
}

static unsigned char *draw(const sealkit_draw_options *o, size_t *len)
{
	unsigned char *out = NULL;
	sealkit_error err = {0};
	sealkit_status st = sealkit_seal_draw(o, &out, len, &err);
	if (st != SEALKIT_OK)
		fprintf(stderr, "# sealkit_seal_draw: %s\n", err.message);
	CU_ASSERT_EQUAL(st, SEALKIT_OK);
	return out;
}

static void test_official_png(void)
{
	sealkit_draw_options o = {.name = ORG, .code = "1101080012345"};
	size_t len;
	unsigned char *png = draw(&o, &len);
	CU_ASSERT_FATAL(png != NULL);
	CU_ASSERT(len > 8 && !memcmp(png, "\x89PNG\r\n\x1a\n", 8));
	cairo_surface_t *s = decode(png, len);
	CU_ASSERT_FATAL(s != NULL);
	/* 42 mm at 300 dpi. */
	int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
	CU_ASSERT_EQUAL(w, 496);
	CU_ASSERT_EQUAL(h, 496);
	CU_ASSERT_EQUAL((unsigned)w, sealkit_draw_pixels(&o));

	size_t clear = 0, red = 0;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			uint32_t v = pixel(s, x, y);
			clear += is_clear(v);
			red += is_red(v);
		}
	CU_ASSERT(clear > (size_t)(w * h) / 2);
	CU_ASSERT(red > (size_t)(w * h) / 20);
	/* Corners are outside the seal. */
	CU_ASSERT(is_clear(pixel(s, 0, 0)));
	CU_ASSERT(is_clear(pixel(s, w - 1, h - 1)));
	/* The ring (3% of the diameter wide) all the way round. */
	double c = w / 2.0, rr = c - w * 0.03 / 2;
	int onring = 0;
	for (int i = 0; i < 72; i++) {
		double a = i * 5 * M_PI / 180;
		onring += is_red(pixel(s, (int)(c + rr * sin(a)), (int)(c - rr * cos(a))));
	}
	CU_ASSERT_EQUAL(onring, 72);
	/* Just inside the ring on the left and right, below the name: clear. */
	CU_ASSERT(is_clear(pixel(s, (int)(c - w * 0.36), (int)(c + w * 0.1))));
	/* The star in the centre, and a little above it (its upper point). */
	CU_ASSERT(is_red(pixel(s, (int)c, (int)c)));
	CU_ASSERT(is_red(pixel(s, (int)c, (int)(c - w * 0.1))));
	/* Between the star's upper arms: clear. */
	CU_ASSERT(is_clear(pixel(s, (int)(c + w * 0.06), (int)(c - w * 0.12))));
	cairo_surface_destroy(s);
	free(png);
}

static void test_pixels_and_dpi(void)
{
	sealkit_draw_options o = {.name = ORG, .pixels = 200};
	size_t len;
	unsigned char *png = draw(&o, &len);
	CU_ASSERT_FATAL(png != NULL);
	cairo_surface_t *s = decode(png, len);
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_EQUAL(cairo_image_surface_get_width(s), 200);
	CU_ASSERT_EQUAL(cairo_image_surface_get_height(s), 200);
	cairo_surface_destroy(s);
	free(png);

	sealkit_draw_options p = {.name = ORG, .size_mm = 40, .dpi = 150};
	CU_ASSERT_EQUAL(sealkit_draw_pixels(&p), 236);
	png = draw(&p, &len);
	CU_ASSERT_FATAL(png != NULL);
	s = decode(png, len);
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_EQUAL(cairo_image_surface_get_width(s), 236);
	cairo_surface_destroy(s);
	free(png);
}

static bool same_pixels(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
	cairo_surface_t *sa = decode(a, alen), *sb = decode(b, blen);
	bool same = sa && sb && cairo_image_surface_get_width(sa) == cairo_image_surface_get_width(sb);
	if (same) {
		int n = cairo_image_surface_get_stride(sa) * cairo_image_surface_get_height(sa);
		same = !memcmp(cairo_image_surface_get_data(sa), cairo_image_surface_get_data(sb), (size_t)n);
	}
	cairo_surface_destroy(sa);
	cairo_surface_destroy(sb);
	return same;
}

static void test_names_differ(void)
{
	sealkit_draw_options a = {.name = ORG, .pixels = 160};
	sealkit_draw_options b = {.name = "上海华东建设集团股份有限公司", .pixels = 160};
	sealkit_draw_options c = {.name = ORG, .pixels = 160, .text = "合同专用章"};
	size_t la, lb, lc, la2;
	unsigned char *pa = draw(&a, &la), *pb = draw(&b, &lb), *pc = draw(&c, &lc);
	unsigned char *pa2 = draw(&a, &la2);
	CU_ASSERT_FATAL(pa && pb && pc && pa2);
	CU_ASSERT(!same_pixels(pa, la, pb, lb));
	CU_ASSERT(!same_pixels(pa, la, pc, lc));
	/* The same options draw the same picture. */
	CU_ASSERT(same_pixels(pa, la, pa2, la2));
	free(pa);
	free(pb);
	free(pc);
	free(pa2);
}

static void test_personal_png(void)
{
	const char *names[] = {"王小明", "李四", "张", "欧阳明月"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		sealkit_draw_options o = {.name = names[i], .style = SEALKIT_DRAW_PERSONAL};
		size_t len;
		unsigned char *png = draw(&o, &len);
		CU_ASSERT_FATAL(png != NULL);
		cairo_surface_t *s = decode(png, len);
		CU_ASSERT_FATAL(s != NULL);
		/* 20 mm at 300 dpi. */
		int w = cairo_image_surface_get_width(s);
		CU_ASSERT_EQUAL(w, 236);
		/* The square border: red near every edge's middle and the corners. */
		int e = (int)(w * 0.03);
		CU_ASSERT(is_red(pixel(s, e, w / 2)));
		CU_ASSERT(is_red(pixel(s, w - 1 - e, w / 2)));
		CU_ASSERT(is_red(pixel(s, w / 2, e)));
		CU_ASSERT(is_red(pixel(s, w / 2, w - 1 - e)));
		CU_ASSERT(is_red(pixel(s, e, e)));
		/* Ink inside the border, but transparent background too. */
		size_t clear = 0, red = 0;
		for (int y = w / 8; y < w - w / 8; y++)
			for (int x = w / 8; x < w - w / 8; x++) {
				clear += is_clear(pixel(s, x, y));
				red += is_red(pixel(s, x, y));
			}
		CU_ASSERT(red > 1000);
		CU_ASSERT(clear > 1000);
		cairo_surface_destroy(s);
		free(png);
	}
}

/* Well-formed enough for our purpose: every tag closes in order, attributes
 * are quoted, nothing follows the root element. */
static bool well_formed(const char *x, size_t len)
{
	const char *p = x, *end = x + len;
	char stack[64][64];
	int depth = 0;
	bool root_done = false;
	while (p < end) {
		if (*p != '<') {
			if (root_done && !strchr(" \t\r\n", *p))
				return false;
			p++;
			continue;
		}
		if (!strncmp(p, "<?", 2) || !strncmp(p, "<!--", 4)) {
			const char *close = strstr(p, p[1] == '?' ? "?>" : "-->");
			if (!close)
				return false;
			p = close + 2;
			continue;
		}
		if (root_done)
			return false;
		bool closing = p[1] == '/';
		const char *n = p + (closing ? 2 : 1);
		size_t nl = strcspn(n, " \t\r\n/>");
		if (nl == 0 || nl >= 64)
			return false;
		const char *q = n + nl;
		char quote = 0;
		while (q < end && (quote || *q != '>')) {
			if (quote && *q == quote)
				quote = 0;
			else if (!quote && (*q == '"' || *q == '\''))
				quote = *q;
			else if (!quote && *q == '<')
				return false;
			q++;
		}
		if (q >= end)
			return false;
		bool empty = q[-1] == '/';
		if (closing) {
			if (depth == 0 || strlen(stack[depth - 1]) != nl || strncmp(stack[depth - 1], n, nl))
				return false;
			if (--depth == 0)
				root_done = true;
		} else if (!empty) {
			if (depth == 64)
				return false;
			memcpy(stack[depth], n, nl);
			stack[depth++][nl] = 0;
		} else if (depth == 0) {
			root_done = true;
		}
		p = q + 1;
	}
	return depth == 0 && root_done;
}

static void test_svg(void)
{
	sealkit_draw_options o = {.name = ORG, .code = "1101080012345", .text = "合同专用章",
				  .format = SEALKIT_DRAW_SVG};
	size_t len;
	unsigned char *svg = draw(&o, &len);
	CU_ASSERT_FATAL(svg != NULL);
	char *x = malloc(len + 1);
	CU_ASSERT_FATAL(x != NULL);
	memcpy(x, svg, len);
	x[len] = 0;
	CU_ASSERT(well_formed(x, len));
	CU_ASSERT(strstr(x, "<svg") != NULL);
	CU_ASSERT(strstr(x, "width=\"42mm\"") != NULL);
	CU_ASSERT(strstr(x, "height=\"42mm\"") != NULL);
	CU_ASSERT(strstr(x, "viewBox=\"0 0 42 42\"") != NULL);
	/* #E60012 as cairo writes it (percentages or hex). */
	CU_ASSERT(strstr(x, "rgb(90.") != NULL || strstr(x, "#e60012") != NULL ||
		  strstr(x, "#E60012") != NULL);
	free(x);
	free(svg);

	sealkit_draw_options p = {.name = "王小明", .style = SEALKIT_DRAW_PERSONAL, .size_mm = 18,
				  .format = SEALKIT_DRAW_SVG};
	svg = draw(&p, &len);
	CU_ASSERT_FATAL(svg != NULL);
	x = malloc(len + 1);
	CU_ASSERT_FATAL(x != NULL);
	memcpy(x, svg, len);
	x[len] = 0;
	CU_ASSERT(well_formed(x, len));
	CU_ASSERT(strstr(x, "width=\"18mm\"") != NULL);
	free(x);
	free(svg);
}

static void expect(const sealkit_draw_options *o, sealkit_status want, const char *words)
{
	unsigned char *out = (unsigned char *)"x";
	size_t len = 7;
	sealkit_error err = {0};
	CU_ASSERT_EQUAL(sealkit_seal_draw(o, &out, &len, &err), want);
	CU_ASSERT_EQUAL(err.status, want);
	CU_ASSERT(out == NULL && len == 0);
	if (!strstr(err.message, words))
		fprintf(stderr, "# message '%s' lacks '%s'\n", err.message, words);
	CU_ASSERT(strstr(err.message, words) != NULL);
}

static void test_errors(void)
{
	sealkit_draw_options o = {0};
	expect(&o, SEALKIT_ERR_ARGS, "name is empty");
	o.name = "";
	expect(&o, SEALKIT_ERR_ARGS, "name is empty");
	o.name = "   ";
	expect(&o, SEALKIT_ERR_ARGS, "name is empty");
	o.name = ORG;
	o.size_mm = 1000;
	expect(&o, SEALKIT_ERR_ARGS, "outside");
	o.size_mm = 1;
	expect(&o, SEALKIT_ERR_ARGS, "outside");
	o.size_mm = -42;
	expect(&o, SEALKIT_ERR_ARGS, "outside");
	o.size_mm = NAN;
	expect(&o, SEALKIT_ERR_ARGS, "outside");
	o.size_mm = 0;
	o.pixels = 100000;
	expect(&o, SEALKIT_ERR_ARGS, "pixels");
	o.pixels = 0;
	o.dpi = 100000;
	expect(&o, SEALKIT_ERR_ARGS, "pixels");
	o.dpi = 0;
	o.name = "\xE5\x8C\x97\xFF";
	expect(&o, SEALKIT_ERR_ARGS, "UTF-8");
	o.name = "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一";
	expect(&o, SEALKIT_ERR_ARGS, "more than 40");
	o.name = ORG;
	o.style = (sealkit_draw_style)7;
	expect(&o, SEALKIT_ERR_ARGS, "style");
	o.style = SEALKIT_DRAW_PERSONAL;
	o.name = "王小明明明";
	expect(&o, SEALKIT_ERR_ARGS, "more than 4");
	o.name = "王小明";
	o.code = "123";
	expect(&o, SEALKIT_ERR_ARGS, "only the name");
	o.code = NULL;
	o.style = SEALKIT_DRAW_OFFICIAL;
	o.font = "No Such Font Family 9";
	expect(&o, SEALKIT_ERR_NOT_FOUND, "not found");
	o.font = NULL;
	o.name = "公司\xF4\x8F\xBF\xBD"; /* U+10FFFD: in no font */
	expect(&o, SEALKIT_ERR_NOT_FOUND, "U+10FFFD");
	CU_ASSERT_EQUAL(sealkit_seal_draw(NULL, NULL, NULL, NULL), SEALKIT_ERR_ARGS);
}

static void test_format_for_path(void)
{
	sealkit_draw_format f = SEALKIT_DRAW_SVG;
	CU_ASSERT_EQUAL(sealkit_draw_format_for_path("out/seal.PNG", &f, NULL), SEALKIT_OK);
	CU_ASSERT_EQUAL(f, SEALKIT_DRAW_PNG);
	CU_ASSERT_EQUAL(sealkit_draw_format_for_path("seal.svg", &f, NULL), SEALKIT_OK);
	CU_ASSERT_EQUAL(f, SEALKIT_DRAW_SVG);
	sealkit_error err = {0};
	CU_ASSERT_EQUAL(sealkit_draw_format_for_path("seal.jpg", &f, &err), SEALKIT_ERR_ARGS);
	CU_ASSERT(strstr(err.message, ".png or .svg") != NULL);
	CU_ASSERT_EQUAL(sealkit_draw_format_for_path("png", &f, NULL), SEALKIT_ERR_ARGS);
}

void register_tests(void)
{
	/* Without the default font nothing can be drawn: say so once. */
	sealkit_draw_options probe = {.name = "印", .pixels = 16};
	unsigned char *out = NULL;
	size_t len = 0;
	sealkit_error err = {0};
	if (sealkit_seal_draw(&probe, &out, &len, &err) == SEALKIT_ERR_NOT_FOUND)
		harness_skip_all(err.message);
	free(out);

	CU_pSuite s = harness_suite("seal imprints", NULL, NULL);
	harness_test(s, "official seal PNG: size, transparency, ring and star", test_official_png);
	harness_test(s, "PNG size from pixels or dpi", test_pixels_and_dpi);
	harness_test(s, "different names draw different pictures", test_names_differ);
	harness_test(s, "personal seals: square border and the name", test_personal_png);
	harness_test(s, "SVG is well-formed and sized in mm", test_svg);
	harness_test(s, "bad options are refused", test_errors);
	harness_test(s, "format from the file name", test_format_for_path);
}

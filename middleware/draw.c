/* Seal imprints with cairo: an image surface for PNG, an SVG surface for
 * SVG, both drawn by the same code in millimetres. The font comes from
 * fontconfig, checked to be the family asked for and to hold every
 * character, then handed to cairo through cairo-ft. */
#include "config.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cairo.h>
#include <cairo-ft.h>
#include <cairo-svg.h>
#include <fontconfig/fontconfig.h>

#include "sealkit/draw.h"

#define DEFAULT_OFFICIAL_MM 42.0
#define DEFAULT_PERSONAL_MM 20.0
#define DEFAULT_DPI 300u
#define MAX_PERSONAL 4u
#define DEG (M_PI / 180.0)

/* Code points of a UTF-8 string; false when it is not valid UTF-8 or has
 * more than max of them (*n then counts up to max + 1). */
static bool decode_utf8(const char *s, uint32_t *cp, size_t max, size_t *n)
{
	const unsigned char *p = (const unsigned char *)s;
	*n = 0;
	while (*p) {
		uint32_t c;
		int more;
		if (*p < 0x80) {
			c = *p;
			more = 0;
		} else if ((*p & 0xE0) == 0xC0) {
			c = *p & 0x1F;
			more = 1;
		} else if ((*p & 0xF0) == 0xE0) {
			c = *p & 0x0F;
			more = 2;
		} else if ((*p & 0xF8) == 0xF0) {
			c = *p & 0x07;
			more = 3;
		} else {
			return false;
		}
		p++;
		for (int i = 0; i < more; i++, p++) {
			if ((*p & 0xC0) != 0x80)
				return false;
			c = (c << 6) | (*p & 0x3F);
		}
		static const uint32_t least[] = {0, 0x80, 0x800, 0x10000};
		if (c < least[more] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF) || c < 0x20)
			return false;
		if (*n == max) {
			(*n)++;
			return false;
		}
		cp[(*n)++] = c;
	}
	return true;
}

/* One code point as a NUL-terminated UTF-8 string. */
static void encode_utf8(uint32_t c, char out[5])
{
	if (c < 0x80) {
		out[0] = (char)c;
		out[1] = 0;
	} else if (c < 0x800) {
		out[0] = (char)(0xC0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3F));
		out[2] = 0;
	} else if (c < 0x10000) {
		out[0] = (char)(0xE0 | (c >> 12));
		out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		out[2] = (char)(0x80 | (c & 0x3F));
		out[3] = 0;
	} else {
		out[0] = (char)(0xF0 | (c >> 18));
		out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
		out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
		out[3] = (char)(0x80 | (c & 0x3F));
		out[4] = 0;
	}
}

/* A text option, decoded. */
typedef struct text {
	uint32_t cp[SEALKIT_DRAW_MAX_NAME + 1];
	size_t n;
} text;

static sealkit_status decode_option(const char *what, const char *s, size_t max, text *t,
				    sealkit_error *err)
{
	t->n = 0;
	if (!s)
		return SEALKIT_OK;
	if (!decode_utf8(s, t->cp, max, &t->n)) {
		if (t->n > max)
			return sealkit_fail(err, SEALKIT_ERR_ARGS,
					    "seal draw: the %s has more than %zu characters", what, max);
		return sealkit_fail(err, SEALKIT_ERR_ARGS,
				    "seal draw: the %s is not valid UTF-8 text", what);
	}
	return SEALKIT_OK;
}

/* The family's best match, checked to be that family and to have every
 * character of the texts. */
static sealkit_status find_font(const char *family, const text *const *texts, size_t ntexts,
				cairo_font_face_t **face, sealkit_error *err)
{
	FcPattern *pat = FcNameParse((const FcChar8 *)"");
	if (!pat || !FcPatternAddString(pat, FC_FAMILY, (const FcChar8 *)family)) {
		if (pat)
			FcPatternDestroy(pat);
		return sealkit_fail(err, SEALKIT_ERR_MEMORY, "seal draw: out of memory");
	}
	FcConfigSubstitute(NULL, pat, FcMatchPattern);
	FcDefaultSubstitute(pat);
	FcResult res;
	FcPattern *match = FcFontMatch(NULL, pat, &res);
	FcPatternDestroy(pat);
	bool same = false;
	FcChar8 *got = NULL;
	for (int i = 0; match && FcPatternGetString(match, FC_FAMILY, i, &got) == FcResultMatch; i++)
		if (!strcasecmp((const char *)got, family))
			same = true;
	if (!same) {
		if (match)
			FcPatternDestroy(match);
		if (!strcasecmp(family, SEALKIT_DRAW_FONT))
			return sealkit_fail(err, SEALKIT_ERR_NOT_FOUND,
					    "seal draw: font '%s' not found; install Debian's "
					    "fonts-wqy-zenhei (scripts/install-deps.sh does)",
					    family);
		return sealkit_fail(err, SEALKIT_ERR_NOT_FOUND,
				    "seal draw: font '%s' not found by fontconfig (see fc-list); "
				    "the default is '%s' from fonts-wqy-zenhei",
				    family, SEALKIT_DRAW_FONT);
	}
	FcCharSet *cs = NULL;
	if (FcPatternGetCharSet(match, FC_CHARSET, 0, &cs) == FcResultMatch) {
		for (size_t t = 0; t < ntexts; t++)
			for (size_t i = 0; i < texts[t]->n; i++) {
				uint32_t c = texts[t]->cp[i];
				if (c == ' ' || FcCharSetHasChar(cs, c))
					continue;
				char u[5];
				encode_utf8(c, u);
				FcPatternDestroy(match);
				return sealkit_fail(err, SEALKIT_ERR_NOT_FOUND,
						    "seal draw: font '%s' has no '%s' (U+%04X); "
						    "choose a font that has it",
						    family, u, (unsigned)c);
			}
	}
	*face = cairo_ft_font_face_create_for_pattern(match);
	FcPatternDestroy(match);
	if (cairo_font_face_status(*face) != CAIRO_STATUS_SUCCESS) {
		cairo_font_face_destroy(*face);
		*face = NULL;
		return sealkit_fail(err, SEALKIT_ERR_MEMORY, "seal draw: cannot load font '%s'", family);
	}
	return SEALKIT_OK;
}

/* One character with its ink box centred on the origin, em w wide and h
 * high, filled (and stroked `bold` wide to thicken it). */
static void glyph(cairo_t *cr, uint32_t c, double w, double h, double bold)
{
	char u[5];
	cairo_matrix_t m;
	cairo_text_extents_t ext;
	encode_utf8(c, u);
	cairo_matrix_init_scale(&m, w, h);
	cairo_set_font_matrix(cr, &m);
	cairo_text_extents(cr, u, &ext);
	cairo_move_to(cr, -ext.x_bearing - ext.width / 2, -ext.y_bearing - ext.height / 2);
	cairo_text_path(cr, u);
	if (bold > 0) {
		cairo_set_line_width(cr, bold);
		cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
		cairo_fill_preserve(cr);
		cairo_stroke(cr);
	} else {
		cairo_fill(cr);
	}
}

/* Like glyph(), but stretching the ink to fill a cell of cw x ch (a seal
 * character fills its space), at most `cap` times the em-based size. */
static void glyph_fill(cairo_t *cr, uint32_t c, double cw, double ch, double bold)
{
	char u[5];
	cairo_matrix_t m;
	cairo_text_extents_t ext;
	const double cap = 1.35;
	encode_utf8(c, u);
	cairo_matrix_init_scale(&m, 1.0, 1.0);
	cairo_set_font_matrix(cr, &m);
	cairo_text_extents(cr, u, &ext);
	double w = ext.width > 0.05 ? cw / ext.width : cw;
	double h = ext.height > 0.05 ? ch / ext.height : ch;
	if (w > cw * cap)
		w = cw * cap;
	if (h > ch * cap)
		h = ch * cap;
	glyph(cr, c, w, h, bold);
}

/* Place character c at angle a (radians clockwise from the top) on radius
 * r around (cx, cy); upright = its top points outward, else inward. */
static void arc_glyph(cairo_t *cr, double cx, double cy, double r, double a, bool outward,
		      uint32_t c, double w, double h, double bold)
{
	cairo_save(cr);
	cairo_translate(cr, cx, cy);
	cairo_rotate(cr, a);
	cairo_translate(cr, 0, -r);
	if (!outward)
		cairo_rotate(cr, M_PI);
	glyph(cr, c, w, h, bold);
	cairo_restore(cr);
}

static void star(cairo_t *cr, double cx, double cy, double r)
{
	const double inner = r * 0.381966;
	for (int i = 0; i < 10; i++) {
		double a = i * 36.0 * DEG;
		double rr = (i % 2) ? inner : r;
		double x = cx + rr * sin(a), y = cy - rr * cos(a);
		if (i == 0)
			cairo_move_to(cr, x, y);
		else
			cairo_line_to(cr, x, y);
	}
	cairo_close_path(cr);
	cairo_fill(cr);
}

/* The round official seal, size s millimetres. */
static void draw_official(cairo_t *cr, double s, const text *name, const text *code,
			  const text *sub)
{
	const double R = s / 2, cx = s / 2, cy = s / 2;
	const double ring = s * 0.03;
	const double gap = R * 0.05;

	cairo_set_line_width(cr, ring);
	cairo_new_path(cr);
	cairo_arc(cr, cx, cy, R - ring / 2 - s * 0.002, 0, 2 * M_PI);
	cairo_stroke(cr);

	star(cr, cx, cy, R * 0.34);

	/* The name: clockwise over the top, spread wider the longer it is. */
	const double nh = R * 0.27;
	const double rn = R - ring - gap - nh / 2;
	if (name->n) {
		double span = fmin(240.0, 120.0 + 10.0 * (double)name->n) * DEG;
		if (name->n == 1)
			span = 40 * DEG;
		double step = span / (double)name->n;
		double nw = fmin(nh * 0.95, rn * step * 0.9);
		for (size_t i = 0; i < name->n; i++)
			arc_glyph(cr, cx, cy, rn, -span / 2 + step * ((double)i + 0.5), true,
				  name->cp[i], nw, nh, nh * 0.045);
	}

	/* The code: small, along the bottom, read left to right. */
	if (code->n) {
		const double chh = R * 0.105;
		const double rc = R - ring - gap * 0.8 - chh / 2;
		double step = chh * 0.95 / rc;
		double span = fmin(step * (double)code->n, 150 * DEG);
		step = span / (double)code->n;
		for (size_t i = 0; i < code->n; i++)
			arc_glyph(cr, cx, cy, rc, M_PI + span / 2 - step * ((double)i + 0.5), false,
				  code->cp[i], chh * 0.9, chh, chh * 0.04);
	}

	/* The line under the star. */
	if (sub->n) {
		const double y = R * 0.56, th = R * 0.16;
		double chord = 2 * sqrt(rn * rn - y * y) * 0.8;
		double tw = fmin(th, chord / (double)sub->n);
		double x0 = cx - tw * (double)sub->n / 2;
		for (size_t i = 0; i < sub->n; i++) {
			cairo_save(cr);
			cairo_translate(cr, x0 + tw * ((double)i + 0.5), cy + y);
			glyph(cr, sub->cp[i], tw * 0.98, th, th * 0.04);
			cairo_restore(cr);
		}
	}
}

/* The square personal seal: 1 character, 2 side by side, or 2 x 2 read
 * right column first, top to bottom. */
static void draw_personal(cairo_t *cr, double s, const text *name)
{
	const double border = s * 0.08;
	const double pad = s * 0.045, gap = s * 0.035;
	const double bold = s * 0.03;
	uint32_t cp[MAX_PERSONAL];
	size_t n = name->n;

	memcpy(cp, name->cp, n * sizeof cp[0]);
	if (n == 3)
		cp[n++] = 0x5370; /* 印 */

	cairo_set_line_width(cr, border);
	cairo_set_line_join(cr, CAIRO_LINE_JOIN_MITER);
	cairo_rectangle(cr, border / 2, border / 2, s - border, s - border);
	cairo_stroke(cr);

	const double x0 = border + pad, inner = s - 2 * (border + pad);
	const double half = (inner - gap) / 2;
	for (size_t i = 0; i < n; i++) {
		double x, y, w, h;
		if (n == 1) {
			x = x0;
			y = x0;
			w = h = inner;
		} else if (n == 2) {
			x = i == 0 ? x0 + half + gap : x0;
			y = x0;
			w = half;
			h = inner;
		} else {
			x = i < 2 ? x0 + half + gap : x0;
			y = i % 2 ? x0 + half + gap : x0;
			w = h = half;
		}
		cairo_save(cr);
		cairo_translate(cr, x + w / 2, y + h / 2);
		glyph_fill(cr, cp[i], w - bold, h - bold, bold);
		cairo_restore(cr);
	}
}

/* A growing buffer for cairo's stream writers. */
typedef struct buffer {
	unsigned char *p;
	size_t len, cap;
} buffer;

static cairo_status_t buffer_write(void *closure, const unsigned char *data, unsigned int n)
{
	buffer *b = closure;
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap - b->len < n)
			cap *= 2;
		unsigned char *p = realloc(b->p, cap);
		if (!p)
			return CAIRO_STATUS_NO_MEMORY;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	return CAIRO_STATUS_SUCCESS;
}

static double size_of(const sealkit_draw_options *o)
{
	if (o->size_mm != 0)
		return o->size_mm;
	return o->style == SEALKIT_DRAW_PERSONAL ? DEFAULT_PERSONAL_MM : DEFAULT_OFFICIAL_MM;
}

unsigned sealkit_draw_pixels(const sealkit_draw_options *o)
{
	if (!o)
		return 0;
	double s = size_of(o);
	if (!(s >= SEALKIT_DRAW_MIN_MM && s <= SEALKIT_DRAW_MAX_MM))
		return 0;
	if (o->pixels)
		return o->pixels <= SEALKIT_DRAW_MAX_PIXELS ? o->pixels : 0;
	double px = round(s / 25.4 * (o->dpi ? o->dpi : DEFAULT_DPI));
	if (px < 1 || px > SEALKIT_DRAW_MAX_PIXELS)
		return 0;
	return (unsigned)px;
}

sealkit_status sealkit_draw_format_for_path(const char *path, sealkit_draw_format *format,
					    sealkit_error *err)
{
	const char *dot = path ? strrchr(path, '.') : NULL;
	if (dot && !strcasecmp(dot, ".png")) {
		*format = SEALKIT_DRAW_PNG;
		return SEALKIT_OK;
	}
	if (dot && !strcasecmp(dot, ".svg")) {
		*format = SEALKIT_DRAW_SVG;
		return SEALKIT_OK;
	}
	return sealkit_fail(err, SEALKIT_ERR_ARGS,
			    "seal draw: '%s' does not end in .png or .svg; name the output FILE.png or FILE.svg",
			    path ? path : "");
}

sealkit_status sealkit_seal_draw(const sealkit_draw_options *o, unsigned char **out, size_t *len,
				 sealkit_error *err)
{
	if (!o || !out || !len)
		return sealkit_fail(err, SEALKIT_ERR_ARGS, "seal draw: missing argument");
	*out = NULL;
	*len = 0;
	if (o->style != SEALKIT_DRAW_OFFICIAL && o->style != SEALKIT_DRAW_PERSONAL)
		return sealkit_fail(err, SEALKIT_ERR_ARGS,
				    "seal draw: unknown style; use official or personal");
	if (o->format != SEALKIT_DRAW_PNG && o->format != SEALKIT_DRAW_SVG)
		return sealkit_fail(err, SEALKIT_ERR_ARGS, "seal draw: unknown format; use PNG or SVG");
	const bool personal = o->style == SEALKIT_DRAW_PERSONAL;

	text *tn = malloc(3 * sizeof(text)); /* name, code, text */
	if (!tn)
		return sealkit_fail(err, SEALKIT_ERR_MEMORY, "seal draw: out of memory");
	text *tc = tn + 1, *ts = tn + 2;
	sealkit_status st;
	if ((st = decode_option("name", o->name, personal ? MAX_PERSONAL : SEALKIT_DRAW_MAX_NAME, tn,
				err)) ||
	    (st = decode_option("code", o->code, SEALKIT_DRAW_MAX_CODE, tc, err)) ||
	    (st = decode_option("text", o->text, SEALKIT_DRAW_MAX_TEXT, ts, err)))
		goto done;
	/* Spaces around the name mean nothing on a seal. */
	while (tn->n && tn->cp[tn->n - 1] == ' ')
		tn->n--;
	while (tn->n && tn->cp[0] == ' ')
		memmove(tn->cp, tn->cp + 1, --tn->n * sizeof tn->cp[0]);
	if (!tn->n) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS, "seal draw: the name is empty; give --name");
		goto done;
	}
	if (personal && (tc->n || ts->n)) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS,
				  "seal draw: a personal seal has only the name (no code or text)");
		goto done;
	}
	const double s = size_of(o);
	if (!(s >= SEALKIT_DRAW_MIN_MM && s <= SEALKIT_DRAW_MAX_MM)) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS,
				  "seal draw: size %g mm is outside %g..%g mm (official seals are "
				  "usually 38-42, personal ones 15-20)",
				  s, SEALKIT_DRAW_MIN_MM, SEALKIT_DRAW_MAX_MM);
		goto done;
	}
	unsigned px = 0;
	if (o->format == SEALKIT_DRAW_PNG && !(px = sealkit_draw_pixels(o))) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS,
				  "seal draw: the picture would be over %u pixels wide; lower the "
				  "resolution",
				  SEALKIT_DRAW_MAX_PIXELS);
		goto done;
	}

	cairo_font_face_t *face = NULL;
	const text *all[] = {tn, tc, ts};
	const char *family = o->font && *o->font ? o->font : SEALKIT_DRAW_FONT;
	if ((st = find_font(family, all, 3, &face, err)))
		goto done;

	buffer buf = {0};
	cairo_surface_t *surf;
	if (o->format == SEALKIT_DRAW_PNG) {
		surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, (int)px, (int)px);
	} else {
		surf = cairo_svg_surface_create_for_stream(buffer_write, &buf, s, s);
		cairo_svg_surface_set_document_unit(surf, CAIRO_SVG_UNIT_MM);
	}
	cairo_t *cr = cairo_create(surf);
	if (o->format == SEALKIT_DRAW_PNG)
		cairo_scale(cr, px / s, px / s);

	cairo_font_options_t *fo = cairo_font_options_create();
	cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
	cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
	cairo_set_font_options(cr, fo);
	cairo_font_options_destroy(fo);
	cairo_set_font_face(cr, face);

	uint32_t rgb = o->color ? o->color : SEALKIT_DRAW_RED;
	cairo_set_source_rgb(cr, ((rgb >> 16) & 0xFF) / 255.0, ((rgb >> 8) & 0xFF) / 255.0,
			     (rgb & 0xFF) / 255.0);
	if (personal)
		draw_personal(cr, s, tn);
	else
		draw_official(cr, s, tn, tc, ts);

	cairo_status_t cs = cairo_status(cr);
	cairo_destroy(cr);
	if (cs == CAIRO_STATUS_SUCCESS && o->format == SEALKIT_DRAW_PNG) {
		cairo_surface_flush(surf);
		cs = cairo_surface_write_to_png_stream(surf, buffer_write, &buf);
	}
	cairo_surface_finish(surf);
	if (cs == CAIRO_STATUS_SUCCESS)
		cs = cairo_surface_status(surf);
	cairo_surface_destroy(surf);
	cairo_font_face_destroy(face);
	if (cs != CAIRO_STATUS_SUCCESS) {
		free(buf.p);
		st = sealkit_fail(err, cs == CAIRO_STATUS_NO_MEMORY ? SEALKIT_ERR_MEMORY : SEALKIT_ERR_IO,
				  "seal draw: cairo: %s", cairo_status_to_string(cs));
		goto done;
	}
	*out = buf.p;
	*len = buf.len;
	st = SEALKIT_OK;
done:
	free(tn);
	return st;
}

/* libsealkit: drawing seal imprints (the picture a seal carries).
 *
 * An official seal is a red ring with a five-pointed star in the centre,
 * the organisation's name along the upper arc (each character turned to
 * follow the arc), an optional code (the 13-digit seal code) along the
 * lower arc and an optional line of text under the star ("合同专用章").
 * A personal seal is a red square with the name inside: one character,
 * two side by side, or four in two columns read right column first
 * (three-character names get "印" as the fourth, as real ones do).
 *
 * The background is transparent. Text is drawn with a CJK font that
 * fontconfig finds ("WenQuanYi Zen Hei" from Debian's fonts-wqy-zenhei
 * unless the options name another); a missing font or a character the
 * font lacks is an error, never a picture with empty boxes. */
#ifndef SEALKIT_DRAW_H
#define SEALKIT_DRAW_H

#include <stddef.h>
#include <stdint.h>

#include <sealkit/status.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sealkit_draw_style {
	SEALKIT_DRAW_OFFICIAL = 0, /* round: ring, star, name along the arc */
	SEALKIT_DRAW_PERSONAL,     /* square with the name */
} sealkit_draw_style;

typedef enum sealkit_draw_format {
	SEALKIT_DRAW_PNG = 0,
	SEALKIT_DRAW_SVG,
} sealkit_draw_format;

/* The default font family and colour. */
#define SEALKIT_DRAW_FONT "WenQuanYi Zen Hei"
#define SEALKIT_DRAW_RED 0xE60012u

/* Limits the options are checked against. */
#define SEALKIT_DRAW_MIN_MM 5.0
#define SEALKIT_DRAW_MAX_MM 200.0
#define SEALKIT_DRAW_MAX_PIXELS 8192u
#define SEALKIT_DRAW_MAX_NAME 40u  /* characters of an official seal's name */
#define SEALKIT_DRAW_MAX_CODE 32u  /* characters of the code */
#define SEALKIT_DRAW_MAX_TEXT 12u  /* characters of the line under the star */

/* Zero-initialise and fill in what you need: every zero field means its default. */
typedef struct sealkit_draw_options {
	const char *name;      /* UTF-8, required: organisation (official) or person (1-4 characters) */
	const char *code;      /* official: along the lower arc, reading left to right; NULL: none */
	const char *text;      /* official: horizontal line under the star; NULL: none */
	sealkit_draw_style style;
	double size_mm;        /* diameter or side; 0: 42 (official) or 20 (personal) */
	sealkit_draw_format format;
	unsigned dpi;          /* PNG resolution; 0: 300 */
	unsigned pixels;       /* PNG width and height; overrides dpi when non-zero */
	const char *font;      /* fontconfig family; NULL: SEALKIT_DRAW_FONT */
	uint32_t color;        /* 0xRRGGBB; 0: SEALKIT_DRAW_RED */
} sealkit_draw_options;

/* Draws the imprint. *out is malloc'ed (free it with free()): PNG bytes,
 * square, with a transparent background; or an SVG document whose width
 * and height are the size in millimetres ("42mm"). Errors: ARGS for an
 * empty or too long name, a size outside SEALKIT_DRAW_MIN_MM..MAX_MM or a
 * picture over SEALKIT_DRAW_MAX_PIXELS; NOT_FOUND when the font is
 * missing or lacks a character of the text. */
sealkit_status sealkit_seal_draw(const sealkit_draw_options *o, unsigned char **out, size_t *len,
				 sealkit_error *err);

/* The format a file name asks for: ".png" or ".svg" (any case); ARGS otherwise. */
sealkit_status sealkit_draw_format_for_path(const char *path, sealkit_draw_format *format,
					    sealkit_error *err);

/* The PNG width in pixels sealkit_seal_draw makes for these options (0 when they are invalid). */
unsigned sealkit_draw_pixels(const sealkit_draw_options *o);

#ifdef __cplusplus
}
#endif

#endif

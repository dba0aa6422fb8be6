/*
 * heatmap.c -- dependency-free SVG heat maps: one square per value, shaded
 * from white to dark blue, labelled rows and columns (rotated when they are
 * longer than a character or two), a colour scale. Written atomically like
 * every other output.
 */
#include "cli/heatmap.h"

#include "io/io.h"

#include <math.h>
#include <string.h>

static void esc(rnn__buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': rnn__buf_puts(b, "&lt;"); break;
        case '>': rnn__buf_puts(b, "&gt;"); break;
        case '&': rnn__buf_puts(b, "&amp;"); break;
        case '"': rnn__buf_puts(b, "&quot;"); break;
        default: rnn__buf_append(b, s, 1);
        }
    }
}

/* A label as drawn: white space becomes a visible mark (U+2423 for a
 * space, U+21E5 for a tab), so that the source's spaces keep a column. */
static void label(rnn__buf *b, const char *s)
{
    int blank = 1;
    for (const char *p = s; p && *p; p++)
        blank &= *p == ' ' || *p == '\t';
    if (!s || !*s)
        rnn__buf_puts(b, "\xe2\x88\x85"); /* U+2205: an empty label */
    else if (blank)
        for (const char *p = s; *p; p++)
            rnn__buf_puts(b, *p == ' ' ? "\xe2\x90\xa3" : "\xe2\x87\xa5");
    else
        esc(b, s);
}

/* Code points of a UTF-8 label (for its width). */
static int glyphs(const char *s)
{
    int n = 0;
    for (; s && *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* White (0) to a dark blue (1), linear in RGB. */
static void shade(char out[8], double v)
{
    static const double lo[3] = {255, 255, 255}, hi[3] = {8, 48, 107};
    int c[3];
    for (int i = 0; i < 3; i++)
        c[i] = (int)lround(lo[i] + (hi[i] - lo[i]) * v);
    snprintf(out, 8, "#%02x%02x%02x", c[0], c[1], c[2]);
}

rnn_status heatmap_write(const char *path, const heatmap_spec *spec, const float *values,
                         int rows, int cols, const char *const *row_labels,
                         const char *const *col_labels, rnn_error *err)
{
    if (rows < 1 || cols < 1)
        return rnn__fail(err, RNN_EINVAL, "%s: nothing to draw (%d x %d)", path, rows, cols);
    int longest_col = 1, longest_row = 1;
    for (int j = 0; j < cols; j++)
        longest_col = glyphs(col_labels[j]) > longest_col ? glyphs(col_labels[j]) : longest_col;
    for (int i = 0; i < rows; i++)
        longest_row = glyphs(row_labels[i]) > longest_row ? glyphs(row_labels[i]) : longest_row;
    const double cell = 22, rotate = longest_col > 2;
    const double ml = 40 + 8.0 * longest_row, mt = 70 + (rotate ? 6.5 * longest_col : 0);
    const double W0 = ml + cols * cell + 110, H0 = mt + rows * cell + 40;
    const double W = W0 < 420 ? 420 : W0, Hh = H0 < 220 ? 220 : H0;

    rnn__buf b = {0};
    rnn__buf_printf(&b,
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                    "viewBox=\"0 0 %.0f %.0f\" font-family=\"Helvetica, Arial, sans-serif\" "
                    "font-size=\"13\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                    W, Hh, W, Hh);
    rnn__buf_puts(&b, "<text x=\"12\" y=\"24\" font-size=\"15\" font-weight=\"bold\">");
    esc(&b, spec->title);
    rnn__buf_puts(&b, "</text>\n");
    rnn__buf_printf(&b, "<text x=\"%.1f\" y=\"46\" text-anchor=\"middle\" fill=\"#444\">",
                    ml + cols * cell / 2);
    esc(&b, spec->xlabel);
    rnn__buf_printf(&b, " \xe2\x86\x92</text>\n<text transform=\"translate(14,%.1f) rotate(-90)\" "
                        "text-anchor=\"middle\" fill=\"#444\">", mt + rows * cell / 2);
    esc(&b, spec->ylabel);
    rnn__buf_puts(&b, " \xe2\x86\x92</text>\n");
    for (int j = 0; j < cols; j++) {
        const double x = ml + (j + 0.5) * cell, y = mt - 6;
        if (rotate)
            rnn__buf_printf(&b, "<text transform=\"translate(%.1f,%.1f) rotate(-60)\">", x + 4, y);
        else
            rnn__buf_printf(&b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", x, y);
        label(&b, col_labels[j]);
        rnn__buf_puts(&b, "</text>\n");
    }
    for (int i = 0; i < rows; i++) {
        rnn__buf_printf(&b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", ml - 6,
                        mt + (i + 0.5) * cell + 4.5);
        label(&b, row_labels[i]);
        rnn__buf_puts(&b, "</text>\n");
        for (int j = 0; j < cols; j++) {
            const double v = values[(size_t)i * cols + j];
            char col[8] = "#bbbbbb";
            if (!isnan(v))
                shade(col, v < 0 ? 0 : v > 1 ? 1 : v);
            rnn__buf_printf(&b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                                "fill=\"%s\"><title>", ml + j * cell, mt + i * cell, cell, cell, col);
            label(&b, row_labels[i]);
            rnn__buf_puts(&b, " / ");
            label(&b, col_labels[j]);
            rnn__buf_printf(&b, ": %.3f</title></rect>\n", v);
        }
    }
    rnn__buf_printf(&b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
                        "stroke=\"#888\"/>\n", ml, mt, cols * cell, rows * cell);
    /* the colour scale */
    const double sx = ml + cols * cell + 30, sh = rows * cell < 120 ? rows * cell : 120;
    for (int k = 0; k < 20; k++) {
        char col[8];
        shade(col, 1.0 - (k + 0.5) / 20);
        rnn__buf_printf(&b, "<rect x=\"%.1f\" y=\"%.2f\" width=\"14\" height=\"%.2f\" fill=\"%s\"/>\n",
                        sx, mt + k * sh / 20, sh / 20 + 0.3, col);
    }
    rnn__buf_printf(&b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"%.1f\" fill=\"none\" "
                        "stroke=\"#888\"/>\n<text x=\"%.1f\" y=\"%.1f\">1</text>\n"
                        "<text x=\"%.1f\" y=\"%.1f\">0</text>\n",
                    sx, mt, sh, sx + 20, mt + 10, sx + 20, mt + sh);
    rnn__buf_puts(&b, "</svg>\n");
    if (b.oom) {
        rnn__buf_free(&b);
        return rnn__fail(err, RNN_ENOMEM, "out of memory drawing %s", path);
    }
    rnn_status st = rnn__write_file_atomic(path, b.data, b.len, err);
    rnn__buf_free(&b);
    return st;
}

/*
 * plot.c -- dependency-free SVG line charts: "nice" 1-2-5 tick steps,
 * light grid, a legend, NaN as gaps. The file is replaced atomically so a
 * browser reloading it during training never sees half a picture.
 */
#include "cli/plot.h"

#include "io/io.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static double nice_step(double span, int target)
{
    double raw = span / (target > 0 ? target : 5);
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

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

static void fmt_tick(char *out, size_t n, double v, double step)
{
    if (fabs(v) < step * 1e-6)
        v = 0;
    if (fabs(v) >= 1e5 || (fabs(v) < 1e-3 && v != 0))
        snprintf(out, n, "%.3g", v);
    else {
        int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
        snprintf(out, n, "%.*f", dec > 6 ? 6 : dec, v);
    }
}

rnn_status plot_lines(const char *path, const plot_spec *spec, const plot_series *series,
                      int count, rnn_error *err)
{
    const int W = spec->width > 0 ? spec->width : 860, Hh = spec->height > 0 ? spec->height : 480;
    const double ml = 72, mr = 24, mt = 44, mb = 56;
    const double pw = W - ml - mr, ph = Hh - mt - mb;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int s = 0; s < count; s++)
        for (size_t i = 0; i < series[s].n; i++) {
            double x = series[s].x[i], y = series[s].y[i];
            if (!isfinite(x) || !isfinite(y))
                continue;
            x0 = fmin(x0, x);
            x1 = fmax(x1, x);
            y0 = fmin(y0, y);
            y1 = fmax(y1, y);
        }
    if (!(x0 <= x1)) { /* no data yet: an empty frame */
        x0 = 0;
        x1 = 1;
        y0 = 0;
        y1 = 1;
    }
    if (x1 - x0 < 1e-12)
        x1 = x0 + 1;
    if (y1 - y0 < 1e-12) {
        y0 -= 0.5;
        y1 += 0.5;
    }
    double pad = (y1 - y0) * 0.05;
    y0 -= pad;
    y1 += pad;
    double xs = nice_step(x1 - x0, 8), ys = nice_step(y1 - y0, 6);

    rnn__buf b = {0};
    rnn__buf_printf(&b,
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                    "viewBox=\"0 0 %d %d\" font-family=\"Helvetica, Arial, sans-serif\" "
                    "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                    W, Hh, W, Hh);
    rnn__buf_printf(&b, "<text x=\"%g\" y=\"26\" font-size=\"16\" font-weight=\"bold\">", ml);
    esc(&b, spec->title);
    rnn__buf_puts(&b, "</text>\n");
#define PX(x) (ml + ((x) - x0) / (x1 - x0) * pw)
#define PY(y) (mt + (1 - ((y) - y0) / (y1 - y0)) * ph)
    char t[64];
    for (double v = ceil(y0 / ys) * ys; v <= y1 + ys * 1e-9; v += ys) {
        rnn__buf_printf(&b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>\n",
                        ml, ml + pw, PY(v), PY(v));
        fmt_tick(t, sizeof t, v, ys);
        rnn__buf_printf(&b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#444\">%s</text>\n",
                        ml - 6, PY(v) + 4, t);
    }
    for (double v = ceil(x0 / xs) * xs; v <= x1 + xs * 1e-9; v += xs) {
        rnn__buf_printf(&b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>\n",
                        PX(v), PX(v), mt, mt + ph);
        fmt_tick(t, sizeof t, v, xs);
        rnn__buf_printf(&b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#444\">%s</text>\n",
                        PX(v), mt + ph + 18, t);
    }
    rnn__buf_printf(&b, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" stroke=\"#888\"/>\n",
                    ml, mt, pw, ph);
    rnn__buf_printf(&b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", ml + pw / 2, Hh - 14);
    esc(&b, spec->xlabel);
    rnn__buf_printf(&b, "</text>\n<text transform=\"translate(18,%.1f) rotate(-90)\" "
                        "text-anchor=\"middle\">", mt + ph / 2);
    esc(&b, spec->ylabel);
    rnn__buf_puts(&b, "</text>\n");

    for (int s = 0; s < count; s++) {
        const plot_series *se = &series[s];
        int open = 0;
        for (size_t i = 0; i < se->n; i++) {
            double x = se->x[i], y = se->y[i];
            if (!isfinite(x) || !isfinite(y)) {
                if (open)
                    rnn__buf_puts(&b, "\"/>\n");
                open = 0;
                continue;
            }
            if (!open) {
                rnn__buf_printf(&b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\"%s points=\"",
                                se->color, se->dashed ? " stroke-dasharray=\"6,4\"" : "");
                open = 1;
            }
            rnn__buf_printf(&b, "%.1f,%.1f ", PX(x), PY(y));
        }
        if (open)
            rnn__buf_puts(&b, "\"/>\n");
        if (se->markers)
            for (size_t i = 0; i < se->n; i++)
                if (isfinite(se->x[i]) && isfinite(se->y[i]))
                    rnn__buf_printf(&b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                                    PX(se->x[i]), PY(se->y[i]), se->color);
        /* legend, top right */
        double ly = mt + 16 + 18 * s, lx = ml + pw - 170;
        rnn__buf_printf(&b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                            "stroke-width=\"2.5\"%s/>\n<text x=\"%.1f\" y=\"%.1f\">",
                        lx, lx + 26, ly - 4, ly - 4, se->color,
                        se->dashed ? " stroke-dasharray=\"6,4\"" : "", lx + 32, ly);
        esc(&b, se->name);
        rnn__buf_puts(&b, "</text>\n");
    }
#undef PX
#undef PY
    rnn__buf_puts(&b, "</svg>\n");
    if (b.oom) {
        rnn__buf_free(&b);
        return rnn__fail(err, RNN_ENOMEM, "out of memory drawing %s", path);
    }
    rnn_status st = rnn__write_file_atomic(path, b.data, b.len, err);
    rnn__buf_free(&b);
    return st;
}

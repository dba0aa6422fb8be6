/* plot.h -- SVG charts for the CLI's outputs (loss curves, forecasts). */
#ifndef RNN_PLOT_H
#define RNN_PLOT_H

#include "rnn.h"

#include <stddef.h>

typedef struct plot_series {
    const char *name;   /* legend label */
    const double *x, *y; /* n points; NaN y values are gaps */
    size_t n;
    const char *color;  /* CSS color */
    int dashed;
    int markers;        /* draw a dot at every point */
} plot_series;

typedef struct plot_spec {
    const char *title, *xlabel, *ylabel;
    int width, height; /* pixels; 0 = 860 x 480 */
} plot_spec;

/* Writes a line chart with axes, 1-2-5 ticks, grid and legend to path
 * (atomically). Returns RNN_OK or an error with the message in err. */
rnn_status plot_lines(const char *path, const plot_spec *spec,
                      const plot_series *series, int count, rnn_error *err);

#endif

/* heatmap.h -- SVG heat maps for the CLI's outputs (attention weights). */
#ifndef RNN_HEATMAP_H
#define RNN_HEATMAP_H

#include "rnn.h"

typedef struct heatmap_spec {
    const char *title;  /* above the map                              */
    const char *xlabel; /* names the columns (e.g. "source")          */
    const char *ylabel; /* names the rows (e.g. "output")             */
} heatmap_spec;

/* Writes a rows x cols grid of cells shaded from white (0) to dark blue (1)
 * by values [rows][cols] (clamped to [0, 1]; NaN is drawn grey), with the
 * column labels on top, the row labels on the left, a colour scale and a
 * tooltip with each cell's value, to path (atomically). Labels are UTF-8;
 * a label that is only white space is drawn as a visible placeholder. */
rnn_status heatmap_write(const char *path, const heatmap_spec *spec, const float *values,
                         int rows, int cols, const char *const *row_labels,
                         const char *const *col_labels, rnn_error *err);

#endif

/*
 * forecast.h -- time-series forecasting around a model: accuracy measures
 * (MAE, RMSE, MAPE, sMAPE, MASE), the naive baselines every forecast must
 * be judged against, normalisation fitted on the training part only,
 * filling missing values, sliding windows, and multi-step forecasts made by
 * feeding a model its own predictions. Internal (the CLI's `rnn forecast`
 * and the tests use it).
 *
 * Indices are 0-based positions in the series. A forecast "at origin o"
 * knows y[0..o] and predicts y[o+1], y[o+2], ... Definitions follow
 * Hyndman & Koehler (2006) and Hyndman & Athanasopoulos, "Forecasting:
 * principles and practice" (REFERENCE.md, "Training practice").
 */
#ifndef RNN_FORECAST_H
#define RNN_FORECAST_H

#include "model/model.h"

/* ---- accuracy ----------------------------------------------------------- */

typedef struct rnn__fc_metrics {
    double mae;   /* mean |e|                                                  */
    double rmse;  /* sqrt(mean e^2)                                            */
    double mape;  /* 100 mean |e|/|y|; NaN if some actual y is 0               */
    double smape; /* 100 mean 2|e|/(|y|+|f|), a term 0 when y = f = 0 (0..200)  */
    double mase;  /* mae / scale; NaN if the scale is 0 or NaN                  */
} rnn__fc_metrics;

/* The MASE scale: (1/(n-m)) sum_{t=m..n-1} |y[t] - y[t-m]| over a training
 * series y[0..n) (m = 1: the in-sample naive forecast's MAE; m = the season:
 * the seasonal naive's). NaN when n <= m or m < 1. */
double rnn__fc_mase_scale(const double *y, size_t n, int m);
/* The measures of forecasts f[n] against actual values y[n] (e = y - f). */
void rnn__fc_accuracy(rnn__fc_metrics *out, const double *y, const double *f, size_t n,
                      double scale);

/* ---- baselines ---------------------------------------------------------- */

typedef enum rnn__fc_baseline {
    RNN__FC_NAIVE = 0,  /* y[o+h] = y[o]                                         */
    RNN__FC_SNAIVE = 1, /* y[o+h] = y[o+h-m(k+1)], k = floor((h-1)/m)            */
    RNN__FC_MEAN = 2,   /* the mean of y[0..o]                                   */
    RNN__FC_DRIFT = 3,  /* y[o] + h (y[o] - y[0]) / o  (naive for o = 0)         */
    RNN__FC_NBASELINES = 4
} rnn__fc_baseline;

/* "naive", "seasonal_naive", "mean", "drift" (the keys of metrics.json). */
const char *rnn__fc_baseline_name(rnn__fc_baseline kind);
/* f[j] = the forecast of y[o+1+j], j < h, made at origin o = n-1 from
 * y[0..n) (n >= 1). The seasonal naive needs n >= m; with fewer values it
 * repeats the earliest season it has (index clamped at 0). */
void rnn__fc_baseline_forecast(double *f, rnn__fc_baseline kind, const double *y, size_t n,
                               size_t h, int m);
/* Rolling origin, one step ahead: f[k] = the forecast of y[first+k] made at
 * origin first+k-1 (first >= 1), k < count. */
void rnn__fc_baseline_one_step(double *f, rnn__fc_baseline kind, const double *y, size_t first,
                               size_t count, int m);

/* ---- data preparation ---------------------------------------------------- */

/* Mean and standard deviation (population, ddof = 0) of every column of
 * x[rows][cols] over its first ntrain rows only -- the later rows (the
 * validation and test parts) must not leak into the statistics. Returns the
 * index of the first column that is constant over those rows (zero scale:
 * nothing to normalise by), or -1 if none is. */
long rnn__fc_fit_norm(double *mean, double *std, const double *x, size_t cols, size_t ntrain);

typedef enum rnn__fc_fill {
    RNN__FC_FILL_NONE = 0,
    RNN__FC_FILL_LINEAR = 1,  /* interpolate between the neighbours that are present */
    RNN__FC_FILL_PREVIOUS = 2 /* carry the last present value forward              */
} rnn__fc_fill;

/* Replaces the NaN entries of x[0], x[stride], ..., x[(n-1)*stride]. Before
 * the first present value both methods use that value; after the last,
 * linear carries the last one. Returns 0 if no value is present at all
 * (nothing is changed), 1 otherwise. */
int rnn__fc_fill_missing(double *x, size_t n, size_t stride, rnn__fc_fill method);

/* Sliding windows over z[rows][F] (the target in column 0): for origins
 * o = first .. first+count-1, x[k] = z[o-L+1 .. o] ([L][F], row-major) and,
 * if y is not NULL, y[k] = z[o+1 .. o+O][0] ([O]). With `relative`, the
 * origin's target value z[o][0] is subtracted from the target column of
 * x[k] and from y[k]: the model sees and predicts changes from the last
 * known level, so a level it never met in training is no extrapolation.
 * The caller guarantees first >= L-1 and, with y, first+count-1+O < rows. */
void rnn__fc_windows(float *x, float *y, const float *z, int F, int L, int O, size_t first,
                     size_t count, int relative);

/* ---- forecasting with a model ------------------------------------------ */

/* Multi-step forecast of column 0 after `origin` by a many-to-one model with
 * input_size F and output_size O (O = 1: recursive, one step at a time;
 * O > 1: direct, in blocks of O): every predicted block is appended to the
 * history and the next window slides over it. out[steps] (normalised units
 * like z). z has `avail` rows; rows after origin supply the other columns
 * of future steps: when F > 1 and a window needs a row past avail-1, the
 * call fails with RNN_EINVAL (those inputs are unknown). origin >= L-1.
 * `relative`: the model was trained on rnn__fc_windows(..., relative = 1). */
rnn_status rnn__fc_forecast(rnn_model *m, float *out, const float *z, size_t avail, int L,
                            size_t origin, size_t steps, int relative, rnn_error *err);

/* One step ahead with a rolling origin and the true history: out[k] = the
 * model's first output for the window ending at origin first+k, k < count. */
rnn_status rnn__fc_one_step(rnn_model *m, float *out, const float *z, int L, size_t first,
                            size_t count, int relative, rnn_error *err);

/* ---- time labels ------------------------------------------------------- */

/* The label of the time k >= 1 steps after `last`, given the label before
 * it (`prev`, NULL if unknown), when the labels follow a regular step:
 * numbers (112, 1.5: the step last - prev), dates YYYY-MM and YYYY-MM-DD
 * (a step of whole months when the day is the same, else of days) and
 * date-times "YYYY-MM-DD HH:MM[:SS]" (also with 'T'). Returns 1 and writes
 * the label, or returns 0 and writes "+k" (steps after the last) when the
 * format is not recognised or the step is not positive. */
int rnn__fc_time_after(char *out, size_t n, const char *prev, const char *last, long k);

#endif

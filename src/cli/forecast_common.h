/*
 * forecast_common.h -- what `rnn forecast train` and `rnn forecast predict`
 * share: reading the series out of a CSV file (target, feature and time
 * columns, missing values), the forecasting settings stored in
 * checkpoints, and the z-score normalisation with stored statistics.
 */
#ifndef RNN_FORECAST_COMMON_H
#define RNN_FORECAST_COMMON_H

#include "cli/cli.h"
#include "io/csv.h"
#include "model/forecast.h"

#define FC_MAX_FEATURES 256

/* A series read from a CSV file. */
typedef struct fc_series {
    rnn__csv csv;
    size_t n;          /* rows */
    int F;             /* input columns: the target, then the features */
    double *v;         /* [n][F] values, missing ones filled */
    char **time;       /* [n] labels from the time column (into csv), or NULL */
    size_t filled;     /* how many values were missing and filled */
    const char *names[FC_MAX_FEATURES + 1]; /* [F] column names (into csv) */
    const char *time_name;                  /* or NULL */
} fc_series;

/* The columns to read: names or 1-based positions. */
typedef struct fc_columns {
    const char *target;
    const char *features[FC_MAX_FEATURES];
    int nfeatures;
    const char *time; /* NULL: none */
} fc_columns;

/* Splits a comma-separated --features list into c (the list is copied into
 * *storage, to be freed by the caller). Returns an exit code (0 = ok). */
int fc_split_features(const char *verb, const char *list, fc_columns *c, char **storage);
/* "none", "linear", "previous". Returns an exit code (0 = ok). */
int fc_parse_fill(const char *verb, const char *s, rnn__fc_fill *out);
const char *fc_fill_name(rnn__fc_fill f);

/* Reads path and picks the columns; a missing value is an error naming its
 * line and column unless fill is not NONE. Prints the error and returns an
 * exit code (0 = ok). */
int fc_load(const char *verb, const char *path, const fc_columns *c, rnn__fc_fill fill,
            fc_series *s);
void fc_series_free(fc_series *s);

/* The model's view of the values: a copy of s->v with the target column
 * replaced by its natural logarithm when `use_log` (a value <= 0 is then an
 * error naming its line). Prints the error and returns an exit code. */
int fc_transform(const char *verb, const char *path, const fc_series *s, int use_log, double **out);
/* z[n][F] = (v - mean) / std as floats (malloc'ed; NULL when out of memory). */
float *fc_normalise(const double *v, size_t n, int F, const double *mean, const double *std);
/* Back from the model's normalised target to the data's units. */
double fc_denormalise(float z, double mean, double std, int use_log);

/* The settings stored in a checkpoint's "rnn.forecast" metadata. */
typedef struct fc_meta {
    char *target, *time;                 /* names; time may be NULL */
    char *features[FC_MAX_FEATURES];
    int nfeatures;
    int lookback, horizon, direct, season, log, relative;
    rnn__fc_fill fill;
    double mean[FC_MAX_FEATURES + 1], std[FC_MAX_FEATURES + 1];
    size_t rows, train, val, test;       /* of the training data */
} fc_meta;

/* As JSON (malloc'ed, NULL when out of memory), and back: parse fails with
 * a message naming the checkpoint. */
char *fc_meta_json(const fc_meta *m);
int fc_meta_parse(const char *verb, const char *json, const char *path, fc_meta *m);
void fc_meta_free(fc_meta *m);

int cmd_forecast_train(int argc, char **argv);
int cmd_forecast_predict(int argc, char **argv);

#endif

/* error.c -- status strings (from the X-macro list) and error formatting. */
#include "core/core.h"

#include <stdio.h>
#include <string.h>

const char *rnn_strerror(rnn_status status)
{
    switch (status) {
#define RNN_X_(name, value, msg) \
    case name:                   \
        return msg;
        RNN_STATUS_LIST(RNN_X_)
#undef RNN_X_
    }
    return "unknown status";
}

const char *rnn_status_name(rnn_status status)
{
    switch (status) {
#define RNN_X_(name, value, msg) \
    case name:                   \
        return #name;
        RNN_STATUS_LIST(RNN_X_)
#undef RNN_X_
    }
    return "RNN_E?";
}

rnn_status rnn__vfail(rnn_error *err, rnn_status status, const char *fmt,
                      va_list ap)
{
    if (err) {
        err->status = status;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        /* one line: the CLI prints it as is */
        for (char *p = err->msg; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
    }
    return status;
}

rnn_status rnn__fail(rnn_error *err, rnn_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rnn__vfail(err, status, fmt, ap);
    va_end(ap);
    return status;
}

void rnn__error_prefix(rnn_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[256], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    /* "<prefix>: <old>", cut at the buffer's end (snprintf would warn) */
    size_t np = strlen(prefix), no = strnlen(old, sizeof old - 1), cap = sizeof err->msg - 1;
    size_t k = 0;
    for (size_t i = 0; i < np && k < cap; i++)
        err->msg[k++] = prefix[i];
    for (size_t i = 0; i < 2 && k < cap; i++)
        err->msg[k++] = ": "[i];
    for (size_t i = 0; i < no && k < cap; i++)
        err->msg[k++] = old[i];
    err->msg[k] = '\0';
}

void rnn__error_clear(rnn_error *err)
{
    if (err) {
        err->status = RNN_OK;
        err->msg[0] = '\0';
    }
}

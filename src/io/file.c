/*
 * file.c -- whole-file reads and atomic file replacement.
 *
 * A save must never leave a half-written model where a good one was: the
 * new content goes to a temporary file in the same directory (rename is
 * only atomic within one file system), is flushed and fsync'ed, and is then
 * renamed over the destination; the directory is fsync'ed so that the
 * rename itself survives a crash. Every failure becomes one line naming the
 * path and the system's reason.
 */
#include "io/io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static rnn_status fail_errno(rnn_error *err, rnn_status st, int e, const char *fmt, ...)
    RNN__PRINTF(4, 5);
/* "<formatted>: <strerror(e)>" */
static rnn_status fail_errno(rnn_error *err, rnn_status st, int e, const char *fmt, ...)
{
    char what[400], reason[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    /* strerror is not thread-safe; this is the XSI strerror_r */
    if (strerror_r(e, reason, sizeof reason) != 0)
        snprintf(reason, sizeof reason, "error %d", e);
    return rnn__fail(err, st, "%s: %s", what, reason);
}

rnn_status rnn__read_file(const char *path, unsigned char **data, size_t *size,
                          rnn_error *err)
{
    unsigned char *buf = NULL;
    size_t len = 0, cap = 4096;
    struct stat sb;
    rnn_status st;
    int fd;

    *data = NULL;
    *size = 0;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return fail_errno(err, RNN_EIO, errno, "%s", path);
    if (fstat(fd, &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) {
            st = fail_errno(err, RNN_EIO, EISDIR, "%s", path);
            goto out;
        }
        /* regular files: one allocation of the right size (+1 for the NUL) */
        if (S_ISREG(sb.st_mode) && sb.st_size > 0) {
            if ((uintmax_t)sb.st_size >= SIZE_MAX) {
                st = rnn__fail(err, RNN_EOVERFLOW, "%s: file too large (%jd bytes)",
                               path, (intmax_t)sb.st_size);
                goto out;
            }
            cap = (size_t)sb.st_size + 1;
        }
    }
    if (!(buf = rnn__malloc(cap))) {
        st = rnn__fail(err, RNN_ENOMEM, "%s: out of memory reading %zu bytes", path, cap);
        goto out;
    }
    for (;;) {
        ssize_t r;
        if (len + 1 == cap) {
            /* full: probe before growing, so that a file whose size we knew
             * is not copied into a buffer twice its size just to see EOF */
            unsigned char probe[1024];
            do
                r = read(fd, probe, sizeof probe);
            while (r < 0 && errno == EINTR);
            if (r == 0)
                break;
            if (r < 0) {
                st = fail_errno(err, RNN_EIO, errno, "%s", path);
                goto out;
            }
            size_t ncap;
            if (!rnn__mul(&ncap, cap, 2) || !rnn__add(&ncap, ncap, (size_t)r)) {
                st = rnn__fail(err, RNN_EOVERFLOW, "%s: file too large", path);
                goto out;
            }
            unsigned char *nb = rnn__realloc(buf, ncap);
            if (!nb) {
                st = rnn__fail(err, RNN_ENOMEM, "%s: out of memory reading %zu bytes",
                               path, ncap);
                goto out;
            }
            buf = nb;
            cap = ncap;
            memcpy(buf + len, probe, (size_t)r);
            len += (size_t)r;
            continue;
        }
        do
            r = read(fd, buf + len, cap - 1 - len);
        while (r < 0 && errno == EINTR);
        if (r == 0)
            break;
        if (r < 0) {
            st = fail_errno(err, RNN_EIO, errno, "%s", path);
            goto out;
        }
        len += (size_t)r;
    }
    buf[len] = '\0';
    *data = buf;
    *size = len;
    buf = NULL;
    st = RNN_OK;
out:
    rnn__free(buf);
    close(fd);
    return st;
}

/* ---- atomic replacement ---------------------------------------------- */

/* mkstemp creates files 0600; a new file should get the permissions any
 * other new file would (0666 minus the umask). umask() cannot be read
 * without setting it, which would race with other threads, so ask Linux
 * and fall back to mkstemp's private 0600 elsewhere. */
static int new_file_mode(mode_t *mode)
{
    FILE *fp = fopen("/proc/self/status", "r");
    char line[256];
    int found = 0;
    if (!fp)
        return 0;
    while (fgets(line, sizeof line, fp)) {
        unsigned mask;
        if (sscanf(line, "Umask: %o", &mask) == 1) {
            *mode = (mode_t)(0666 & ~mask);
            found = 1;
            break;
        }
    }
    fclose(fp);
    return found;
}

/* Directory part of a path we created ("." for a bare name). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return rnn__strdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = rnn__malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

rnn_status rnn__afile_open(rnn__afile *f, const char *path, rnn_error *err)
{
    struct stat sb;
    mode_t mode = 0600;
    int have_mode, fd;
    size_t dirlen, baselen, n;
    const char *slash, *base;

    memset(f, 0, sizeof *f);
    if (!path || !*path)
        return rnn__fail(err, RNN_EINVAL, "empty output file name");
    slash = strrchr(path, '/');
    base = slash ? slash + 1 : path;
    if (!*base)
        return rnn__fail(err, RNN_EINVAL, "%s: is a directory name, not a file name", path);
    if (stat(path, &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            return fail_errno(err, RNN_EIO, EISDIR, "%s", path);
        /* replacing a file keeps its permissions */
        mode = sb.st_mode & 0777;
        have_mode = 1;
    } else {
        have_mode = new_file_mode(&mode);
    }

    dirlen = slash ? (size_t)(slash - path) + 1 : 0; /* with the '/' */
    baselen = strlen(base);
    /* "<dir>/.<base>.tmp.XXXXXX" */
    if (!rnn__add(&n, dirlen, baselen) || !rnn__add(&n, n, sizeof ".tmp.XXXXXX" + 1))
        return rnn__fail(err, RNN_EOVERFLOW, "%s: name too long", path);
    f->path = rnn__strdup(path);
    f->tmp = rnn__malloc(n);
    if (!f->path || !f->tmp) {
        rnn__afile_abort(f);
        return rnn__fail(err, RNN_ENOMEM, "%s: out of memory", path);
    }
    memcpy(f->tmp, path, dirlen);
    f->tmp[dirlen] = '.';
    memcpy(f->tmp + dirlen + 1, base, baselen);
    memcpy(f->tmp + dirlen + 1 + baselen, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");

    fd = mkstemp(f->tmp);
    if (fd < 0) {
        int e = errno;
        char *dir = dir_of(path);
        rnn_status st = fail_errno(err, RNN_EIO, e, "%s: cannot create a temporary file in %s",
                                   path, dir ? dir : "its directory");
        rnn__free(dir);
        rnn__free(f->tmp);
        f->tmp = NULL; /* nothing to unlink */
        rnn__afile_abort(f);
        return st;
    }
    if (have_mode)
        (void)fchmod(fd, mode); /* best effort: 0600 is a safe outcome */
    f->fp = fdopen(fd, "wb");
    if (!f->fp) {
        int e = errno;
        close(fd);
        rnn__afile_abort(f);
        return fail_errno(err, RNN_EIO, e, "%s", path);
    }
    return RNN_OK;
}

/* After a failure, later writes and the commit return the same status and
 * leave err alone: it holds the first, most useful message. */
rnn_status rnn__afile_write(rnn__afile *f, const void *data, size_t n, rnn_error *err)
{
    if (f->failed)
        return f->status;
    if (!f->fp)
        return rnn__fail(err, RNN_ESTATE, "write to a file that is not open");
    if (n && fwrite(data, 1, n, f->fp) != n) {
        f->failed = 1;
        f->status = RNN_EIO;
        return fail_errno(err, RNN_EIO, errno, "%s: write failed", f->path);
    }
    return RNN_OK;
}

static rnn_status commit_fail(rnn__afile *f, rnn_error *err, int e, const char *what)
{
    rnn_status st = fail_errno(err, RNN_EIO, e, "%s: %s", f->path, what);
    rnn__afile_abort(f);
    return st;
}

rnn_status rnn__afile_commit(rnn__afile *f, rnn_error *err)
{
    FILE *fp = f->fp;
    rnn_status st = RNN_OK;

    if (f->failed) {
        st = f->status;
        rnn__afile_abort(f);
        return st;
    }
    if (!fp)
        return rnn__fail(err, RNN_ESTATE, "commit of a file that is not open");
    if (fflush(fp) != 0)
        return commit_fail(f, err, errno, "write failed");
    /* EINVAL/ENOTSUP: the file system cannot sync; nothing more to do */
    if (fsync(fileno(fp)) != 0 && errno != EINVAL && errno != ENOTSUP)
        return commit_fail(f, err, errno, "fsync failed");
    f->fp = NULL;
    /* delayed allocation and NFS report a full disk only here */
    if (fclose(fp) != 0)
        return commit_fail(f, err, errno, "write failed");
    if (rename(f->tmp, f->path) != 0)
        return commit_fail(f, err, errno, "cannot replace the file");

    char *dir = dir_of(f->tmp);
    if (dir) {
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        /* a directory we may write but not read cannot be synced; the file
         * is in place regardless */
        if (fd >= 0) {
            if (fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP)
                st = fail_errno(err, RNN_EIO, errno,
                                "%s: written, but syncing directory %s failed",
                                f->path, dir);
            close(fd);
        }
        rnn__free(dir);
    }
    rnn__free(f->tmp); /* renamed: nothing left to unlink */
    f->tmp = NULL;
    rnn__afile_abort(f);
    return st;
}

void rnn__afile_abort(rnn__afile *f)
{
    if (f->fp)
        fclose(f->fp);
    if (f->tmp)
        unlink(f->tmp);
    rnn__free(f->tmp);
    rnn__free(f->path);
    memset(f, 0, sizeof *f);
}

rnn_status rnn__write_file_atomic(const char *path, const void *data, size_t n,
                                  rnn_error *err)
{
    rnn__afile f;
    rnn_status st = rnn__afile_open(&f, path, err);
    if (st != RNN_OK)
        return st;
    if ((st = rnn__afile_write(&f, data, n, err)) != RNN_OK) {
        rnn__afile_abort(&f);
        return st;
    }
    return rnn__afile_commit(&f, err);
}

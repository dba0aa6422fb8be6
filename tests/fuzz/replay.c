/*
 * replay.c -- runs a fuzz target over files instead of under libFuzzer, so
 * that any C compiler (and the sanitizer build) replays the seed corpus and
 * the inputs of crashes found earlier on every `make test`.
 *
 *     replay_TARGET FILE_OR_DIR...
 *
 * Prints "TARGET: N inputs" and exits 0; a crash or a failed invariant
 * aborts after naming the input on stderr. A missing directory is an error
 * (the corpus is committed: its absence is a broken checkout, not a skip).
 */
#include "fuzz.h"

#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

/* Targets that need no set-up do not define LLVMFuzzerInitialize. */
#pragma weak LLVMFuzzerInitialize

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fprintf(stderr, "%s: out of memory\n", path);
            fclose(f);
            return -1;
        }
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        unsigned char *nb = realloc(buf, cap * 2);
        if (!nb)
            free(buf);
        buf = nb;
        cap *= 2;
    }
    fclose(f);
    fprintf(stderr, "replay %s\n", path); /* names the input if what follows crashes */
    /* an exact-size copy, so that the sanitizers see reads past the end */
    unsigned char *exact = malloc(n ? n : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 1;
}

static int run_path(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        perror(path);
        return -1;
    }
    if (!S_ISDIR(sb.st_mode))
        return run_file(path);
    DIR *d = opendir(path);
    if (!d) {
        perror(path);
        return -1;
    }
    char **names = NULL;
    size_t count = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn)
                abort();
            names = nn;
        }
        names[count] = malloc(strlen(path) + strlen(e->d_name) + 2);
        if (!names[count])
            abort();
        sprintf(names[count++], "%s/%s", path, e->d_name);
    }
    closedir(d);
    qsort(names, count, sizeof *names, cmp);
    int total = 0;
    for (size_t i = 0; i < count; i++) {
        int r = run_path(names[i]);
        if (r < 0)
            total = -1;
        else if (total >= 0)
            total += r;
        free(names[i]);
    }
    free(names);
    return total;
}

int main(int argc, char **argv)
{
    const char *name = strrchr(argv[0], '/');
    name = name ? name + 1 : argv[0];
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE_OR_DIR...\n", name);
        return 2;
    }
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    int total = 0;
    for (int i = 1; i < argc; i++) {
        int r = run_path(argv[i]);
        if (r < 0)
            return 1;
        total += r;
    }
    printf("%s: %d inputs\n", name, total);
    return 0;
}

/* Runs a harness over files and folders of inputs without libFuzzer: the
 * committed corpora become regression tests of every build (gcc included).
 * Prints how many inputs ran; a broken contract aborts. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern int fuzz_n_loaded;

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    uint8_t *buf = NULL;
    size_t size = 0, cap = 0, got;
    do {
        if (size == cap) buf = realloc(buf, cap = cap ? 2 * cap : 65536);
        if (!buf) exit(2);
        got = fread(buf + size, 1, cap - size, f);
        size += got;
    } while (got > 0);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, size);
    free(buf);
    return 1;
}

static int run_path(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        exit(2);
    }
    if (!S_ISDIR(st.st_mode)) return run_file(path);
    struct dirent **names = NULL;
    int n = scandir(path, &names, NULL, alphasort), count = 0;
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            char sub[4096];
            snprintf(sub, sizeof sub, "%s/%s", path, names[i]->d_name);
            count += run_path(sub);
        }
        free(names[i]);
    }
    free(names);
    return count;
}

/* replay [--refused N] PATH...: with --refused, exactly N inputs may fail
 * to load (the corpus's files that the format documents as refused). */
int main(int argc, char **argv) {
    int count = 0, refused = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--refused") && i + 1 < argc) refused = atoi(argv[++i]);
        else count += run_path(argv[i]);
    }
    printf("%d inputs ran, %d loaded\n", count, fuzz_n_loaded);
    if (refused >= 0 && count - fuzz_n_loaded != refused) {
        fprintf(stderr, "replay: %d of %d seed files were refused, expected %d\n",
                count - fuzz_n_loaded, count, refused);
        return 1;
    }
    return count > 0 ? 0 : 1;
}

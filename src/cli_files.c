#include "cli_files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- identity of a path ---- */

typedef struct file_id {
    enum { ID_FILE, ID_NEW, ID_UNRESOLVED } kind;
    dev_t dev; /* the file (ID_FILE) or its folder (ID_NEW) */
    ino_t ino;
    char name[NAME_MAX + 1]; /* ID_NEW: the name inside the folder */
} file_id;

/* Splits path into its folder ("." when none) and last component. */
static void split_path(const char *path, char *dir, size_t dir_size, const char **base) {
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    if (!slash) snprintf(dir, dir_size, ".");
    else if (slash == path) snprintf(dir, dir_size, "/");
    else snprintf(dir, dir_size, "%.*s", (int)(slash - path), path);
}

static void identify(const char *path, file_id *id) {
    struct stat st;
    memset(id, 0, sizeof *id);
    if (stat(path, &st) == 0) {
        id->kind = ID_FILE;
        id->dev = st.st_dev;
        id->ino = st.st_ino;
        return;
    }
    char dir[PATH_MAX];
    const char *base;
    split_path(path, dir, sizeof dir, &base);
    if (*base && strlen(base) <= NAME_MAX && stat(dir, &st) == 0) {
        id->kind = ID_NEW;
        id->dev = st.st_dev;
        id->ino = st.st_ino;
        snprintf(id->name, sizeof id->name, "%s", base);
        return;
    }
    id->kind = ID_UNRESOLVED; /* no folder to write in: compared by spelling */
}

static int same_file(const char *a, const char *b) {
    file_id x, y;
    identify(a, &x);
    identify(b, &y);
    if (x.kind != y.kind) return 0;
    switch (x.kind) {
    case ID_FILE: return x.dev == y.dev && x.ino == y.ino;
    case ID_NEW: return x.dev == y.dev && x.ino == y.ino && strcmp(x.name, y.name) == 0;
    default: return strcmp(a, b) == 0;
    }
}

static int is(const char *flag, const char *want) { return want && strcmp(flag, want) == 0; }

/* Outputs that are label or matrix files, whose writer picks the format by
 * the extension. */
static int is_table_output(const char *flag) {
    static const char *const flags[] = {"out", "embedding-out", "centers-out", "weights-out",
                                        "labels-out"};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (strcmp(flag, flags[i]) == 0) return 1;
    return 0;
}

/* 0, or 2 after a message: an output's folder must exist and be writable,
 * and a table output must have an extension its writer knows, so that a
 * long fit does not end in a failed write. */
static int check_writable(const cli_file *o) {
    char dir[PATH_MAX];
    const char *base;
    split_path(o->path, dir, sizeof dir, &base);
    struct stat st;
    if (!*base) {
        fprintf(stderr, "deepclust: --%s '%s' names a folder, not a file (nothing was done)\n",
                o->flag, o->path);
        return 2;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "deepclust: --%s '%s': the folder '%s' does not exist (nothing was done)\n",
                o->flag, o->path, dir);
        return 2;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "deepclust: --%s '%s': the folder '%s' is not writable (nothing was done)\n",
                o->flag, o->path, dir);
        return 2;
    }
    if (!o->own_format && is_table_output(o->flag)) {
        const char *dot = strrchr(base, '.');
        static const char *const known[] = {".csv", ".tsv", ".txt", ".npy"};
        int ok = 0;
        for (size_t i = 0; dot && dot != base && i < sizeof known / sizeof known[0]; i++)
            ok |= strcasecmp(dot, known[i]) == 0;
        if (!ok) {
            fprintf(stderr, "deepclust: --%s '%s': unknown extension (known: .csv .tsv .txt "
                            ".npy; nothing was done)\n", o->flag, o->path);
            return 2;
        }
    }
    return 0;
}

/* "-" is standard input or output, not a file: it never collides. */
static int is_file(const char *path) { return path && strcmp(path, "-") != 0; }

int cli_check_files(const cli_file *inputs, int n_inputs, const cli_file *outputs, int n_outputs,
                    const char *same_ok_input, const char *same_ok_output) {
    for (int i = 0; i < n_outputs; i++) {
        const cli_file *o = &outputs[i];
        if (!is_file(o->path)) continue;
        for (int j = 0; j < n_inputs; j++) {
            const cli_file *in = &inputs[j];
            if (!is_file(in->path) || (is(in->flag, same_ok_input) && is(o->flag, same_ok_output)))
                continue;
            if (same_file(o->path, in->path)) {
                fprintf(stderr, "deepclust: --%s '%s' is the same file as --%s '%s': an output "
                        "never replaces an input (nothing was done)\n", o->flag, o->path,
                        in->flag, in->path);
                return 2;
            }
        }
        for (int j = 0; j < i; j++) {
            const cli_file *p = &outputs[j];
            if (is_file(p->path) && same_file(o->path, p->path)) {
                fprintf(stderr, "deepclust: --%s '%s' and --%s '%s' name the same file: each "
                        "output needs its own (nothing was done)\n", p->flag, p->path, o->flag,
                        o->path);
                return 2;
            }
        }
    }
    /* After the identity checks: "names an input" is the more telling
     * message for an output that is also unwritable. */
    for (int i = 0; i < n_outputs; i++) {
        if (!is_file(outputs[i].path)) continue;
        const int rc = check_writable(&outputs[i]);
        if (rc) return rc;
    }
    return 0;
}

/* ---- outputs as a group ---- */

void cli_outputs_init(cli_outputs *t) { memset(t, 0, sizeof *t); }

/* What a plain fopen would give a new target (the umask can only be read by
 * setting it), or the mode of the target being replaced. */
static mode_t target_mode(const char *path) {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) return st.st_mode & 07777;
    const mode_t mask = umask(022);
    umask(mask);
    return 0666 & ~mask;
}

/* A device, FIFO or socket: written in place, never renamed over. */
static int is_stream(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

const char *cli_outputs_add(cli_outputs *t, const char *flag, const char *path) {
    if (t->n == CLI_MAX_OUTPUTS) {
        fprintf(stderr, "deepclust: --%s: too many output files\n", flag);
        return NULL;
    }
    const int stream = is_stream(path);
    struct stat lst;
    char *target = NULL;
    if (!stream && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) target = realpath(path, NULL);
    const char *where = target ? target : path;
    char dir[PATH_MAX];
    const char *base;
    split_path(where, dir, sizeof dir, &base);
    const char *dot = strrchr(base, '.');
    if (dot == base) dot = NULL; /* ".name": a hidden file, not an extension */
    const char *ext = dot ? dot : "";
    const char *tmpdir = getenv("TMPDIR");
    if (!tmpdir || !*tmpdir) tmpdir = "/tmp";
    /* stream: "$TMPDIR/deepclust-out.tmp-XXXXXX.ext"; else "<target stem>.tmp-XXXXXX.ext" */
    const size_t stem = stream ? strlen(tmpdir) + strlen("/deepclust-out")
                               : dot ? (size_t)(dot - where) : strlen(where);
    const size_t size = stem + strlen(".tmp-XXXXXX") + strlen(ext) + 1;
    char *tmp = malloc(size);
    if (!tmp) {
        fprintf(stderr, "deepclust: --%s: out of memory\n", flag);
        free(target);
        return NULL;
    }
    if (stream) snprintf(tmp, size, "%s/deepclust-out.tmp-XXXXXX%s", tmpdir, ext);
    else snprintf(tmp, size, "%.*s.tmp-XXXXXX%s", (int)stem, where, ext);
    const int fd = mkostemps(tmp, (int)strlen(ext), O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "deepclust: error: --%s: cannot write '%s': %s\n", flag, path,
                strerror(errno));
        free(tmp);
        free(target);
        return NULL;
    }
    if (!stream) (void)fchmod(fd, target_mode(where)); /* not fatal: the content is what matters */
    close(fd);
    t->f[t->n].flag = flag;
    t->f[t->n].path = path;
    t->f[t->n].tmp = tmp;
    t->f[t->n].target = target;
    t->f[t->n].stream = stream;
    t->n++;
    return tmp;
}

/* Removes and forgets the temporaries from index `from` on. */
static void discard_from(cli_outputs *t, int from) {
    for (int i = from; i < t->n; i++) {
        unlink(t->f[i].tmp);
        free(t->f[i].tmp);
        free(t->f[i].target);
    }
    t->n = from < t->n ? from : t->n;
}

void cli_outputs_discard(cli_outputs *t) { discard_from(t, 0); }

/* The bytes of file `from` written to the stream `to`; 0 or an errno. */
static int copy_to_stream(const char *from, const char *to) {
    FILE *in = fopen(from, "rb");
    if (!in) return errno;
    FILE *out = fopen(to, "wb");
    int e = out ? 0 : errno;
    char buf[65536];
    size_t got;
    while (!e && (got = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, got, out) != got) e = errno ? errno : EIO;
    if (!e && ferror(in)) e = EIO;
    if (out && fclose(out) != 0 && !e) e = errno;
    fclose(in);
    return e;
}

int cli_outputs_commit(cli_outputs *t) {
    for (int i = 0; i < t->n; i++) {
        struct stat st;
        if (lstat(t->f[i].path, &st) == 0 && S_ISDIR(st.st_mode)) {
            fprintf(stderr, "deepclust: error: --%s: cannot write '%s': %s (no output written)\n",
                    t->f[i].flag, t->f[i].path, strerror(EISDIR));
            cli_outputs_discard(t);
            return 1;
        }
    }
    for (int i = 0; i < t->n; i++) {
        int e = 0;
        if (t->f[i].stream) {
            e = copy_to_stream(t->f[i].tmp, t->f[i].path);
            if (!e) unlink(t->f[i].tmp);
        } else if (rename(t->f[i].tmp, t->f[i].target ? t->f[i].target : t->f[i].path) != 0) {
            e = errno;
        }
        if (e) {
            fprintf(stderr, "deepclust: error: --%s: cannot write '%s': %s (%d of %d outputs "
                    "written before it)\n", t->f[i].flag, t->f[i].path, strerror(e), i, t->n);
            discard_from(t, i);
            return 1;
        }
        free(t->f[i].tmp);
        free(t->f[i].target);
        t->f[i].tmp = t->f[i].target = NULL;
    }
    t->n = 0;
    return 0;
}

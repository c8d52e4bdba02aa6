/* The files a CLI run reads and writes: no output may name an input or
 * another output, and the outputs appear together or not at all. */
#ifndef DC_CLI_FILES_H
#define DC_CLI_FILES_H

/* A path given with an option; path NULL: the option was not given. */
typedef struct cli_file {
    const char *flag; /* without dashes, for messages */
    const char *path;
    int own_format; /* 1: the caller checked the extension (not a label or matrix file) */
} cli_file;

/* 0, or 2 after a message on stderr when an output's folder does not exist
 * or is not writable, a label or matrix output has an extension no writer
 * knows, or an output names the same file as an input or as another output. Files are compared by identity, not by
 * spelling: an existing file by device and inode after following links (so
 * a symbolic or hard link to the input counts), a file still to be made by
 * its resolved folder (device and inode) and its name. `same_ok` lets one
 * output share its file with one input: the checkpoint a resumed fit reads
 * and then keeps writing (NULL flags: none). */
int cli_check_files(const cli_file *inputs, int n_inputs, const cli_file *outputs, int n_outputs,
                    const char *same_ok_input, const char *same_ok_output);

/* Outputs written as a group: each to a temporary file in its target's
 * folder (same extension, so writers that go by it choose the same format,
 * and the permissions a new or replaced target would get), all renamed over
 * their targets only by cli_outputs_commit. On any failure
 * cli_outputs_discard removes the temporaries and no target changes. A
 * symbolic link's target is replaced (the link stays); a device, FIFO or
 * socket (/dev/null, a pipe) gets the temporary's bytes copied into it at
 * commit (its temporary lives in $TMPDIR), never a rename over it. */
#define CLI_MAX_OUTPUTS 16
typedef struct cli_outputs {
    struct {
        const char *flag, *path;
        char *tmp;
        char *target; /* the file a symbolic link names (realpath), or NULL */
        int stream;   /* path is a device, FIFO or socket */
    } f[CLI_MAX_OUTPUTS];
    int n;
} cli_outputs;

void cli_outputs_init(cli_outputs *t);
/* The temporary file to write `path`'s content to (created empty), or NULL
 * after a message naming the flag and the reason. */
const char *cli_outputs_add(cli_outputs *t, const char *flag, const char *path);
/* Renames every temporary over its target: 0, or 1 after a message. The
 * targets are checked first (a folder in the way fails before any rename),
 * so only a failure of rename itself can leave some targets replaced. */
int cli_outputs_commit(cli_outputs *t);
void cli_outputs_discard(cli_outputs *t);

#endif

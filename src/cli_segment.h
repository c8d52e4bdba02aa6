/* `deepclust segment`: SLIC superpixels clustered into an image segmentation. */
#ifndef DC_CLI_SEGMENT_H
#define DC_CLI_SEGMENT_H
#include <stdio.h>

/* argv[0] is the first argument after "segment". Returns the exit status. */
int cli_segment(int argc, char **argv);
/* The usage and option lines of the subcommand. */
void cli_segment_help(FILE *f);
#endif

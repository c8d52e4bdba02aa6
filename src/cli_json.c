#include "cli_json.h"

#include <math.h>

static void put_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static void key(cli_json *j, const char *k) {
    if (j->n++) fputs(", ", j->f);
    put_string(j->f, k);
    fputs(": ", j->f);
}

void json_begin(cli_json *j, FILE *f) {
    j->f = f;
    j->n = 0;
    fputc('{', f);
}
void json_str(cli_json *j, const char *k, const char *v) {
    key(j, k);
    put_string(j->f, v);
}
void json_num(cli_json *j, const char *k, double v) {
    key(j, k);
    /* JSON has no NaN/Inf: write null rather than an unparsable token. */
    if (isfinite(v)) fprintf(j->f, "%.10g", v);
    else fputs("null", j->f);
}
void json_int(cli_json *j, const char *k, long long v) {
    key(j, k);
    fprintf(j->f, "%lld", v);
}
void json_str_list(cli_json *j, const char *k, const char *const *v, int n) {
    key(j, k);
    fputc('[', j->f);
    for (int i = 0; i < n; i++) {
        if (i) fputs(", ", j->f);
        put_string(j->f, v[i]);
    }
    fputc(']', j->f);
}
void json_begin_object(cli_json *j, const char *k, cli_json *inner) {
    key(j, k);
    json_begin(inner, j->f);
}
void json_end_object(cli_json *inner) { fputc('}', inner->f); }
void json_begin_array(cli_json *j, const char *k, cli_json *array) {
    key(j, k);
    array->f = j->f;
    array->n = 0;
    fputc('[', j->f);
}
void json_array_object(cli_json *array, cli_json *element) {
    if (array->n++) fputs(", ", array->f);
    json_begin(element, array->f);
}
void json_end_array(cli_json *array) { fputc(']', array->f); }
void json_end(cli_json *j) {
    fputs("}\n", j->f);
    fflush(j->f);
}

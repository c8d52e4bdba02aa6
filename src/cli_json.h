/* Tiny JSON object writer for the CLI's --json output (one object on stdout). */
#ifndef DC_CLI_JSON_H
#define DC_CLI_JSON_H
#include <stdio.h>

typedef struct cli_json {
    FILE *f;
    int n;
} cli_json;

void json_begin(cli_json *j, FILE *f);
void json_str(cli_json *j, const char *key, const char *value);
void json_num(cli_json *j, const char *key, double value);
void json_int(cli_json *j, const char *key, long long value);
/* An array of n strings. */
void json_str_list(cli_json *j, const char *key, const char *const *values, int n);
/* Starts a nested object value under key; close with json_end_object. */
void json_begin_object(cli_json *j, const char *key, cli_json *inner);
void json_end_object(cli_json *inner);
/* Starts an array value under key, whose elements are objects: each begun
 * with json_array_object, closed with json_end_object; json_end_array
 * closes the array. */
void json_begin_array(cli_json *j, const char *key, cli_json *array);
void json_array_object(cli_json *array, cli_json *element);
void json_end_array(cli_json *array);
void json_end(cli_json *j);
#endif

#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DCI_ERRBUF 1024
static _Thread_local char dci_errbuf[DCI_ERRBUF];

const char *dc_strerror(dc_status status) {
    switch (status) {
    case DC_OK: return "success";
    case DC_ERR_NULL: return "a required pointer argument is NULL";
    case DC_ERR_INVALID_ARG: return "invalid argument";
    case DC_ERR_SHAPE: return "sizes do not agree";
    case DC_ERR_NONFINITE: return "NaN or Inf in input data";
    case DC_ERR_NOMEM: return "out of memory";
    case DC_ERR_IO: return "input/output error";
    case DC_ERR_FORMAT: return "malformed or corrupt file";
    case DC_ERR_TRUNCATED: return "file is truncated";
    case DC_ERR_UNSUPPORTED: return "unsupported";
    case DC_ERR_K_RANGE: return "number of clusters out of range";
    case DC_ERR_DEGENERATE: return "degenerate data";
    case DC_ERR_NOT_CONVERGED: return "solver did not converge";
    case DC_ERR_NUMERIC: return "NaN or Inf appeared during computation";
    case DC_ERR_STATE: return "call not valid in this state";
    case DC_ERR_CHECKSUM: return "checksum mismatch";
    case DC_ERR_VERSION: return "incompatible file version";
    case DC_ERR_CANCELLED: return "cancelled";
    case DC_ERR_UNKNOWN_NAME: return "unknown name";
    case DC_ERR_INTERNAL: return "internal error";
    }
    return "unknown status code";
}

const char *dc_last_error(void) { return dci_errbuf; }

void dc_clear_error(void) { dci_errbuf[0] = '\0'; }

void dci_error_save(dci_error_saved *e) { memcpy(e->text, dci_errbuf, sizeof e->text); }

void dci_error_restore(const dci_error_saved *e) { memcpy(dci_errbuf, e->text, sizeof e->text); }

dc_status dci_fail(dc_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dci_errbuf, sizeof dci_errbuf, fmt, ap);
    va_end(ap);
    return code;
}

dc_status dci_context(dc_status code, const char *fmt, ...) {
    char prefix[512], old[DCI_ERRBUF];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, dci_errbuf, sizeof old);
    /* Bounded pieces: the prefix and the old detail each keep at most 500 bytes. */
    snprintf(dci_errbuf, sizeof dci_errbuf, "%.500s: %.500s", prefix, old[0] ? old : dc_strerror(code));
    return code;
}

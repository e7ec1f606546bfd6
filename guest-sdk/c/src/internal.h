/* Declarations shared by the SDK's own files; not part of the API. */
#ifndef FASTLANE_INTERNAL_H
#define FASTLANE_INTERNAL_H

#include "fastlane.h"

/** Sets `err` to `kind` with "what: <nanoarrow's message or strerror(code)>". */
int fl_error_from_arrow(struct fl_error* err, enum fl_error_kind kind, const char* what,
                        int code, const struct ArrowError* arrow);

/** A struct array of `length` rows whose `n_children` children start released (zeroed) for
 *  the caller to fill (ArrowArrayMove into out->children[i]); its release releases them. */
int fl_struct_array_make(int64_t length, int64_t n_children, struct ArrowArray* out,
                         struct fl_error* err);

#endif

/* Defaults for the optional functions of a transform; a transform's own definitions win. */
#include <stdlib.h>

#include "fastlane.h"

__attribute__((weak)) int fl_finish(void* state, struct ArrowSchema* out_schema,
                                    struct ArrowArray* out, struct fl_error* err) {
  (void)state;
  (void)out_schema;
  (void)out;
  (void)err;
  return FL_OK;
}

__attribute__((weak)) void fl_free(void* state) { free(state); }

/* Native (non-wasm) stand-ins for the host's imports, for unit tests. */
#include <stdarg.h>
#include <stdio.h>

#include "fastlane.h"

void fl_log(enum fl_level level, const char* format, ...) {
  static const char* const names[] = {"trace", "debug", "info", "warn", "error"};
  va_list args;
  va_start(args, format);
  fprintf(stderr, "[%s] ", names[level]);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
}

/* Native test helpers for the C SDK and for C transforms (compiled by test.sh, never into a
 * component). Tables are written as text, one column at a time:
 *
 *   struct fl_test_table t;
 *   fl_test_table_init(&t);
 *   fl_test_column(&t, "id", "l", false, "1|2|3");         // Int64, not null
 *   fl_test_column(&t, "name", "u", true, "ada|null|");     // Utf8: "ada", null, ""
 *   struct fl_test_run run;
 *   fl_test_run(&t, "{\"column\": \"name\"}", &run);      // fl_init + IPC + fl_transform
 *   CHECK_STR(fl_test_render(&run, "name"), "ADA|null|");
 *
 * Formats are Arrow C data interface format strings ("l" Int64, "u" Utf8, "g" Float64,
 * "tdD" Date32, "tsu:UTC" Timestamp(µs, UTC), "d:12,2" Decimal128(12, 2), ...). Values are
 * separated by '|'; "null" is a null. Decimals are given unscaled ("12345" is 123.45 at scale
 * 2), binary as hex. */
#ifndef FASTLANE_TESTING_H
#define FASTLANE_TESTING_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "fastlane.h"

/** Records one check; prints the failing ones. Returns `ok`. */
bool fl_test_check(bool ok, const char* what, const char* detail, const char* file, int line);

#define CHECK(cond) fl_test_check((cond), #cond, NULL, __FILE__, __LINE__)
#define CHECK_STR(actual, expected)                                                     \
  do {                                                                                  \
    const char* a_ = (actual);                                                          \
    const char* e_ = (expected);                                                        \
    char d_[4096];                                                                      \
    snprintf(d_, sizeof(d_), "got \"%s\", expected \"%s\"", a_ ? a_ : "(null)", e_);     \
    fl_test_check(a_ != NULL && strcmp(a_, e_) == 0, #actual, d_, __FILE__, __LINE__);   \
  } while (0)
#define CHECK_INT(actual, expected)                                                     \
  do {                                                                                  \
    long long a_ = (long long)(actual), e_ = (long long)(expected);                     \
    char d_[128];                                                                       \
    snprintf(d_, sizeof(d_), "got %lld, expected %lld", a_, e_);                        \
    fl_test_check(a_ == e_, #actual, d_, __FILE__, __LINE__);                           \
  } while (0)

/** Prints "NAME: N passed, N failed" and returns the process exit code. */
int fl_test_summary(const char* name);

/** A table under construction: a struct schema and array. */
struct fl_test_table {
  struct ArrowSchema schema;
  struct ArrowArray array;
};

void fl_test_table_init(struct fl_test_table* t);

/** Adds a column of Arrow format `format` with '|'-separated `values`. Aborts on a bad value. */
void fl_test_column(struct fl_test_table* t, const char* name, const char* format,
                    bool nullable, const char* values);

/** Adds field metadata key=value to the last column added. */
void fl_test_metadata(struct fl_test_table* t, const char* key, const char* value);

/** Finishes the table (all columns must have the same length). */
void fl_test_table_finish(struct fl_test_table* t);

/** Encodes the table as an IPC stream of `batches` batches of about equal size (slices). */
void fl_test_encode(struct fl_test_table* t, int batches, struct ArrowBuffer* out);

void fl_test_table_release(struct fl_test_table* t);

/** The result of fl_init + fl_transform_stream + fl_finish on a table. */
struct fl_test_run {
  int init_result;
  int result;  /* of fl_transform_stream (or init's, if init failed) */
  struct fl_error err;
  struct ArrowSchema schema; /* decoded output (release NULL if none) */
  struct ArrowArray array;
  struct ArrowArrayView view;
  int64_t output_batches;
  char render[1 << 16];
};

/** Runs the transform under test on `t` (finished) with `config`, in `batches` batches. */
void fl_test_run(struct fl_test_table* t, const char* config, int batches, struct fl_test_run* run);

void fl_test_run_release(struct fl_test_run* run);

/** The values of output column `name` rendered as '|'-separated text ("null" for nulls;
 *  floats with %.17g, "-0" and "nan" kept; binary as hex; decimals unscaled). */
const char* fl_test_render(struct fl_test_run* run, const char* name);

/** Renders one column of a view into `buf`. */
const char* fl_test_render_view(const struct ArrowArrayView* view, char* buf, size_t size);

/** True when the output schema equals the input table's schema exactly (names, formats,
 *  flags, metadata). */
bool fl_test_same_schema(const struct ArrowSchema* a, const struct ArrowSchema* b);

#endif

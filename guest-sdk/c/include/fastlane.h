/* fastlane.h -- write fastlane transforms in C.
 *
 * A fastlane transform is a WebAssembly component of the WIT world
 * `fastlane:transform/transformer` (wit/README.md is the contract). This SDK hides the
 * component bindings, the Arrow IPC codec and the error mapping: a transform is a C file
 * that defines three functions, on nanoarrow's Arrow C data interface structs:
 *
 *   void fl_describe(struct fl_info* info);
 *   int  fl_init(const char* config, size_t len, void** state, struct fl_error* err);
 *   int  fl_transform(void* state, const struct fl_batch* in,
 *                     struct ArrowSchema* out_schema, struct ArrowArray* out,
 *                     struct fl_error* err);
 *
 * and optionally fl_finish() and fl_free(). Every `int` function returns FL_OK (0) on
 * success, or the error kind it set in `err` (fl_error_set() does both). guest-sdk/c/README.md
 * is the guide; template/ is a complete hello-world.
 */
#ifndef FASTLANE_H
#define FASTLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fastlane_sha256.h"
#include "nanoarrow/nanoarrow.h"
#include "yyjson.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------
 * Errors: the WIT `error` variant.
 * ------------------------------------------------------------------------------------------ */

/** The kind of an error, one to one with the WIT variant; FL_OK is "no error". */
enum fl_error_kind {
  FL_OK = 0,
  /** The JSON config is not acceptable (or a config value does not fit the data). */
  FL_INVALID_CONFIG = 1,
  /** This batch cannot be processed: a missing column, a wrong type, malformed IPC. */
  FL_INVALID_INPUT = 2,
  /** Anything else. */
  FL_FAILED = 3,
};

/** Longest message kept, including the NUL; longer messages are cut. */
#define FL_ERROR_MESSAGE_MAX 2048

/** An error returned to the host: the message reaches the user verbatim. */
struct fl_error {
  enum fl_error_kind kind;
  char message[FL_ERROR_MESSAGE_MAX];
};

/** Sets `err` to `kind` with a printf-style message and returns `kind`, so that
 *  `return fl_error_set(err, FL_INVALID_INPUT, "column `%s` not found", name);` works. */
int fl_error_set(struct fl_error* err, enum fl_error_kind kind, const char* format, ...)
    __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------------------------------------
 * Logging: lines in the host's run log, tagged with the transform's name.
 * ------------------------------------------------------------------------------------------ */

/** Severity of a log line. */
enum fl_level { FL_TRACE, FL_DEBUG, FL_INFO, FL_WARN, FL_ERROR };

/** Sends one printf-style line to the host's log (natively, to stderr). Prefer it to printf:
 *  stdout and stderr are captured too, but bounded and without a level. */
void fl_log(enum fl_level level, const char* format, ...) __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------------------------------
 * What the transform defines.
 * ------------------------------------------------------------------------------------------ */

/** What fl_describe() fills in. The strings are copied; static strings are the usual. */
struct fl_info {
  /** Short machine-friendly name, e.g. "mask". */
  const char* name;
  /** Version, semver recommended. */
  const char* version;
  /** One-line human description. */
  const char* description;
  /** JSON Schema (a JSON document, as a string) the config must satisfy; NULL means "{}". */
  const char* config_schema;
};

/** One record batch of the input: a struct array whose children are the columns. Valid only
 *  during the fl_transform() call; to keep columns for later, share them with
 *  fl_batch_share_column() (the buffers then live as long as the shared copy). */
struct fl_batch {
  /** Struct schema ("+s"); children[i] is the field of column i (name, type, nullability,
   *  metadata). */
  const struct ArrowSchema* schema;
  /** Struct array; children[i] is column i. */
  const struct ArrowArray* array;
  /** A nanoarrow view of `array` (view->children[i] is column i), ready for
   *  ArrowArrayViewIsNull(), ArrowArrayViewGetIntUnsafe(), ArrowArrayViewGetStringUnsafe()... */
  const struct ArrowArrayView* view;
  int64_t num_rows;
  int64_t num_columns;
  /** Private to the SDK: owns the buffers (see fl_batch_make()). */
  struct fl_batch_owner* owner;
};

/** Describes the transform. Called before fl_init (maybe on another instance); must not
 *  depend on the config. Leave a field NULL for its default ("" or "{}"). */
void fl_describe(struct fl_info* info);

/** Builds the transform's state from its JSON config (`len` bytes, NUL-terminated; "{}" when
 *  the pipeline gives none) into `*state`. Called once per instance before any batch; a
 *  second call first frees the previous state with fl_free(). Return FL_INVALID_CONFIG naming
 *  the key at fault for a bad config; fl_config_parse() and friends do the usual checks. */
int fl_init(const char* config, size_t len, void** state, struct fl_error* err);

/** Transforms one batch. Fill `out_schema` (a struct schema) and `out` (a struct array of
 *  that schema, offset 0), which the SDK encodes and then releases. Zero rows and a different
 *  schema are both valid, but every call must give the same schema for the same input schema.
 *  Leaving `out->release` NULL means "no rows" (the schema is still sent). The helpers
 *  below build the usual outputs: fl_batch_filter(), fl_batch_replace_column(),
 *  fl_batch_passthrough(). */
int fl_transform(void* state, const struct fl_batch* in, struct ArrowSchema* out_schema,
                 struct ArrowArray* out, struct fl_error* err);

/** Optional. End of the stream: fill `out_schema` and `out` with anything buffered, or leave
 *  `out_schema->release` NULL for "nothing". The SDK's default returns nothing. */
int fl_finish(void* state, struct ArrowSchema* out_schema, struct ArrowArray* out,
              struct fl_error* err);

/** Optional. Frees a state built by fl_init() when fl_init() is called again. The SDK's
 *  default calls free(state). */
void fl_free(void* state);

/* ------------------------------------------------------------------------------------------
 * Batches: finding columns and building outputs.
 * ------------------------------------------------------------------------------------------ */

/** The index of the column called `name`, or -1. */
int64_t fl_column_index(const struct fl_batch* batch, const char* name);

/** Sets `*index` to the column called `name`, or returns FL_INVALID_INPUT
 *  "column `name` not found (columns: a, b, c)". */
int fl_require_column(const struct fl_batch* batch, const char* name, int64_t* index,
                      struct fl_error* err);

/** Output = the input unchanged (its schema copied, its columns shared without copying). */
int fl_batch_passthrough(const struct fl_batch* in, struct ArrowSchema* out_schema,
                         struct ArrowArray* out, struct fl_error* err);

/** Output = the input with column `index` replaced by `column` (moved in: the SDK releases
 *  it). `field` is the new column's field (name, type, nullability; copied), or NULL to keep
 *  the input's field, in which case `column` must have the same type. Other columns are
 *  shared without copying. */
int fl_batch_replace_column(const struct fl_batch* in, int64_t index,
                            const struct ArrowSchema* field, struct ArrowArray* column,
                            struct ArrowSchema* out_schema, struct ArrowArray* out,
                            struct fl_error* err);

/** Output = the input with any number of columns replaced: `columns` has in->num_columns
 *  entries; an entry whose `release` is set replaces that column (moved in: the SDK releases
 *  it; it must have the input field's type), the others are shared without copying. */
int fl_batch_replace_columns(const struct fl_batch* in, struct ArrowArray* columns,
                             struct ArrowSchema* out_schema, struct ArrowArray* out,
                             struct fl_error* err);

/** Output = the rows of `in` whose `keep[row]` is non-zero, in order, with the input's
 *  schema exactly (names, types, nullability, metadata). `keep` has in->num_rows bytes.
 *  Handles null, boolean, every integer, float and decimal type, dates, times, timestamps,
 *  durations, intervals, fixed-size binary, Utf8/Binary and their Large variants; other types
 *  (nested, dictionary, views) give FL_FAILED naming the column. Keeping every row shares the
 *  columns without copying. */
int fl_batch_filter(const struct fl_batch* in, const uint8_t* keep,
                    struct ArrowSchema* out_schema, struct ArrowArray* out,
                    struct fl_error* err);

/** Makes `out` a zero-copy copy of column `index` of `in`; it keeps the input's buffers alive
 *  until released, so it may outlive the fl_transform() call. */
int fl_batch_share_column(const struct fl_batch* in, int64_t index, struct ArrowArray* out,
                          struct fl_error* err);

/** Writes the Arrow name of a field's type, as arrow-rs prints it ("Int64", "Utf8",
 *  "Timestamp(µs, \"UTC\")", "Decimal128(12, 2)") into `buf` and returns `buf`. */
const char* fl_type_name(const struct ArrowSchema* field, char* buf, size_t size);

/* ------------------------------------------------------------------------------------------
 * Config: JSON objects read with yyjson (https://ibireme.github.io/yyjson), plus the checks
 * every transform makes. The messages name the key at fault.
 * ------------------------------------------------------------------------------------------ */

/** A parsed JSON config object. `root` is a yyjson object: use yyjson_obj_get() and the other
 *  yyjson read functions on it directly for anything the helpers do not cover. */
struct fl_config {
  yyjson_doc* doc;
  yyjson_val* root;
};

/** Parses `json` (`len` bytes; blank reads as {}) into `cfg`, which must be an object;
 *  anything else is FL_INVALID_CONFIG. Free it with fl_config_free(). */
int fl_config_parse(const char* json, size_t len, struct fl_config* cfg, struct fl_error* err);

/** Frees a config; strings obtained from it become invalid. */
void fl_config_free(struct fl_config* cfg);

/** FL_INVALID_CONFIG for a key not in `allowed` (a NULL-terminated list) or given twice. */
int fl_config_check_keys(const struct fl_config* cfg, const char* const* allowed,
                         struct fl_error* err);

/** The value of `key`, or NULL when absent. */
yyjson_val* fl_config_get(const struct fl_config* cfg, const char* key);

/** Reads the string `key` into a new NUL-terminated malloc'd copy at `*out` (free() it).
 *  Absent: a copy of `fallback`, or FL_INVALID_CONFIG "missing field `key`" if `fallback` is
 *  NULL. Not a string (null included): FL_INVALID_CONFIG. `len` (may be NULL) gets the length
 *  in bytes (JSON strings may hold \u0000). */
int fl_config_string(const struct fl_config* cfg, const char* key, const char* fallback,
                     char** out, size_t* len, struct fl_error* err);

/** Reads `key`, an array of strings, into `*items` (a malloc'd array of `*count` malloc'd
 *  strings; free them with fl_strings_free()). Absent: FL_INVALID_CONFIG if `required`, else
 *  an empty list. */
int fl_config_string_array(const struct fl_config* cfg, const char* key, bool required,
                           char*** items, size_t* count, struct fl_error* err);

/** Frees what fl_config_string_array() returned. */
void fl_strings_free(char** items, size_t count);

/** The text serde_json (the Rust reference) gives a JSON number: integers as written, other
 *  numbers in shortest round-trip form ("2.5", "100.0", "1e+20", "-0.0"). `value` must be a
 *  number. Returns the length written (at most 31) to `buf` (32 bytes). */
size_t fl_json_number_text(yyjson_val* value, char buf[32]);

/* ------------------------------------------------------------------------------------------
 * Text to values, with the rules of Arrow's cast kernels (arrow-rs `cast` from Utf8), so a
 * config value converts exactly as in the Rust SDK. Each returns true on success.
 * ------------------------------------------------------------------------------------------ */

/** A decimal integer with an optional sign, within [min, max]; surrounding ASCII whitespace
 *  is allowed. "2.5", "1e3" and out-of-range values fail. */
bool fl_parse_int(const char* text, size_t len, int64_t min, int64_t max, int64_t* out);

/** Same for unsigned values up to `max` ("-0" is 0). */
bool fl_parse_uint(const char* text, size_t len, uint64_t max, uint64_t* out);

/** A decimal floating-point number ("2", "-0.5", ".5", "1e-3"), "inf", "infinity" or "nan"
 *  (any case, optional sign), surrounding whitespace allowed. Correctly rounded. */
bool fl_parse_double(const char* text, size_t len, double* out);

/** As fl_parse_double(), rounded directly to float. */
bool fl_parse_float(const char* text, size_t len, float* out);

/** "true"/"false" and Arrow's other spellings (t, tr, tru, y, yes, on, 1 / f, fa, fal, fals,
 *  n, no, of, off, 0), case-insensitive, surrounding whitespace allowed. */
bool fl_parse_bool(const char* text, size_t len, bool* out);

/** A date "YYYY-MM-DD" (also "YYYY-M-D", "YYYYMMDD", "+YYYYY-MM-DD") as days since 1970-01-01.
 *  Date-times (longer strings) are not accepted. */
bool fl_parse_date32(const char* text, size_t len, int32_t* out);

/* ------------------------------------------------------------------------------------------
 * Arrow IPC streams, as the host sends and expects them. The SDK's glue uses these; they are
 * public for native tests (and transforms that want the bytes).
 * ------------------------------------------------------------------------------------------ */

/** Calls fl_transform() on every batch of the IPC stream `input` (`len` bytes, malloc'd when
 *  `len` > 0: the call takes ownership and frees it) and writes every output into one IPC stream at
 *  `*output` / `*output_len` (malloc'd; NULL/0 means "no output"). */
int fl_transform_stream(void* state, uint8_t* input, size_t len, uint8_t** output,
                        size_t* output_len, struct fl_error* err);

/** Encodes one batch (`schema` a struct schema, `array` a struct array or NULL for none) as a
 *  complete IPC stream appended to `out` (an initialised ArrowBuffer). */
int fl_ipc_encode(const struct ArrowSchema* schema, const struct ArrowArray* array,
                  struct ArrowBuffer* out, struct fl_error* err);

/** Makes a batch of `schema` (a struct schema) and `array` (a struct array), both moved in,
 *  as the SDK does for each input batch: for native tests that call fl_transform()
 *  directly. Release it with fl_batch_release(). */
int fl_batch_make(struct fl_batch* batch, struct ArrowSchema* schema, struct ArrowArray* array,
                  struct fl_error* err);

/** Drops the batch's reference on its buffers (shared columns keep them alive). */
void fl_batch_release(struct fl_batch* batch);

/** Decodes the first batch of an IPC stream into `schema` and `array` (both to be released by
 *  the caller); `array->release` stays NULL for a stream with no batch. The input is copied
 *  once, so it need not outlive the array. */
int fl_ipc_decode_first(const uint8_t* input, size_t len, struct ArrowSchema* schema,
                        struct ArrowArray* array, struct fl_error* err);

#ifdef __cplusplus
}
#endif

#endif

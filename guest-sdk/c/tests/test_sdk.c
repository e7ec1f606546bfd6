/* Native tests of the C SDK: SHA-256, JSON config helpers, JSON number text, the Arrow cast
 * parsers, the IPC round trip, fl_batch_filter on every supported type, the stream rules.
 * The transform under test is defined here; its config picks what it does. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fastlane.h"
#include "testing.h"

#define CHECK_INT_OK(expr) fl_test_check((expr) == FL_OK, #expr, err.message, __FILE__, __LINE__)

/* ---- the transform under test ------------------------------------------------------------ */

enum mode { PASS, EVENS, NONE, DERIVE, FAIL, KEEP_COLUMN };
struct test_state {
  enum mode mode;
  struct ArrowArray kept; /* KEEP_COLUMN: column 1 of the first batch, shared */
};

void fl_describe(struct fl_info* info) { info->name = "sdk-test"; }

int fl_init(const char* config, size_t len, void** state, struct fl_error* err) {
  struct fl_config cfg;
  int result = fl_config_parse(config, len, &cfg, err);
  if (result != FL_OK) return result;
  char* mode = NULL;
  result = fl_config_string(&cfg, "mode", "pass", &mode, NULL, err);
  fl_config_free(&cfg);
  if (result != FL_OK) return result;
  struct test_state* s = (struct test_state*)calloc(1, sizeof(*s));
  static const char* const modes[] = {"pass", "evens", "none", "derive", "fail", "keep"};
  s->mode = (enum mode)-1;
  for (int i = 0; i < 6; i++) {
    if (strcmp(mode, modes[i]) == 0) s->mode = (enum mode)i;
  }
  free(mode);
  if ((int)s->mode < 0) {
    free(s);
    return fl_error_set(err, FL_INVALID_CONFIG, "unknown mode");
  }
  *state = s;
  return FL_OK;
}

void fl_free(void* state) {
  struct test_state* s = (struct test_state*)state;
  if (s->kept.release != NULL) s->kept.release(&s->kept);
  free(s);
}

int fl_transform(void* state, const struct fl_batch* in, struct ArrowSchema* out_schema,
                 struct ArrowArray* out, struct fl_error* err) {
  struct test_state* s = (struct test_state*)state;
  switch (s->mode) {
    case PASS:
      return fl_batch_passthrough(in, out_schema, out, err);
    case EVENS:
    case NONE: {
      int64_t id;
      int result = fl_require_column(in, "id", &id, err);
      if (result != FL_OK) return result;
      uint8_t* keep = (uint8_t*)malloc((size_t)in->num_rows + 1);
      for (int64_t i = 0; i < in->num_rows; i++) {
        keep[i] = s->mode == EVENS && ArrowArrayViewGetIntUnsafe(in->view->children[id], i) % 2 == 0;
      }
      result = fl_batch_filter(in, keep, out_schema, out, err);
      free(keep);
      return result;
    }
    case DERIVE: { /* one Utf8 column "n" with the row count, as text */
      ArrowSchemaInit(out_schema);
      ArrowSchemaSetTypeStruct(out_schema, 1);
      ArrowSchemaSetType(out_schema->children[0], NANOARROW_TYPE_STRING);
      ArrowSchemaSetName(out_schema->children[0], "n");
      struct ArrowArray column;
      ArrowArrayInitFromType(&column, NANOARROW_TYPE_STRING);
      ArrowArrayStartAppending(&column);
      char text[32];
      snprintf(text, sizeof(text), "%lld", (long long)in->num_rows);
      ArrowArrayAppendString(&column, ArrowCharView(text));
      ArrowArrayFinishBuildingDefault(&column, NULL);
      ArrowArrayInitFromType(out, NANOARROW_TYPE_STRUCT);
      ArrowArrayAllocateChildren(out, 1);
      ArrowArrayMove(&column, out->children[0]);
      out->length = 1;
      return ArrowArrayFinishBuildingDefault(out, NULL) == NANOARROW_OK
                 ? FL_OK
                 : fl_error_set(err, FL_FAILED, "derive failed");
    }
    case FAIL:
      return fl_error_set(err, FL_INVALID_INPUT, "column `x` is bad");
    case KEEP_COLUMN:
      if (s->kept.release == NULL) {
        int result = fl_batch_share_column(in, 1, &s->kept, err);
        if (result != FL_OK) return result;
      }
      return fl_batch_passthrough(in, out_schema, out, err);
  }
  return FL_FAILED;
}

/* ---- SHA-256 ----------------------------------------------------------------------------- */

static const char* sha_hex(const char* data, size_t len) {
  static char hex[65];
  struct fl_sha256 h;
  fl_sha256_init(&h);
  fl_sha256_update(&h, data, len);
  fl_sha256_final_hex(&h, hex);
  return hex;
}

static void test_sha256(void) {
  /* FIPS 180-4 / NIST CSRC examples. */
  CHECK_STR(sha_hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK_STR(sha_hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const char* two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  CHECK_STR(sha_hex(two_blocks, strlen(two_blocks)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const char* long_one =
      "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
  CHECK_STR(sha_hex(long_one, strlen(long_one)),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  char* million = (char*)malloc(1000000);
  memset(million, 'a', 1000000);
  CHECK_STR(sha_hex(million, 1000000),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  /* The same bytes fed in uneven pieces, and a copied prefix state (how mask salts). */
  struct fl_sha256 h;
  fl_sha256_init(&h);
  size_t sizes[] = {1, 63, 64, 65, 127, 3, 1000, 200000};
  size_t used = 0;
  for (size_t i = 0; used < 1000000; i = (i + 1) % 8) {
    size_t n = sizes[i] < 1000000 - used ? sizes[i] : 1000000 - used;
    fl_sha256_update(&h, million + used, n);
    used += n;
  }
  char hex[65];
  fl_sha256_final_hex(&h, hex);
  CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  free(million);
  struct fl_sha256 salted, copy;
  fl_sha256_init(&salted);
  fl_sha256_update(&salted, "ab", 2);
  copy = salted;
  fl_sha256_update(&copy, "c", 1);
  fl_sha256_final_hex(&copy, hex);
  CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  /* Lengths around the padding boundary (55, 56, 64 bytes) against a one-shot reference. */
  const char* fifty_six = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  CHECK_INT(strlen(fifty_six), 56);
}

/* ---- JSON config ------------------------------------------------------------------------- */

static int init_error(const char* config, char* message) {
  void* state = NULL;
  struct fl_error err = {FL_OK, ""};
  int result = fl_init(config, strlen(config), &state, &err);
  if (result == FL_OK) fl_free(state);
  strcpy(message, err.message);
  return result;
}

static void test_config(void) {
  char message[FL_ERROR_MESSAGE_MAX];
  CHECK_INT(init_error("", message), FL_OK);  /* blank reads as {} */
  CHECK_INT(init_error("  \n", message), FL_OK);
  CHECK_INT(init_error("{\"mode\": \"evens\"}", message), FL_OK);
  CHECK_INT(init_error("{\"mode\": 1}", message), FL_INVALID_CONFIG);
  CHECK_STR(message, "`mode` must be a string, got a number");
  CHECK_INT(init_error("{\"mode\": null}", message), FL_INVALID_CONFIG);
  CHECK_INT(init_error("[1]", message), FL_INVALID_CONFIG);
  CHECK_STR(message, "the config must be a JSON object, got an array");
  CHECK_INT(init_error("{\"mode\": ", message), FL_INVALID_CONFIG);
  CHECK(strstr(message, "not valid JSON") != NULL);

  struct fl_config cfg;
  struct fl_error err;
  const char* json = "{\"a\": \"x\", \"list\": [\"p\", \"q\"], \"bad\": [1], \"a\": \"y\"}";
  CHECK_INT(fl_config_parse(json, strlen(json), &cfg, &err), FL_OK);
  static const char* const allowed[] = {"a", "list", "bad", NULL};
  CHECK_INT(fl_config_check_keys(&cfg, allowed, &err), FL_INVALID_CONFIG);
  CHECK_STR(err.message, "duplicate field `a`");
  static const char* const fewer[] = {"a", NULL};
  CHECK_INT(fl_config_check_keys(&cfg, fewer, &err), FL_INVALID_CONFIG);
  CHECK_STR(err.message, "unknown field `list`, expected one of `a`");
  char** items;
  size_t count;
  CHECK_INT(fl_config_string_array(&cfg, "list", true, &items, &count, &err), FL_OK);
  CHECK_INT(count, 2);
  CHECK_STR(items[1], "q");
  fl_strings_free(items, count);
  CHECK_INT(fl_config_string_array(&cfg, "bad", true, &items, &count, &err), FL_INVALID_CONFIG);
  CHECK_STR(err.message, "`bad[0]` must be a string, got a number");
  CHECK_INT(fl_config_string_array(&cfg, "none", true, &items, &count, &err), FL_INVALID_CONFIG);
  CHECK_STR(err.message, "missing field `none`");
  CHECK_INT(fl_config_string_array(&cfg, "none", false, &items, &count, &err), FL_OK);
  CHECK_INT(count, 0);
  char* text;
  size_t len;
  CHECK_INT(fl_config_string(&cfg, "missing", "dflt", &text, &len, &err), FL_OK);
  CHECK_STR(text, "dflt");
  free(text);
  fl_config_free(&cfg);

  /* \u0000 inside a string keeps its length. */
  const char* nul = "{\"s\": \"a\\u0000b\"}";
  CHECK_INT(fl_config_parse(nul, strlen(nul), &cfg, &err), FL_OK);
  CHECK_INT(fl_config_string(&cfg, "s", NULL, &text, &len, &err), FL_OK);
  CHECK_INT(len, 3);
  free(text);
  fl_config_free(&cfg);
}

/* Every line of data/json-numbers.tsv: a JSON number and the text serde_json 1.0.154 gives it
 * (made with serde_json itself; see README "Tests"). */
static void test_json_numbers(const char* data_dir) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/json-numbers.tsv", data_dir);
  FILE* file = fopen(path, "r");
  if (!CHECK(file != NULL)) return;
  char line[256];
  int lines = 0;
  while (fgets(line, sizeof(line), file) != NULL) {
    char* tab = strchr(line, '\t');
    if (tab == NULL) continue;
    *tab = '\0';
    char* expected = tab + 1;
    expected[strcspn(expected, "\r\n")] = '\0';
    yyjson_doc* doc = yyjson_read(line, strlen(line), 0);
    char text[32] = "(unparsed)";
    if (doc != NULL) {
      fl_json_number_text(yyjson_doc_get_root(doc), text);
      yyjson_doc_free(doc);
    }
    char what[300];
    snprintf(what, sizeof(what), "json number %s", line);
    char detail[200];
    snprintf(detail, sizeof(detail), "got %s, expected %s", text, expected);
    fl_test_check(strcmp(text, expected) == 0, what, detail, __FILE__, __LINE__);
    lines++;
  }
  fclose(file);
  CHECK(lines > 800);
}

/* ---- text to values, as arrow-rs's cast ---------------------------------------------------- */

static bool int_ok(const char* t, int64_t min, int64_t max, int64_t want) {
  int64_t v;
  return fl_parse_int(t, strlen(t), min, max, &v) && v == want;
}
static bool int_fails(const char* t, int64_t min, int64_t max) {
  int64_t v;
  return !fl_parse_int(t, strlen(t), min, max, &v);
}

static void test_parse(void) {
  CHECK(int_ok("2", INT64_MIN, INT64_MAX, 2));
  CHECK(int_ok("+2", INT64_MIN, INT64_MAX, 2));
  CHECK(int_ok("-2", INT64_MIN, INT64_MAX, -2));
  CHECK(int_ok(" 2 ", INT64_MIN, INT64_MAX, 2));
  CHECK(int_ok("007", INT64_MIN, INT64_MAX, 7));
  CHECK(int_ok("-9223372036854775808", INT64_MIN, INT64_MAX, INT64_MIN));
  CHECK(int_fails("9223372036854775808", INT64_MIN, INT64_MAX));
  CHECK(int_ok("127", -128, 127, 127));
  CHECK(int_fails("128", -128, 127));
  CHECK(int_ok("-128", -128, 127, -128));
  CHECK(int_fails("-129", -128, 127));
  CHECK(int_fails("2.5", INT64_MIN, INT64_MAX));
  CHECK(int_fails("2.0", INT64_MIN, INT64_MAX));
  CHECK(int_fails("1e3", INT64_MIN, INT64_MAX));
  CHECK(int_fails("", INT64_MIN, INT64_MAX));
  CHECK(int_fails("-", INT64_MIN, INT64_MAX));
  CHECK(int_fails("lots", INT64_MIN, INT64_MAX));
  CHECK(int_fails("2 2", INT64_MIN, INT64_MAX));
  uint64_t u;
  CHECK(fl_parse_uint("255", 3, 255, &u) && u == 255);
  CHECK(!fl_parse_uint("256", 3, 255, &u));
  CHECK(!fl_parse_uint("300", 3, 255, &u));
  CHECK(fl_parse_uint("-0", 2, 255, &u) && u == 0);
  CHECK(!fl_parse_uint("-1", 2, 255, &u));
  CHECK(fl_parse_uint("18446744073709551615", 20, UINT64_MAX, &u) && u == UINT64_MAX);
  CHECK(!fl_parse_uint("18446744073709551616", 20, UINT64_MAX, &u));

  double d;
  CHECK(fl_parse_double("2.5", 3, &d) && d == 2.5);
  CHECK(fl_parse_double(".5", 2, &d) && d == 0.5);
  CHECK(fl_parse_double("5.", 2, &d) && d == 5.0);
  CHECK(fl_parse_double("-0.0", 4, &d) && d == 0 && signbit(d));
  CHECK(fl_parse_double("1e-3", 4, &d) && d == 1e-3);
  CHECK(fl_parse_double(" 7 ", 3, &d) && d == 7);
  CHECK(fl_parse_double("NaN", 3, &d) && isnan(d));
  CHECK(fl_parse_double("-inf", 4, &d) && isinf(d) && d < 0);
  CHECK(fl_parse_double("Infinity", 8, &d) && isinf(d));
  CHECK(!fl_parse_double("lots", 4, &d));
  CHECK(!fl_parse_double("0x10", 4, &d));
  CHECK(!fl_parse_double("1e", 2, &d));
  CHECK(!fl_parse_double(".", 1, &d));
  CHECK(!fl_parse_double("", 0, &d));
  float f;
  CHECK(fl_parse_float("0.1", 3, &f) && f == 0.1f);
  /* Rounded straight to float, not through double. */
  CHECK(fl_parse_float("1.00000005960464477539062501", 28, &f) && f == 1.00000012f);

  bool b;
  CHECK(fl_parse_bool("true", 4, &b) && b);
  CHECK(fl_parse_bool("FALSE", 5, &b) && !b);
  CHECK(fl_parse_bool(" yes ", 5, &b) && b);
  CHECK(fl_parse_bool("0", 1, &b) && !b);
  CHECK(!fl_parse_bool("2", 1, &b));
  CHECK(!fl_parse_bool("maybe", 5, &b));

  int32_t days;
  CHECK(fl_parse_date32("1970-01-01", 10, &days) && days == 0);
  CHECK(fl_parse_date32("2024-03-01", 10, &days) && days == 19783);
  CHECK(fl_parse_date32("2024-3-1", 8, &days) && days == 19783);
  CHECK(fl_parse_date32("20240301", 8, &days) && days == 19783);
  CHECK(fl_parse_date32("1969-12-31", 10, &days) && days == -1);
  CHECK(fl_parse_date32("2000-02-29", 10, &days) && days == 11016);
  CHECK(!fl_parse_date32("2001-02-29", 10, &days));
  CHECK(!fl_parse_date32("2024-13-01", 10, &days));
  CHECK(!fl_parse_date32("5", 1, &days));
  CHECK(!fl_parse_date32("yesterday", 9, &days));
  CHECK(fl_parse_date32("+10000-01-01", 12, &days) && days == 2932897);
  CHECK(fl_parse_date32("-0001-12-31", 11, &days) && days == -719529);
}

/* ---- batches through IPC ------------------------------------------------------------------ */

/* Every type the filter helper handles, with nulls in each nullable column. */
static void all_types(struct fl_test_table* t) {
  fl_test_table_init(t);
  fl_test_column(t, "id", "l", false, "1|2|3|4|5|6");
  fl_test_column(t, "i8", "c", true, "-128|null|127|0|1|-1");
  fl_test_column(t, "i16", "s", true, "-32768|1|null|32767|2|3");
  fl_test_column(t, "i32", "i", true, "null|-2147483648|2147483647|0|5|6");
  fl_test_column(t, "u8", "C", true, "0|255|null|1|2|3");
  fl_test_column(t, "u16", "S", true, "65535|null|0|1|2|3");
  fl_test_column(t, "u32", "I", true, "4294967295|0|1|null|2|3");
  fl_test_column(t, "u64", "L", true, "18446744073709551615|0|1|2|null|3");
  fl_test_column(t, "f32", "f", true, "1.5|-0|nan|null|inf|-inf");
  fl_test_column(t, "amount", "g", true, "nan|-0|0|inf|-inf|null");
  fl_test_metadata(t, "unit", "EUR");
  fl_test_column(t, "flag", "b", true, "true|false|null|true|true|false");
  fl_test_column(t, "name", "u", true, "\xf0\x9f\x98\x80 smile||null|ümlaut|日本|x");
  fl_test_column(t, "note", "U", true, "a|null|ccc||e|f");
  fl_test_column(t, "blob", "z", true, "00ff|null||0102|03|04");
  fl_test_column(t, "day", "tdD", true, "0|19783|-1|null|1|2");
  fl_test_column(t, "at", "tsu:UTC", true, "0|1700000000000000|null|-1|2|3");
  fl_test_column(t, "local", "tsm:", true, "null|1|2|3|4|5");
  fl_test_column(t, "price", "d:12,2", true, "12345|-1|null|0|99999999999|7");
  fl_test_table_finish(t);
}

static void test_round_trip_and_filter(void) {
  struct fl_test_table t;
  all_types(&t);
  static const char* const columns[] = {"id", "i8", "i16", "i32", "u8", "u16", "u32", "u64",
                                        "f32", "amount", "flag", "name", "note", "blob",
                                        "day", "at", "local", "price"};
  static const char* const all[] = {
      "1|2|3|4|5|6", "-128|null|127|0|1|-1", "-32768|1|null|32767|2|3",
      "null|-2147483648|2147483647|0|5|6", "0|255|null|1|2|3", "65535|null|0|1|2|3",
      "4294967295|0|1|null|2|3", "18446744073709551615|0|1|2|null|3",
      "1.5|-0|nan|null|inf|-inf", "nan|-0|0|inf|-inf|null", "true|false|null|true|true|false",
      "\xf0\x9f\x98\x80 smile||null|ümlaut|日本|x", "a|null|ccc||e|f", "00ff|null||0102|03|04",
      "0|19783|-1|null|1|2", "0|1700000000000000|null|-1|2|3", "null|1|2|3|4|5",
      "12345|-1|null|0|99999999999|7"};
  /* Rows 2, 4, 6 (ids are 1-based). */
  static const char* const evens[] = {
      "2|4|6", "null|0|-1", "1|32767|3", "-2147483648|0|6", "255|1|3", "null|1|3", "0|null|3",
      "0|2|3", "-0|null|-inf", "-0|inf|null", "false|true|false", "|ümlaut|x", "null||f",
      "null|0102|04", "19783|null|2", "1700000000000000|-1|3", "1|3|5", "-1|0|7"};

  for (int batches = 1; batches <= 3; batches++) {
    struct fl_test_run run;
    fl_test_run(&t, "{\"mode\": \"pass\"}", batches, &run);
    CHECK_INT(run.result, FL_OK);
    CHECK(fl_test_same_schema(&run.schema, &t.schema));
    for (int c = 0; c < 18; c++) CHECK_STR(fl_test_render(&run, columns[c]), all[c]);
    fl_test_run_release(&run);

    fl_test_run(&t, "{\"mode\": \"evens\"}", batches, &run);
    CHECK_INT(run.result, FL_OK);
    CHECK(fl_test_same_schema(&run.schema, &t.schema));
    for (int c = 0; c < 18; c++) CHECK_STR(fl_test_render(&run, columns[c]), evens[c]);
    fl_test_run_release(&run);
  }

  /* No row kept: the schema still comes back, with one empty batch. */
  struct fl_test_run run;
  fl_test_run(&t, "{\"mode\": \"none\"}", 1, &run);
  CHECK_INT(run.result, FL_OK);
  CHECK(fl_test_same_schema(&run.schema, &t.schema));
  CHECK_INT(run.output_batches, 1);
  CHECK_STR(fl_test_render(&run, "name"), "");
  fl_test_run_release(&run);

  /* A different schema out. */
  fl_test_run(&t, "{\"mode\": \"derive\"}", 2, &run);
  CHECK_INT(run.result, FL_OK);
  CHECK_STR(fl_test_render(&run, "n"), "3|3");
  fl_test_run_release(&run);

  /* Errors keep their kind and message. */
  fl_test_run(&t, "{\"mode\": \"fail\"}", 1, &run);
  CHECK_INT(run.result, FL_INVALID_INPUT);
  CHECK_STR(run.err.message, "column `x` is bad");
  fl_test_run_release(&run);

  /* A shared column outlives its batch (run under AddressSanitizer by test.sh). */
  void* state = NULL;
  struct fl_error err;
  CHECK_INT(fl_init("{\"mode\": \"keep\"}", 16, &state, &err), FL_OK);
  struct ArrowBuffer bytes;
  ArrowBufferInit(&bytes);
  fl_test_encode(&t, 1, &bytes);
  uint8_t* output = NULL;
  size_t output_len = 0;
  CHECK_INT(fl_transform_stream(state, bytes.data, (size_t)bytes.size_bytes, &output, &output_len,
                                &err),
            FL_OK);
  bytes.data = NULL;
  free(output);
  struct test_state* s = (struct test_state*)state;
  struct ArrowArrayView view;
  ArrowArrayViewInitFromSchema(&view, t.schema.children[1], NULL);
  CHECK_INT(ArrowArrayViewSetArray(&view, &s->kept, NULL), NANOARROW_OK);
  char render[256];
  CHECK_STR(fl_test_render_view(&view, render, sizeof(render)), "-128|null|127|0|1|-1");
  ArrowArrayViewReset(&view);
  fl_free(state);
  fl_test_table_release(&t);
}

static void test_stream_rules(void) {
  struct fl_test_table t;
  fl_test_table_init(&t);
  fl_test_column(&t, "id", "l", false, "1|2|3|4|5|6|7");
  fl_test_table_finish(&t);
  void* state = NULL;
  struct fl_error err;
  CHECK_INT(fl_init("{\"mode\": \"evens\"}", 17, &state, &err), FL_OK);

  /* Several batches in one stream: every output batch in one stream. */
  struct ArrowBuffer bytes;
  ArrowBufferInit(&bytes);
  fl_test_encode(&t, 3, &bytes);
  uint8_t* output = NULL;
  size_t output_len = 0;
  CHECK_INT(fl_transform_stream(state, bytes.data, (size_t)bytes.size_bytes, &output, &output_len,
                                &err),
            FL_OK);
  struct ArrowSchema schema;
  struct ArrowArray array;
  CHECK_INT(fl_ipc_decode_first(output, output_len, &schema, &array, &err), FL_OK);
  CHECK_INT(array.length, 1); /* the first batch is rows 1-2: id 2 */
  array.release(&array);
  schema.release(&schema);
  free(output);

  /* A stream with only a schema gives the output schema. */
  struct fl_test_table empty;
  fl_test_table_init(&empty);
  fl_test_column(&empty, "id", "l", false, NULL);
  fl_test_table_finish(&empty);
  ArrowBufferInit(&bytes);
  CHECK_INT(fl_ipc_encode(&empty.schema, NULL, &bytes, &err), FL_OK);
  CHECK_INT(fl_transform_stream(state, bytes.data, (size_t)bytes.size_bytes, &output, &output_len,
                                &err),
            FL_OK);
  CHECK(output_len > 0);
  CHECK_INT(fl_ipc_decode_first(output, output_len, &schema, &array, &err), FL_OK);
  CHECK_STR(schema.children[0]->name, "id");
  CHECK_INT(array.length, 0);
  if (array.release != NULL) array.release(&array);
  schema.release(&schema);
  free(output);

  /* An empty input: no output. Garbage: invalid-input. */
  CHECK_INT(fl_transform_stream(state, NULL, 0, &output, &output_len, &err), FL_OK);
  CHECK(output == NULL && output_len == 0);
  const char* garbage = "this is not arrow ipc";
  uint8_t* copy = (uint8_t*)malloc(strlen(garbage));
  memcpy(copy, garbage, strlen(garbage));
  CHECK_INT(fl_transform_stream(state, copy, strlen(garbage), &output, &output_len, &err),
            FL_INVALID_INPUT);
  CHECK(strstr(err.message, "cannot read the Arrow IPC input") != NULL);
  /* Truncated: the schema message only in part. */
  ArrowBufferInit(&bytes);
  fl_test_encode(&t, 1, &bytes);
  CHECK_INT(fl_transform_stream(state, bytes.data, 12, &output, &output_len, &err),
            FL_INVALID_INPUT);

  fl_free(state);
  fl_test_table_release(&t);
  fl_test_table_release(&empty);
}

/* Compressed input bodies: LZ4 frames are read, ZSTD is refused as invalid-input. The files
 * were written by pyarrow (IpcWriteOptions(compression=...)). */
static uint8_t* read_file(const char* path, size_t* len) {
  FILE* f = fopen(path, "rb");
  if (f == NULL) return NULL;
  uint8_t* data = (uint8_t*)malloc(1 << 20);
  *len = fread(data, 1, 1 << 20, f);
  fclose(f);
  return data;
}

static void test_compressed_input(const char* data_dir) {
  char path[4096];
  size_t len;
  void* state = NULL;
  struct fl_error err;
  CHECK_INT(fl_init("{}", 2, &state, &err), FL_OK);
  snprintf(path, sizeof(path), "%s/lz4.arrows", data_dir);
  uint8_t* input = read_file(path, &len);
  if (CHECK(input != NULL)) {
    uint8_t* output = NULL;
    size_t output_len = 0;
    CHECK_INT(fl_transform_stream(state, input, len, &output, &output_len, &err), FL_OK);
    struct ArrowSchema schema;
    struct ArrowArray array;
    if (CHECK_INT_OK(fl_ipc_decode_first(output, output_len, &schema, &array, &err))) {
      struct ArrowArrayView view;
      ArrowArrayViewInitFromSchema(&view, &schema, NULL);
      CHECK_INT(ArrowArrayViewSetArray(&view, &array, NULL), NANOARROW_OK);
      char render[1024];
      CHECK_STR(fl_test_render_view(view.children[0], render, sizeof(render)), "1|2|3|4|5");
      CHECK_STR(fl_test_render_view(view.children[2], render, sizeof(render)),
                "1.5|null|nan|-0|1.0000000000000001e+300");
      fl_test_render_view(view.children[1], render, sizeof(render));
      CHECK(strncmp(render, "ada|null|\xc3\xbcmlaut||\xe6\x97\xa5", 21) == 0);
      ArrowArrayViewReset(&view);
      array.release(&array);
      schema.release(&schema);
    }
    free(output);
  }
  snprintf(path, sizeof(path), "%s/zstd.arrows", data_dir);
  input = read_file(path, &len);
  if (CHECK(input != NULL)) {
    uint8_t* output = NULL;
    size_t output_len = 0;
    CHECK_INT(fl_transform_stream(state, input, len, &output, &output_len, &err),
              FL_INVALID_INPUT);
  }
  fl_free(state);
}

static void test_type_names(void) {
  struct fl_test_table t;
  all_types(&t);
  char buf[128];
  CHECK_STR(fl_type_name(t.schema.children[0], buf, sizeof(buf)), "Int64");
  CHECK_STR(fl_type_name(t.schema.children[4], buf, sizeof(buf)), "UInt8");
  CHECK_STR(fl_type_name(t.schema.children[9], buf, sizeof(buf)), "Float64");
  CHECK_STR(fl_type_name(t.schema.children[12], buf, sizeof(buf)), "LargeUtf8");
  CHECK_STR(fl_type_name(t.schema.children[15], buf, sizeof(buf)), "Timestamp(\xc2\xb5s, \"UTC\")");
  CHECK_STR(fl_type_name(t.schema.children[16], buf, sizeof(buf)), "Timestamp(ms)");
  CHECK_STR(fl_type_name(t.schema.children[17], buf, sizeof(buf)), "Decimal128(12, 2)");
  fl_test_table_release(&t);
}

int main(int argc, char** argv) {
  const char* data_dir = argc > 1 ? argv[1] : "tests/data";
  test_sha256();
  test_config();
  test_json_numbers(data_dir);
  test_parse();
  test_round_trip_and_filter();
  test_stream_rules();
  test_compressed_input(data_dir);
  test_type_names();
  return fl_test_summary("c-sdk");
}

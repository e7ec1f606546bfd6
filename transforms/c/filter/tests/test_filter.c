/* Native tests of the C `filter` (run by guest-sdk/c/test.sh). The expected rows follow
 * transforms/README.md; the end-to-end comparison with the Rust filter is in the test suite. */
#include <stdlib.h>
#include <string.h>

#include "fastlane.h"
#include "testing.h"

static struct fl_test_table table;

static void make_table(void) {
  fl_test_table_init(&table);
  fl_test_column(&table, "id", "l", false, "1|2|3|4|5|6|7|8");
  fl_test_column(&table, "i8", "c", true, "-5|0|5|null|127|-128|1|2");
  fl_test_column(&table, "u8", "C", true, "0|255|100|null|1|2|3|4");
  fl_test_column(&table, "u64", "L", true, "0|18446744073709551615|5|null|1|2|3|4");
  fl_test_column(&table, "f32", "f", true, "1.5|-0|0|nan|null|inf|-inf|0.1");
  fl_test_column(&table, "amount", "g", true, "100|150.5|null|nan|-0|0|inf|-inf");
  fl_test_metadata(&table, "unit", "EUR");
  fl_test_column(&table, "flag", "b", true, "true|false|null|true|false|true|true|false");
  fl_test_column(&table, "name", "u", true,
                 "ada|null||\xe6\x97\xa5\xe6\x9c\xac|\xf0\x9f\x98\x80|\xc3\x9cmlaut|100|b");
  fl_test_column(&table, "note", "U", true, "x|y|null|z|x|x|x|x");
  fl_test_column(&table, "blob", "z", true, "00|01|null|02|03|04|05|06");
  fl_test_column(&table, "day", "tdD", true, "19783|19784|null|0|-1|19782|19783|1");
  fl_test_column(&table, "at", "tsu:UTC", true, "0|1|2|null|4|5|6|7");
  fl_test_column(&table, "price", "d:12,2", true, "100|200|null|300|400|500|600|700");
  fl_test_table_finish(&table);
}

/* The ids kept by `config`, or "error <kind>: <message>". */
static const char* ids(const char* config, int batches) {
  static char out[4096];
  struct fl_test_run run;
  fl_test_run(&table, config, batches, &run);
  if (run.result != FL_OK) {
    snprintf(out, sizeof(out), "error %d: %s", run.result, run.err.message);
  } else {
    if (!fl_test_same_schema(&run.schema, &table.schema)) {
      fl_test_check(false, config, "the output schema differs from the input's", __FILE__,
                    __LINE__);
    }
    snprintf(out, sizeof(out), "%s", fl_test_render(&run, "id"));
  }
  fl_test_run_release(&run);
  return out;
}

#define KEPT(config, expected)                        \
  do {                                                \
    CHECK_STR(ids(config, 1), expected);              \
    CHECK_STR(ids(config, 3), expected);              \
  } while (0)

static void check_error(const char* config, int kind, const char* needle) {
  const char* got = ids(config, 1);
  char prefix[16];
  snprintf(prefix, sizeof(prefix), "error %d: ", kind);
  char detail[4200];
  snprintf(detail, sizeof(detail), "got \"%s\", wanted error %d containing \"%s\"", got, kind,
           needle);
  fl_test_check(strncmp(got, prefix, strlen(prefix)) == 0 && strstr(got, needle) != NULL, config,
                detail, __FILE__, __LINE__);
}

int main(void) {
  make_table();

  /* Float64 in IEEE total order: -0.0 < 0.0, NaN == NaN and above +inf. */
  KEPT("{\"column\": \"amount\", \"op\": \"gt\", \"value\": 100}", "2|4|7");
  KEPT("{\"column\": \"amount\", \"op\": \"ge\", \"value\": 100}", "1|2|4|7");
  KEPT("{\"column\": \"amount\", \"op\": \"eq\", \"value\": 0}", "6");
  KEPT("{\"column\": \"amount\", \"op\": \"lt\", \"value\": 0}", "5|8");
  KEPT("{\"column\": \"amount\", \"op\": \"le\", \"value\": -0.0}", "5|8");
  KEPT("{\"column\": \"amount\", \"op\": \"eq\", \"value\": \"NaN\"}", "4");
  KEPT("{\"column\": \"amount\", \"op\": \"ne\", \"value\": 100}", "2|4|5|6|7|8");
  KEPT("{\"column\": \"amount\", \"op\": \"gt\", \"value\": \"1e2\"}", "2|4|7");
  KEPT("{\"column\": \"amount\", \"op\": \"is_null\"}", "3");
  KEPT("{\"column\": \"amount\", \"op\": \"is_not_null\", \"value\": null}", "1|2|4|5|6|7|8");

  /* Integers: exact, or as Float64 for numbers that do not fit the type. */
  KEPT("{\"column\": \"i8\", \"op\": \"gt\", \"value\": 2.5}", "3|5");
  KEPT("{\"column\": \"i8\", \"op\": \"le\", \"value\": \"1\"}", "1|2|6|7");
  KEPT("{\"column\": \"i8\", \"op\": \"eq\", \"value\": 5.0}", "3");
  KEPT("{\"column\": \"i8\", \"op\": \"lt\", \"value\": 1000}", "1|2|3|5|6|7|8");
  KEPT("{\"column\": \"u8\", \"op\": \"lt\", \"value\": 300}", "1|2|3|5|6|7|8");
  KEPT("{\"column\": \"u8\", \"op\": \"gt\", \"value\": -1}", "1|2|3|5|6|7|8");
  KEPT("{\"column\": \"u8\", \"op\": \"eq\", \"value\": 255}", "2");
  KEPT("{\"column\": \"u64\", \"op\": \"gt\", \"value\": 1e19}", "2");
  KEPT("{\"column\": \"u64\", \"op\": \"eq\", \"value\": 18446744073709551615}", "2");
  KEPT("{\"column\": \"id\", \"op\": \"lt\", \"value\": 2.5}", "1|2");
  check_error("{\"column\": \"u8\", \"op\": \"eq\", \"value\": \"300\"}", FL_INVALID_CONFIG, "u8");
  check_error("{\"column\": \"i8\", \"op\": \"eq\", \"value\": \"lots\"}", FL_INVALID_CONFIG,
              "`value` \"lots\" cannot be compared with column `i8` of type Int8");
  check_error("{\"column\": \"i8\", \"op\": \"eq\", \"value\": true}", FL_INVALID_CONFIG, "Int8");

  /* Float32 compares in float: 0.1 is the float nearest 0.1. */
  KEPT("{\"column\": \"f32\", \"op\": \"eq\", \"value\": 0.1}", "8");
  KEPT("{\"column\": \"f32\", \"op\": \"lt\", \"value\": 0}", "2|7");
  KEPT("{\"column\": \"f32\", \"op\": \"gt\", \"value\": \"inf\"}", "4");

  /* Booleans: false < true; strings "true"/"false" too. */
  KEPT("{\"column\": \"flag\", \"op\": \"eq\", \"value\": true}", "1|4|6|7");
  KEPT("{\"column\": \"flag\", \"op\": \"eq\", \"value\": \"false\"}", "2|5|8");
  KEPT("{\"column\": \"flag\", \"op\": \"lt\", \"value\": true}", "2|5|8");
  check_error("{\"column\": \"flag\", \"op\": \"eq\", \"value\": 2}", FL_INVALID_CONFIG,
              "Boolean");

  /* Strings by UTF-8 bytes; numbers and booleans as their JSON text. */
  KEPT("{\"column\": \"name\", \"op\": \"eq\", \"value\": \"\xe6\x97\xa5\xe6\x9c\xac\"}", "4");
  KEPT("{\"column\": \"name\", \"op\": \"gt\", \"value\": \"a\"}", "1|4|5|6|8");
  KEPT("{\"column\": \"name\", \"op\": \"eq\", \"value\": 100}", "7");
  KEPT("{\"column\": \"name\", \"op\": \"eq\", \"value\": \"\"}", "3");
  KEPT("{\"column\": \"name\", \"op\": \"eq\", \"value\": true}", "");
  KEPT("{\"column\": \"note\", \"op\": \"eq\", \"value\": \"x\"}", "1|5|6|7|8");
  KEPT("{\"column\": \"blob\", \"op\": \"eq\", \"value\": \"\\u0001\"}", "2");

  /* Dates. */
  KEPT("{\"column\": \"day\", \"op\": \"eq\", \"value\": \"2024-03-01\"}", "1|7");
  KEPT("{\"column\": \"day\", \"op\": \"gt\", \"value\": \"2024-03-01\"}", "2");
  KEPT("{\"column\": \"day\", \"op\": \"lt\", \"value\": \"1970-01-01\"}", "5");
  KEPT("{\"column\": \"day\", \"op\": \"eq\", \"value\": \"2024-3-1\"}", "1|7");
  check_error("{\"column\": \"day\", \"op\": \"eq\", \"value\": 5}", FL_INVALID_CONFIG, "Date32");

  /* Types the C filter does not compare (the Rust one does): invalid-config naming them;
   * filtering by another column still keeps them intact (checked by the schema test). */
  check_error("{\"column\": \"at\", \"op\": \"eq\", \"value\": \"2024-01-01\"}", FL_INVALID_CONFIG,
              "Timestamp(\xc2\xb5s, \"UTC\")");
  check_error("{\"column\": \"price\", \"op\": \"gt\", \"value\": 1}", FL_INVALID_CONFIG,
              "Decimal128(12, 2)");
  KEPT("{\"column\": \"at\", \"op\": \"is_null\"}", "4");

  /* Config and input errors. */
  check_error("{\"column\": \"nope\", \"op\": \"eq\", \"value\": 1}", FL_INVALID_INPUT,
              "column `nope` not found");
  const char* bad[] = {
      "{\"column\": \"id\", \"op\": \"like\", \"value\": 1}",
      "{\"column\": \"id\", \"op\": \"gt\"}",
      "{\"column\": \"id\", \"op\": \"gt\", \"value\": null}",
      "{\"column\": \"id\", \"op\": \"is_null\", \"value\": 1}",
      "{\"column\": \"id\", \"op\": \"gt\", \"value\": [1]}",
      "{\"column\": \"id\", \"op\": \"gt\", \"value\": {}}",
      "{\"column\": \"id\"}",
      "{\"op\": \"is_null\"}",
      "{\"column\": 5, \"op\": \"is_null\"}",
      "{\"column\": \"id\", \"op\": \"is_null\", \"extra\": 1}",
      "{\"column\": \"id\", \"op\": \"is_null\", \"column\": \"id\"}",
      "[]",
      "{",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    check_error(bad[i], FL_INVALID_CONFIG, "");
  }

  fl_test_table_release(&table);
  return fl_test_summary("filter-c");
}

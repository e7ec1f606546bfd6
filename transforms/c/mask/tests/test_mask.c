/* Native tests of the C `mask` (run by guest-sdk/c/test.sh). Digests are SHA-256 of salt + value
 * (computed independently with Python's hashlib). */
#include <string.h>

#include "fastlane.h"
#include "testing.h"

static struct fl_test_table table;

#define SHA_SA_EXAMPLE "9c6385b895c90bc284afd69d9630d8a3793c67eedd227f44867d516be11f4054"
#define SHA_S "043a718774c572bd8a25adbeb1bfcd5c0256ae11cecf9f9c3f925d0e52beaf89"
#define SHA_SX "9740c9dcdb4487d8cd63d2a544d8e6573f082081c49aef08c7853ab0f99e019a"
#define SHA_SANN "c5e4850782ae7a4a1211f3901d88f440c0006688cca52a59bf266689f17f0568"
#define SHA_S_NIHON "2d9604b6d66c80215091975facbac417bc0d75650c737649b560727cf9fb950b"
#define SHA_TWICE "b0e04d6bd11a62a6f3670a1a176af5cbf856f8cf18e5747dba25a141a4e7cde5"
#define SHA_NO_SALT "08168cd80dfd534ab0f10af10f1303fe00af2d43ab5c1432360d137f8197e17a"

static void check_run(const char* config, const char* column, const char* expected) {
  for (int batches = 1; batches <= 2; batches++) {
    struct fl_test_run run;
    fl_test_run(&table, config, batches, &run);
    if (fl_test_check(run.result == FL_OK, config, run.err.message, __FILE__, __LINE__)) {
      CHECK(fl_test_same_schema(&run.schema, &table.schema));
      CHECK_STR(fl_test_render(&run, column), expected);
      CHECK_STR(fl_test_render(&run, "id"), "1|2|3|4");
    }
    fl_test_run_release(&run);
  }
}

static void check_error(const char* config, int kind, const char* needle) {
  struct fl_test_run run;
  fl_test_run(&table, config, 1, &run);
  char detail[2200];
  snprintf(detail, sizeof(detail), "got %d \"%s\", wanted %d containing \"%s\"", run.result,
           run.err.message, kind, needle);
  fl_test_check(run.result == kind && strstr(run.err.message, needle) != NULL, config, detail,
                __FILE__, __LINE__);
  fl_test_run_release(&run);
}

int main(void) {
  fl_test_table_init(&table);
  fl_test_column(&table, "id", "l", false, "1|2|3|4");
  fl_test_column(&table, "email", "u", true, "a@example.com|null||x");
  fl_test_metadata(&table, "pii", "yes");
  fl_test_column(&table, "name", "U", true, "Ann|null|\xe6\x97\xa5\xe6\x9c\xac|");
  fl_test_column(&table, "n", "i", true, "1|2|null|4");
  fl_test_table_finish(&table);

  check_run("{\"columns\": [\"email\"], \"salt\": \"s\"}", "email",
            SHA_SA_EXAMPLE "|null|" SHA_S "|" SHA_SX);
  check_run("{\"columns\": [\"email\", \"name\"], \"method\": \"hash\", \"salt\": \"s\"}", "name",
            SHA_SANN "|null|" SHA_S_NIHON "|" SHA_S);
  check_run("{\"columns\": [\"email\"]}", "email",
            SHA_NO_SALT "|null|e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855|"
            "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881");
  check_run("{\"columns\": [\"email\", \"email\"], \"salt\": \"s\"}", "email",
            SHA_TWICE "|null|"
            "5c0a0450260c4158a789ecd6950531363d9e03461b9ff8fb7f64bd2daa9988c6|"
            "31e890cebe563d489c917d93e04c7109aba359da69a6dced35b3ee39c7f334b4");
  check_run("{\"columns\": [\"email\", \"name\"], \"method\": \"redact\"}", "name",
            "***|null|***|***");
  check_run("{\"columns\": [\"email\"], \"method\": \"redact\", \"replacement\": \"\"}", "email",
            "|null||");
  check_run("{\"columns\": [\"name\"], \"method\": \"redact\", \"replacement\": \"X\"}", "email",
            "a@example.com|null||x");

  check_error("{\"columns\": [\"phone\"]}", FL_INVALID_INPUT, "column `phone` to mask not found");
  check_error("{\"columns\": [\"n\"]}", FL_INVALID_INPUT, "column `n` to mask is Int32");
  const char* bad[] = {
      "{\"columns\": [\"email\"], \"method\": \"rot13\"}",
      "{\"columns\": []}",
      "{}",
      "{\"columns\": \"email\"}",
      "{\"columns\": [1]}",
      "{\"columns\": [\"email\"], \"salt\": 5}",
      "{\"columns\": [\"email\"], \"method\": null}",
      "{\"columns\": [\"email\"], \"colour\": \"red\"}",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    check_error(bad[i], FL_INVALID_CONFIG, "");
  }
  fl_test_table_release(&table);
  return fl_test_summary("mask-c");
}

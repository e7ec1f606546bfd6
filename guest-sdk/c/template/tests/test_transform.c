/* Native tests of `{{name}}`: bash {{sdk_dir}}/c/test.sh . (from this directory). */
#include <locale.h>

#include "fastlane.h"
#include "testing.h"

int main(void) {
  setlocale(LC_CTYPE, "C.UTF-8"); /* towupper beyond ASCII, natively (wasm always has it) */
  struct fl_test_table t;
  fl_test_table_init(&t);
  fl_test_column(&t, "id", "l", false, "1|2|3|4");
  fl_test_column(&t, "name", "u", true, "ada|\xc3\xbcmlaut|null|\xe6\x97\xa5\xe6\x9c\xac");
  fl_test_table_finish(&t);

  struct fl_test_run run;
  fl_test_run(&t, "{}", 1, &run);
  CHECK_INT(run.result, FL_OK);
  CHECK(fl_test_same_schema(&run.schema, &t.schema));
  CHECK_STR(fl_test_render(&run, "name"), "ADA|\xc3\x9cMLAUT|null|\xe6\x97\xa5\xe6\x9c\xac");
  CHECK_STR(fl_test_render(&run, "id"), "1|2|3|4");
  fl_test_run_release(&run);

  fl_test_run(&t, "{\"column\": \"nope\"}", 1, &run);
  CHECK_INT(run.result, FL_INVALID_INPUT);
  fl_test_run_release(&run);
  fl_test_run(&t, "{\"col\": \"name\"}", 1, &run);
  CHECK_INT(run.result, FL_INVALID_CONFIG);
  fl_test_run_release(&run);
  fl_test_run(&t, "{\"column\": \"id\"}", 1, &run);
  CHECK_INT(run.result, FL_INVALID_INPUT);
  fl_test_run_release(&run);

  fl_test_table_release(&t);
  return fl_test_summary("{{name}}");
}

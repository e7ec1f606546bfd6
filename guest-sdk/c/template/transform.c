/* `{{name}}`: upper-cases the string column named by the config's `column` (default "name").
 * Nulls stay null; every other column passes through unchanged.
 * The API is in {{sdk_dir}}/c/include/fastlane.h; the guide is {{sdk_dir}}/c/README.md. */
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "fastlane.h"

static const char CONFIG_SCHEMA[] =
    "{\n"
    "  \"type\": \"object\",\n"
    "  \"properties\": {\n"
    "    \"column\": { \"type\": \"string\", \"default\": \"name\", \"description\": \"String "
    "column to upper-case.\" }\n"
    "  },\n"
    "  \"additionalProperties\": false\n"
    "}";

struct uppercase {
  char* column;
};

void fl_describe(struct fl_info* info) {
  info->name = "{{name}}";
  info->version = "0.1.0";
  info->description = "Upper-cases one string column";
  info->config_schema = CONFIG_SCHEMA;
}

int fl_init(const char* config, size_t len, void** state, struct fl_error* err) {
  struct uppercase* u = (struct uppercase*)calloc(1, sizeof(*u));
  if (u == NULL) return fl_error_set(err, FL_FAILED, "out of memory");
  struct fl_config cfg;
  static const char* const keys[] = {"column", NULL};
  int result = fl_config_parse(config, len, &cfg, err); /* errors are invalid-config */
  if (result == FL_OK) result = fl_config_check_keys(&cfg, keys, err);
  if (result == FL_OK) result = fl_config_string(&cfg, "column", "name", &u->column, NULL, err);
  fl_config_free(&cfg);
  if (result != FL_OK) {
    free(u);
    return result;
  }
  fl_log(FL_INFO, "upper-casing column `%s`", u->column);
  *state = u;
  return FL_OK;
}

void fl_free(void* state) {
  struct uppercase* u = (struct uppercase*)state;
  free(u->column);
  free(u);
}

/* Decodes one UTF-8 code point at `s` (of `n` bytes); returns its length (1 for bad bytes). */
static int decode(const unsigned char* s, int64_t n, unsigned* cp) {
  int len = s[0] < 0x80 ? 1 : s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 1;
  if (len > n) len = 1;
  *cp = len == 1 ? s[0] : s[0] & (0xFF >> (len + 1));
  for (int i = 1; i < len; i++) *cp = (*cp << 6) | (s[i] & 0x3F);
  return len;
}

static int encode(unsigned cp, char* out) {
  if (cp < 0x80) return out[0] = (char)cp, 1;
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

int fl_transform(void* state, const struct fl_batch* in, struct ArrowSchema* out_schema,
                 struct ArrowArray* out, struct fl_error* err) {
  struct uppercase* u = (struct uppercase*)state;
  int64_t index;
  int result = fl_require_column(in, u->column, &index, err); /* missing: invalid-input */
  if (result != FL_OK) return result;
  const struct ArrowSchema* field = in->schema->children[index];
  const struct ArrowArrayView* values = in->view->children[index];
  if (values->storage_type != NANOARROW_TYPE_STRING &&
      values->storage_type != NANOARROW_TYPE_LARGE_STRING) {
    char type[64];
    return fl_error_set(err, FL_INVALID_INPUT, "column `%s` is %s, not a string column",
                        u->column, fl_type_name(field, type, sizeof(type)));
  }

  /* A new column of the same type, value by value. */
  struct ArrowArray upper;
  char* buffer = NULL;
  int code = ArrowArrayInitFromSchema(&upper, field, NULL);
  if (code == NANOARROW_OK) code = ArrowArrayStartAppending(&upper);
  for (int64_t i = 0; code == NANOARROW_OK && i < in->num_rows; i++) {
    if (ArrowArrayViewIsNull(values, i)) {
      code = ArrowArrayAppendNull(&upper, 1);
      continue;
    }
    struct ArrowStringView text = ArrowArrayViewGetStringUnsafe(values, i);
    char* grown = (char*)realloc(buffer, (size_t)text.size_bytes * 4 + 1);
    if (grown == NULL) {
      code = ENOMEM;
      break;
    }
    buffer = grown;
    int64_t used = 0;
    for (int64_t at = 0; at < text.size_bytes;) {
      unsigned cp;
      at += decode((const unsigned char*)text.data + at, text.size_bytes - at, &cp);
      used += encode((unsigned)towupper((wint_t)cp), buffer + used);
    }
    struct ArrowStringView result_text = {buffer, used};
    code = ArrowArrayAppendString(&upper, result_text);
  }
  free(buffer);
  if (code == NANOARROW_OK) code = ArrowArrayFinishBuildingDefault(&upper, NULL);
  if (code != NANOARROW_OK) {
    if (upper.release != NULL) upper.release(&upper);
    return fl_error_set(err, FL_FAILED, "cannot build the upper-cased column (error %d)", code);
  }
  /* The input with that one column replaced; the others are shared, not copied. */
  return fl_batch_replace_column(in, index, NULL, &upper, out_schema, out, err);
}

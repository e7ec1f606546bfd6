/* `mask`: hashes or redacts string columns (PII), with the C SDK.
 *
 * Config: {"columns": ["email", "name"], "method": "hash", "salt": "", "replacement": "***"}
 * - `method` "hash" (the default) replaces each value by the lowercase hex SHA-256 of
 *   salt + value; "redact" replaces it by `replacement` (default "***").
 * - Nulls stay null; the schema is unchanged.
 * - A configured column that is missing, or not Utf8 / LargeUtf8, is an invalid-input error
 *   naming it.
 * Same behaviour as the Rust reference (transforms/mask); transforms/README.md specifies it.
 */
#include <stdlib.h>
#include <string.h>

#include "fastlane.h"

static const char CONFIG_SCHEMA[] =
    "{\n"
    "  \"$schema\": \"https://json-schema.org/draft/2020-12/schema\",\n"
    "  \"title\": \"mask\",\n"
    "  \"description\": \"Hashes or redacts string columns; nulls stay null.\",\n"
    "  \"type\": \"object\",\n"
    "  \"properties\": {\n"
    "    \"columns\": {\n"
    "      \"type\": \"array\",\n"
    "      \"items\": { \"type\": \"string\" },\n"
    "      \"minItems\": 1,\n"
    "      \"description\": \"String columns to mask (Utf8, LargeUtf8 or Utf8View).\"\n"
    "    },\n"
    "    \"method\": {\n"
    "      \"enum\": [\"hash\", \"redact\"],\n"
    "      \"default\": \"hash\",\n"
    "      \"description\": \"hash: lowercase hex SHA-256 of salt + value; redact: the "
    "replacement string.\"\n"
    "    },\n"
    "    \"salt\": { \"type\": \"string\", \"default\": \"\", \"description\": \"Prepended to "
    "each value before hashing.\" },\n"
    "    \"replacement\": { \"type\": \"string\", \"default\": \"***\", \"description\": \"What "
    "redact writes instead of each value.\" }\n"
    "  },\n"
    "  \"required\": [\"columns\"],\n"
    "  \"additionalProperties\": false\n"
    "}";

struct mask {
  char** columns;
  size_t n_columns;
  bool redact;
  char* replacement;
  size_t replacement_len;
  struct fl_sha256 salted; /* SHA-256 state after the salt, copied for each value */
};

void fl_describe(struct fl_info* info) {
  info->name = "mask";
  info->version = "0.1.0";
  info->description = "Hashes (salted SHA-256) or redacts string columns";
  info->config_schema = CONFIG_SCHEMA;
}

void fl_free(void* state) {
  struct mask* m = (struct mask*)state;
  if (m == NULL) return;
  fl_strings_free(m->columns, m->n_columns);
  free(m->replacement);
  free(m);
}

static int parse_config(const struct fl_config* cfg, struct mask* m, struct fl_error* err) {
  static const char* const keys[] = {"columns", "method", "salt", "replacement", NULL};
  char* method = NULL;
  char* salt = NULL;
  size_t salt_len = 0;
  int result = fl_config_check_keys(cfg, keys, err);
  if (result == FL_OK) {
    result = fl_config_string_array(cfg, "columns", true, &m->columns, &m->n_columns, err);
  }
  if (result == FL_OK && m->n_columns == 0) {
    result = fl_error_set(err, FL_INVALID_CONFIG, "`columns` must name at least one column");
  }
  if (result == FL_OK) result = fl_config_string(cfg, "method", "hash", &method, NULL, err);
  if (result == FL_OK) {
    if (strcmp(method, "redact") == 0) {
      m->redact = true;
    } else if (strcmp(method, "hash") != 0) {
      result = fl_error_set(err, FL_INVALID_CONFIG,
                            "unknown variant `%s`, expected `hash` or `redact` (key `method`)",
                            method);
    }
  }
  if (result == FL_OK) result = fl_config_string(cfg, "salt", "", &salt, &salt_len, err);
  if (result == FL_OK) {
    result = fl_config_string(cfg, "replacement", "***", &m->replacement, &m->replacement_len,
                              err);
  }
  if (result == FL_OK) {
    fl_sha256_init(&m->salted);
    fl_sha256_update(&m->salted, salt, salt_len);
  }
  free(method);
  free(salt);
  return result;
}

int fl_init(const char* config, size_t len, void** state, struct fl_error* err) {
  struct fl_config cfg;
  int result = fl_config_parse(config, len, &cfg, err);
  if (result != FL_OK) return result;
  struct mask* m = (struct mask*)calloc(1, sizeof(*m));
  if (m == NULL) {
    fl_config_free(&cfg);
    return fl_error_set(err, FL_FAILED, "out of memory");
  }
  result = parse_config(&cfg, m, err);
  fl_config_free(&cfg);
  if (result != FL_OK) {
    fl_free(m);
    return result;
  }
  *state = m;
  return FL_OK;
}

/* The masked copy of a Utf8 / LargeUtf8 column `values`, into `out` (initialised from the
 * column's field). Nulls stay null. */
static int mask_column(const struct mask* m, const struct ArrowArrayView* values,
                       struct ArrowArray* out) {
  int64_t n = values->length;
  size_t width = m->redact ? m->replacement_len : 64;
  NANOARROW_RETURN_NOT_OK(ArrowArrayStartAppending(out));
  NANOARROW_RETURN_NOT_OK(ArrowArrayReserve(out, n));
  NANOARROW_RETURN_NOT_OK(ArrowBufferReserve(ArrowArrayBuffer(out, 2), n * (int64_t)width));
  char hex[65];
  for (int64_t i = 0; i < n; i++) {
    if (ArrowArrayViewIsNull(values, i)) {
      NANOARROW_RETURN_NOT_OK(ArrowArrayAppendNull(out, 1));
      continue;
    }
    struct ArrowStringView value;
    if (m->redact) {
      value.data = m->replacement;
      value.size_bytes = (int64_t)m->replacement_len;
    } else {
      struct ArrowStringView text = ArrowArrayViewGetStringUnsafe(values, i);
      struct fl_sha256 h = m->salted;
      fl_sha256_update(&h, text.data, (size_t)text.size_bytes);
      fl_sha256_final_hex(&h, hex);
      value.data = hex;
      value.size_bytes = 64;
    }
    NANOARROW_RETURN_NOT_OK(ArrowArrayAppendString(out, value));
  }
  return ArrowArrayFinishBuilding(out, NANOARROW_VALIDATION_LEVEL_NONE, NULL);
}

int fl_transform(void* state, const struct fl_batch* in, struct ArrowSchema* out_schema,
                 struct ArrowArray* out, struct fl_error* err) {
  struct mask* m = (struct mask*)state;
  struct ArrowArray* columns =
      (struct ArrowArray*)calloc((size_t)(in->num_columns > 0 ? in->num_columns : 1),
                                 sizeof(struct ArrowArray));
  if (columns == NULL) return fl_error_set(err, FL_FAILED, "out of memory");
  int result = FL_OK;
  for (size_t c = 0; c < m->n_columns && result == FL_OK; c++) {
    const char* name = m->columns[c];
    int64_t index = fl_column_index(in, name);
    if (index < 0) {
      result = fl_error_set(err, FL_INVALID_INPUT, "column `%s` to mask not found", name);
      break;
    }
    const struct ArrowSchema* field = in->schema->children[index];
    struct ArrowSchemaView type;
    if (ArrowSchemaViewInit(&type, field, NULL) != NANOARROW_OK ||
        (type.type != NANOARROW_TYPE_STRING && type.type != NANOARROW_TYPE_LARGE_STRING)) {
      char name_of_type[128];
      result = fl_error_set(err, FL_INVALID_INPUT,
                            "column `%s` to mask is %s, not a string column (Utf8 or LargeUtf8)",
                            name, fl_type_name(field, name_of_type, sizeof(name_of_type)));
      break;
    }
    /* A column listed twice is masked twice, as in the Rust reference. */
    struct ArrowArrayView previous;
    const struct ArrowArrayView* values = in->view->children[index];
    bool again = columns[index].release != NULL;
    if (again) {
      ArrowArrayViewInitFromSchema(&previous, field, NULL);
      ArrowArrayViewSetArray(&previous, &columns[index], NULL);
      values = &previous;
    }
    struct ArrowArray masked;
    masked.release = NULL;
    int code = ArrowArrayInitFromSchema(&masked, field, NULL);
    if (code == NANOARROW_OK) code = mask_column(m, values, &masked);
    if (again) {
      ArrowArrayViewReset(&previous);
      columns[index].release(&columns[index]);
    }
    if (code != NANOARROW_OK) {
      if (masked.release != NULL) masked.release(&masked);
      result = fl_error_set(err, FL_FAILED, "cannot build the masked column `%s` (error %d)",
                            name, code);
      break;
    }
    ArrowArrayMove(&masked, &columns[index]);
  }
  if (result == FL_OK) {
    result = fl_batch_replace_columns(in, columns, out_schema, out, err);
  } else {
    for (int64_t i = 0; i < in->num_columns; i++) {
      if (columns[i].release != NULL) columns[i].release(&columns[i]);
    }
  }
  free(columns);
  return result;
}

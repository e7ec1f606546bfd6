/* `filter`: keeps the rows where one column compares to a value (C SDK).
 *
 * Config: {"column": "amount", "op": "gt", "value": 100}
 * - `op` is one of eq ne gt ge lt le (with a `value`: a JSON number, string or bool, converted
 *   to the column's type, so "2024-01-01" works against a date column), or is_null /
 *   is_not_null (no `value`).
 * - Rows where the comparison is null (a null cell) are dropped.
 * - A number that does not fit the column's integer type (100.5 against an integer column,
 *   300 against UInt8) is compared as Float64.
 * Same behaviour as the Rust reference (transforms/filter); transforms/README.md specifies it.
 */
#include <stdlib.h>
#include <string.h>

#include "fastlane.h"

static const char CONFIG_SCHEMA[] =
    "{\n"
    "  \"$schema\": \"https://json-schema.org/draft/2020-12/schema\",\n"
    "  \"title\": \"filter\",\n"
    "  \"description\": \"Keeps the rows where `column` compares to `value` with `op`; rows "
    "where the comparison is null are dropped.\",\n"
    "  \"type\": \"object\",\n"
    "  \"properties\": {\n"
    "    \"column\": { \"type\": \"string\", \"description\": \"Column to test.\" },\n"
    "    \"op\": {\n"
    "      \"enum\": [\"eq\", \"ne\", \"gt\", \"ge\", \"lt\", \"le\", \"is_null\", "
    "\"is_not_null\"],\n"
    "      \"description\": \"Comparison; is_null and is_not_null take no value.\"\n"
    "    },\n"
    "    \"value\": {\n"
    "      \"type\": [\"number\", \"string\", \"boolean\"],\n"
    "      \"description\": \"Value to compare with, converted to the column's type.\"\n"
    "    }\n"
    "  },\n"
    "  \"required\": [\"column\", \"op\"],\n"
    "  \"additionalProperties\": false,\n"
    "  \"if\": { \"properties\": { \"op\": { \"enum\": [\"is_null\", \"is_not_null\"] } } },\n"
    "  \"then\": { \"not\": { \"required\": [\"value\"] } },\n"
    "  \"else\": { \"required\": [\"value\"] }\n"
    "}";

enum op { OP_EQ, OP_NE, OP_GT, OP_GE, OP_LT, OP_LE, OP_IS_NULL, OP_IS_NOT_NULL };
static const char* const OP_NAMES[] = {"eq", "ne", "gt", "ge", "lt", "le", "is_null",
                                       "is_not_null", NULL};

/* Which orderings (value vs comparand: less, equal, greater = bits 0, 1, 2) each op keeps. */
static const uint8_t OP_KEEPS[] = {0x2, 0x5, 0x4, 0x6, 0x1, 0x3};

struct filter {
  char* column;
  enum op op;
  char* text;      /* the value as text (a JSON number as serde_json prints it) */
  size_t text_len;
  bool is_number;  /* the value was a JSON number */
};

void fl_describe(struct fl_info* info) {
  info->name = "filter";
  info->version = "0.1.0";
  info->description = "Keeps the rows where a column compares to a value";
  info->config_schema = CONFIG_SCHEMA;
}

void fl_free(void* state) {
  struct filter* f = (struct filter*)state;
  if (f == NULL) return;
  free(f->column);
  free(f->text);
  free(f);
}

/* The value's text, as the Rust reference compares it: strings as they are, numbers as
 * serde_json prints them, booleans as true/false. */
static int value_text(yyjson_val* value, struct filter* f, struct fl_error* err) {
  char number[32];
  const char* text;
  size_t len;
  if (yyjson_is_num(value)) {
    len = fl_json_number_text(value, number);
    text = number;
    f->is_number = true;
  } else if (yyjson_is_str(value)) {
    text = yyjson_get_str(value);
    len = yyjson_get_len(value);
  } else if (yyjson_is_bool(value)) {
    text = yyjson_get_bool(value) ? "true" : "false";
    len = strlen(text);
  } else {
    return fl_error_set(err, FL_INVALID_CONFIG,
                        "`value` must be a number, string or bool, got %s",
                        yyjson_is_arr(value) ? "an array" : "an object");
  }
  f->text = (char*)malloc(len + 1);
  if (f->text == NULL) return fl_error_set(err, FL_FAILED, "out of memory");
  memcpy(f->text, text, len);
  f->text[len] = '\0';
  f->text_len = len;
  return FL_OK;
}

static int parse_config(const struct fl_config* cfg, struct filter* f, struct fl_error* err) {
  static const char* const keys[] = {"column", "op", "value", NULL};
  int result = fl_config_check_keys(cfg, keys, err);
  if (result == FL_OK) result = fl_config_string(cfg, "column", NULL, &f->column, NULL, err);
  if (result != FL_OK) return result;

  yyjson_val* op = fl_config_get(cfg, "op");
  if (op == NULL) return fl_error_set(err, FL_INVALID_CONFIG, "missing field `op`");
  int found = -1;
  for (int i = 0; OP_NAMES[i] != NULL && yyjson_is_str(op); i++) {
    if (strcmp(yyjson_get_str(op), OP_NAMES[i]) == 0) found = i;
  }
  if (found < 0) {
    return fl_error_set(err, FL_INVALID_CONFIG,
                        "`op` must be one of eq, ne, gt, ge, lt, le, is_null, is_not_null%s%s%s",
                        yyjson_is_str(op) ? ", got \"" : "", yyjson_is_str(op) ? yyjson_get_str(op) : "",
                        yyjson_is_str(op) ? "\"" : "");
  }
  f->op = (enum op)found;

  yyjson_val* value = fl_config_get(cfg, "value");
  bool has_value = value != NULL && !yyjson_is_null(value);
  bool takes_value = f->op != OP_IS_NULL && f->op != OP_IS_NOT_NULL;
  if (takes_value && !has_value) {
    return fl_error_set(err, FL_INVALID_CONFIG,
                        "`op` \"%s\" needs a `value` (number, string or bool)", OP_NAMES[f->op]);
  }
  if (!takes_value && has_value) {
    return fl_error_set(err, FL_INVALID_CONFIG, "`op` \"%s\" takes no `value`",
                        OP_NAMES[f->op]);
  }
  return has_value ? value_text(value, f, err) : FL_OK;
}

int fl_init(const char* config, size_t len, void** state, struct fl_error* err) {
  struct fl_config cfg;
  int result = fl_config_parse(config, len, &cfg, err);
  if (result != FL_OK) return result;
  struct filter* f = (struct filter*)calloc(1, sizeof(*f));
  if (f == NULL) {
    fl_config_free(&cfg);
    return fl_error_set(err, FL_FAILED, "out of memory");
  }
  result = parse_config(&cfg, f, err);
  fl_config_free(&cfg);
  if (result != FL_OK) {
    fl_free(f);
    return result;
  }
  *state = f;
  return FL_OK;
}

/* ---- the comparison -------------------------------------------------------------------- */

/* The config's value converted for one column type. */
enum kind { K_INT, K_UINT, K_F64, K_F32, K_BYTES, K_BOOL };
struct comparand {
  enum kind kind;
  bool as_float; /* an integer column compared as Float64 */
  int64_t i;
  uint64_t u;
  double d;
  float f;
  bool b;
  const uint8_t* bytes; /* K_BYTES: the text itself */
  size_t len;
};

/* IEEE 754 total order, as Rust's f64::total_cmp (and Arrow's comparison kernels):
 * -NaN < -inf < ... < -0.0 < 0.0 < ... < inf < NaN. */
static inline int64_t key64(double value) {
  int64_t bits;
  memcpy(&bits, &value, sizeof(bits));
  return bits ^ (int64_t)((uint64_t)(bits >> 63) >> 1);
}
static inline int32_t key32(float value) {
  int32_t bits;
  memcpy(&bits, &value, sizeof(bits));
  return bits ^ (int32_t)((uint32_t)(bits >> 31) >> 1);
}

static int cannot_compare(const struct filter* f, const struct ArrowSchema* field,
                          const char* why, struct fl_error* err) {
  char type[128];
  fl_type_name(field, type, sizeof(type));
  if (why != NULL) {
    return fl_error_set(err, FL_INVALID_CONFIG,
                        "`value` \"%s\" cannot be compared with column `%s` of type %s: %s",
                        f->text, f->column, type, why);
  }
  return fl_error_set(err, FL_INVALID_CONFIG,
                      "`value` \"%s\" cannot be compared with column `%s` of type %s: Cast "
                      "error: Cannot cast string '%s' to value of %s type",
                      f->text, f->column, type, f->text, type);
}

static int convert(const struct filter* f, const struct ArrowSchema* field, enum ArrowType type,
                   struct comparand* c, struct fl_error* err) {
  memset(c, 0, sizeof(*c));
  const char* t = f->text;
  size_t n = f->text_len;
  bool ok;
  switch (type) {
    case NANOARROW_TYPE_INT8:
    case NANOARROW_TYPE_INT16:
    case NANOARROW_TYPE_INT32:
    case NANOARROW_TYPE_INT64: {
      int bits = type == NANOARROW_TYPE_INT8 ? 8 : type == NANOARROW_TYPE_INT16 ? 16
               : type == NANOARROW_TYPE_INT32 ? 32 : 64;
      int64_t max = bits == 64 ? INT64_MAX : (int64_t)((UINT64_C(1) << (bits - 1)) - 1);
      c->kind = K_INT;
      ok = fl_parse_int(t, n, -max - 1, max, &c->i);
      break;
    }
    case NANOARROW_TYPE_UINT8:
    case NANOARROW_TYPE_UINT16:
    case NANOARROW_TYPE_UINT32:
    case NANOARROW_TYPE_UINT64: {
      int bits = type == NANOARROW_TYPE_UINT8 ? 8 : type == NANOARROW_TYPE_UINT16 ? 16
               : type == NANOARROW_TYPE_UINT32 ? 32 : 64;
      uint64_t max = bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
      c->kind = K_UINT;
      ok = fl_parse_uint(t, n, max, &c->u);
      break;
    }
    case NANOARROW_TYPE_DOUBLE:
      c->kind = K_F64;
      ok = fl_parse_double(t, n, &c->d);
      break;
    case NANOARROW_TYPE_FLOAT:
      c->kind = K_F32;
      ok = fl_parse_float(t, n, &c->f);
      break;
    case NANOARROW_TYPE_STRING:
    case NANOARROW_TYPE_LARGE_STRING:
    case NANOARROW_TYPE_BINARY:
    case NANOARROW_TYPE_LARGE_BINARY:
      c->kind = K_BYTES;
      c->bytes = (const uint8_t*)t;
      c->len = n;
      ok = true;
      break;
    case NANOARROW_TYPE_BOOL:
      c->kind = K_BOOL;
      ok = fl_parse_bool(t, n, &c->b);
      break;
    case NANOARROW_TYPE_DATE32: {
      int32_t days;
      c->kind = K_INT;
      ok = fl_parse_date32(t, n, &days);
      c->i = days;
      break;
    }
    default:
      return cannot_compare(f, field, "the C filter does not compare columns of this type", err);
  }
  if (ok) return FL_OK;
  bool integer = c->kind == K_INT && type != NANOARROW_TYPE_DATE32;
  if (f->is_number && (integer || c->kind == K_UINT) && fl_parse_double(t, n, &c->d)) {
    c->as_float = true; /* a number that does not fit the integer type */
    return FL_OK;
  }
  if (type == NANOARROW_TYPE_BOOL) {
    /* arrow's boolean cast names the value lower-cased and trimmed. */
    char why[256];
    size_t start = 0, end = n;
    while (start < end && (t[start] == ' ' || (t[start] >= '\t' && t[start] <= '\r'))) start++;
    while (end > start && (t[end - 1] == ' ' || (t[end - 1] >= '\t' && t[end - 1] <= '\r'))) end--;
    int len = snprintf(why, sizeof(why), "Cast error: Cannot cast value '");
    for (size_t i = start; i < end && len < 200; i++) {
      char ch = t[i];
      why[len++] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
    }
    snprintf(why + len, sizeof(why) - (size_t)len, "' to value of Boolean type");
    return cannot_compare(f, field, why, err);
  }
  return cannot_compare(f, field, NULL, err);
}

/* keep[i] = the op holds for row i, from the ordering `ORD` (-1, 0, 1) of value i. */
#define SCAN(ORD)                                          \
  for (int64_t i = 0; i < length; i++) {                   \
    int ord = (ORD);                                       \
    keep[i] = (uint8_t)((keeps >> (ord + 1)) & 1);         \
  }
#define CMP(a, b) (((a) > (b)) - ((a) < (b)))

static void compare_values(const struct ArrowArrayView* v, enum ArrowType type,
                           const struct comparand* c, uint8_t keeps, uint8_t* keep) {
  int64_t length = v->length;
  const void* data = v->buffer_views[1].data.data;
  int64_t off = v->offset;
  if (c->as_float) {
    int64_t x = key64(c->d);
    switch (type) {
      case NANOARROW_TYPE_INT8: SCAN(CMP(key64((double)((const int8_t*)data)[off + i]), x)); return;
      case NANOARROW_TYPE_INT16: SCAN(CMP(key64((double)((const int16_t*)data)[off + i]), x)); return;
      case NANOARROW_TYPE_INT32: SCAN(CMP(key64((double)((const int32_t*)data)[off + i]), x)); return;
      case NANOARROW_TYPE_INT64: SCAN(CMP(key64((double)((const int64_t*)data)[off + i]), x)); return;
      case NANOARROW_TYPE_UINT8: SCAN(CMP(key64((double)((const uint8_t*)data)[off + i]), x)); return;
      case NANOARROW_TYPE_UINT16: SCAN(CMP(key64((double)((const uint16_t*)data)[off + i]), x)); return;
      case NANOARROW_TYPE_UINT32: SCAN(CMP(key64((double)((const uint32_t*)data)[off + i]), x)); return;
      default: SCAN(CMP(key64((double)((const uint64_t*)data)[off + i]), x)); return;
    }
  }
  switch (type) {
    case NANOARROW_TYPE_INT8: SCAN(CMP((int64_t)((const int8_t*)data)[off + i], c->i)); return;
    case NANOARROW_TYPE_INT16: SCAN(CMP((int64_t)((const int16_t*)data)[off + i], c->i)); return;
    case NANOARROW_TYPE_INT32:
    case NANOARROW_TYPE_DATE32: SCAN(CMP((int64_t)((const int32_t*)data)[off + i], c->i)); return;
    case NANOARROW_TYPE_INT64: SCAN(CMP(((const int64_t*)data)[off + i], c->i)); return;
    case NANOARROW_TYPE_UINT8: SCAN(CMP((uint64_t)((const uint8_t*)data)[off + i], c->u)); return;
    case NANOARROW_TYPE_UINT16: SCAN(CMP((uint64_t)((const uint16_t*)data)[off + i], c->u)); return;
    case NANOARROW_TYPE_UINT32: SCAN(CMP((uint64_t)((const uint32_t*)data)[off + i], c->u)); return;
    case NANOARROW_TYPE_UINT64: SCAN(CMP(((const uint64_t*)data)[off + i], c->u)); return;
    case NANOARROW_TYPE_DOUBLE: {
      int64_t x = key64(c->d);
      SCAN(CMP(key64(((const double*)data)[off + i]), x));
      return;
    }
    case NANOARROW_TYPE_FLOAT: {
      int32_t x = key32(c->f);
      SCAN(CMP(key32(((const float*)data)[off + i]), x));
      return;
    }
    case NANOARROW_TYPE_BOOL: {
      const uint8_t* bits = (const uint8_t*)data;
      int x = c->b;
      SCAN((int)((bits[(off + i) >> 3] >> ((off + i) & 7)) & 1) - x);
      return;
    }
    default: { /* Utf8, LargeUtf8, Binary, LargeBinary: bytes, then length */
      bool large = type == NANOARROW_TYPE_LARGE_STRING || type == NANOARROW_TYPE_LARGE_BINARY;
      const uint8_t* bytes = v->buffer_views[2].data.as_uint8;
      for (int64_t i = 0; i < length; i++) {
        int64_t start, end;
        if (large) {
          start = ((const int64_t*)data)[off + i];
          end = ((const int64_t*)data)[off + i + 1];
        } else {
          start = ((const int32_t*)data)[off + i];
          end = ((const int32_t*)data)[off + i + 1];
        }
        size_t len = (size_t)(end - start);
        size_t common = len < c->len ? len : c->len;
        int ord = common > 0 ? memcmp(bytes + start, c->bytes, common) : 0;
        ord = ord != 0 ? (ord > 0) - (ord < 0) : CMP(len, c->len);
        keep[i] = (uint8_t)((keeps >> (ord + 1)) & 1);
      }
      return;
    }
  }
}

/* Drops the rows whose value is null. */
static void drop_nulls(const struct ArrowArrayView* v, uint8_t* keep) {
  const uint8_t* validity = v->buffer_views[0].data.as_uint8;
  if (v->null_count == 0 || validity == NULL) return;
  for (int64_t i = 0; i < v->length; i++) {
    int64_t bit = v->offset + i;
    keep[i] &= (uint8_t)((validity[bit >> 3] >> (bit & 7)) & 1);
  }
}

int fl_transform(void* state, const struct fl_batch* in, struct ArrowSchema* out_schema,
                 struct ArrowArray* out, struct fl_error* err) {
  struct filter* f = (struct filter*)state;
  int64_t index;
  int result = fl_require_column(in, f->column, &index, err);
  if (result != FL_OK) return result;
  const struct ArrowArrayView* values = in->view->children[index];
  const struct ArrowSchema* field = in->schema->children[index];

  uint8_t* keep = (uint8_t*)malloc((size_t)(in->num_rows > 0 ? in->num_rows : 1));
  if (keep == NULL) return fl_error_set(err, FL_FAILED, "out of memory");
  if (f->op == OP_IS_NULL || f->op == OP_IS_NOT_NULL) {
    uint8_t want_null = f->op == OP_IS_NULL;
    for (int64_t i = 0; i < in->num_rows; i++) {
      keep[i] = (uint8_t)(ArrowArrayViewIsNull(values, i) == want_null);
    }
  } else {
    struct ArrowSchemaView type;
    struct comparand c;
    if (ArrowSchemaViewInit(&type, field, NULL) != NANOARROW_OK) {
      result = fl_error_set(err, FL_INVALID_INPUT, "column `%s` has an unreadable type",
                            f->column);
    } else {
      result = convert(f, field, type.type, &c, err);
    }
    if (result != FL_OK) {
      free(keep);
      return result;
    }
    compare_values(values, type.type, &c, OP_KEEPS[f->op], keep);
    drop_nulls(values, keep);
  }
  result = fl_batch_filter(in, keep, out_schema, out, err);
  free(keep);
  return result;
}

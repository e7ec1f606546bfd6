/* Native test helpers; see testing.h. */
#include "testing.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "nanoarrow/nanoarrow_ipc.h"

static int passed, failed;

bool fl_test_check(bool ok, const char* what, const char* detail, const char* file, int line) {
  if (ok) {
    passed++;
  } else {
    failed++;
    fprintf(stderr, "FAIL %s:%d: %s%s%s\n", file, line, what, detail ? ": " : "",
            detail ? detail : "");
  }
  return ok;
}

int fl_test_summary(const char* name) {
  printf("%s: %d passed, %d failed\n", name, passed, failed);
  return failed == 0 ? 0 : 1;
}

static void die(const char* what) {
  fprintf(stderr, "test setup failed: %s\n", what);
  abort();
}
#define OK(expr) \
  do {           \
    if ((expr) != NANOARROW_OK) die(#expr); \
  } while (0)

void fl_test_table_init(struct fl_test_table* t) {
  OK(ArrowSchemaInitFromType(&t->schema, NANOARROW_TYPE_STRUCT));
  OK(ArrowSchemaAllocateChildren(&t->schema, 0));
  memset(&t->array, 0, sizeof(t->array)); /* private_data collects the columns until finish */
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

static void append_value(struct ArrowArray* a, const struct ArrowSchemaView* type,
                         const char* text) {
  if (strcmp(text, "null") == 0) {
    OK(ArrowArrayAppendNull(a, 1));
    return;
  }
  switch (type->type) {
    case NANOARROW_TYPE_BOOL:
      OK(ArrowArrayAppendInt(a, strcmp(text, "true") == 0));
      return;
    case NANOARROW_TYPE_UINT8:
    case NANOARROW_TYPE_UINT16:
    case NANOARROW_TYPE_UINT32:
    case NANOARROW_TYPE_UINT64:
      OK(ArrowArrayAppendUInt(a, strtoull(text, NULL, 10)));
      return;
    case NANOARROW_TYPE_FLOAT:
    case NANOARROW_TYPE_DOUBLE:
      OK(ArrowArrayAppendDouble(a, strcmp(text, "-nan") == 0 ? -NAN : strtod(text, NULL)));
      return;
    case NANOARROW_TYPE_STRING:
    case NANOARROW_TYPE_LARGE_STRING:
      OK(ArrowArrayAppendString(a, ArrowCharView(text)));
      return;
    case NANOARROW_TYPE_BINARY:
    case NANOARROW_TYPE_LARGE_BINARY: {
      uint8_t bytes[1024];
      size_t n = strlen(text) / 2;
      for (size_t i = 0; i < n; i++) {
        bytes[i] = (uint8_t)(hex_value(text[2 * i]) * 16 + hex_value(text[2 * i + 1]));
      }
      struct ArrowBufferView view = {{bytes}, (int64_t)n};
      OK(ArrowArrayAppendBytes(a, view));
      return;
    }
    case NANOARROW_TYPE_DECIMAL128: {
      struct ArrowDecimal d;
      ArrowDecimalInit(&d, 128, type->decimal_precision, type->decimal_scale);
      OK(ArrowDecimalSetDigits(&d, ArrowCharView(text)));
      OK(ArrowArrayAppendDecimal(a, &d));
      return;
    }
    default: /* integers, dates, times, timestamps: the storage integer */
      OK(ArrowArrayAppendInt(a, strtoll(text, NULL, 10)));
      return;
  }
}

void fl_test_column(struct fl_test_table* t, const char* name, const char* format,
                    bool nullable, const char* values) {
  int64_t n = t->schema.n_children;
  /* Grow the children by one, keeping the others. */
  struct ArrowSchema** old = t->schema.children;
  struct ArrowSchema** grown = (struct ArrowSchema**)malloc((size_t)(n + 1) * sizeof(void*));
  if (n > 0) memcpy(grown, old, (size_t)n * sizeof(void*));
  grown[n] = (struct ArrowSchema*)malloc(sizeof(struct ArrowSchema));
  t->schema.children = grown;
  t->schema.n_children = n + 1;
  free(old);
  struct ArrowSchema* field = grown[n];
  ArrowSchemaInit(field);
  OK(ArrowSchemaSetFormat(field, format));
  OK(ArrowSchemaSetName(field, name));
  field->flags = nullable ? ARROW_FLAG_NULLABLE : 0;

  struct ArrowSchemaView type;
  OK(ArrowSchemaViewInit(&type, field, NULL));
  /* Columns are kept as separate arrays until fl_test_table_finish. */
  struct ArrowArray* column = (struct ArrowArray*)malloc(sizeof(struct ArrowArray));
  OK(ArrowArrayInitFromSchema(column, field, NULL));
  OK(ArrowArrayStartAppending(column));
  if (values != NULL) { /* NULL: no rows */
    char* copy = strdup(values);
    char* start = copy;
    for (;;) {
      char* bar = strchr(start, '|');
      if (bar != NULL) *bar = '\0';
      append_value(column, &type, start);
      if (bar == NULL) break;
      start = bar + 1;
    }
    free(copy);
  }
  OK(ArrowArrayFinishBuildingDefault(column, NULL));
  /* Stash the column in the array under construction. */
  struct ArrowArray** columns = (struct ArrowArray**)t->array.private_data;
  columns = (struct ArrowArray**)realloc(columns, (size_t)(n + 1) * sizeof(void*));
  columns[n] = column;
  t->array.private_data = columns;
}

void fl_test_metadata(struct fl_test_table* t, const char* key, const char* value) {
  struct ArrowSchema* field = t->schema.children[t->schema.n_children - 1];
  struct ArrowBuffer buffer;
  OK(ArrowMetadataBuilderInit(&buffer, field->metadata));
  OK(ArrowMetadataBuilderAppend(&buffer, ArrowCharView(key), ArrowCharView(value)));
  OK(ArrowSchemaSetMetadata(field, (const char*)buffer.data));
  ArrowBufferReset(&buffer);
}

void fl_test_table_finish(struct fl_test_table* t) {
  struct ArrowArray** columns = (struct ArrowArray**)t->array.private_data;
  int64_t n = t->schema.n_children;
  OK(ArrowArrayInitFromType(&t->array, NANOARROW_TYPE_STRUCT));
  OK(ArrowArrayAllocateChildren(&t->array, n));
  int64_t length = n > 0 ? columns[0]->length : 0;
  for (int64_t i = 0; i < n; i++) {
    if (columns[i]->length != length) die("columns of different lengths");
    ArrowArrayMove(columns[i], t->array.children[i]);
    free(columns[i]);
  }
  free(columns);
  t->array.length = length;
  t->array.null_count = 0;
  OK(ArrowArrayFinishBuildingDefault(&t->array, NULL));
}

void fl_test_table_release(struct fl_test_table* t) {
  if (t->array.release != NULL) t->array.release(&t->array);
  if (t->schema.release != NULL) t->schema.release(&t->schema);
}

/* Rows [start, end) of the table as a new schema and array (filtered by the SDK itself). */
static void chunk(struct fl_test_table* t, int64_t start, int64_t end, struct ArrowSchema* schema,
                  struct ArrowArray* array) {
  struct fl_error err;
  struct ArrowBuffer bytes;
  ArrowBufferInit(&bytes);
  if (fl_ipc_encode(&t->schema, &t->array, &bytes, &err) != FL_OK) die(err.message);
  struct ArrowSchema s;
  struct ArrowArray a;
  if (fl_ipc_decode_first(bytes.data, (size_t)bytes.size_bytes, &s, &a, &err) != FL_OK) {
    die(err.message);
  }
  ArrowBufferReset(&bytes);
  struct fl_batch batch;
  if (fl_batch_make(&batch, &s, &a, &err) != FL_OK) die(err.message);
  uint8_t* keep = (uint8_t*)calloc((size_t)(t->array.length + 1), 1);
  for (int64_t i = start; i < end; i++) keep[i] = 1;
  if (fl_batch_filter(&batch, keep, schema, array, &err) != FL_OK) die(err.message);
  fl_batch_release(&batch);
  free(keep);
}

void fl_test_encode(struct fl_test_table* t, int batches, struct ArrowBuffer* out) {
  struct ArrowIpcEncoder encoder;
  struct ArrowBuffer body;
  OK(ArrowIpcEncoderInit(&encoder));
  ArrowBufferInit(&body);
  OK(ArrowIpcEncoderEncodeSchema(&encoder, &t->schema, NULL));
  OK(ArrowIpcEncoderFinalizeBuffer(&encoder, 1, out));
  int64_t n = t->array.length;
  for (int b = 0; b < batches; b++) {
    int64_t start = n * b / batches, end = n * (b + 1) / batches;
    struct ArrowSchema schema;
    struct ArrowArray array;
    chunk(t, start, end, &schema, &array);
    struct ArrowArrayView view;
    OK(ArrowArrayViewInitFromSchema(&view, &schema, NULL));
    OK(ArrowArrayViewSetArray(&view, &array, NULL));
    body.size_bytes = 0;
    OK(ArrowIpcEncoderEncodeSimpleRecordBatch(&encoder, &view, &body, NULL));
    OK(ArrowIpcEncoderFinalizeBuffer(&encoder, 1, out));
    OK(ArrowBufferAppend(out, body.data, body.size_bytes));
    ArrowArrayViewReset(&view);
    array.release(&array);
    schema.release(&schema);
  }
  static const uint8_t eos[8] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
  OK(ArrowBufferAppend(out, eos, 8));
  ArrowBufferReset(&body);
  ArrowIpcEncoderReset(&encoder);
}

/* ---- running a transform ----------------------------------------------------------------- */

#define MAX_BATCHES 256

struct decoded {
  int64_t n;
  struct ArrowArray arrays[MAX_BATCHES];
};

/* Appends every batch of the IPC stream `bytes` to `out`; sets `schema` from the first. */
static void decode_all(const uint8_t* bytes, size_t len, struct ArrowSchema* schema,
                       struct decoded* out) {
  struct ArrowBuffer input;
  ArrowBufferInit(&input);
  OK(ArrowBufferAppend(&input, bytes, (int64_t)len));
  struct ArrowIpcInputStream stream;
  OK(ArrowIpcInputStreamInitBuffer(&stream, &input));
  struct ArrowArrayStream reader;
  OK(ArrowIpcArrayStreamReaderInit(&reader, &stream, NULL));
  struct ArrowSchema s;
  if (reader.get_schema(&reader, &s) != 0) die(reader.get_last_error(&reader));
  if (schema->release == NULL) {
    ArrowSchemaMove(&s, schema);
  } else {
    s.release(&s);
  }
  for (;;) {
    struct ArrowArray a;
    if (reader.get_next(&reader, &a) != 0) die(reader.get_last_error(&reader));
    if (a.release == NULL) break;
    if (out->n == MAX_BATCHES) die("too many output batches");
    ArrowArrayMove(&a, &out->arrays[out->n++]);
  }
  reader.release(&reader);
}

static struct decoded run_batches;

void fl_test_run(struct fl_test_table* t, const char* config, int batches,
                 struct fl_test_run* run) {
  memset(run, 0, sizeof(*run));
  run_batches.n = 0;
  void* state = NULL;
  run->init_result = fl_init(config, strlen(config), &state, &run->err);
  run->result = run->init_result;
  if (run->init_result != FL_OK) return;
  int64_t n = t->array.length;
  for (int b = 0; b < batches && run->result == FL_OK; b++) {
    /* One call per batch, as the host does. */
    struct fl_test_table part;
    struct ArrowBuffer bytes;
    ArrowBufferInit(&bytes);
    int64_t start = n * b / batches, end = n * (b + 1) / batches;
    struct ArrowSchema schema;
    struct ArrowArray array;
    chunk(t, start, end, &schema, &array);
    part.array = array;
    part.schema = schema;
    fl_test_encode(&part, 1, &bytes);
    array.release(&array);
    schema.release(&schema);
    uint8_t* output = NULL;
    size_t output_len = 0;
    run->result = fl_transform_stream(state, bytes.data, (size_t)bytes.size_bytes, &output,
                                      &output_len, &run->err);
    bytes.data = NULL; /* fl_transform_stream freed it */
    ArrowBufferReset(&bytes);
    if (run->result == FL_OK && output_len > 0) {
      decode_all(output, output_len, &run->schema, &run_batches);
      run->output_batches = run_batches.n;
    }
    free(output);
  }
  fl_free(state);
}

void fl_test_run_release(struct fl_test_run* run) {
  for (int64_t i = 0; i < run_batches.n; i++) run_batches.arrays[i].release(&run_batches.arrays[i]);
  run_batches.n = 0;
  if (run->schema.release != NULL) run->schema.release(&run->schema);
}

static void render_cell(const struct ArrowArrayView* v, const struct ArrowSchemaView* type,
                        int64_t i, char* out, size_t size) {
  if (ArrowArrayViewIsNull(v, i)) {
    snprintf(out, size, "null");
    return;
  }
  switch (type->type) {
    case NANOARROW_TYPE_BOOL:
      snprintf(out, size, "%s", ArrowArrayViewGetIntUnsafe(v, i) ? "true" : "false");
      return;
    case NANOARROW_TYPE_UINT8:
    case NANOARROW_TYPE_UINT16:
    case NANOARROW_TYPE_UINT32:
    case NANOARROW_TYPE_UINT64:
      snprintf(out, size, "%" PRIu64, ArrowArrayViewGetUIntUnsafe(v, i));
      return;
    case NANOARROW_TYPE_FLOAT:
    case NANOARROW_TYPE_DOUBLE: {
      double d = ArrowArrayViewGetDoubleUnsafe(v, i);
      if (isnan(d)) snprintf(out, size, signbit(d) ? "-nan" : "nan");
      else if (d == 0 && signbit(d)) snprintf(out, size, "-0");
      else snprintf(out, size, "%.17g", d);
      return;
    }
    case NANOARROW_TYPE_STRING:
    case NANOARROW_TYPE_LARGE_STRING: {
      struct ArrowStringView s = ArrowArrayViewGetStringUnsafe(v, i);
      snprintf(out, size, "%.*s", (int)s.size_bytes, s.data);
      return;
    }
    case NANOARROW_TYPE_BINARY:
    case NANOARROW_TYPE_LARGE_BINARY: {
      struct ArrowBufferView b = ArrowArrayViewGetBytesUnsafe(v, i);
      size_t used = 0;
      for (int64_t k = 0; k < b.size_bytes && used + 3 < size; k++) {
        used += (size_t)snprintf(out + used, size - used, "%02x", b.data.as_uint8[k]);
      }
      if (b.size_bytes == 0) out[0] = '\0';
      return;
    }
    case NANOARROW_TYPE_DECIMAL128: {
      struct ArrowDecimal d;
      ArrowDecimalInit(&d, 128, type->decimal_precision, type->decimal_scale);
      ArrowArrayViewGetDecimalUnsafe(v, i, &d);
      struct ArrowBuffer digits;
      ArrowBufferInit(&digits);
      OK(ArrowDecimalAppendDigitsToBuffer(&d, &digits));
      snprintf(out, size, "%.*s", (int)digits.size_bytes, (const char*)digits.data);
      ArrowBufferReset(&digits);
      return;
    }
    default:
      snprintf(out, size, "%" PRId64, ArrowArrayViewGetIntUnsafe(v, i));
      return;
  }
}

const char* fl_test_render_view(const struct ArrowArrayView* view, char* buf, size_t size) {
  struct ArrowSchemaView type;
  memset(&type, 0, sizeof(type));
  type.type = view->storage_type;
  size_t used = 0;
  buf[0] = '\0';
  for (int64_t i = 0; i < view->length && used < size; i++) {
    char cell[1024];
    render_cell(view, &type, i, cell, sizeof(cell));
    used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? "|" : "", cell);
  }
  return buf;
}

const char* fl_test_render(struct fl_test_run* run, const char* name) {
  run->render[0] = '\0';
  if (run->schema.release == NULL) return "(no output)";
  int64_t index = -1;
  for (int64_t i = 0; i < run->schema.n_children; i++) {
    if (strcmp(run->schema.children[i]->name, name) == 0) index = i;
  }
  if (index < 0) return "(no such column)";
  struct ArrowSchemaView type;
  OK(ArrowSchemaViewInit(&type, run->schema.children[index], NULL));
  size_t used = 0;
  int first = 1;
  for (int64_t b = 0; b < run_batches.n; b++) {
    struct ArrowArrayView view;
    OK(ArrowArrayViewInitFromSchema(&view, run->schema.children[index], NULL));
    OK(ArrowArrayViewSetArray(&view, run_batches.arrays[b].children[index], NULL));
    for (int64_t i = 0; i < view.length && used < sizeof(run->render); i++) {
      char cell[1024];
      render_cell(&view, &type, i, cell, sizeof(cell));
      used += (size_t)snprintf(run->render + used, sizeof(run->render) - used, "%s%s",
                               first ? "" : "|", cell);
      first = 0;
    }
    ArrowArrayViewReset(&view);
  }
  return run->render;
}

static bool same_metadata(const char* a, const char* b) {
  if (a == NULL || b == NULL) return (a == NULL || ArrowMetadataSizeOf(a) <= 4) &&
                                      (b == NULL || ArrowMetadataSizeOf(b) <= 4);
  int64_t na = ArrowMetadataSizeOf(a), nb = ArrowMetadataSizeOf(b);
  return na == nb && memcmp(a, b, (size_t)na) == 0;
}

static bool same_field(const struct ArrowSchema* a, const struct ArrowSchema* b, bool root) {
  const char* why = NULL;
  if (strcmp(a->format, b->format) != 0) why = "format";
  else if (!root && strcmp(a->name ? a->name : "", b->name ? b->name : "") != 0) why = "name";
  else if (!root && (a->flags & ARROW_FLAG_NULLABLE) != (b->flags & ARROW_FLAG_NULLABLE)) why = "nullability";
  else if (!same_metadata(a->metadata, b->metadata)) why = "metadata";
  else if (a->n_children != b->n_children) why = "number of children";
  if (why != NULL) {
    fprintf(stderr, "schemas differ in the %s of `%s` (%s vs %s)\n", why, a->name ? a->name : "",
            a->format, b->format);
    return false;
  }
  for (int64_t i = 0; i < a->n_children; i++) {
    if (!same_field(a->children[i], b->children[i], false)) return false;
  }
  return true;
}

bool fl_test_same_schema(const struct ArrowSchema* a, const struct ArrowSchema* b) {
  return same_field(a, b, true);
}

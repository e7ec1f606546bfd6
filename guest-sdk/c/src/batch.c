/* Batches: errors, column lookup, zero-copy sharing of input columns, output assembly. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastlane.h"
#include "internal.h"

int fl_error_set(struct fl_error* err, enum fl_error_kind kind, const char* format, ...) {
  if (err != NULL) {
    va_list args;
    va_start(args, format);
    vsnprintf(err->message, sizeof(err->message), format, args);
    va_end(args);
    err->kind = kind;
  }
  return (int)kind;
}

int fl_error_from_arrow(struct fl_error* err, enum fl_error_kind kind, const char* what,
                        int code, const struct ArrowError* arrow) {
  const char* detail = arrow != NULL && arrow->message[0] != '\0' ? arrow->message
                                                                   : strerror(code);
  return fl_error_set(err, kind, "%s: %s", what, detail);
}

/* ---- the input batch and the columns shared from it ------------------------------------ */

/* Owns one decoded input batch. Shared column copies hold a reference, so the buffers live
 * until the last of them is released. */
struct fl_batch_owner {
  int64_t refs;
  struct ArrowSchema schema;
  struct ArrowArray array;
  struct ArrowArrayView view;
};

static void owner_unref(struct fl_batch_owner* owner) {
  if (--owner->refs > 0) return;
  ArrowArrayViewReset(&owner->view);
  if (owner->array.release != NULL) owner->array.release(&owner->array);
  if (owner->schema.release != NULL) owner->schema.release(&owner->schema);
  free(owner);
}

int fl_batch_make(struct fl_batch* batch, struct ArrowSchema* schema, struct ArrowArray* array,
                  struct fl_error* err) {
  memset(batch, 0, sizeof(*batch));
  struct fl_batch_owner* owner = (struct fl_batch_owner*)calloc(1, sizeof(*owner));
  if (owner == NULL) return fl_error_set(err, FL_FAILED, "out of memory");
  owner->refs = 1;
  ArrowSchemaMove(schema, &owner->schema);
  ArrowArrayMove(array, &owner->array);

  struct ArrowError error = {{0}};
  int code = ArrowArrayViewInitFromSchema(&owner->view, &owner->schema, &error);
  if (code == NANOARROW_OK) code = ArrowArrayViewSetArray(&owner->view, &owner->array, &error);
  if (code != NANOARROW_OK) {
    owner_unref(owner);
    return fl_error_from_arrow(err, FL_INVALID_INPUT, "cannot read the input batch", code,
                               &error);
  }
  if (owner->view.storage_type != NANOARROW_TYPE_STRUCT) {
    owner_unref(owner);
    return fl_error_set(err, FL_INVALID_INPUT, "the input batch is not a struct array");
  }
  batch->schema = &owner->schema;
  batch->array = &owner->array;
  batch->view = &owner->view;
  batch->num_rows = owner->array.length;
  batch->num_columns = owner->array.n_children;
  batch->owner = owner;
  return FL_OK;
}

void fl_batch_release(struct fl_batch* batch) {
  if (batch->owner != NULL) owner_unref(batch->owner);
  memset(batch, 0, sizeof(*batch));
}

static void shared_release(struct ArrowArray* array) {
  for (int64_t i = 0; i < array->n_children; i++) {
    struct ArrowArray* child = array->children[i];
    if (child->release != NULL) child->release(child);
    free(child);
  }
  free(array->children);
  if (array->dictionary != NULL) {
    if (array->dictionary->release != NULL) array->dictionary->release(array->dictionary);
    free(array->dictionary);
  }
  free((void*)array->buffers);
  owner_unref((struct fl_batch_owner*)array->private_data);
  array->release = NULL;
}

/* `dst` = a copy of `src` pointing at the same buffers, holding a reference on `owner`. */
static int share_array(const struct ArrowArray* src, struct ArrowArray* dst,
                       struct fl_batch_owner* owner) {
  memset(dst, 0, sizeof(*dst));
  dst->length = src->length;
  dst->null_count = src->null_count;
  dst->offset = src->offset;
  dst->n_buffers = src->n_buffers;
  dst->private_data = owner;
  dst->release = shared_release;
  owner->refs++;
  int ok = 1;
  const void** buffers = (const void**)calloc((size_t)(src->n_buffers + 1), sizeof(void*));
  if (buffers == NULL) ok = 0;
  else memcpy(buffers, src->buffers, (size_t)src->n_buffers * sizeof(void*));
  dst->buffers = buffers;
  if (ok && src->n_children > 0) {
    dst->children = (struct ArrowArray**)calloc((size_t)src->n_children, sizeof(void*));
    ok = dst->children != NULL;
    for (int64_t i = 0; ok && i < src->n_children; i++) {
      dst->children[i] = (struct ArrowArray*)calloc(1, sizeof(struct ArrowArray));
      dst->n_children = i + 1;
      ok = dst->children[i] != NULL && share_array(src->children[i], dst->children[i], owner) == 0;
    }
  }
  if (ok && src->dictionary != NULL) {
    dst->dictionary = (struct ArrowArray*)calloc(1, sizeof(struct ArrowArray));
    ok = dst->dictionary != NULL && share_array(src->dictionary, dst->dictionary, owner) == 0;
  }
  if (!ok) {
    shared_release(dst);
    return ENOMEM;
  }
  return 0;
}

int fl_batch_share_column(const struct fl_batch* in, int64_t index, struct ArrowArray* out,
                          struct fl_error* err) {
  if (index < 0 || index >= in->num_columns) {
    return fl_error_set(err, FL_FAILED, "column index %lld out of range (%lld columns)",
                        (long long)index, (long long)in->num_columns);
  }
  if (in->owner == NULL) {
    return fl_error_set(err, FL_FAILED, "batch was not made with fl_batch_make()");
  }
  if (share_array(in->array->children[index], out, in->owner) != 0) {
    return fl_error_set(err, FL_FAILED, "out of memory");
  }
  return FL_OK;
}

/* ---- output struct arrays --------------------------------------------------------------- */

static void struct_release(struct ArrowArray* array) {
  for (int64_t i = 0; i < array->n_children; i++) {
    struct ArrowArray* child = array->children[i];
    if (child->release != NULL) child->release(child);
  }
  free(array->private_data); /* the children structs and the children/buffers arrays */
  array->release = NULL;
}

int fl_struct_array_make(int64_t length, int64_t n_children, struct ArrowArray* out,
                         struct fl_error* err) {
  /* One allocation: buffers[1], children[n], then the n child structs. */
  size_t size = sizeof(void*) + (size_t)n_children * (sizeof(void*) + sizeof(struct ArrowArray));
  char* block = (char*)calloc(1, size);
  if (block == NULL) return fl_error_set(err, FL_FAILED, "out of memory");
  memset(out, 0, sizeof(*out));
  out->length = length;
  out->null_count = 0;
  out->n_buffers = 1;
  out->buffers = (const void**)block;
  out->n_children = n_children;
  out->children = (struct ArrowArray**)(block + sizeof(void*));
  struct ArrowArray* structs =
      (struct ArrowArray*)(block + sizeof(void*) + (size_t)n_children * sizeof(void*));
  for (int64_t i = 0; i < n_children; i++) out->children[i] = &structs[i];
  out->private_data = block;
  out->release = struct_release;
  return FL_OK;
}

/* ---- columns ---------------------------------------------------------------------------- */

int64_t fl_column_index(const struct fl_batch* batch, const char* name) {
  for (int64_t i = 0; i < batch->schema->n_children; i++) {
    const char* field = batch->schema->children[i]->name;
    if (field != NULL && strcmp(field, name) == 0) return i;
  }
  return -1;
}

int fl_require_column(const struct fl_batch* batch, const char* name, int64_t* index,
                      struct fl_error* err) {
  *index = fl_column_index(batch, name);
  if (*index >= 0) return FL_OK;
  char present[1024] = "";
  size_t used = 0;
  for (int64_t i = 0; i < batch->schema->n_children && used < sizeof(present); i++) {
    used += (size_t)snprintf(present + used, sizeof(present) - used, "%s%s", i ? ", " : "",
                             batch->schema->children[i]->name);
  }
  return fl_error_set(err, FL_INVALID_INPUT, "column `%s` not found (columns: %s)", name,
                      present);
}

int fl_batch_passthrough(const struct fl_batch* in, struct ArrowSchema* out_schema,
                         struct ArrowArray* out, struct fl_error* err) {
  return fl_batch_replace_columns(in, NULL, out_schema, out, err);
}

int fl_batch_replace_columns(const struct fl_batch* in, struct ArrowArray* columns,
                             struct ArrowSchema* out_schema, struct ArrowArray* out,
                             struct fl_error* err) {
  out_schema->release = NULL;
  out->release = NULL;
  int result = FL_OK;
  if (ArrowSchemaDeepCopy(in->schema, out_schema) != NANOARROW_OK) {
    result = fl_error_set(err, FL_FAILED, "out of memory");
  }
  if (result == FL_OK) result = fl_struct_array_make(in->num_rows, in->num_columns, out, err);
  for (int64_t i = 0; i < in->num_columns; i++) {
    struct ArrowArray* column = columns != NULL ? &columns[i] : NULL;
    if (column != NULL && column->release != NULL) {
      if (result == FL_OK && column->length != in->num_rows) {
        result = fl_error_set(err, FL_FAILED,
                              "replacement for column `%s` has %lld rows, the batch %lld",
                              in->schema->children[i]->name, (long long)column->length,
                              (long long)in->num_rows);
      }
      if (result == FL_OK) {
        ArrowArrayMove(column, out->children[i]);
      } else {
        column->release(column);
      }
    } else if (result == FL_OK) {
      result = fl_batch_share_column(in, i, out->children[i], err);
    }
  }
  if (result != FL_OK) {
    if (out->release != NULL) out->release(out);
    if (out_schema->release != NULL) out_schema->release(out_schema);
  }
  return result;
}

int fl_batch_replace_column(const struct fl_batch* in, int64_t index,
                            const struct ArrowSchema* field, struct ArrowArray* column,
                            struct ArrowSchema* out_schema, struct ArrowArray* out,
                            struct fl_error* err) {
  out_schema->release = NULL;
  out->release = NULL;
  if (index < 0 || index >= in->num_columns || column == NULL || column->release == NULL) {
    if (column != NULL && column->release != NULL) column->release(column);
    return fl_error_set(err, FL_FAILED, "no column %lld to replace (%lld columns)",
                        (long long)index, (long long)in->num_columns);
  }
  struct ArrowArray* columns =
      (struct ArrowArray*)calloc((size_t)in->num_columns, sizeof(struct ArrowArray));
  if (columns == NULL) {
    column->release(column);
    return fl_error_set(err, FL_FAILED, "out of memory");
  }
  ArrowArrayMove(column, &columns[index]);
  int result = fl_batch_replace_columns(in, columns, out_schema, out, err);
  free(columns);
  if (result == FL_OK && field != NULL) {
    struct ArrowSchema* slot = out_schema->children[index];
    slot->release(slot);
    if (ArrowSchemaDeepCopy(field, slot) != NANOARROW_OK) {
      out->release(out);
      out_schema->release(out_schema);
      return fl_error_set(err, FL_FAILED, "out of memory");
    }
  }
  return result;
}

/* ---- type names, as arrow-rs prints them (error messages match the Rust SDK's) ---------- */

static const char* unit_name(enum ArrowTimeUnit unit) {
  switch (unit) {
    case NANOARROW_TIME_UNIT_SECOND:
      return "s";
    case NANOARROW_TIME_UNIT_MILLI:
      return "ms";
    case NANOARROW_TIME_UNIT_MICRO:
      return "\xc2\xb5s"; /* µs */
    case NANOARROW_TIME_UNIT_NANO:
      return "ns";
  }
  return "?";
}

const char* fl_type_name(const struct ArrowSchema* field, char* buf, size_t size) {
  struct ArrowSchemaView view;
  if (ArrowSchemaViewInit(&view, field, NULL) != NANOARROW_OK) {
    snprintf(buf, size, "%s", field->format != NULL ? field->format : "?");
    return buf;
  }
  const char* simple = NULL;
  switch (view.type) {
    case NANOARROW_TYPE_NA: simple = "Null"; break;
    case NANOARROW_TYPE_BOOL: simple = "Boolean"; break;
    case NANOARROW_TYPE_INT8: simple = "Int8"; break;
    case NANOARROW_TYPE_INT16: simple = "Int16"; break;
    case NANOARROW_TYPE_INT32: simple = "Int32"; break;
    case NANOARROW_TYPE_INT64: simple = "Int64"; break;
    case NANOARROW_TYPE_UINT8: simple = "UInt8"; break;
    case NANOARROW_TYPE_UINT16: simple = "UInt16"; break;
    case NANOARROW_TYPE_UINT32: simple = "UInt32"; break;
    case NANOARROW_TYPE_UINT64: simple = "UInt64"; break;
    case NANOARROW_TYPE_HALF_FLOAT: simple = "Float16"; break;
    case NANOARROW_TYPE_FLOAT: simple = "Float32"; break;
    case NANOARROW_TYPE_DOUBLE: simple = "Float64"; break;
    case NANOARROW_TYPE_STRING: simple = "Utf8"; break;
    case NANOARROW_TYPE_LARGE_STRING: simple = "LargeUtf8"; break;
    case NANOARROW_TYPE_STRING_VIEW: simple = "Utf8View"; break;
    case NANOARROW_TYPE_BINARY: simple = "Binary"; break;
    case NANOARROW_TYPE_LARGE_BINARY: simple = "LargeBinary"; break;
    case NANOARROW_TYPE_BINARY_VIEW: simple = "BinaryView"; break;
    case NANOARROW_TYPE_DATE32: simple = "Date32"; break;
    case NANOARROW_TYPE_DATE64: simple = "Date64"; break;
    case NANOARROW_TYPE_STRUCT: simple = "Struct"; break;
    case NANOARROW_TYPE_LIST: simple = "List"; break;
    case NANOARROW_TYPE_LARGE_LIST: simple = "LargeList"; break;
    case NANOARROW_TYPE_MAP: simple = "Map"; break;
    case NANOARROW_TYPE_DICTIONARY: simple = "Dictionary"; break;
    case NANOARROW_TYPE_TIMESTAMP:
      if (view.timezone != NULL && view.timezone[0] != '\0') {
        snprintf(buf, size, "Timestamp(%s, \"%s\")", unit_name(view.time_unit), view.timezone);
      } else {
        snprintf(buf, size, "Timestamp(%s)", unit_name(view.time_unit));
      }
      return buf;
    case NANOARROW_TYPE_TIME32:
    case NANOARROW_TYPE_TIME64:
      snprintf(buf, size, "Time%d(%s)", view.type == NANOARROW_TYPE_TIME32 ? 32 : 64,
               unit_name(view.time_unit));
      return buf;
    case NANOARROW_TYPE_DURATION:
      snprintf(buf, size, "Duration(%s)", unit_name(view.time_unit));
      return buf;
    case NANOARROW_TYPE_DECIMAL32:
    case NANOARROW_TYPE_DECIMAL64:
    case NANOARROW_TYPE_DECIMAL128:
    case NANOARROW_TYPE_DECIMAL256:
      snprintf(buf, size, "Decimal%d(%d, %d)", view.decimal_bitwidth, view.decimal_precision,
               view.decimal_scale);
      return buf;
    case NANOARROW_TYPE_FIXED_SIZE_BINARY:
      snprintf(buf, size, "FixedSizeBinary(%d)", view.fixed_size);
      return buf;
    default:
      break;
  }
  snprintf(buf, size, "%s", simple != NULL ? simple : ArrowTypeString(view.type));
  return buf;
}

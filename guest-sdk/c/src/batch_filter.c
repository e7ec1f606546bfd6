/* fl_batch_filter: keeps the selected rows of every column, preserving types exactly. */
#include <stdlib.h>
#include <string.h>

#include "fastlane.h"
#include "internal.h"

/* The kept rows, as indices into the column (before the column's own offset). */
struct selection {
  const uint32_t* rows;
  int64_t count;
};

static inline int bit_get(const uint8_t* bits, int64_t i) { return (bits[i >> 3] >> (i & 7)) & 1; }

/* Gathers bits `offset + rows[j]` of `src` into a new bitmap; returns the number of zeros. */
static int64_t gather_bits(const uint8_t* src, int64_t offset, const struct selection* sel,
                           uint8_t* dst) {
  int64_t ones = 0;
  int64_t j = 0;
  for (; j + 8 <= sel->count; j += 8) {
    uint8_t byte = 0;
    for (int b = 0; b < 8; b++) byte |= (uint8_t)(bit_get(src, offset + sel->rows[j + b]) << b);
    dst[j >> 3] = byte;
    ones += __builtin_popcount(byte);
  }
  if (j < sel->count) {
    uint8_t byte = 0;
    for (int b = 0; j + b < sel->count; b++) {
      byte |= (uint8_t)(bit_get(src, offset + sel->rows[j + b]) << b);
    }
    dst[j >> 3] = byte;
    ones += __builtin_popcount(byte);
  }
  return sel->count - ones;
}

#define GATHER(T)                                                  \
  do {                                                             \
    const T* in = (const T*)src + offset;                          \
    T* o = (T*)dst;                                                \
    for (int64_t j = 0; j < sel->count; j++) o[j] = in[sel->rows[j]]; \
  } while (0)

static void gather_fixed(const uint8_t* src, int64_t offset, int64_t width,
                         const struct selection* sel, uint8_t* dst) {
  switch (width) {
    case 1:
      GATHER(uint8_t);
      return;
    case 2:
      GATHER(uint16_t);
      return;
    case 4:
      GATHER(uint32_t);
      return;
    case 8:
      GATHER(uint64_t);
      return;
    default:
      for (int64_t j = 0; j < sel->count; j++) {
        memcpy(dst + j * width, src + (offset + sel->rows[j]) * width, (size_t)width);
      }
  }
}

#define GATHER_VARIABLE(O)                                                         \
  do {                                                                             \
    const O* in_offsets = (const O*)view->buffer_views[1].data.data + view->offset; \
    const uint8_t* in_data = view->buffer_views[2].data.as_uint8;                  \
    O* out_offsets;                                                                \
    NANOARROW_RETURN_NOT_OK(ArrowBufferResize(offsets, (sel->count + 1) * (int64_t)sizeof(O), 0)); \
    out_offsets = (O*)offsets->data;                                               \
    int64_t total = 0;                                                             \
    out_offsets[0] = 0;                                                            \
    for (int64_t j = 0; j < sel->count; j++) {                                     \
      uint32_t r = sel->rows[j];                                                   \
      total += (int64_t)(in_offsets[r + 1] - in_offsets[r]);                       \
      out_offsets[j + 1] = (O)total;                                               \
    }                                                                              \
    if ((O)total != total || total < 0) return EOVERFLOW;                          \
    NANOARROW_RETURN_NOT_OK(ArrowBufferResize(data, total, 0));                    \
    uint8_t* out = data->data;                                                     \
    for (int64_t j = 0; j < sel->count; j++) {                                     \
      uint32_t r = sel->rows[j];                                                   \
      size_t n = (size_t)(in_offsets[r + 1] - in_offsets[r]);                      \
      if (n > 0) memcpy(out + out_offsets[j], in_data + in_offsets[r], n);         \
    }                                                                              \
  } while (0)

/* Fills `out` (initialised from the column's schema) with the selected rows of `view`. */
static int filter_column(const struct ArrowArrayView* view, const struct selection* sel,
                         struct ArrowArray* out) {
  int64_t offset = view->offset;
  int64_t nulls = 0;

  if (view->storage_type != NANOARROW_TYPE_NA && view->null_count != 0 &&
      view->buffer_views[0].data.data != NULL) {
    struct ArrowBuffer* validity = ArrowArrayBuffer(out, 0);
    NANOARROW_RETURN_NOT_OK(ArrowBufferResize(validity, (sel->count + 7) / 8, 0));
    nulls = gather_bits(view->buffer_views[0].data.as_uint8, offset, sel, validity->data);
    if (nulls == 0) ArrowBufferReset(validity);
  }

  switch (view->storage_type) {
    case NANOARROW_TYPE_NA:
      nulls = sel->count;
      break;
    case NANOARROW_TYPE_BOOL: {
      struct ArrowBuffer* values = ArrowArrayBuffer(out, 1);
      NANOARROW_RETURN_NOT_OK(ArrowBufferResize(values, (sel->count + 7) / 8, 0));
      gather_bits(view->buffer_views[1].data.as_uint8, offset, sel, values->data);
      break;
    }
    case NANOARROW_TYPE_UINT8:
    case NANOARROW_TYPE_INT8:
    case NANOARROW_TYPE_UINT16:
    case NANOARROW_TYPE_INT16:
    case NANOARROW_TYPE_UINT32:
    case NANOARROW_TYPE_INT32:
    case NANOARROW_TYPE_UINT64:
    case NANOARROW_TYPE_INT64:
    case NANOARROW_TYPE_HALF_FLOAT:
    case NANOARROW_TYPE_FLOAT:
    case NANOARROW_TYPE_DOUBLE:
    case NANOARROW_TYPE_FIXED_SIZE_BINARY:
    case NANOARROW_TYPE_DATE32:
    case NANOARROW_TYPE_DATE64:
    case NANOARROW_TYPE_TIMESTAMP:
    case NANOARROW_TYPE_TIME32:
    case NANOARROW_TYPE_TIME64:
    case NANOARROW_TYPE_INTERVAL_MONTHS:
    case NANOARROW_TYPE_INTERVAL_DAY_TIME:
    case NANOARROW_TYPE_INTERVAL_MONTH_DAY_NANO:
    case NANOARROW_TYPE_DECIMAL32:
    case NANOARROW_TYPE_DECIMAL64:
    case NANOARROW_TYPE_DECIMAL128:
    case NANOARROW_TYPE_DECIMAL256:
    case NANOARROW_TYPE_DURATION: {
      int64_t width = view->layout.element_size_bits[1] / 8;
      struct ArrowBuffer* values = ArrowArrayBuffer(out, 1);
      NANOARROW_RETURN_NOT_OK(ArrowBufferResize(values, sel->count * width, 0));
      gather_fixed(view->buffer_views[1].data.as_uint8, offset, width, sel, values->data);
      break;
    }
    case NANOARROW_TYPE_STRING:
    case NANOARROW_TYPE_BINARY: {
      struct ArrowBuffer* offsets = ArrowArrayBuffer(out, 1);
      struct ArrowBuffer* data = ArrowArrayBuffer(out, 2);
      GATHER_VARIABLE(int32_t);
      break;
    }
    case NANOARROW_TYPE_LARGE_STRING:
    case NANOARROW_TYPE_LARGE_BINARY: {
      struct ArrowBuffer* offsets = ArrowArrayBuffer(out, 1);
      struct ArrowBuffer* data = ArrowArrayBuffer(out, 2);
      GATHER_VARIABLE(int64_t);
      break;
    }
    default:
      return ENOTSUP;
  }
  out->length = sel->count;
  out->null_count = nulls;
  return ArrowArrayFinishBuilding(out, NANOARROW_VALIDATION_LEVEL_NONE, NULL);
}

int fl_batch_filter(const struct fl_batch* in, const uint8_t* keep,
                    struct ArrowSchema* out_schema, struct ArrowArray* out,
                    struct fl_error* err) {
  out_schema->release = NULL;
  out->release = NULL;

  int64_t count = 0;
  for (int64_t i = 0; i < in->num_rows; i++) count += keep[i] != 0;
  if (count == in->num_rows) return fl_batch_passthrough(in, out_schema, out, err);
  if (in->num_rows > (int64_t)UINT32_MAX) {
    return fl_error_set(err, FL_FAILED, "batch of %lld rows is too long to filter",
                        (long long)in->num_rows);
  }

  /* One spare slot: the branch-free loop below writes one past the last kept row. */
  uint32_t* rows = (uint32_t*)malloc((size_t)(count + 1) * sizeof(uint32_t));
  if (rows == NULL) return fl_error_set(err, FL_FAILED, "out of memory");
  int64_t j = 0;
  for (int64_t i = 0; i < in->num_rows; i++) {
    rows[j] = (uint32_t)i;
    j += keep[i] != 0;
  }
  struct selection sel = {rows, count};

  int result = FL_OK;
  if (ArrowSchemaDeepCopy(in->schema, out_schema) != NANOARROW_OK) {
    result = fl_error_set(err, FL_FAILED, "out of memory");
  }
  if (result == FL_OK) result = fl_struct_array_make(count, in->num_columns, out, err);
  for (int64_t c = 0; result == FL_OK && c < in->num_columns; c++) {
    const struct ArrowSchema* field = in->schema->children[c];
    struct ArrowArray* column = out->children[c];
    struct ArrowError error = {{0}};
    int code = ArrowArrayInitFromSchema(column, field, &error);
    if (code == NANOARROW_OK) code = filter_column(in->view->children[c], &sel, column);
    if (code == ENOTSUP) {
      char type[128];
      result = fl_error_set(err, FL_FAILED, "cannot filter column `%s` of type %s",
                            field->name, fl_type_name(field, type, sizeof(type)));
    } else if (code == EOVERFLOW) {
      result = fl_error_set(err, FL_FAILED, "column `%s`: filtered values exceed 2 GiB",
                            field->name);
    } else if (code != NANOARROW_OK) {
      result = fl_error_from_arrow(err, FL_FAILED, "cannot filter", code, &error);
    }
  }
  free(rows);
  if (result != FL_OK) {
    if (out->release != NULL) out->release(out);
    if (out_schema->release != NULL) out_schema->release(out_schema);
  }
  return result;
}

/* Arrow IPC streams in and out, with nanoarrow's IPC extension.
 *
 * Input: the host's bytes are wrapped in a shared buffer, so decoded arrays point into them
 * without copying (the bytes are freed when the last array using them is released).
 * Output: a schema message, the record batches with rows, and the end-of-stream marker, in one
 * malloc'd buffer handed to the host as is. */
#include <stdlib.h>
#include <string.h>

#include "fastlane.h"
#include "internal.h"
#include "nanoarrow/nanoarrow_ipc.h"

/* nanoarrow's end-of-stream code; ENODATA is missing from some libcs (wasi-libc among them),
 * where nanoarrow uses this value. */
#if !defined(ENODATA)
#define ENODATA 120
#endif

/* ---- output --------------------------------------------------------------------------- */

/* One output stream: schema once, then the batches that have rows. */
struct out_stream {
  struct ArrowIpcEncoder encoder;
  struct ArrowBuffer bytes;   /* the stream */
  struct ArrowBuffer body;    /* scratch: one batch's body */
  struct ArrowBuffer schema;  /* the encoded schema message, to compare later schemas */
  struct ArrowSchema empty_schema; /* schema of a zero-row output, if no batch has rows yet */
  int has_schema;
  int64_t batches_written;
};

static int out_init(struct out_stream* s, int64_t capacity, struct fl_error* err) {
  memset(s, 0, sizeof(*s));
  ArrowBufferInit(&s->bytes);
  ArrowBufferInit(&s->body);
  ArrowBufferInit(&s->schema);
  if (ArrowIpcEncoderInit(&s->encoder) != NANOARROW_OK ||
      ArrowBufferReserve(&s->bytes, capacity) != NANOARROW_OK) {
    ArrowBufferReset(&s->bytes);
    return fl_error_set(err, FL_FAILED, "out of memory");
  }
  return FL_OK;
}

static void out_reset(struct out_stream* s) {
  ArrowIpcEncoderReset(&s->encoder);
  ArrowBufferReset(&s->bytes);
  ArrowBufferReset(&s->body);
  ArrowBufferReset(&s->schema);
  if (s->empty_schema.release != NULL) s->empty_schema.release(&s->empty_schema);
}

static int cannot_encode(struct fl_error* err, int code, const struct ArrowError* error) {
  return fl_error_from_arrow(err, FL_FAILED, "cannot write the Arrow IPC output", code, error);
}

/* Writes the schema message on first use; later schemas must be the same. */
static int out_schema(struct out_stream* s, const struct ArrowSchema* schema,
                      struct fl_error* err) {
  struct ArrowError error = {{0}};
  struct ArrowBuffer encoded;
  ArrowBufferInit(&encoded);
  int code = ArrowIpcEncoderEncodeSchema(&s->encoder, schema, &error);
  if (code == NANOARROW_OK) code = ArrowIpcEncoderFinalizeBuffer(&s->encoder, 1, &encoded);
  if (code != NANOARROW_OK) {
    ArrowBufferReset(&encoded);
    return cannot_encode(err, code, &error);
  }
  if (!s->has_schema) {
    code = ArrowBufferAppend(&s->bytes, encoded.data, encoded.size_bytes);
    ArrowBufferMove(&encoded, &s->schema);
    s->has_schema = 1;
    return code == NANOARROW_OK ? FL_OK : fl_error_set(err, FL_FAILED, "out of memory");
  }
  int same = encoded.size_bytes == s->schema.size_bytes &&
             memcmp(encoded.data, s->schema.data, (size_t)encoded.size_bytes) == 0;
  ArrowBufferReset(&encoded);
  if (!same) {
    return fl_error_set(err, FL_FAILED,
                        "the transform returned batches with different schemas in one call");
  }
  return FL_OK;
}

static int out_batch(struct out_stream* s, const struct ArrowSchema* schema,
                     const struct ArrowArray* array, struct fl_error* err) {
  struct ArrowError error = {{0}};
  struct ArrowArrayView view;
  int code = ArrowArrayViewInitFromSchema(&view, schema, &error);
  if (code == NANOARROW_OK) code = ArrowArrayViewSetArray(&view, array, &error);
  if (code == NANOARROW_OK) {
    s->body.size_bytes = 0;
    code = ArrowIpcEncoderEncodeSimpleRecordBatch(&s->encoder, &view, &s->body, &error);
  }
  if (code == NANOARROW_OK) code = ArrowIpcEncoderFinalizeBuffer(&s->encoder, 1, &s->bytes);
  if (code == NANOARROW_OK) code = ArrowBufferAppend(&s->bytes, s->body.data, s->body.size_bytes);
  ArrowArrayViewReset(&view);
  if (code != NANOARROW_OK) return cannot_encode(err, code, &error);
  s->batches_written++;
  return FL_OK;
}

/* Adds one output (either may be released: no schema = no output, no array = no rows).
 * Zero-row batches are skipped, except that a stream with no rows at all ends with one
 * empty batch, so a host reading "the batch" of a call always finds one. */
static int out_write(struct out_stream* s, const struct ArrowSchema* schema,
                     const struct ArrowArray* array, struct fl_error* err) {
  if (schema->release == NULL) {
    if (array->release != NULL) {
      return fl_error_set(err, FL_FAILED, "the transform returned an array without a schema");
    }
    return FL_OK;
  }
  if (strcmp(schema->format, "+s") != 0) {
    return fl_error_set(err, FL_FAILED,
                        "the transform's output schema must be a struct (format \"+s\"), got "
                        "\"%s\"",
                        schema->format);
  }
  int result = out_schema(s, schema, err);
  if (result != FL_OK) return result;
  if (array->release == NULL || array->length == 0) {
    if (s->empty_schema.release == NULL &&
        ArrowSchemaDeepCopy(schema, &s->empty_schema) != NANOARROW_OK) {
      return fl_error_set(err, FL_FAILED, "out of memory");
    }
    return FL_OK;
  }
  if (array->n_children != schema->n_children) {
    return fl_error_set(err, FL_FAILED,
                        "the transform's output array has %lld columns but its schema %lld",
                        (long long)array->n_children, (long long)schema->n_children);
  }
  return out_batch(s, schema, array, err);
}

/* Ends the stream; `*output` gets the bytes (NULL when nothing was written). */
static int out_finish(struct out_stream* s, uint8_t** output, size_t* output_len,
                      struct fl_error* err) {
  *output = NULL;
  *output_len = 0;
  if (!s->has_schema) return FL_OK;
  if (s->batches_written == 0 && s->empty_schema.release != NULL) {
    struct ArrowArray empty;
    struct ArrowError error = {{0}};
    int code = ArrowArrayInitFromSchema(&empty, &s->empty_schema, &error);
    if (code == NANOARROW_OK) code = ArrowArrayStartAppending(&empty);
    if (code == NANOARROW_OK) code = ArrowArrayFinishBuildingDefault(&empty, &error);
    int result = code == NANOARROW_OK ? out_batch(s, &s->empty_schema, &empty, err)
                                      : cannot_encode(err, code, &error);
    if (empty.release != NULL) empty.release(&empty);
    if (result != FL_OK) return result;
  }
  static const uint8_t end_of_stream[8] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
  if (ArrowBufferAppend(&s->bytes, end_of_stream, sizeof(end_of_stream)) != NANOARROW_OK) {
    return fl_error_set(err, FL_FAILED, "out of memory");
  }
  *output = s->bytes.data;
  *output_len = (size_t)s->bytes.size_bytes;
  ArrowBufferInit(&s->bytes); /* the caller owns the bytes now */
  return FL_OK;
}

/* ---- input ---------------------------------------------------------------------------- */

static void free_input(struct ArrowBufferAllocator* allocator, uint8_t* ptr, int64_t size) {
  (void)allocator;
  (void)size;
  free(ptr);
}

/* Reads the messages of one IPC stream. */
struct in_stream {
  struct ArrowIpcDecoder decoder;
  struct ArrowBuffer shared; /* the whole input, reference-counted */
  struct ArrowSchema schema;
  int64_t position;
};

static int bad_input(struct fl_error* err, int code, const struct ArrowError* error) {
  return fl_error_from_arrow(err, FL_INVALID_INPUT, "cannot read the Arrow IPC input", code,
                             error);
}

/* Takes ownership of `input` (malloc'd). */
static int in_init(struct in_stream* s, uint8_t* input, size_t len, struct fl_error* err) {
  memset(s, 0, sizeof(*s));
  struct ArrowBuffer whole;
  ArrowBufferInit(&whole);
  whole.data = input;
  whole.size_bytes = (int64_t)len;
  whole.capacity_bytes = (int64_t)len;
  whole.allocator = ArrowBufferDeallocator(free_input, NULL);
  if (ArrowSharedBufferInit(&s->shared, &whole) != NANOARROW_OK) {
    ArrowBufferReset(&whole);
    return fl_error_set(err, FL_FAILED, "out of memory");
  }
  if (ArrowIpcDecoderInit(&s->decoder) != NANOARROW_OK) {
    ArrowBufferReset(&s->shared);
    return fl_error_set(err, FL_FAILED, "out of memory");
  }
  return FL_OK;
}

static void in_reset(struct in_stream* s) {
  ArrowIpcDecoderReset(&s->decoder);
  ArrowBufferReset(&s->shared);
  if (s->schema.release != NULL) s->schema.release(&s->schema);
}

/* The next record batch into `array`; `*done` is set at the end of the stream. */
static int in_next(struct in_stream* s, struct ArrowArray* array, int* done,
                   struct fl_error* err) {
  struct ArrowError error = {{0}};
  array->release = NULL;
  *done = 0;
  for (;;) {
    if (s->position >= s->shared.size_bytes) {
      *done = 1;
      break;
    }
    struct ArrowBufferView view;
    view.data.as_uint8 = s->shared.data + s->position;
    view.size_bytes = s->shared.size_bytes - s->position;
    int code = ArrowIpcDecoderVerifyHeader(&s->decoder, view, &error);
    if (code == ENODATA) {
      *done = 1;
      break;
    }
    if (code == NANOARROW_OK) code = ArrowIpcDecoderDecodeHeader(&s->decoder, view, &error);
    if (code != NANOARROW_OK) return bad_input(err, code, &error);
    int64_t body_start = s->position + s->decoder.header_size_bytes;
    int64_t body_size = s->decoder.body_size_bytes;
    if (body_size < 0 || body_start + body_size > s->shared.size_bytes) {
      return fl_error_set(err, FL_INVALID_INPUT,
                          "cannot read the Arrow IPC input: a message body is truncated");
    }
    s->position = body_start + body_size;

    switch (s->decoder.message_type) {
      case NANOARROW_IPC_MESSAGE_TYPE_SCHEMA:
        if (s->schema.release != NULL) s->schema.release(&s->schema);
        code = ArrowIpcDecoderDecodeSchema(&s->decoder, &s->schema, &error);
        if (code == NANOARROW_OK) code = ArrowIpcDecoderSetSchema(&s->decoder, &s->schema, &error);
        if (code != NANOARROW_OK) return bad_input(err, code, &error);
        continue;
      case NANOARROW_IPC_MESSAGE_TYPE_RECORD_BATCH: {
        if (s->schema.release == NULL) {
          return fl_error_set(err, FL_INVALID_INPUT,
                              "cannot read the Arrow IPC input: a record batch before the schema");
        }
        struct ArrowBuffer body;
        if (ArrowSharedBufferClone(&s->shared, &body) != NANOARROW_OK) {
          return fl_error_set(err, FL_FAILED, "out of memory");
        }
        body.data += body_start;
        body.size_bytes = body_size;
        body.capacity_bytes = body_size;
        code = ArrowIpcDecoderDecodeArrayFromShared(&s->decoder, &body, -1, array,
                                                    NANOARROW_VALIDATION_LEVEL_DEFAULT, &error);
        ArrowBufferReset(&body);
        if (code != NANOARROW_OK) return bad_input(err, code, &error);
        return FL_OK;
      }
      case NANOARROW_IPC_MESSAGE_TYPE_DICTIONARY_BATCH:
        return fl_error_set(err, FL_INVALID_INPUT,
                            "cannot read the Arrow IPC input: dictionary batches are not "
                            "supported by the C SDK");
      default:
        return fl_error_set(err, FL_INVALID_INPUT,
                            "cannot read the Arrow IPC input: unexpected message type %d",
                            (int)s->decoder.message_type);
    }
  }
  if (s->schema.release == NULL) {
    return fl_error_set(err, FL_INVALID_INPUT,
                        "cannot read the Arrow IPC input: the stream has no schema message");
  }
  return FL_OK;
}

/* A batch of the stream's schema from `array` (moved in; NULL release = an empty batch). */
static int in_batch(struct in_stream* s, struct ArrowArray* array, struct fl_batch* batch,
                    struct fl_error* err) {
  struct ArrowSchema schema;
  struct ArrowError error = {{0}};
  if (ArrowSchemaDeepCopy(&s->schema, &schema) != NANOARROW_OK) {
    if (array->release != NULL) array->release(array);
    return fl_error_set(err, FL_FAILED, "out of memory");
  }
  if (array->release == NULL) {
    int code = ArrowArrayInitFromSchema(array, &schema, &error);
    if (code == NANOARROW_OK) code = ArrowArrayStartAppending(array);
    if (code == NANOARROW_OK) code = ArrowArrayFinishBuildingDefault(array, &error);
    if (code != NANOARROW_OK) {
      if (array->release != NULL) array->release(array);
      schema.release(&schema);
      return fl_error_from_arrow(err, FL_FAILED, "cannot make an empty batch", code, &error);
    }
  }
  return fl_batch_make(batch, &schema, array, err);
}

/* ---- the transform call --------------------------------------------------------------- */

/* Calls fl_transform on one batch and adds its output to the stream. */
static int transform_one(void* state, struct fl_batch* batch, struct out_stream* out,
                         struct fl_error* err) {
  struct ArrowSchema out_schema;
  struct ArrowArray out_array;
  memset(&out_schema, 0, sizeof(out_schema));
  memset(&out_array, 0, sizeof(out_array));
  err->kind = FL_OK;
  err->message[0] = '\0';
  int result = fl_transform(state, batch, &out_schema, &out_array, err);
  if (result != FL_OK && err->kind == FL_OK) {
    fl_error_set(err, FL_FAILED, "fl_transform returned %d without setting an error", result);
  }
  if (result == FL_OK) result = out_write(out, &out_schema, &out_array, err);
  if (out_array.release != NULL) out_array.release(&out_array);
  if (out_schema.release != NULL) out_schema.release(&out_schema);
  return result != FL_OK ? (int)err->kind : FL_OK;
}

int fl_transform_stream(void* state, uint8_t* input, size_t len, uint8_t** output,
                        size_t* output_len, struct fl_error* err) {
  *output = NULL;
  *output_len = 0;
  if (len == 0) return FL_OK; /* the canonical ABI's empty list is not a malloc'd pointer */
  struct in_stream in;
  int result = in_init(&in, input, len, err);
  if (result != FL_OK) return result;
  struct out_stream out;
  /* The output is usually about as large as the input. */
  result = out_init(&out, (int64_t)len + 1024, err);
  if (result != FL_OK) {
    in_reset(&in);
    return result;
  }

  int64_t batches = 0;
  while (result == FL_OK) {
    struct ArrowArray array;
    int done;
    result = in_next(&in, &array, &done, err);
    if (result != FL_OK || done) break;
    batches++;
    struct fl_batch batch;
    result = in_batch(&in, &array, &batch, err);
    if (result == FL_OK) {
      result = transform_one(state, &batch, &out, err);
      fl_batch_release(&batch);
    }
  }
  /* A stream with a schema but no batch is transformed as one empty batch, so the output
   * still carries the output schema. */
  if (result == FL_OK && batches == 0) {
    struct ArrowArray empty;
    empty.release = NULL;
    struct fl_batch batch;
    result = in_batch(&in, &empty, &batch, err);
    if (result == FL_OK) {
      result = transform_one(state, &batch, &out, err);
      fl_batch_release(&batch);
    }
  }
  in_reset(&in);
  if (result == FL_OK) result = out_finish(&out, output, output_len, err);
  out_reset(&out);
  return result;
}

int fl_ipc_encode(const struct ArrowSchema* schema, const struct ArrowArray* array,
                  struct ArrowBuffer* out, struct fl_error* err) {
  struct out_stream s;
  int result = out_init(&s, 1024, err);
  if (result != FL_OK) return result;
  struct ArrowArray none;
  none.release = NULL;
  result = out_write(&s, schema, array != NULL ? array : &none, err);
  uint8_t* bytes = NULL;
  size_t len = 0;
  if (result == FL_OK) result = out_finish(&s, &bytes, &len, err);
  out_reset(&s);
  if (result == FL_OK && ArrowBufferAppend(out, bytes, (int64_t)len) != NANOARROW_OK) {
    result = fl_error_set(err, FL_FAILED, "out of memory");
  }
  free(bytes);
  return result;
}

int fl_ipc_decode_first(const uint8_t* input, size_t len, struct ArrowSchema* schema,
                        struct ArrowArray* array, struct fl_error* err) {
  schema->release = NULL;
  array->release = NULL;
  uint8_t* copy = (uint8_t*)malloc(len > 0 ? len : 1);
  if (copy == NULL) return fl_error_set(err, FL_FAILED, "out of memory");
  memcpy(copy, input, len);
  struct in_stream in;
  int result = in_init(&in, copy, len, err);
  if (result != FL_OK) return result;
  int done;
  result = in_next(&in, array, &done, err);
  if (result == FL_OK) ArrowSchemaMove(&in.schema, schema);
  in_reset(&in);
  return result;
}

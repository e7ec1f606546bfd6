/* The component's exports, on top of the generated bindings (bindings/transformer.h):
 * instance state, error mapping, the IPC round trip, and the `log` import. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastlane.h"
#include "transformer.h"

/* The state built by fl_init; wasm instances are single-threaded. */
static void* instance_state;
static bool instance_ready;

/* ---- errors and strings ----------------------------------------------------------------- */

static void to_wit_error(const struct fl_error* err, transformer_error_t* out) {
  switch (err->kind) {
    case FL_INVALID_CONFIG:
      out->tag = FASTLANE_TRANSFORM_TYPES_ERROR_INVALID_CONFIG;
      break;
    case FL_INVALID_INPUT:
      out->tag = FASTLANE_TRANSFORM_TYPES_ERROR_INVALID_INPUT;
      break;
    default:
      out->tag = FASTLANE_TRANSFORM_TYPES_ERROR_FAILED;
      break;
  }
  /* All three cases hold one string at the same place. */
  transformer_string_dup(&out->val.failed, err->message);
}

static void error_reset(struct fl_error* err) {
  err->kind = FL_OK;
  err->message[0] = '\0';
}

/* A result that is not FL_OK but left `err` unset still fails, with a message saying so. */
static void check_error(int result, const char* function, struct fl_error* err) {
  if (result != FL_OK && err->kind == FL_OK) {
    fl_error_set(err, FL_FAILED, "%s returned %d without setting an error", function, result);
  }
}

/* ---- exports ---------------------------------------------------------------------------- */

void exports_transformer_describe(transformer_info_t* ret) {
  struct fl_info info = {NULL, NULL, NULL, NULL};
  fl_describe(&info);
  transformer_string_dup(&ret->name, info.name != NULL ? info.name : "");
  transformer_string_dup(&ret->version, info.version != NULL ? info.version : "");
  transformer_string_dup(&ret->description, info.description != NULL ? info.description : "");
  transformer_string_dup(&ret->config_schema,
                         info.config_schema != NULL ? info.config_schema : "{}");
}

bool exports_transformer_init(transformer_string_t* config, transformer_error_t* err) {
  static struct fl_error error;
  error_reset(&error);
  if (instance_ready) {
    fl_free(instance_state);
    instance_state = NULL;
    instance_ready = false;
  }
  /* fl_init gets a NUL-terminated copy. */
  char* text = (char*)malloc(config->len + 1);
  if (text == NULL) {
    fl_error_set(&error, FL_FAILED, "out of memory");
    transformer_string_free(config);
    to_wit_error(&error, err);
    return false;
  }
  memcpy(text, config->ptr, config->len);
  text[config->len] = '\0';
  size_t len = config->len;
  transformer_string_free(config);

  void* state = NULL;
  int result = fl_init(text, len, &state, &error);
  free(text);
  check_error(result, "fl_init", &error);
  if (result != FL_OK) {
    to_wit_error(&error, err);
    return false;
  }
  instance_state = state;
  instance_ready = true;
  return true;
}

bool exports_transformer_transform(transformer_list_u8_t* batch, transformer_list_u8_t* ret,
                                   transformer_error_t* err) {
  static struct fl_error error;
  error_reset(&error);
  uint8_t* input = batch->ptr;
  size_t len = batch->len;
  if (!instance_ready) {
    transformer_list_u8_free(batch);
    fl_error_set(&error, FL_FAILED, "init was not called");
    to_wit_error(&error, err);
    return false;
  }
  uint8_t* output = NULL;
  size_t output_len = 0;
  /* fl_transform_stream owns (and frees) the input from here on. */
  int result = fl_transform_stream(instance_state, input, len, &output, &output_len, &error);
  if (result != FL_OK) {
    to_wit_error(&error, err);
    return false;
  }
  ret->ptr = output;
  ret->len = output_len;
  return true;
}

bool exports_transformer_finish(transformer_option_list_u8_t* ret, transformer_error_t* err) {
  static struct fl_error error;
  error_reset(&error);
  ret->is_some = false;
  ret->val.ptr = NULL;
  ret->val.len = 0;
  if (!instance_ready) {
    fl_error_set(&error, FL_FAILED, "init was not called");
    to_wit_error(&error, err);
    return false;
  }
  struct ArrowSchema schema;
  struct ArrowArray array;
  memset(&schema, 0, sizeof(schema));
  memset(&array, 0, sizeof(array));
  int result = fl_finish(instance_state, &schema, &array, &error);
  check_error(result, "fl_finish", &error);
  if (result == FL_OK && schema.release != NULL) {
    struct ArrowBuffer bytes;
    ArrowBufferInit(&bytes);
    result = fl_ipc_encode(&schema, array.release != NULL ? &array : NULL, &bytes, &error);
    if (result == FL_OK) {
      ret->is_some = true;
      ret->val.ptr = bytes.data;
      ret->val.len = (size_t)bytes.size_bytes;
    } else {
      ArrowBufferReset(&bytes);
    }
  }
  if (array.release != NULL) array.release(&array);
  if (schema.release != NULL) schema.release(&schema);
  if (result != FL_OK) {
    to_wit_error(&error, err);
    return false;
  }
  return true;
}

/* ---- log -------------------------------------------------------------------------------- */

void fl_log(enum fl_level level, const char* format, ...) {
  char line[4096];
  va_list args;
  va_start(args, format);
  vsnprintf(line, sizeof(line), format, args);
  va_end(args);
  transformer_string_t message;
  transformer_string_set(&message, line);
  transformer_log((transformer_level_t)level, &message);
}

/* JSON config helpers over yyjson; messages follow serde_json's wording, as in the Rust SDK. */
#include <stdlib.h>
#include <string.h>

#include "fastlane.h"

static const char* kind_name(yyjson_val* value) {
  switch (yyjson_get_type(value)) {
    case YYJSON_TYPE_NULL:
      return "null";
    case YYJSON_TYPE_BOOL:
      return "a boolean";
    case YYJSON_TYPE_NUM:
      return "a number";
    case YYJSON_TYPE_STR:
      return "a string";
    case YYJSON_TYPE_ARR:
      return "an array";
    case YYJSON_TYPE_OBJ:
      return "an object";
    default:
      return "a value";
  }
}

int fl_config_parse(const char* json, size_t len, struct fl_config* cfg, struct fl_error* err) {
  cfg->doc = NULL;
  cfg->root = NULL;
  size_t start = 0;
  while (start < len && (json[start] == ' ' || json[start] == '\t' || json[start] == '\n' ||
                         json[start] == '\r')) {
    start++;
  }
  if (start == len) {
    json = "{}";
    len = 2;
  }
  yyjson_read_err read_err;
  cfg->doc = yyjson_read_opts((char*)json, len, 0, NULL, &read_err);
  if (cfg->doc == NULL) {
    return fl_error_set(err, FL_INVALID_CONFIG, "the config is not valid JSON: %s at byte %zu",
                        read_err.msg, read_err.pos);
  }
  cfg->root = yyjson_doc_get_root(cfg->doc);
  if (!yyjson_is_obj(cfg->root)) {
    const char* kind = kind_name(cfg->root);
    fl_config_free(cfg);
    return fl_error_set(err, FL_INVALID_CONFIG, "the config must be a JSON object, got %s",
                        kind);
  }
  return FL_OK;
}

void fl_config_free(struct fl_config* cfg) {
  if (cfg->doc != NULL) yyjson_doc_free(cfg->doc);
  cfg->doc = NULL;
  cfg->root = NULL;
}

int fl_config_check_keys(const struct fl_config* cfg, const char* const* allowed,
                         struct fl_error* err) {
  yyjson_obj_iter iter = yyjson_obj_iter_with(cfg->root);
  yyjson_val* key;
  size_t index = 0;
  while ((key = yyjson_obj_iter_next(&iter)) != NULL) {
    const char* name = yyjson_get_str(key);
    size_t name_len = yyjson_get_len(key);
    int known = 0;
    for (size_t i = 0; allowed[i] != NULL; i++) {
      if (strlen(allowed[i]) == name_len && memcmp(allowed[i], name, name_len) == 0) known = 1;
    }
    if (!known) {
      char expected[512] = "";
      size_t used = 0;
      for (size_t i = 0; allowed[i] != NULL && used < sizeof(expected); i++) {
        used += (size_t)snprintf(expected + used, sizeof(expected) - used, "%s`%s`",
                                 i == 0 ? "" : ", ", allowed[i]);
      }
      return fl_error_set(err, FL_INVALID_CONFIG, "unknown field `%s`, expected one of %s",
                          name, expected);
    }
    /* A key seen before this position is a duplicate. */
    yyjson_obj_iter again = yyjson_obj_iter_with(cfg->root);
    for (size_t i = 0; i < index; i++) {
      yyjson_val* earlier = yyjson_obj_iter_next(&again);
      if (yyjson_equals_strn(earlier, name, name_len)) {
        return fl_error_set(err, FL_INVALID_CONFIG, "duplicate field `%s`", name);
      }
    }
    index++;
  }
  return FL_OK;
}

yyjson_val* fl_config_get(const struct fl_config* cfg, const char* key) {
  return yyjson_obj_get(cfg->root, key);
}

static char* copy_string(const char* text, size_t len) {
  char* copy = (char*)malloc(len + 1);
  if (copy != NULL) {
    memcpy(copy, text, len);
    copy[len] = '\0';
  }
  return copy;
}

int fl_config_string(const struct fl_config* cfg, const char* key, const char* fallback,
                     char** out, size_t* len, struct fl_error* err) {
  *out = NULL;
  yyjson_val* value = fl_config_get(cfg, key);
  const char* text;
  size_t text_len;
  if (value == NULL) {
    if (fallback == NULL) {
      return fl_error_set(err, FL_INVALID_CONFIG, "missing field `%s`", key);
    }
    text = fallback;
    text_len = strlen(fallback);
  } else if (yyjson_is_str(value)) {
    text = yyjson_get_str(value);
    text_len = yyjson_get_len(value);
  } else {
    return fl_error_set(err, FL_INVALID_CONFIG, "`%s` must be a string, got %s", key,
                        kind_name(value));
  }
  *out = copy_string(text, text_len);
  if (*out == NULL) return fl_error_set(err, FL_FAILED, "out of memory");
  if (len != NULL) *len = text_len;
  return FL_OK;
}

void fl_strings_free(char** items, size_t count) {
  if (items == NULL) return;
  for (size_t i = 0; i < count; i++) free(items[i]);
  free(items);
}

int fl_config_string_array(const struct fl_config* cfg, const char* key, bool required,
                           char*** items, size_t* count, struct fl_error* err) {
  *items = NULL;
  *count = 0;
  yyjson_val* value = fl_config_get(cfg, key);
  if (value == NULL) {
    if (required) return fl_error_set(err, FL_INVALID_CONFIG, "missing field `%s`", key);
    return FL_OK;
  }
  if (!yyjson_is_arr(value)) {
    return fl_error_set(err, FL_INVALID_CONFIG, "`%s` must be an array of strings, got %s", key,
                        kind_name(value));
  }
  size_t n = yyjson_arr_size(value);
  char** list = (char**)calloc(n > 0 ? n : 1, sizeof(char*));
  if (list == NULL) return fl_error_set(err, FL_FAILED, "out of memory");
  size_t i = 0;
  yyjson_val* item;
  yyjson_arr_iter iter = yyjson_arr_iter_with(value);
  while ((item = yyjson_arr_iter_next(&iter)) != NULL) {
    if (!yyjson_is_str(item)) {
      fl_strings_free(list, i);
      return fl_error_set(err, FL_INVALID_CONFIG, "`%s[%zu]` must be a string, got %s", key, i,
                          kind_name(item));
    }
    list[i] = copy_string(yyjson_get_str(item), yyjson_get_len(item));
    if (list[i] == NULL) {
      fl_strings_free(list, i);
      return fl_error_set(err, FL_FAILED, "out of memory");
    }
    i++;
  }
  *items = list;
  *count = n;
  return FL_OK;
}

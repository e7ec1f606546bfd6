/* Text to values with the rules of arrow-rs's cast kernels (arrow-cast 60, `parse.rs` and
 * `cast/string.rs`), and JSON numbers as serde_json prints them. A config value converted here
 * compares exactly as in the Rust SDK's transforms. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastlane.h"

/* Rust's u8::is_ascii_whitespace: space, \t, \n, \x0C, \r (not \v). */
static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static void trim_start(const char** text, size_t* len) {
  while (*len > 0 && is_space(**text)) (*text)++, (*len)--;
}
static void trim_end(const char* text, size_t* len) {
  while (*len > 0 && is_space(text[*len - 1])) (*len)--;
}

/* arrow's trim_pre_and_post_whitespace: trims a side only where it does not end in a digit. */
static void trim_non_digit_sides(const char** text, size_t* len) {
  if (*len == 0) return;
  bool prefix = !is_digit((*text)[0]);
  bool suffix = !is_digit((*text)[*len - 1]);
  if (suffix) trim_end(*text, len);
  if (prefix) trim_start(text, len);
}

/* ---- integers: atoi's from_radix_10_signed_checked over the whole text ------------------- */

/* Sign and magnitude of an optionally signed run of digits filling all of `text`. */
static bool parse_magnitude(const char* text, size_t len, bool* negative, uint64_t* magnitude) {
  size_t i = 0;
  *negative = false;
  if (len > 0 && (text[0] == '+' || text[0] == '-')) {
    *negative = text[0] == '-';
    i = 1;
  }
  uint64_t value = 0;
  for (; i < len; i++) {
    if (!is_digit(text[i])) return false;
    unsigned digit = (unsigned)(text[i] - '0');
    if (value > (UINT64_MAX - digit) / 10) return false; /* overflows any 64-bit type */
    value = value * 10 + digit;
  }
  *magnitude = value;
  return true;
}

/* arrow's parser_primitive!: the text must end in a digit (after trimming trailing
 * whitespace); leading whitespace is tried only if the untrimmed text fails. */
static bool integer_text(const char** text, size_t* len, bool* negative, uint64_t* magnitude) {
  if (*len == 0 || !is_digit((*text)[*len - 1])) {
    trim_end(*text, len);
    if (*len == 0 || !is_digit((*text)[*len - 1])) return false;
  }
  if (parse_magnitude(*text, *len, negative, magnitude)) return true;
  trim_start(text, len);
  return parse_magnitude(*text, *len, negative, magnitude);
}

bool fl_parse_int(const char* text, size_t len, int64_t min, int64_t max, int64_t* out) {
  bool negative;
  uint64_t magnitude;
  if (!integer_text(&text, &len, &negative, &magnitude)) return false;
  if (negative) {
    uint64_t limit = min < 0 ? (uint64_t)(-(min + 1)) + 1 : 0;
    if (magnitude > limit) return false;
    *out = magnitude == 0 ? 0 : -(int64_t)(magnitude - 1) - 1;
  } else {
    if (max < 0 || magnitude > (uint64_t)max) return false;
    *out = (int64_t)magnitude;
  }
  return true;
}

bool fl_parse_uint(const char* text, size_t len, uint64_t max, uint64_t* out) {
  bool negative;
  uint64_t magnitude;
  if (!integer_text(&text, &len, &negative, &magnitude)) return false;
  if (negative ? magnitude != 0 : magnitude > max) return false;
  *out = magnitude;
  return true;
}

/* ---- floats: lexical-core's standard format, correctly rounded by strtod ---------------- */

static bool equals_lower(const char* text, size_t len, const char* word) {
  size_t n = strlen(word);
  if (len != n) return false;
  for (size_t i = 0; i < n; i++) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != word[i]) return false;
  }
  return true;
}

/* [+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?, or inf / infinity / nan.
 * On success `*special` is 0 (a number: `text` is fit for strtod), 'i' or 'n'. */
static bool float_grammar(const char* text, size_t len, bool* negative, char* special) {
  size_t i = 0;
  *negative = false;
  *special = 0;
  if (i < len && (text[i] == '+' || text[i] == '-')) *negative = text[i++] == '-';
  if (equals_lower(text + i, len - i, "inf") || equals_lower(text + i, len - i, "infinity")) {
    *special = 'i';
    return true;
  }
  if (equals_lower(text + i, len - i, "nan")) {
    *special = 'n';
    return true;
  }
  size_t digits = 0;
  while (i < len && is_digit(text[i])) i++, digits++;
  if (i < len && text[i] == '.') {
    i++;
    while (i < len && is_digit(text[i])) i++, digits++;
  }
  if (digits == 0) return false;
  if (i < len && (text[i] == 'e' || text[i] == 'E')) {
    i++;
    if (i < len && (text[i] == '+' || text[i] == '-')) i++;
    size_t exponent_digits = 0;
    while (i < len && is_digit(text[i])) i++, exponent_digits++;
    if (exponent_digits == 0) return false;
  }
  return i == len;
}

/* Parses as double (`as_float` false) or float; `text` need not be NUL-terminated. */
static bool parse_floating(const char* text, size_t len, bool as_float, double* d, float* f) {
  bool negative;
  char special;
  if (!float_grammar(text, len, &negative, &special)) {
    trim_non_digit_sides(&text, &len);
    if (!float_grammar(text, len, &negative, &special)) return false;
  }
  if (special != 0) {
    double value = special == 'i' ? INFINITY : NAN;
    if (negative) value = -value;
    if (as_float) *f = (float)value;
    else *d = value;
    return true;
  }
  char small[64];
  char* copy = len < sizeof(small) ? small : (char*)malloc(len + 1);
  if (copy == NULL) return false;
  memcpy(copy, text, len);
  copy[len] = '\0';
  if (as_float) *f = strtof(copy, NULL);
  else *d = strtod(copy, NULL);
  if (copy != small) free(copy);
  return true;
}

bool fl_parse_double(const char* text, size_t len, double* out) {
  return parse_floating(text, len, false, out, NULL);
}

bool fl_parse_float(const char* text, size_t len, float* out) {
  return parse_floating(text, len, true, NULL, out);
}

/* ---- booleans: cast_single_string_to_boolean --------------------------------------------- */

bool fl_parse_bool(const char* text, size_t len, bool* out) {
  trim_start(&text, &len);
  trim_end(text, &len);
  static const char* const truthy[] = {"t", "tr", "tru", "true", "y", "ye", "yes", "on", "1"};
  static const char* const falsy[] = {"f", "fa", "fal", "fals", "false", "n", "no", "of", "off", "0"};
  for (size_t i = 0; i < sizeof(truthy) / sizeof(truthy[0]); i++) {
    if (equals_lower(text, len, truthy[i])) return *out = true, true;
  }
  for (size_t i = 0; i < sizeof(falsy) / sizeof(falsy[0]); i++) {
    if (equals_lower(text, len, falsy[i])) return *out = false, true;
  }
  return false;
}

/* ---- dates: parse_date_to_days ----------------------------------------------------------- */

static bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static bool make_date(int64_t year, uint64_t month, uint64_t day, int32_t* out) {
  static const unsigned days_in[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1) return false;
  unsigned limit = days_in[month - 1] + (month == 2 && is_leap(year));
  if (day > limit) return false;
  int64_t days = days_from_civil(year, (unsigned)month, (unsigned)day);
  if (days < INT32_MIN || days > INT32_MAX) return false;
  *out = (int32_t)days;
  return true;
}

/* Rust's `str::parse::<u32>`: an optional '+' then at least one digit. */
static bool parse_u32(const char* text, size_t len, uint64_t* out) {
  if (len > 0 && text[0] == '+') text++, len--;
  if (len == 0) return false;
  uint64_t value = 0;
  for (size_t i = 0; i < len; i++) {
    if (!is_digit(text[i])) return false;
    value = value * 10 + (uint64_t)(text[i] - '0');
    if (value > UINT32_MAX) return false;
  }
  *out = value;
  return true;
}

/* "+YYYYY-MM-DD" / "-YYYY-MM-DD": a signed year of at least 4 digits. */
static bool parse_extended_date(const char* text, size_t len, int32_t* out) {
  const char* hyphen = memchr(text + 1, '-', len - 1);
  if (hyphen == NULL || hyphen - (text + 1) < 4) return false;
  int64_t year = 0;
  for (const char* p = text + 1; p < hyphen; p++) {
    if (!is_digit(*p)) return false;
    year = year * 10 + (*p - '0');
    if (year > INT32_MAX) return false;
  }
  if (text[0] == '-') year = -year;
  const char* rest = hyphen + 1;
  size_t rest_len = len - (size_t)(rest - text);
  const char* second = memchr(rest, '-', rest_len);
  if (second == NULL) return false;
  uint64_t month, day;
  if (!parse_u32(rest, (size_t)(second - rest), &month)) return false;
  if (!parse_u32(second + 1, rest_len - (size_t)(second + 1 - rest), &day)) return false;
  return make_date(year, month, day, out);
}

static bool parse_date_exact(const char* text, size_t len, int32_t* out) {
  if (len > 0 && (text[0] == '+' || text[0] == '-')) return parse_extended_date(text, len, out);
  if (len > 10) return false; /* a date-time: not supported here */
  uint8_t digits[10] = {0};
  unsigned mask = 0;
  for (size_t i = 0; i < len; i++) {
    digits[i] = (uint8_t)((uint8_t)text[i] - '0');
    mask |= (unsigned)(digits[i] < 10) << i;
  }
  const uint8_t hyphen = (uint8_t)('-' - '0');
  unsigned year = digits[0] * 1000u + digits[1] * 100u + digits[2] * 10u + digits[3];
  unsigned month, day;
  if (digits[4] != hyphen) {
    if (mask != 0xFF || len != 8) return false; /* YYYYMMDD */
    month = digits[4] * 10u + digits[5];
    day = digits[6] * 10u + digits[7];
  } else if (mask == 0x36F && digits[7] == hyphen) { /* YYYY-MM-DD */
    month = digits[5] * 10u + digits[6];
    day = digits[8] * 10u + digits[9];
  } else if (mask == 0x16F && digits[7] == hyphen) { /* YYYY-MM-D */
    month = digits[5] * 10u + digits[6];
    day = digits[8];
  } else if (mask == 0x1AF && digits[6] == hyphen) { /* YYYY-M-DD */
    month = digits[5];
    day = digits[7] * 10u + digits[8];
  } else if (mask == 0xAF && digits[6] == hyphen) { /* YYYY-M-D */
    month = digits[5];
    day = digits[7];
  } else {
    return false;
  }
  return make_date(year, month, day, out);
}

bool fl_parse_date32(const char* text, size_t len, int32_t* out) {
  if (parse_date_exact(text, len, out)) return true;
  trim_non_digit_sides(&text, &len);
  return parse_date_exact(text, len, out);
}

/* ---- JSON numbers as serde_json prints them ---------------------------------------------- */

/* serde_json (1.0.154) prints floats with zmij: the shortest digits that read back to the
 * same double; plain notation for decimal exponents -5..=15 ("100.0", "0.00001"), otherwise
 * "1.5e-7" / "1e+20". */
static size_t format_double(double value, char* buf) {
  if (value == 0) return (size_t)sprintf(buf, signbit(value) ? "-0.0" : "0.0");
  char sci[40];
  int precision = 1;
  for (; precision <= 17; precision++) {
    snprintf(sci, sizeof(sci), "%.*e", precision - 1, value);
    if (strtod(sci, NULL) == value) break;
  }
  /* sci = [-]D[.DDD]e±XX */
  char digits[24];
  size_t n = 0;
  const char* p = sci;
  bool negative = *p == '-';
  if (negative) p++;
  for (; *p != 'e'; p++) {
    if (is_digit(*p)) digits[n++] = *p;
  }
  while (n > 1 && digits[n - 1] == '0') n--;
  int exponent = atoi(p + 1);

  char* out = buf;
  if (negative) *out++ = '-';
  if (exponent >= -5 && exponent <= 15) {
    if ((int)n - 1 <= exponent) {
      memcpy(out, digits, n);
      out += n;
      for (int i = (int)n - 1; i < exponent; i++) *out++ = '0';
      memcpy(out, ".0", 2);
      out += 2;
    } else if (exponent >= 0) {
      memcpy(out, digits, (size_t)exponent + 1);
      out += exponent + 1;
      *out++ = '.';
      memcpy(out, digits + exponent + 1, n - (size_t)exponent - 1);
      out += n - (size_t)exponent - 1;
    } else {
      *out++ = '0';
      *out++ = '.';
      for (int i = 0; i < -exponent - 1; i++) *out++ = '0';
      memcpy(out, digits, n);
      out += n;
    }
  } else {
    *out++ = digits[0];
    if (n > 1) {
      *out++ = '.';
      memcpy(out, digits + 1, n - 1);
      out += n - 1;
    }
    out += sprintf(out, "e%c%d", exponent < 0 ? '-' : '+', exponent < 0 ? -exponent : exponent);
  }
  *out = '\0';
  return (size_t)(out - buf);
}

size_t fl_json_number_text(yyjson_val* value, char buf[32]) {
  if (yyjson_is_uint(value)) {
    return (size_t)snprintf(buf, 32, "%llu", (unsigned long long)yyjson_get_uint(value));
  }
  if (yyjson_is_sint(value)) {
    int64_t v = yyjson_get_sint(value);
    /* serde_json reads "-0" as the float -0.0 (yyjson as the integer 0). */
    if (v == 0) return (size_t)snprintf(buf, 32, "-0.0");
    return (size_t)snprintf(buf, 32, "%lld", (long long)v);
  }
  return format_double(yyjson_get_real(value), buf);
}

// Converting the config's `value` to a column's type, as the Rust `filter` does: the value is
// kept as text (a JSON number as serde_json prints it) and parsed the way arrow's strict
// string cast parses that type. Every parser returns null when the text does not convert.

/** ASCII whitespace, as Rust's `trim_ascii`. */
const ASCII_SPACE = /^[ \t\n\f\r]+|[ \t\n\f\r]+$/g;

/**
 * A JSON number literal as serde_json prints it: integers in the i64/u64 range verbatim,
 * everything else as the nearest f64, in decimal for exponents -5..=15 (`100.0`,
 * `0.000025`) and scientific otherwise (`1e+20`, `1e-6`). `null` when the number does not
 * fit an f64 (serde_json refuses it).
 */
export function serdeNumberText(literal) {
  if (/^-?\d+$/.test(literal) && literal !== '-0') {
    const n = BigInt(literal);
    if (n >= -(2n ** 63n) && n < 2n ** 64n) {
      return n.toString();
    }
  }
  const value = Number(literal);
  if (!Number.isFinite(value)) {
    return null;
  }
  return formatFloat(value);
}

/** An f64 in serde_json's (zmij's) shortest round-trip format. */
function formatFloat(value) {
  const sign = value < 0 || Object.is(value, -0) ? '-' : '';
  if (value === 0) {
    return `${sign}0.0`;
  }
  const [mantissa, exp] = Math.abs(value).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const e = Number(exp);
  if (e >= -5 && e <= 15) {
    if (digits.length - 1 <= e) {
      return `${sign}${digits}${'0'.repeat(e - digits.length + 1)}.0`;
    }
    if (e >= 0) {
      return `${sign}${digits.slice(0, e + 1)}.${digits.slice(e + 1)}`;
    }
    return `${sign}0.${'0'.repeat(-e - 1)}${digits}`;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${m}e${e < 0 ? '-' : '+'}${Math.abs(e)}`;
}

/**
 * An integer of `bits` bits, signed or not, as a BigInt: optional ASCII whitespace around,
 * an optional sign, decimal digits, in range (arrow's integer parser).
 */
export function parseIntegerText(text, bits, signed) {
  const match = /^([+-]?)(\d+)$/.exec(text.replace(ASCII_SPACE, ''));
  if (!match) {
    return null;
  }
  let n = BigInt(match[2]);
  if (match[1] === '-') {
    n = -n;
  }
  const min = signed ? -(2n ** BigInt(bits - 1)) : 0n;
  const max = signed ? 2n ** BigInt(bits - 1) - 1n : 2n ** BigInt(bits) - 1n;
  return n >= min && n <= max ? n : null;
}

/**
 * A float (lexical-core's grammar: `1`, `1.`, `.5`, `1e5`, `inf`, `infinity`, `nan`, any
 * case, optional sign, whitespace around): `{ value, negative }`, where `negative` tells the
 * sign of a NaN (a JS NaN has none).
 */
export function parseFloatText(text) {
  const s = text.replace(ASCII_SPACE, '');
  const special = /^([+-]?)(nan|inf|infinity)$/i.exec(s);
  if (special) {
    const negative = special[1] === '-';
    if (special[2].toLowerCase() === 'nan') {
      return { value: NaN, negative };
    }
    return { value: negative ? -Infinity : Infinity, negative };
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) {
    return null;
  }
  const value = Number(s);
  return { value, negative: value < 0 || Object.is(value, -0) };
}

/** A bool the way arrow casts a string: `t`..`true`, `y`, `yes`, `on`, `1` and the opposites. */
export function parseBoolText(text) {
  switch (text.replace(/[A-Z]+/g, (c) => c.toLowerCase()).trim()) {
    case 't': case 'tr': case 'tru': case 'true': case 'y': case 'ye': case 'yes': case 'on': case '1':
      return true;
    case 'f': case 'fa': case 'fal': case 'fals': case 'false': case 'n': case 'no': case 'of': case 'off': case '0':
      return false;
    default:
      return null;
  }
}

/**
 * Days since 1970-01-01 of a date: `YYYY-MM-DD` (month and day may have one digit),
 * `YYYYMMDD`, a signed year (`+10999-12-31`), or a date-time (`2024-01-15T10:00:00`,
 * optionally with a zone, whose UTC date counts); whitespace around is ignored.
 */
export function parseDateText(text) {
  return dateDays(text) ?? dateDays(text.replace(ASCII_SPACE, ''));
}

function dateDays(s) {
  let m = /^([+-]\d{4,})-(\d+)-(\d+)$/.exec(s);
  if (m) {
    return civilDays(Number(m[1]), Number(m[2]), Number(m[3]));
  }
  if (s.length > 10) {
    return dateTimeDays(s);
  }
  m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(s) ?? /^(\d{4})(\d{2})(\d{2})$/.exec(s);
  return m ? civilDays(Number(m[1]), Number(m[2]), Number(m[3])) : null;
}

/** The UTC date of `YYYY-MM-DD[T ]HH:MM[:SS[.fraction]][Z|+HH:MM|-HH:MM]`. */
function dateTimeDays(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i.exec(s);
  if (!m) {
    return null;
  }
  const days = civilDays(Number(m[1]), Number(m[2]), Number(m[3]));
  const [hour, minute, second] = [Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
  if (days === null || hour > 23 || minute > 59 || second > 59) {
    return null;
  }
  let offsetMinutes = 0;
  if (m[7] && m[7].toUpperCase() !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})$/.exec(m[7]);
    offsetMinutes = (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3]));
  }
  const utcMinutes = hour * 60 + minute - offsetMinutes;
  return days + Math.floor(utcMinutes / 1440);
}

/** Days since 1970-01-01 of a valid proleptic Gregorian date, else null. */
function civilDays(year, month, day) {
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return null;
  }
  // Howard Hinnant's days_from_civil.
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  const days = era * 146097 + doe - 719468;
  return days >= -(2 ** 31) && days < 2 ** 31 ? days : null;
}

function daysInMonth(year, month) {
  if (month === 2) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    return leap ? 29 : 28;
  }
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

//! Values written as text, read back (CSV fields, BigQuery's REST rows).

/// `true` or `false`, in any case.
#[cfg_attr(not(any(feature = "file", feature = "bigquery")), allow(dead_code))]
pub(crate) fn boolean(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

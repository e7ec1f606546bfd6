//! Exact decimal text: what the targets that write decimals as text share.

/// Writes `±digits × 10^-scale` exactly, with `scale` fraction digits.
pub(crate) fn decimal_text(negative: bool, digits: &[u8], scale: i8, out: &mut Vec<u8>) {
    if negative {
        out.push(b'-');
    }
    let Ok(scale) = usize::try_from(scale) else {
        out.extend_from_slice(digits);
        if digits != b"0" {
            out.resize(out.len() + usize::from(scale.unsigned_abs()), b'0');
        }
        return;
    };
    if digits.len() > scale {
        let (integer, fraction) = digits.split_at(digits.len() - scale);
        out.extend_from_slice(integer);
        if scale > 0 {
            out.push(b'.');
            out.extend_from_slice(fraction);
        }
    } else {
        out.extend_from_slice(b"0.");
        out.resize(out.len() + scale - digits.len(), b'0');
        out.extend_from_slice(digits);
    }
}

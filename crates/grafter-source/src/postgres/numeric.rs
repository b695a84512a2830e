//! PostgreSQL's binary `numeric` format, turned into the exact text PostgreSQL itself prints.
//!
//! A binary numeric is a header (digit count, weight, sign, display scale) followed by
//! base-10000 digits, most significant first; the weight is the power of 10000 of the first
//! digit. Printing follows the server's own `get_str_from_var` (numeric.c): the integer part
//! without leading zeros (at least `0`), then exactly `dscale` fraction digits, so `12.50`
//! stays `12.50` and `-0.0001` stays `-0.0001`. No digit is ever lost, whatever the
//! precision: this is what [`grafter_model::DecimalPolicy::String`] promises.

/// Sign word of a positive number.
const POSITIVE: u16 = 0x0000;
/// Sign word of a negative number.
const NEGATIVE: u16 = 0x4000;
/// Sign word of NaN.
const NAN: u16 = 0xC000;
/// Sign word of `Infinity` (PostgreSQL 14+).
const PLUS_INFINITY: u16 = 0xD000;
/// Sign word of `-Infinity` (PostgreSQL 14+).
const MINUS_INFINITY: u16 = 0xF000;

/// The text PostgreSQL prints for the binary numeric `raw`, or what is wrong with it.
pub(super) fn numeric_text(raw: &[u8]) -> Result<String, String> {
    let [n0, n1, w0, w1, s0, s1, d0, d1, digits @ ..] = raw else {
        return Err(format!("binary numeric of {} bytes is shorter than its 8-byte header", raw.len()));
    };
    let ndigits = usize::from(u16::from_be_bytes([*n0, *n1]));
    let weight = i32::from(i16::from_be_bytes([*w0, *w1]));
    let sign = u16::from_be_bytes([*s0, *s1]);
    let dscale = usize::from(u16::from_be_bytes([*d0, *d1]));
    match sign {
        NAN => return Ok("NaN".to_owned()),
        PLUS_INFINITY => return Ok("Infinity".to_owned()),
        MINUS_INFINITY => return Ok("-Infinity".to_owned()),
        POSITIVE | NEGATIVE => {}
        other => return Err(format!("binary numeric has an unknown sign word {other:#06x}")),
    }
    if digits.len() != ndigits * 2 {
        return Err(format!("binary numeric announces {ndigits} digits but carries {} bytes", digits.len()));
    }
    // Base-10000 digit `i` (counting from the first stored one); digits outside the stored
    // range are zeros, exactly as the server treats them.
    let digit = |i: i32| -> Result<u16, String> {
        if i < 0 || i as usize >= ndigits {
            return Ok(0);
        }
        let at = i as usize * 2;
        let value = u16::from_be_bytes([digits[at], digits[at + 1]]);
        if value > 9999 { Err(format!("binary numeric digit {value} is not below 10000")) } else { Ok(value) }
    };

    let integer_groups = (weight + 1).max(1) as usize;
    let mut out = String::with_capacity(1 + integer_groups * 4 + 1 + dscale + 4);
    if sign == NEGATIVE {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        for i in 0..=weight {
            let value = digit(i)?;
            if i == 0 {
                push_unpadded(&mut out, value);
            } else {
                push_group(&mut out, value);
            }
        }
    }
    if dscale > 0 {
        out.push('.');
        let fraction_start = out.len();
        let mut i = weight + 1;
        while out.len() - fraction_start < dscale {
            push_group(&mut out, digit(i)?);
            i += 1;
        }
        out.truncate(fraction_start + dscale);
    }
    Ok(out)
}

/// Appends a base-10000 digit without leading zeros (the first integer group).
fn push_unpadded(out: &mut String, value: u16) {
    if value >= 1000 {
        out.push(char::from(b'0' + (value / 1000) as u8));
    }
    if value >= 100 {
        out.push(char::from(b'0' + (value / 100 % 10) as u8));
    }
    if value >= 10 {
        out.push(char::from(b'0' + (value / 10 % 10) as u8));
    }
    out.push(char::from(b'0' + (value % 10) as u8));
}

/// Appends a base-10000 digit as exactly four decimal digits.
fn push_group(out: &mut String, value: u16) {
    for divisor in [1000, 100, 10, 1] {
        out.push(char::from(b'0' + (value / divisor % 10) as u8));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A binary numeric built by hand: the format as the server sends it.
    fn binary(weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut raw = Vec::new();
        raw.extend((digits.len() as u16).to_be_bytes());
        raw.extend(weight.to_be_bytes());
        raw.extend(sign.to_be_bytes());
        raw.extend(dscale.to_be_bytes());
        for d in digits {
            raw.extend(d.to_be_bytes());
        }
        raw
    }

    #[test]
    fn trailing_zeros_of_the_scale_are_kept() {
        // 12.50: digits [12, 5000], weight 0, dscale 2.
        assert_eq!(numeric_text(&binary(0, POSITIVE, 2, &[12, 5000])).unwrap(), "12.50");
        assert_eq!(numeric_text(&binary(0, POSITIVE, 2, &[12])).unwrap(), "12.00");
    }

    #[test]
    fn small_negative_fractions_keep_their_leading_zeros() {
        // -0.0001: one digit 1 at weight -1, dscale 4.
        assert_eq!(numeric_text(&binary(-1, NEGATIVE, 4, &[1])).unwrap(), "-0.0001");
        // 0.00001234: digit 1234 at weight -2 (0.0000|1234), dscale 8.
        assert_eq!(numeric_text(&binary(-2, POSITIVE, 8, &[1234])).unwrap(), "0.00001234");
    }

    #[test]
    fn zero_and_integers() {
        assert_eq!(numeric_text(&binary(0, POSITIVE, 0, &[])).unwrap(), "0");
        assert_eq!(numeric_text(&binary(0, POSITIVE, 3, &[])).unwrap(), "0.000");
        // 1000000 = 100|0000: the trailing zero group is not stored.
        assert_eq!(numeric_text(&binary(1, POSITIVE, 0, &[100])).unwrap(), "1000000");
        assert_eq!(numeric_text(&binary(0, NEGATIVE, 0, &[7])).unwrap(), "-7");
    }

    #[test]
    fn huge_precision_is_exact() {
        // 123456789012345678901234567890.123456789 (30 integer digits, 9 fraction digits)
        let raw = binary(7, POSITIVE, 9, &[12, 3456, 7890, 1234, 5678, 9012, 3456, 7890, 1234, 5678, 9000]);
        assert_eq!(numeric_text(&raw).unwrap(), "123456789012345678901234567890.123456789");
    }

    #[test]
    fn special_values() {
        assert_eq!(numeric_text(&binary(0, NAN, 0, &[])).unwrap(), "NaN");
        assert_eq!(numeric_text(&binary(0, PLUS_INFINITY, 0, &[])).unwrap(), "Infinity");
        assert_eq!(numeric_text(&binary(0, MINUS_INFINITY, 0, &[])).unwrap(), "-Infinity");
    }

    #[test]
    fn corrupt_input_is_an_error_not_a_panic() {
        assert!(numeric_text(&[0, 1]).is_err());
        assert!(numeric_text(&binary(0, POSITIVE, 0, &[10000])).is_err());
        assert!(numeric_text(&binary(0, 0x1234, 0, &[1])).is_err());
        let mut short = binary(0, POSITIVE, 0, &[1, 2]);
        short.pop();
        assert!(numeric_text(&short).is_err());
    }
}

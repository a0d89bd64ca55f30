//! The untrusted parts of a web request: `application/x-www-form-urlencoded` bodies and the
//! `Cookie` header. Bounded (at most [`MAX_FIELDS`] fields, the body is already bounded by
//! the listener), never a panic; a fuzz target (`web_form`) holds the invariants of
//! [`crate::fuzzing::web_form`].

use percent_encoding::percent_decode;

/// Fields accepted in one form.
pub const MAX_FIELDS: usize = 32;

/// Why a form body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormError {
    /// More than [`MAX_FIELDS`] fields.
    TooManyFields,
    /// A name or value is not UTF-8 after percent-decoding.
    NotUtf8,
}

impl std::fmt::Display for FormError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FormError::TooManyFields => write!(f, "more than {MAX_FIELDS} form fields"),
            FormError::NotUtf8 => write!(f, "a form field is not UTF-8"),
        }
    }
}

fn decode(part: &[u8]) -> Result<String, FormError> {
    // `+` is a space in this encoding (HTML's form submission), `%2B` a plus.
    let spaced: Vec<u8> = part
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&spaced)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| FormError::NotUtf8)
}

/// Parse a form body into `(name, value)` pairs in order (empty pieces between `&`s are
/// skipped; a piece without `=` is a name with an empty value).
pub fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, FormError> {
    let mut out = Vec::new();
    for piece in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        if out.len() == MAX_FIELDS {
            return Err(FormError::TooManyFields);
        }
        let (name, value) = match piece.iter().position(|&b| b == b'=') {
            Some(i) => (&piece[..i], &piece[i + 1..]),
            None => (piece, &[][..]),
        };
        out.push((decode(name)?, decode(value)?));
    }
    Ok(out)
}

/// The first field called `name`.
pub fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The value of cookie `name` in a `Cookie` header (`a=1; b=2`), if present.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k.trim() == name).then(|| v.trim().trim_matches('"'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let f = parse_form(b"item=reg-ttl&value=60+0%2B1&csrf=ab&&flag").unwrap();
        assert_eq!(
            f,
            vec![
                ("item".to_string(), "reg-ttl".to_string()),
                ("value".to_string(), "60 0+1".to_string()),
                ("csrf".to_string(), "ab".to_string()),
                ("flag".to_string(), String::new()),
            ]
        );
        assert_eq!(field(&f, "value"), Some("60 0+1"));
        assert_eq!(parse_form(b"a=%ff"), Err(FormError::NotUtf8));
        let many = vec!["a=1"; MAX_FIELDS + 1].join("&");
        assert_eq!(parse_form(many.as_bytes()), Err(FormError::TooManyFields));
        assert_eq!(cookie("a=1; cpe_session=xyz", "cpe_session"), Some("xyz"));
        assert_eq!(cookie("a=1", "cpe_session"), None);
    }
}

//! OCMS item values as they appear in TOML files (the config file's `[items]` table and vendor
//! configuration files): TOML booleans, integers or strings, turned into the lexical form the
//! data model validates (`true`, `3600`, `"sip.example"`).

/// The lexical form of a TOML value, or why it cannot be an item value.
pub fn toml_to_lexical(value: &toml::Value) -> Result<String, String> {
    match value {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        toml::Value::Float(_) => Err("floating-point numbers are not item values".into()),
        toml::Value::Datetime(d) => Ok(d.to_string()),
        toml::Value::Array(_) => Err("arrays are not item values".into()),
        toml::Value::Table(_) => Err("tables are not item values".into()),
    }
}

/// Parse a flat TOML document of `item = value` lines into `(item, lexical value)` pairs, in
/// file order. Nested tables, arrays and floats are refused with the offending key named.
pub fn parse_item_lines(text: &str) -> Result<Vec<(String, String)>, String> {
    let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
    let mut out = Vec::with_capacity(doc.len());
    for (key, value) in doc {
        let lexical = toml_to_lexical(&value).map_err(|e| format!("item {key}: {e}"))?;
        out.push((key, lexical));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_items() {
        let items = parse_item_lines(
            "sip-transport = 2\nacs-stun-enable = true\nreg-addr = \"sip.example\"\n",
        )
        .unwrap();
        assert_eq!(
            items,
            vec![
                ("acs-stun-enable".to_string(), "true".to_string()),
                ("reg-addr".to_string(), "sip.example".to_string()),
                ("sip-transport".to_string(), "2".to_string()),
            ]
        );
    }

    #[test]
    fn refusals_name_the_key() {
        assert!(parse_item_lines("a = 1.5").unwrap_err().contains("item a"));
        assert!(parse_item_lines("a = [1]").unwrap_err().contains("item a"));
        assert!(parse_item_lines("[t]\nb = 1")
            .unwrap_err()
            .contains("item t"));
        assert!(parse_item_lines("a = ").is_err());
        assert!(parse_item_lines("a = 1\na = 2").is_err());
    }
}

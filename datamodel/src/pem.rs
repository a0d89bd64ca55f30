//! A strict check of PEM text (RFC 7468 "strict" syntax, whitespace-tolerant) for the
//! certificate and key items. It checks the shape only; whether the DER inside is a valid
//! certificate or key is for the TLS layer to decide when it loads the item.

/// The labels of the PEM blocks in `text`, in order. Empty text has no blocks. Only
/// whitespace may appear between blocks; a block's body must be non-empty base64.
/// Messages never quote the text (the private key is a secret).
pub(crate) fn block_labels(text: &str) -> Result<Vec<String>, String> {
    let mut labels = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        rest = rest
            .strip_prefix("-----BEGIN ")
            .ok_or_else(|| format!("block {}: expected `-----BEGIN `", labels.len() + 1))?;
        let end = rest
            .find("-----")
            .ok_or_else(|| format!("block {}: unterminated BEGIN line", labels.len() + 1))?;
        let label = rest.get(..end).unwrap_or_default();
        if label.is_empty()
            || label.len() > 64
            || !label
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ')
        {
            return Err(format!("block {}: invalid label", labels.len() + 1));
        }
        rest = rest.get(end + 5..).unwrap_or_default();
        let footer = format!("-----END {label}-----");
        let pos = rest
            .find(&footer)
            .ok_or_else(|| format!("block {} ({label}): no matching END line", labels.len() + 1))?;
        let body = rest.get(..pos).unwrap_or_default();
        let mut count = 0usize;
        let mut padding = 0usize;
        for c in body.chars() {
            if c.is_ascii_whitespace() {
                continue;
            }
            if c == '=' {
                padding += 1;
            } else if padding > 0 || !(c.is_ascii_alphanumeric() || c == '+' || c == '/') {
                return Err(format!(
                    "block {} ({label}): body is not base64",
                    labels.len() + 1
                ));
            }
            count += 1;
        }
        if count == 0 || count % 4 != 0 || padding > 2 {
            return Err(format!(
                "block {} ({label}): body is not base64",
                labels.len() + 1
            ));
        }
        labels.push(label.to_owned());
        rest = rest
            .get(pos + footer.len()..)
            .unwrap_or_default()
            .trim_start();
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::block_labels;

    const CERT: &str =
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\nAAAA\n-----END CERTIFICATE-----\n";

    #[test]
    fn accepted() {
        assert_eq!(block_labels(""), Ok(vec![]));
        assert_eq!(block_labels("  \n"), Ok(vec![]));
        assert_eq!(block_labels(CERT), Ok(vec!["CERTIFICATE".to_owned()]));
        assert_eq!(block_labels(&format!("{CERT}\n{CERT}")).unwrap().len(), 2);
        // The seed shows its certificates flattened onto one line: still PEM.
        assert!(
            block_labels("-----BEGIN CERTIFICATE----- MIIE AAA= -----END CERTIFICATE-----").is_ok()
        );
        assert_eq!(
            block_labels("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----"),
            Ok(vec!["EC PRIVATE KEY".to_owned()])
        );
    }

    #[test]
    fn refused() {
        for bad in [
            "hello",
            "-----BEGIN CERTIFICATE-----\nAAAA\n",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END PRIVATE KEY-----",
            "-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----",
            "-----BEGIN CERTIFICATE-----\nAA*A\n-----END CERTIFICATE-----",
            "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----",
            "-----BEGIN CERTIFICATE-----\nA=AA\n-----END CERTIFICATE-----",
            "-----BEGIN certificate-----\nAAAA\n-----END certificate-----",
            "-----BEGIN -----\nAAAA\n-----END -----",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\ntrailing text",
            "-----BEGIN CERTIFICATE",
        ] {
            assert!(block_labels(bad).is_err(), "{bad:?}");
        }
    }
}

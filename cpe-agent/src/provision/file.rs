//! Provisioning file formats (seed 001 §4.1), detected by content:
//!
//! * **text** (`.cfg`/`.txt`): the header line `<<VOIP CONFIG FILE>>Version:2.0002` (the seed
//!   pads it to 64 characters and ends it in CRLF), `<MODULE NAME>` section lines,
//!   `Key :Value` lines, and `<<END OF FILE>>`;
//! * **XML**: the seed's Figure 6 in well-formed form (element names cannot hold spaces, so a
//!   space is written `_`): a root element (`<VOIP_CONFIG_FILE>`), an optional `<Version>` or
//!   `<Digests>` child, module elements (`<GLOBAL_CONFIG_MODULE>`) holding key elements
//!   (`<Time_Zone>32</Time_Zone>`, `<reg-addr>sip.example.net</reg-addr>`);
//! * **TOML** `item = value` lines: this project's vendor configuration file format (what a
//!   TR-069 Download carried before auto provisioning existed); item names only.
//!
//! Decisions where the seed is loose:
//!
//! * The header is recognised by its `<<VOIP CONFIG FILE>>` prefix; CRLF and LF line ends are
//!   both read, and a header shorter than 64 characters is accepted (files edited by hand
//!   rarely keep the padding). [`write_text`] writes the seed's exact form.
//! * A text file without `<<END OF FILE>>` is refused: it is how a truncated download shows.
//!   Anything after it is ignored, as on the seed's phones.
//! * A line in a module that is neither a section, a `Key :Value` pair nor blank refuses the
//!   file (a syntax error, not an unknown key). A key before the first module is skipped
//!   ("the module header of this option must be carried", §4.1.2).
//! * Keys and values are trimmed of surrounding blanks; the value is everything after the
//!   first `:` (URLs keep theirs).
//! * The seed's own Figure 6 is not well-formed XML (element names with spaces, a root closed
//!   by another name); it is refused as "not well-formed XML" rather than guessed at. Its
//!   well-formed form is in the README ("Provisioning without an ACS").
//!
//! Every parser here is bounded ([`crate::vendor_config::MAX_CONFIG_FILE`] bytes,
//! [`MAX_ENTRIES`] entries, XML depth 3, no DTD) and fuzzed (`provisioning_file`).

use crate::vendor_config::MAX_CONFIG_FILE;
use quick_xml::events::Event;
use std::fmt;

/// The header prefix of a text provisioning file.
pub const TEXT_HEADER: &str = "<<VOIP CONFIG FILE>>";
/// The last line of a text provisioning file.
pub const TEXT_END: &str = "<<END OF FILE>>";
/// The most `key: value` entries one file may hold.
pub const MAX_ENTRIES: usize = 10_000;

/// How a file was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `<<VOIP CONFIG FILE>>` text.
    Text,
    /// Well-formed XML.
    Xml,
    /// TOML `item = value` lines (this project's vendor configuration files).
    Toml,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Text => "text",
            Format::Xml => "xml",
            Format::Toml => "toml",
        })
    }
}

/// One setting as the file writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The module (section) it is in, upper case with single spaces (`GLOBAL CONFIG MODULE`);
    /// `None` before the first module, and for TOML files.
    pub module: Option<String>,
    /// The key as written, trimmed.
    pub key: String,
    /// The value, trimmed (TOML: its lexical form).
    pub value: String,
}

/// A parsed provisioning file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvFile {
    /// How it was written.
    pub format: Format,
    /// Its `Version` (text header, XML `<Version>`/`<Digests>`), if it carries one.
    pub version: Option<String>,
    /// The settings in file order.
    pub entries: Vec<Entry>,
}

/// Why a file could not be read (nothing of it is applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileError {
    /// Larger than the bound.
    TooLarge,
    /// Not UTF-8 text.
    NotText,
    /// A syntax error, with where and what.
    Syntax(String),
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::TooLarge => write!(f, "file larger than {MAX_CONFIG_FILE} bytes"),
            FileError::NotText => write!(f, "file is not UTF-8 text"),
            FileError::Syntax(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for FileError {}

/// A module or key name in its canonical form for matching: `_` read as a space, blanks
/// collapsed, upper case (`Auto_Image_Url` and `Auto Image Url` are the same key).
pub fn canonical(name: &str) -> String {
    name.replace('_', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_uppercase()
}

/// Which format `data` is in (after a UTF-8 BOM and leading blanks).
pub fn detect(data: &[u8]) -> Format {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let start = data
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(data.len());
    let rest = &data[start..];
    if rest.starts_with(TEXT_HEADER.as_bytes()) {
        Format::Text
    } else if rest.starts_with(b"<") {
        Format::Xml
    } else {
        Format::Toml
    }
}

/// Parse a (decrypted) provisioning file in whichever format it is written.
pub fn parse(data: &[u8]) -> Result<ProvFile, FileError> {
    if data.len() > MAX_CONFIG_FILE {
        return Err(FileError::TooLarge);
    }
    let body = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let text = std::str::from_utf8(body).map_err(|_| FileError::NotText)?;
    match detect(body) {
        Format::Text => parse_text(text),
        Format::Xml => parse_xml(text),
        Format::Toml => parse_toml(text),
    }
}

fn parse_toml(text: &str) -> Result<ProvFile, FileError> {
    let items = crate::items::parse_item_lines(text).map_err(|e| {
        // A TOML error quotes the offending line, which may hold a secret: keep only what
        // names the key.
        if e.starts_with("item ") {
            FileError::Syntax(e)
        } else {
            FileError::Syntax("not a text, XML or TOML provisioning file".into())
        }
    })?;
    if items.len() > MAX_ENTRIES {
        return Err(FileError::Syntax(format!(
            "more than {MAX_ENTRIES} settings"
        )));
    }
    Ok(ProvFile {
        format: Format::Toml,
        version: None,
        entries: items
            .into_iter()
            .map(|(key, value)| Entry {
                module: None,
                key,
                value,
            })
            .collect(),
    })
}

fn parse_text(text: &str) -> Result<ProvFile, FileError> {
    let text = text.trim_start();
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let header = lines.next().unwrap_or_default();
    let after = header
        .strip_prefix(TEXT_HEADER)
        .ok_or_else(|| FileError::Syntax("no <<VOIP CONFIG FILE>> header".into()))?;
    if header.trim_end().chars().count() > 64 {
        return Err(FileError::Syntax(
            "the header line is longer than 64 characters".into(),
        ));
    }
    let after = after.trim();
    let version = match after.split_once(':') {
        Some((k, v)) if k.trim().eq_ignore_ascii_case("version") => {
            Some(v.trim().to_owned()).filter(|v| !v.is_empty())
        }
        _ if after.is_empty() => None,
        _ => {
            return Err(FileError::Syntax(
                "the header line carries something other than Version:".into(),
            ))
        }
    };
    let mut module: Option<String> = None;
    let mut entries = Vec::new();
    let mut ended = false;
    for (n, raw) in lines.enumerate() {
        let line_no = n + 2;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if line == TEXT_END {
            ended = true;
            break;
        }
        if line.starts_with('<') && line.ends_with('>') && !line.starts_with("<<") {
            let name = canonical(&line[1..line.len() - 1]);
            if name.is_empty() {
                return Err(FileError::Syntax(format!(
                    "line {line_no}: empty module name"
                )));
            }
            module = Some(name);
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(FileError::Syntax(format!(
                "line {line_no}: neither <MODULE>, Key :Value nor <<END OF FILE>>"
            )));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(FileError::Syntax(format!("line {line_no}: empty key")));
        }
        if entries.len() >= MAX_ENTRIES {
            return Err(FileError::Syntax(format!(
                "more than {MAX_ENTRIES} settings"
            )));
        }
        entries.push(Entry {
            module: module.clone(),
            key: key.to_owned(),
            value: value.trim().to_owned(),
        });
    }
    if !ended {
        return Err(FileError::Syntax(
            "no <<END OF FILE>> line (truncated file?)".into(),
        ));
    }
    Ok(ProvFile {
        format: Format::Text,
        version,
        entries,
    })
}

/// One open XML element while parsing.
struct Open {
    name: String,
    text: String,
    has_children: bool,
}

fn parse_xml(text: &str) -> Result<ProvFile, FileError> {
    let bad = |m: &str| FileError::Syntax(format!("not well-formed XML: {m}"));
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    reader.config_mut().allow_unmatched_ends = false;
    let mut stack: Vec<Open> = Vec::new();
    let mut seen_root = false;
    let mut version = None;
    let mut entries = Vec::new();
    loop {
        let ev = reader.read_event().map_err(|e| bad(&e.to_string()))?;
        let is_empty = matches!(ev, Event::Empty(_));
        match ev {
            Event::DocType(_) => return Err(bad("a DTD is not allowed")),
            Event::Start(_) | Event::Empty(_) if seen_root && stack.is_empty() => {
                return Err(bad("content after the root element"))
            }
            Event::Start(e) | Event::Empty(e) => {
                if stack.len() >= 3 {
                    return Err(FileError::Syntax(
                        "XML nested deeper than root / module / key".into(),
                    ));
                }
                seen_root = true;
                let name = e.name().0.to_owned();
                if let Some(parent) = stack.last_mut() {
                    parent.has_children = true;
                }
                let open = Open {
                    name,
                    text: String::new(),
                    has_children: false,
                };
                if is_empty {
                    close(open, &stack, &mut version, &mut entries)?;
                } else {
                    stack.push(open);
                }
            }
            Event::End(_) => {
                let open = stack.pop().ok_or_else(|| bad("unmatched end tag"))?;
                close(open, &stack, &mut version, &mut entries)?;
            }
            Event::Text(t) => {
                let s = t.xml10_content();
                push_text(&mut stack, &s)?;
            }
            Event::CData(t) => {
                let s = t.xml10_content();
                push_text(&mut stack, &s)?;
            }
            Event::GeneralRef(r) => {
                let c: String = if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => return Err(bad("bad character reference")),
                    }
                } else {
                    let name = r.xml10_content();
                    match &*name {
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "amp" => "&".into(),
                        "apos" => "'".into(),
                        "quot" => "\"".into(),
                        _ => return Err(bad("unknown entity")),
                    }
                };
                push_text(&mut stack, &c)?;
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(bad("truncated document"));
    }
    if !seen_root {
        return Err(bad("no root element"));
    }
    Ok(ProvFile {
        format: Format::Xml,
        version,
        entries,
    })
}

fn push_text(stack: &mut [Open], s: &str) -> Result<(), FileError> {
    if let Some(top) = stack.last_mut() {
        if top.text.len() + s.len() > MAX_CONFIG_FILE {
            return Err(FileError::TooLarge);
        }
        top.text.push_str(s);
    }
    Ok(())
}

/// An element ended: a key (depth 2 or 3 with text), the version, or a module (ignored).
fn close(
    open: Open,
    stack: &[Open],
    version: &mut Option<String>,
    entries: &mut Vec<Entry>,
) -> Result<(), FileError> {
    if open.has_children {
        if !open.text.trim().is_empty() {
            return Err(FileError::Syntax(format!(
                "XML element <{}> mixes text and elements",
                open.name
            )));
        }
        return Ok(());
    }
    match stack.len() {
        0 => Ok(()), // an empty root
        1 if matches!(canonical(&open.name).as_str(), "VERSION" | "DIGESTS") => {
            *version = Some(open.text.trim().to_owned()).filter(|v| !v.is_empty());
            Ok(())
        }
        n => {
            if entries.len() >= MAX_ENTRIES {
                return Err(FileError::Syntax(format!(
                    "more than {MAX_ENTRIES} settings"
                )));
            }
            let module = (n == 2).then(|| canonical(&stack[1].name));
            // Keys are trimmed like in text files, except multi-line values (PEM): their
            // lines keep their layout, only the outer blank lines go.
            entries.push(Entry {
                module,
                key: open.name.replace('_', " ").trim().to_owned(),
                value: open.text.trim().to_owned(),
            });
            Ok(())
        }
    }
}

/// Write a text provisioning file (the seed's exact form: a 64-character header padded with
/// spaces, CRLF line ends). For tests and for operators preparing files.
pub fn write_text(version: &str, modules: &[(&str, &[(&str, &str)])]) -> String {
    let mut out = format!("{TEXT_HEADER}Version:{version}");
    while out.chars().count() < 64 {
        out.push(' ');
    }
    out.push_str("\r\n");
    for (module, keys) in modules {
        out.push_str(&format!("\r\n<{module}>\r\n"));
        for (k, v) in *keys {
            out.push_str(&format!("{k} :{v}\r\n"));
        }
    }
    out.push_str(&format!("\r\n{TEXT_END}\r\n"));
    out
}

/// Write a well-formed XML provisioning file (spaces in names as `_`).
pub fn write_xml(version: &str, modules: &[(&str, &[(&str, &str)])]) -> String {
    let tag = |s: &str| s.replace(' ', "_");
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<VOIP_CONFIG_FILE>\n");
    out.push_str(&format!(
        "<Version>{}</Version>\n",
        quick_xml::escape::escape(version)
    ));
    for (module, keys) in modules {
        out.push_str(&format!("<{}>\n", tag(module)));
        for (k, v) in *keys {
            out.push_str(&format!(
                "<{0}>{1}</{0}>\n",
                tag(k),
                quick_xml::escape::escape(*v)
            ));
        }
        out.push_str(&format!("</{}>\n", tag(module)));
    }
    out.push_str("</VOIP_CONFIG_FILE>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's Figure 1, as the seed writes it.
    const FIGURE_1: &str = "<<VOIP CONFIG FILE>>Version:2.0002\r\n\r\n<GLOBAL CONFIG MODULE>\r\n\r\nTime Zone :32\r\n\r\n<AUTOUPDATE CONFIG MODULE>\r\n\r\nAuto Pbook Url :tftp://123:123@172.16.6.70/500.csv\r\n\r\nAuto Image Url :http://123:123@172.16.6.70:8000/x4.z\r\n\r\nAuto Etc Url :tftp://172.16.6.70/sips.pem\r\n\r\n<<END OF FILE>>\r\n";

    #[test]
    fn seed_text_file() {
        let f = parse(FIGURE_1.as_bytes()).unwrap();
        assert_eq!(f.format, Format::Text);
        assert_eq!(f.version.as_deref(), Some("2.0002"));
        assert_eq!(f.entries.len(), 4);
        assert_eq!(f.entries[0].module.as_deref(), Some("GLOBAL CONFIG MODULE"));
        assert_eq!(f.entries[0].key, "Time Zone");
        assert_eq!(f.entries[0].value, "32");
        assert_eq!(f.entries[2].value, "http://123:123@172.16.6.70:8000/x4.z");
        // LF only, no padding: read the same.
        let lf = FIGURE_1.replace("\r\n", "\n");
        assert_eq!(parse(lf.as_bytes()).unwrap(), f);
    }

    #[test]
    fn text_round_trip_and_refusals() {
        let t = write_text(
            "7",
            &[("SIP CONFIG MODULE", &[("reg-addr", "sip.example.net")])],
        );
        assert_eq!(t.split("\r\n").next().unwrap().chars().count(), 64);
        let f = parse(t.as_bytes()).unwrap();
        assert_eq!(f.version.as_deref(), Some("7"));
        assert_eq!(f.entries[0].key, "reg-addr");
        let truncated = t.replace(TEXT_END, "");
        assert!(parse(truncated.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("END OF FILE"));
        let junk = t.replace("reg-addr :", "reg-addr ");
        assert!(matches!(parse(junk.as_bytes()), Err(FileError::Syntax(_))));
        let long = format!("{TEXT_HEADER}Version:{}\r\n{TEXT_END}\r\n", "9".repeat(60));
        assert!(parse(long.as_bytes()).is_err());
        let no_version = format!("{TEXT_HEADER}\r\n{TEXT_END}\r\n");
        assert_eq!(parse(no_version.as_bytes()).unwrap().version, None);
    }

    #[test]
    fn xml_well_formed_and_the_seed_figure() {
        let x = write_xml(
            "2.0002",
            &[
                ("GLOBAL CONFIG MODULE", &[("Time Zone", "32")]),
                (
                    "AUTOUPDATE CONFIG MODULE",
                    &[("Auto Image Url", "tftp://172.16.6.45/x4.z")],
                ),
                ("SIP CONFIG MODULE", &[("reg-addr", "a&b")]),
            ],
        );
        let f = parse(x.as_bytes()).unwrap();
        assert_eq!(f.format, Format::Xml);
        assert_eq!(f.version.as_deref(), Some("2.0002"));
        assert_eq!(f.entries.len(), 3);
        assert_eq!(f.entries[1].key, "Auto Image Url");
        assert_eq!(
            f.entries[1].module.as_deref(),
            Some("AUTOUPDATE CONFIG MODULE")
        );
        assert_eq!(f.entries[2].value, "a&b");
        // The seed's Figure 6 as printed: refused, not guessed at.
        let fig6 = "<VOIP CONFIG FILE>\n<Digests>2.0002</Digests>\n<GLOBAL CONFIG MODULE>\n<Time_Zone>32</Time_Zone>\n</GLOBAL CONFIG MODULE>\n</VOIP_CONFIG_FILE>\n";
        assert!(parse(fig6.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("not well-formed XML"));
        assert!(parse(b"<a><b><c><d>1</d></c></b></a>").is_err());
        assert!(parse(b"<!DOCTYPE a [<!ENTITY x \"y\">]><a/>").is_err());
        assert!(parse(b"<a><b>1</b>").is_err());
        assert!(parse(b"<a/><b/>").is_err());
    }

    #[test]
    fn toml_and_detection() {
        assert_eq!(detect(b"reg-ttl = 600\n"), Format::Toml);
        assert_eq!(detect(b"\xEF\xBB\xBF  <x/>"), Format::Xml);
        let f = parse(b"reg-ttl = 600\n").unwrap();
        assert_eq!(f.entries[0].module, None);
        assert_eq!(f.entries[0].value, "600");
        assert!(parse(b"\xff\xfe").is_err());
        assert_eq!(canonical(" auto_image   Url "), "AUTO IMAGE URL");
    }
}

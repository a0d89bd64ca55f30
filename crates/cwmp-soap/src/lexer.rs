//! A hardened token stream over quick-xml's `NsReader`: it adds the well-formedness checks
//! quick-xml leaves out (DOCTYPE, entities, XML 1.0 characters, names, content outside the
//! root, truncation), enforces the depth limit, and resolves element namespaces and the
//! attributes the codec needs (`xsi:type`, `soap:mustUnderstand`) to owned values, so the
//! decoder above it never looks at a prefix.

use crate::error::{ParseError, ParseErrorKind};
use crate::message::CwmpNamespace;
use cwmp_model::XsdType;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{QName, ResolveResult};
use quick_xml::reader::NsReader;
use quick_xml::XmlVersion;
use std::borrow::Cow;

/// SOAP 1.1 envelope namespace.
pub(crate) const SOAP_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// SOAP 1.1 encoding namespace.
pub(crate) const SOAP_ENC: &str = "http://schemas.xmlsoap.org/soap/encoding/";
/// XML Schema namespace.
pub(crate) const XSD: &str = "http://www.w3.org/2001/XMLSchema";
/// XML Schema instance namespace.
pub(crate) const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Pre-2001 XML Schema namespaces that old SOAP stacks still emit; accepted on input.
const XSD_OLD: [&str; 2] = [
    "http://www.w3.org/1999/XMLSchema",
    "http://www.w3.org/2000/10/XMLSchema",
];
const XSI_OLD: [&str; 2] = [
    "http://www.w3.org/1999/XMLSchema-instance",
    "http://www.w3.org/2000/10/XMLSchema-instance",
];

/// The namespace of an element, reduced to what the decoder distinguishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ns {
    /// No namespace (unqualified, no default namespace in scope).
    None,
    /// `http://schemas.xmlsoap.org/soap/envelope/`.
    SoapEnv,
    /// One of the cwmp namespaces.
    Cwmp(CwmpNamespace),
    /// Anything else.
    Other(String),
}

impl Ns {
    pub(crate) fn uri(&self) -> Option<&str> {
        match self {
            Ns::None => None,
            Ns::SoapEnv => Some(SOAP_ENV),
            Ns::Cwmp(c) => Some(c.uri()),
            Ns::Other(s) => Some(s),
        }
    }
}

/// The `xsi:type` of an element, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum XsiType {
    /// No `xsi:type`.
    Absent,
    /// An XML Schema (or SOAP-encoding) primitive the model knows.
    Xsd(XsdType),
    /// A cwmp type, by local name (only the DU operation structs are recognised).
    Cwmp(OpType),
    /// Anything else.
    Other,
}

/// The cwmp types that appear in `xsi:type` (the concrete ChangeDUState operations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpType {
    Install,
    Update,
    Uninstall,
}

/// An element start.
#[derive(Debug, Clone)]
pub(crate) struct Elem<'a> {
    pub(crate) ns: Ns,
    pub(crate) local: &'a str,
    pub(crate) offset: usize,
    pub(crate) xsi_type: XsiType,
    pub(crate) must_understand: bool,
    /// The first cwmp namespace URI this element binds with an `xmlns` attribute.
    pub(crate) declares_cwmp: Option<CwmpNamespace>,
}

/// A token.
#[derive(Debug)]
pub(crate) enum Tok<'a> {
    /// An element start (an empty element is a `Start` followed by an `End`).
    Start(Elem<'a>),
    /// The end of the innermost open element.
    End,
    /// Character data (text, CDATA, or a resolved reference), never outside the root.
    Text(Cow<'a, str>),
}

pub(crate) struct Lexer<'a> {
    reader: NsReader<&'a [u8]>,
    /// The input after the byte order mark.
    text: &'a str,
    /// Bytes skipped before the reader's input (a UTF-8 byte order mark).
    base: usize,
    depth: usize,
    max_depth: usize,
    pending_end: bool,
    seen_root: bool,
}

pub(crate) type Result<T> = std::result::Result<T, ParseError>;

impl<'a> Lexer<'a> {
    /// Checks the encoding and the characters of the whole input, then sets up the reader.
    pub(crate) fn new(bytes: &'a [u8], max_depth: usize) -> Result<Lexer<'a>> {
        let (base, body) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
            Some(rest) => (3, rest),
            None => (0, bytes),
        };
        let text = std::str::from_utf8(body)
            .map_err(|e| ParseError::new(ParseErrorKind::InvalidUtf8, base + e.valid_up_to()))?;
        if let Some(pos) = first_invalid_char(text) {
            return Err(ParseError::new(ParseErrorKind::InvalidChar, base + pos));
        }
        let mut reader = NsReader::from_str(text);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.check_comments = true;
        config.allow_dangling_amp = false;
        config.allow_unmatched_ends = false;
        config.expand_empty_elements = false;
        config.trim_text(false);
        Ok(Lexer {
            reader,
            text,
            base,
            depth: 0,
            max_depth,
            pending_end: false,
            seen_root: false,
        })
    }

    /// The current byte offset in the input.
    pub(crate) fn offset(&self) -> usize {
        self.base + usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX)
    }

    fn err(&self, kind: ParseErrorKind, offset: usize) -> ParseError {
        ParseError::new(kind, offset)
    }

    /// The next token. After the root element ends, returns `Ok(None)` once the rest of the
    /// document has been checked (only comments, processing instructions and whitespace).
    pub(crate) fn next(&mut self) -> Result<Option<Tok<'a>>> {
        if self.pending_end {
            self.pending_end = false;
            self.depth = self.depth.saturating_sub(1);
            return Ok(Some(Tok::End));
        }
        loop {
            let start = self.offset();
            let event = match self.reader.read_event() {
                Ok(ev) => ev,
                Err(e) => {
                    let at = self.base
                        + usize::try_from(self.reader.error_position()).unwrap_or(usize::MAX);
                    return Err(self.err(map_xml_error(&e), at));
                }
            };
            match event {
                Event::Decl(_) => {
                    if start != self.base {
                        return Err(self.err(
                            ParseErrorKind::Syntax(
                                "XML declaration not at the start of the document".into(),
                            ),
                            start,
                        ));
                    }
                }
                Event::DocType(_) => return Err(self.err(ParseErrorKind::Doctype, start)),
                Event::PI(_) | Event::Comment(_) => {}
                Event::Start(e) | Event::Empty(e) if self.depth == 0 && self.seen_root => {
                    let name = String::from_utf8_lossy(e.name().0.as_bytes()).into_owned();
                    return Err(self.err(
                        ParseErrorKind::Syntax(format!("element <{name}> after the root element")),
                        start,
                    ));
                }
                Event::Start(e) => {
                    let elem = self.open(&e, start)?;
                    return Ok(Some(Tok::Start(elem)));
                }
                Event::Empty(e) => {
                    let elem = self.open(&e, start)?;
                    self.pending_end = true;
                    return Ok(Some(Tok::Start(elem)));
                }
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    return Ok(Some(Tok::End));
                }
                Event::Text(t) => {
                    let s = t.xml10_content();
                    if self.depth == 0 {
                        if !is_xml_whitespace(&s) {
                            return Err(self.err(
                                ParseErrorKind::UnexpectedText {
                                    parent: String::new(),
                                },
                                start,
                            ));
                        }
                        continue;
                    }
                    return Ok(Some(Tok::Text(s)));
                }
                Event::CData(t) => {
                    if self.depth == 0 {
                        return Err(self.err(
                            ParseErrorKind::Syntax("CDATA outside the root element".into()),
                            start,
                        ));
                    }
                    return Ok(Some(Tok::Text(t.xml10_content())));
                }
                Event::GeneralRef(r) => {
                    if self.depth == 0 {
                        return Err(self.err(
                            ParseErrorKind::Syntax("reference outside the root element".into()),
                            start,
                        ));
                    }
                    let name = r.xml10_content();
                    let text: Cow<'a, str> = if r.is_char_ref() {
                        match r.resolve_char_ref() {
                            Ok(Some(c)) if is_xml_char(c) => Cow::Owned(c.to_string()),
                            _ => {
                                return Err(
                                    self.err(ParseErrorKind::InvalidCharRef(clip(&name)), start)
                                )
                            }
                        }
                    } else {
                        Cow::Borrowed(match &*name {
                            "lt" => "<",
                            "gt" => ">",
                            "amp" => "&",
                            "apos" => "'",
                            "quot" => "\"",
                            other => {
                                return Err(
                                    self.err(ParseErrorKind::UnknownEntity(clip(other)), start)
                                )
                            }
                        })
                    };
                    return Ok(Some(Tok::Text(text)));
                }
                Event::Eof => {
                    if self.depth > 0 || !self.seen_root {
                        return Err(self.err(ParseErrorKind::Truncated, start));
                    }
                    return Ok(None);
                }
            }
        }
    }

    /// Handles an element start: depth, name syntax, namespace, attributes.
    fn open(&mut self, e: &BytesStart<'a>, offset: usize) -> Result<Elem<'a>> {
        self.depth += 1;
        self.seen_root = true;
        if self.depth > self.max_depth {
            return Err(self.err(
                ParseErrorKind::TooDeep {
                    limit: self.max_depth,
                },
                offset,
            ));
        }
        // The name is re-sliced from the input so it can be returned with the input's
        // lifetime; the tag starts with `<` at `offset`.
        let name_len = e.name().0.len();
        let rel = offset - self.base + 1;
        let qname: &'a str = match self.text.get(rel..rel + name_len) {
            Some(n) if n == e.name().0 => n,
            _ => {
                return Err(self.err(
                    ParseErrorKind::Syntax("cannot locate the element name".into()),
                    offset,
                ))
            }
        };
        let resolver = self.reader.resolver();
        let (res, local) = resolver.resolve_element(QName(qname));
        let ns = match res {
            ResolveResult::Bound(n) => ns_of(n.0),
            ResolveResult::Unbound => Ns::None,
            ResolveResult::Unknown(p) => {
                return Err(self.err(
                    ParseErrorKind::Namespace(format!("unbound prefix {:?}", clip(&p))),
                    offset,
                ))
            }
        };
        let local: &'a str = qname
            .get(qname.len() - local.into_inner().len()..)
            .unwrap_or("");
        let prefix = qname
            .len()
            .checked_sub(local.len() + 1)
            .and_then(|n| qname.get(..n));
        // GenieACS 1.2.16 writes its fault as `<soap-env:Body:Fault>` (two colons). That is
        // not namespace-well-formed, but the intent is unambiguous, so exactly that name in
        // the SOAP namespace is let through; the decoder reads it as a Fault.
        let genieacs_fault = ns == Ns::SoapEnv && local == "Body:Fault";
        if !genieacs_fault && (!is_ncname(local) || prefix.is_some_and(|p| !is_ncname(p))) {
            return Err(self.err(
                ParseErrorKind::Namespace(format!("invalid element name {:?}", clip(qname))),
                offset,
            ));
        }

        let mut xsi_type = XsiType::Absent;
        let mut must_understand = false;
        let mut declares_cwmp = None;
        for attr in e.attributes() {
            let attr = attr.map_err(|err| {
                self.err(ParseErrorKind::Syntax(format!("attribute: {err}")), offset)
            })?;
            let key = attr.key.0;
            if attr.value.contains('<') {
                return Err(self.err(
                    ParseErrorKind::Syntax(format!("'<' in the value of attribute {key:?}")),
                    offset,
                ));
            }
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|err| self.err(map_xml_error(&err), offset))?;
            if key == "xmlns" || key.starts_with("xmlns:") {
                if declares_cwmp.is_none() {
                    declares_cwmp = CwmpNamespace::from_uri(&value);
                }
                continue;
            }
            let (res, local) = resolver.resolve_attribute(attr.key);
            let local = local.into_inner();
            let bad_name = match key.split_once(':') {
                Some((p, l)) => !is_ncname(p) || !is_ncname(l),
                None => !is_ncname(key),
            };
            if bad_name {
                return Err(self.err(
                    ParseErrorKind::Namespace(format!("invalid attribute name {:?}", clip(key))),
                    offset,
                ));
            }
            match res {
                ResolveResult::Unknown(p) => {
                    return Err(self.err(
                        ParseErrorKind::Namespace(format!("unbound prefix {:?}", clip(&p))),
                        offset,
                    ))
                }
                ResolveResult::Unbound => {}
                ResolveResult::Bound(n) => {
                    if local == "type" && (n.0 == XSI || XSI_OLD.contains(&n.0)) {
                        xsi_type = self.resolve_type(value.trim());
                    } else if local == "mustUnderstand" && n.0 == SOAP_ENV {
                        must_understand = matches!(value.trim(), "1" | "true");
                    }
                }
            }
        }
        Ok(Elem {
            ns,
            local,
            offset,
            xsi_type,
            must_understand,
            declares_cwmp,
        })
    }

    /// Resolves the QName value of `xsi:type` with the bindings in scope.
    ///
    /// Decision: a prefix bound to XML Schema or SOAP encoding names a primitive; one bound
    /// to a cwmp namespace names a cwmp type. An **unbound** prefix (an ACS that forgot to
    /// declare `xmlns:xsd`) is resolved leniently by the local name alone: the value is a
    /// QName in content, not markup, so the document is still well-formed.
    fn resolve_type(&self, value: &str) -> XsiType {
        let (res, local) = self.reader.resolver().resolve_element(QName(value));
        let local = local.into_inner();
        let by_local = || {
            if let Some(t) = XsdType::from_local_name(local) {
                XsiType::Xsd(t)
            } else if let Some(t) = cwmp_type(local) {
                XsiType::Cwmp(t)
            } else {
                XsiType::Other
            }
        };
        match res {
            ResolveResult::Bound(n) => {
                let uri = n.0;
                if uri == XSD || uri == SOAP_ENC || XSD_OLD.contains(&uri) {
                    XsdType::from_local_name(local).map_or(XsiType::Other, XsiType::Xsd)
                } else if CwmpNamespace::from_uri(uri).is_some() {
                    cwmp_type(local).map_or(XsiType::Other, XsiType::Cwmp)
                } else {
                    XsiType::Other
                }
            }
            ResolveResult::Unbound | ResolveResult::Unknown(_) => by_local(),
        }
    }
}

fn cwmp_type(local: &str) -> Option<OpType> {
    match local {
        "InstallOpStruct" => Some(OpType::Install),
        "UpdateOpStruct" => Some(OpType::Update),
        "UninstallOpStruct" => Some(OpType::Uninstall),
        _ => None,
    }
}

fn ns_of(uri: &str) -> Ns {
    if uri == SOAP_ENV {
        Ns::SoapEnv
    } else if let Some(c) = CwmpNamespace::from_uri(uri) {
        Ns::Cwmp(c)
    } else {
        Ns::Other(uri.to_owned())
    }
}

/// Maps a quick-xml error to a refusal kind. Every "unclosed …" error happens at the end
/// of the input, so it means the document was cut short.
fn map_xml_error(e: &quick_xml::Error) -> ParseErrorKind {
    use quick_xml::errors::{IllFormedError, SyntaxError};
    match e {
        quick_xml::Error::Syntax(
            SyntaxError::UnclosedTag
            | SyntaxError::UnclosedPI
            | SyntaxError::UnclosedXmlDecl
            | SyntaxError::UnclosedComment
            | SyntaxError::UnclosedDoctype
            | SyntaxError::UnclosedCData
            | SyntaxError::UnclosedSingleQuotedAttributeValue
            | SyntaxError::UnclosedDoubleQuotedAttributeValue,
        ) => ParseErrorKind::Truncated,
        quick_xml::Error::IllFormed(IllFormedError::MissingEndTag(_)) => ParseErrorKind::Truncated,
        quick_xml::Error::IllFormed(IllFormedError::UnclosedReference) => ParseErrorKind::Syntax(
            "'&' not followed by a reference name and ';' (unescaped '&'?)".into(),
        ),
        quick_xml::Error::Escape(quick_xml::escape::EscapeError::UnrecognizedEntity(_, name)) => {
            ParseErrorKind::UnknownEntity(clip(name))
        }
        other => ParseErrorKind::Syntax(other.to_string()),
    }
}

/// Cuts a string taken from the input to 64 characters for an error message.
pub(crate) fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

pub(crate) fn is_xml_whitespace(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// XML 1.0 `Char`: tab, LF, CR, U+0020–U+D7FF, U+E000–U+FFFD, U+10000–U+10FFFF.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// The byte offset of the first character XML 1.0 does not allow, if any.
fn first_invalid_char(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r') {
            return Some(i);
        }
        // U+FFFE and U+FFFF are EF BF BE / EF BF BF in UTF-8.
        if b == 0xEF
            && bytes.get(i + 1) == Some(&0xBF)
            && matches!(bytes.get(i + 2), Some(0xBE | 0xBF))
        {
            return Some(i);
        }
    }
    None
}

/// An XML `NCName` (a name without colon), approximating the XML 1.0 (5th ed.) character
/// classes: ASCII letters and `_` (plus any non-ASCII letter from U+00C0 except `×` `÷`)
/// start a name; digits, `-`, `.` and `·` may follow.
fn is_ncname(s: &str) -> bool {
    fn start(c: char) -> bool {
        c.is_ascii_alphabetic() || c == '_' || (c >= '\u{C0}' && c != '\u{D7}' && c != '\u{F7}')
    }
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if start(c) => {
            chars.all(|c| start(c) || c.is_ascii_digit() || matches!(c, '-' | '.' | '\u{B7}'))
        }
        _ => false,
    }
}

//! The parser's limits and its typed error (design invariant 8: untrusted input gets a typed
//! error, bounded memory and time, never a panic).

use std::fmt;

/// Bounds the parser enforces on untrusted input.
///
/// Memory use of a parse is proportional to the input size (the parser allocates only the
/// typed values it returns), so `max_bytes` bounds memory; `max_depth` bounds nesting;
/// `max_array_items` bounds each array (and each repeated element such as
/// `SetParameterValuesFault` or DU `Results`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted document in bytes. Default 4 MiB.
    pub max_bytes: usize,
    /// Deepest accepted element nesting (the Envelope is depth 1). Default 32; real CWMP
    /// messages need at most 7.
    pub max_depth: usize,
    /// Most entries accepted in one array. Default 100 000.
    pub max_array_items: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_bytes: 4 * 1024 * 1024,
            max_depth: 32,
            max_array_items: 100_000,
        }
    }
}

/// Why a document was refused, and where: `offset` is the byte offset in the input at or
/// near the problem (the start of the offending element or token when known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What is wrong.
    pub kind: ParseErrorKind,
    /// Byte offset in the input.
    pub offset: usize,
}

impl ParseError {
    pub(crate) fn new(kind: ParseErrorKind, offset: usize) -> ParseError {
        ParseError { kind, offset }
    }
}

/// The kinds of refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The document is larger than [`Limits::max_bytes`].
    TooLarge {
        /// The input size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Elements are nested deeper than [`Limits::max_depth`].
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// An array has more entries than [`Limits::max_array_items`].
    TooManyItems {
        /// The array element's local name.
        element: String,
        /// The limit.
        limit: usize,
    },
    /// A document type declaration (`<!DOCTYPE …>`, and with it any entity declaration):
    /// refused outright, so no entity is ever expanded (TR-069 §3.3: no XXE, no billion laughs).
    Doctype,
    /// A reference to an entity other than the five predefined ones (`&lt;` `&gt;` `&amp;`
    /// `&apos;` `&quot;`).
    UnknownEntity(String),
    /// A character reference to a number that is not an XML 1.0 character.
    InvalidCharRef(String),
    /// A character that XML 1.0 does not allow (control characters other than tab, CR, LF;
    /// U+FFFE, U+FFFF).
    InvalidChar,
    /// The bytes are not UTF-8.
    InvalidUtf8,
    /// The document ends before its root element is closed (or in the middle of a tag).
    Truncated,
    /// The document is not well-formed XML; the text says how.
    Syntax(String),
    /// The document is not namespace-well-formed (an unbound prefix, a name with two colons).
    Namespace(String),
    /// The root element is not a SOAP 1.1 `Envelope` (carries the root's name).
    NotSoapEnvelope(String),
    /// The Envelope has no `Body`.
    MissingBody,
    /// The `Body` holds no element.
    EmptyBody,
    /// The `Body` holds more than one element (CWMP allows one message per envelope).
    ExtraBodyElement(String),
    /// A required argument or struct member is absent.
    MissingElement {
        /// The enclosing element's local name.
        parent: String,
        /// The missing element's local name.
        name: &'static str,
    },
    /// An argument or struct member, or a CWMP header, appears twice.
    DuplicateElement {
        /// The enclosing element's local name.
        parent: String,
        /// The repeated element's local name.
        name: String,
    },
    /// An element where only text is allowed (e.g. inside `<Name>`).
    UnexpectedElement {
        /// The enclosing element's local name.
        parent: String,
        /// The unexpected element's local name.
        name: String,
    },
    /// Non-whitespace text where only elements are allowed.
    UnexpectedText {
        /// The enclosing element's local name (empty outside the root).
        parent: String,
    },
    /// A value that is not a valid lexical form of its XSD type, or out of range for it
    /// (e.g. `4294967296` for `unsignedInt`).
    InvalidValue {
        /// The element's local name.
        element: String,
        /// The offending text (cut to 64 characters).
        value: String,
        /// The expected type.
        expected: &'static str,
    },
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseErrorKind::TooLarge { size, limit } => {
                write!(f, "document of {size} bytes exceeds the limit of {limit}")
            }
            ParseErrorKind::TooDeep { limit } => {
                write!(f, "elements nested deeper than {limit}")
            }
            ParseErrorKind::TooManyItems { element, limit } => {
                write!(f, "array <{element}> has more than {limit} entries")
            }
            ParseErrorKind::Doctype => f.write_str("DOCTYPE and entity declarations are refused"),
            ParseErrorKind::UnknownEntity(e) => write!(f, "unknown entity reference &{e};"),
            ParseErrorKind::InvalidCharRef(e) => write!(f, "invalid character reference &{e};"),
            ParseErrorKind::InvalidChar => f.write_str("character not allowed in XML 1.0"),
            ParseErrorKind::InvalidUtf8 => f.write_str("invalid UTF-8"),
            ParseErrorKind::Truncated => f.write_str("document is truncated"),
            ParseErrorKind::Syntax(m) => write!(f, "not well-formed XML: {m}"),
            ParseErrorKind::Namespace(m) => write!(f, "not namespace-well-formed: {m}"),
            ParseErrorKind::NotSoapEnvelope(n) => {
                write!(f, "root element <{n}> is not a SOAP 1.1 Envelope")
            }
            ParseErrorKind::MissingBody => f.write_str("SOAP Envelope without Body"),
            ParseErrorKind::EmptyBody => f.write_str("SOAP Body holds no message"),
            ParseErrorKind::ExtraBodyElement(n) => {
                write!(f, "SOAP Body holds a second element <{n}>")
            }
            ParseErrorKind::MissingElement { parent, name } => {
                write!(f, "<{parent}> lacks required <{name}>")
            }
            ParseErrorKind::DuplicateElement { parent, name } => {
                write!(f, "<{parent}> has <{name}> twice")
            }
            ParseErrorKind::UnexpectedElement { parent, name } => {
                write!(f, "element <{name}> inside text-only <{parent}>")
            }
            ParseErrorKind::UnexpectedText { parent } => {
                write!(f, "text inside element-only <{parent}>")
            }
            ParseErrorKind::InvalidValue {
                element,
                value,
                expected,
            } => write!(f, "<{element}> value {value:?} is not a valid {expected}"),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.kind, self.offset)
    }
}

impl std::error::Error for ParseError {}

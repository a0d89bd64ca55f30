//! The TR-064 SOAP codec: an action call in (untrusted bytes → [`ActionCall`]), a response or a
//! UPnPError fault out.
//!
//! A call is an `s:Envelope` (SOAP 1.1 namespace) with an optional `s:Header` and an `s:Body`
//! holding exactly one element: the action, in the service type's namespace, whose children
//! are the arguments (`<NewURL>…</NewURL>`, no namespace, text only). The header may carry the
//! content-level authentication elements of `http://soap-authentication.org/digest/2001/10/`
//! (seed 003 §4.1.2, §10.7: `InitChallenge`, `ClientAuth`) and a transaction's `SessionID`.
//!
//! Bounds (decision, where TR-064 is silent): at most [`MAX_BODY`] bytes, nesting depth
//! [`MAX_DEPTH`], [`MAX_ARGS`] arguments, no DTD, only the five predefined entities and
//! character references. Anything else is an [`ActionParseError`], never a panic.

use cwmp_model::Secret;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use std::fmt;

/// The SOAP 1.1 envelope namespace.
pub const SOAP_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The content-level authentication namespace (SOAPAUTH01, seed 003 §4.1.2).
pub const AUTH_NS: &str = "http://soap-authentication.org/digest/2001/10/";
/// The UPnPError detail namespace TR-064 devices use.
pub const CONTROL_NS: &str = "urn:dslforum-org:control-1-0";
/// Largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;
/// Deepest element nesting accepted.
pub const MAX_DEPTH: usize = 8;
/// Most arguments in one call.
pub const MAX_ARGS: usize = 32;

/// The content-level authentication header of a call. `Debug` redacts `auth`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum AuthHeader {
    /// `InitChallenge`: the client asks for a nonce.
    InitChallenge {
        /// `UserID`.
        user: String,
    },
    /// `ClientAuth`: the client proves it knows the password.
    ClientAuth {
        /// `Nonce` (the server's).
        nonce: String,
        /// `Auth` (the response hash: an offline-guessable function of the password).
        auth: Secret,
        /// `UserID`.
        user: String,
        /// `Realm`.
        realm: String,
    },
}

/// One parsed action call.
#[derive(Clone, PartialEq, Eq)]
pub struct ActionCall {
    /// The action element's namespace: the service type, e.g.
    /// `urn:dslforum-org:service:DeviceInfo:1`.
    pub service_type: String,
    /// The action name (local name of the body element).
    pub action: String,
    /// The arguments in document order (local name, text).
    pub args: Vec<(String, String)>,
    /// The content-level authentication header, if any.
    pub auth: Option<AuthHeader>,
    /// A transaction's session ID from the header (`SessionID`, any namespace), if any.
    pub session_id: Option<String>,
}

impl fmt::Debug for ActionCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Argument values may be passwords: names only.
        f.debug_struct("ActionCall")
            .field("service_type", &self.service_type)
            .field("action", &self.action)
            .field(
                "args",
                &self
                    .args
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("auth", &self.auth)
            .field("session_id", &self.session_id)
            .finish()
    }
}

/// Why a call did not parse (the client gets UPnP error 401 or 402, see the server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionParseError {
    /// Larger than [`MAX_BODY`].
    TooLarge,
    /// Not well-formed XML, or a DTD, or an unknown entity.
    Xml(String),
    /// Well-formed, but not a SOAP envelope with one action in its body.
    NotAnAction(String),
    /// More than [`MAX_ARGS`] arguments, or an argument with child elements.
    BadArguments(String),
}

impl fmt::Display for ActionParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActionParseError::TooLarge => write!(f, "request larger than {MAX_BODY} bytes"),
            ActionParseError::Xml(m) => write!(f, "malformed XML: {m}"),
            ActionParseError::NotAnAction(m) => write!(f, "not a SOAP action call: {m}"),
            ActionParseError::BadArguments(m) => write!(f, "bad arguments: {m}"),
        }
    }
}

impl std::error::Error for ActionParseError {}

/// One element seen while parsing: namespace, local name, text, children.
#[derive(Default)]
struct Node {
    ns: Option<String>,
    name: String,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn child(&self, ns: &str, name: &str) -> Option<&Node> {
        self.children
            .iter()
            .find(|c| c.ns.as_deref() == Some(ns) && c.name == name)
    }

    /// A child's text by local name, any namespace (the header children of SOAPAUTH01 are
    /// unqualified in the seed's examples).
    fn text_of(&self, name: &str) -> Option<String> {
        self.children
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.text.trim().to_owned())
    }
}

/// Parse the tree with the bounds above.
fn parse_tree(bytes: &[u8]) -> Result<Node, ActionParseError> {
    if bytes.len() > MAX_BODY {
        return Err(ActionParseError::TooLarge);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| ActionParseError::Xml("not UTF-8".into()))?;
    let mut reader = NsReader::from_str(text);
    reader.config_mut().check_end_names = true;
    reader.config_mut().allow_unmatched_ends = false;
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    let mut elements = 0usize;
    loop {
        let (ns, ev) = reader
            .read_resolved_event()
            .map_err(|e| ActionParseError::Xml(e.to_string()))?;
        let ns = match ns {
            // quick-xml hands the namespace over as written in the attribute; the URI is
            // its unescaped value (`xmlns:u="a&amp;b"` is the namespace `a&b`).
            ResolveResult::Bound(n) => Some(
                quick_xml::escape::unescape(<_ as AsRef<str>>::as_ref(&n))
                    .map_err(|e| ActionParseError::Xml(format!("namespace: {e}")))?
                    .into_owned(),
            ),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(p) => {
                return Err(ActionParseError::Xml(format!(
                    "unknown namespace prefix {p}"
                )))
            }
        };
        match ev {
            Event::DocType(_) => return Err(ActionParseError::Xml("DTD not allowed".into())),
            Event::Start(e) | Event::Empty(e) if root.is_some() => {
                let _ = e;
                return Err(ActionParseError::Xml(
                    "content after the root element".into(),
                ));
            }
            Event::Start(e) => {
                elements += 1;
                if stack.len() >= MAX_DEPTH || elements > 4 * MAX_ARGS + 16 {
                    return Err(ActionParseError::Xml(
                        "too deep or too many elements".into(),
                    ));
                }
                stack.push(Node {
                    ns,
                    name: <_ as AsRef<str>>::as_ref(&e.local_name()).to_owned(),
                    ..Node::default()
                });
            }
            Event::Empty(e) => {
                elements += 1;
                if stack.len() >= MAX_DEPTH || elements > 4 * MAX_ARGS + 16 {
                    return Err(ActionParseError::Xml(
                        "too deep or too many elements".into(),
                    ));
                }
                let node = Node {
                    ns,
                    name: <_ as AsRef<str>>::as_ref(&e.local_name()).to_owned(),
                    ..Node::default()
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::End(_) => {
                let node = stack
                    .pop()
                    .ok_or_else(|| ActionParseError::Xml("unmatched end tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let c: String = if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => return Err(ActionParseError::Xml("bad character reference".into())),
                    }
                } else {
                    match &*r.xml10_content() {
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "amp" => "&".into(),
                        "apos" => "'".into(),
                        "quot" => "\"".into(),
                        _ => return Err(ActionParseError::Xml("unknown entity".into())),
                    }
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&c);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(ActionParseError::Xml("truncated document".into()));
    }
    root.ok_or_else(|| ActionParseError::Xml("empty document".into()))
}

/// Parse an action call.
pub fn parse_action(bytes: &[u8]) -> Result<ActionCall, ActionParseError> {
    let env = parse_tree(bytes)?;
    if env.ns.as_deref() != Some(SOAP_ENV) || env.name != "Envelope" {
        return Err(ActionParseError::NotAnAction(
            "the root is not a SOAP 1.1 Envelope".into(),
        ));
    }
    let body = env
        .child(SOAP_ENV, "Body")
        .ok_or_else(|| ActionParseError::NotAnAction("no Body".into()))?;
    let [action] = body.children.as_slice() else {
        return Err(ActionParseError::NotAnAction(
            "the Body must hold exactly one action".into(),
        ));
    };
    let service_type = action
        .ns
        .clone()
        .ok_or_else(|| ActionParseError::NotAnAction("the action has no namespace".into()))?;
    if action.children.len() > MAX_ARGS {
        return Err(ActionParseError::BadArguments(format!(
            "more than {MAX_ARGS} arguments"
        )));
    }
    let mut args = Vec::with_capacity(action.children.len());
    for a in &action.children {
        if !a.children.is_empty() {
            return Err(ActionParseError::BadArguments(format!(
                "argument {} has child elements",
                a.name
            )));
        }
        args.push((a.name.clone(), a.text.clone()));
    }
    let mut auth = None;
    let mut session_id = None;
    if let Some(header) = env.child(SOAP_ENV, "Header") {
        for h in &header.children {
            match (h.ns.as_deref(), h.name.as_str()) {
                (Some(AUTH_NS), "InitChallenge") => {
                    auth = Some(AuthHeader::InitChallenge {
                        user: h.text_of("UserID").unwrap_or_default(),
                    })
                }
                (Some(AUTH_NS), "ClientAuth") => {
                    auth = Some(AuthHeader::ClientAuth {
                        nonce: h.text_of("Nonce").unwrap_or_default(),
                        auth: h.text_of("Auth").unwrap_or_default().into(),
                        user: h.text_of("UserID").unwrap_or_default(),
                        realm: h.text_of("Realm").unwrap_or_default(),
                    })
                }
                (_, "SessionID") => session_id = Some(h.text.trim().to_owned()),
                _ => {}
            }
        }
    }
    Ok(ActionCall {
        service_type,
        action: action.name.clone(),
        args,
        auth,
        session_id,
    })
}

/// Escape text for an XML element.
pub fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

/// The content-level authentication header of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseAuth {
    /// `Challenge` with `Status` `Unauthenticated` (after InitChallenge or a failed ClientAuth).
    Challenge {
        /// The new nonce.
        nonce: String,
        /// The realm.
        realm: String,
    },
    /// `NextChallenge` with `Status` `Authenticated` (after a good ClientAuth).
    NextChallenge {
        /// The nonce for the next call.
        nonce: String,
        /// The realm.
        realm: String,
    },
}

fn header_xml(auth: Option<&ResponseAuth>) -> String {
    let (tag, status, nonce, realm) = match auth {
        None => return String::new(),
        Some(ResponseAuth::Challenge { nonce, realm }) => {
            ("Challenge", "Unauthenticated", nonce, realm)
        }
        Some(ResponseAuth::NextChallenge { nonce, realm }) => {
            ("NextChallenge", "Authenticated", nonce, realm)
        }
    };
    format!(
        "<s:Header><h:{tag} xmlns:h=\"{AUTH_NS}\" s:mustUnderstand=\"1\">\
         <Status>{status}</Status><Nonce>{}</Nonce><Realm>{}</Realm></h:{tag}></s:Header>",
        escape(nonce),
        escape(realm)
    )
}

const ENVELOPE_START: &str = "<?xml version=\"1.0\"?>\n<s:Envelope \
    xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" \
    s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">";

/// A successful response: `<u:{action}Response xmlns:u="{service_type}">` with the out
/// arguments in order.
pub fn write_response(
    service_type: &str,
    action: &str,
    out: &[(&str, String)],
    auth: Option<&ResponseAuth>,
) -> String {
    let mut s = String::with_capacity(512);
    s.push_str(ENVELOPE_START);
    s.push_str(&header_xml(auth));
    s.push_str(&format!(
        "<s:Body><u:{action}Response xmlns:u=\"{}\">",
        escape(service_type)
    ));
    for (name, value) in out {
        s.push_str(&format!("<{name}>{}</{name}>", escape(value)));
    }
    s.push_str(&format!("</u:{action}Response></s:Body></s:Envelope>\n"));
    s
}

/// A UPnPError fault (sent with HTTP 500).
pub fn write_fault(code: u16, description: &str, auth: Option<&ResponseAuth>) -> String {
    format!(
        "{ENVELOPE_START}{}<s:Body><s:Fault><faultcode>s:Client</faultcode>\
         <faultstring>UPnPError</faultstring><detail><UPnPError xmlns=\"{CONTROL_NS}\">\
         <errorCode>{code}</errorCode><errorDescription>{}</errorDescription></UPnPError>\
         </detail></s:Fault></s:Body></s:Envelope>\n",
        header_xml(auth),
        escape(description)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_unescaped_so_a_rewritten_call_reads_the_same() {
        // Found by the tr064_soap fuzz target: the namespace came back escaped.
        let xml = "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>\
                   <u:GetInfo xmlns:u=\"urn:x&gt;&amp;y:1\"/></s:Body></s:Envelope>";
        let call = parse_action(xml.as_bytes()).unwrap();
        assert_eq!(call.service_type, "urn:x>&y:1");
    }

    #[test]
    fn seed_examples_parse() {
        // Seed 003 §10.5.
        let call = parse_action(
            br#"<?xml version="1.0"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"
s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">
<s:Body><u:GetSecurityPort xmlns:u="urn:dslforum-org:service:DeviceInfo:1"></u:GetSecurityPort>
</s:Body>
</s:Envelope>"#,
        )
        .unwrap();
        assert_eq!(call.service_type, "urn:dslforum-org:service:DeviceInfo:1");
        assert_eq!(call.action, "GetSecurityPort");
        assert!(call.args.is_empty() && call.auth.is_none());
        // Seed 003 §10.7.3.
        let call = parse_action(
            br#"<?xml version="1.0" encoding="utf-8"?>
<s:Envelope s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"
xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" >
  <s:Header>
    <h:ClientAuth
      xmlns:h="http://soap-authentication.org/digest/2001/10/"
      s:mustUnderstand="1">
      <Nonce>F758BE72FB999CEA</Nonce>
      <Auth>b4f67585f22b0af7c4615db5a18faa14</Auth>
      <UserID>admin</UserID>
      <Realm>F!Box SOAP-Auth</Realm>
    </h:ClientAuth>
  </s:Header>
  <s:Body>
    <u:GetHostNumberOfEntries xmlns:u="urn:dslforum-org:service:Hosts:1">
    </u:GetHostNumberOfEntries>
  </s:Body>
</s:Envelope>"#,
        )
        .unwrap();
        assert_eq!(
            call.auth,
            Some(AuthHeader::ClientAuth {
                nonce: "F758BE72FB999CEA".into(),
                auth: "b4f67585f22b0af7c4615db5a18faa14".into(),
                user: "admin".into(),
                realm: "F!Box SOAP-Auth".into(),
            })
        );
        assert!(!format!("{call:?}").contains("b4f67585"));
    }

    #[test]
    fn arguments_and_entities() {
        let call = parse_action(
            br#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
<u:SetManagementServerURL xmlns:u="urn:dslforum-org:service:ManagementServer:1">
<NewURL>http://acs/?a=1&amp;b=&#50;</NewURL></u:SetManagementServerURL></s:Body></s:Envelope>"#,
        )
        .unwrap();
        assert_eq!(call.args, [("NewURL".into(), "http://acs/?a=1&b=2".into())]);
    }

    #[test]
    fn refusals() {
        for bad in [
            &b""[..],
            b"<x/>",
            b"<!DOCTYPE x [<!ENTITY a 'b'>]><x/>",
            b"<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body/></s:Envelope>",
            b"<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><A/></s:Body></s:Envelope>",
            b"<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><u:A xmlns:u=\"x\"><B><C/></B></u:A></s:Body></s:Envelope>",
            b"<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><u:A xmlns:u=\"x\">&bogus;</u:A></s:Body></s:Envelope>",
            b"<a><b><c><d><e><f><g><h><i><j></j></i></h></g></f></e></d></c></b></a>",
        ] {
            assert!(parse_action(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(
            parse_action(&vec![b' '; MAX_BODY + 1]),
            Err(ActionParseError::TooLarge)
        );
    }

    #[test]
    fn written_messages_parse_back() {
        let r = write_response(
            "urn:dslforum-org:service:DeviceInfo:1",
            "GetSecurityPort",
            &[("NewSecurityPort", "49443".into())],
            Some(&ResponseAuth::NextChallenge {
                nonce: "N".into(),
                realm: "R&D".into(),
            }),
        );
        assert!(r.contains("<NewSecurityPort>49443</NewSecurityPort>"));
        assert!(r.contains("<Realm>R&amp;D</Realm>"));
        let f = write_fault(401, "Invalid Action", None);
        assert!(f.contains("<errorCode>401</errorCode>"));
        assert!(parse_tree(f.as_bytes()).is_ok());
    }
}

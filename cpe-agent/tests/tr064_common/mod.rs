//! Shared by the TR-064 tests: a phone with `[tr064]` on loopback, and a minimal TR-064
//! client (raw HTTP/1.1 over TcpStream, Digest answered with `cwmp-connreq`).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};

pub use crate::phone_common::{Phone, WAIT};

/// A phone with TR-064 on loopback ports the kernel picks: `tr064` lines go into the
/// `[tr064]` section, `items` into `[items]`.
pub fn tr064_phone(acs_url: &str, tr064: &str, items: &str) -> Phone {
    Phone::new(
        acs_url,
        &format!(
            "[tr064]\nhttp-address = \"127.0.0.1:0\"\nhttps-address = \"127.0.0.1:0\"\n\
             ssdp = true\nssdp-address = \"127.0.0.1:0\"\n{tr064}\n"
        ),
        items,
    )
}

/// Where a TR-064 phone's listeners bound.
pub trait Tr064Addrs {
    /// The HTTP port's address.
    fn http(&self) -> SocketAddr;
    /// The HTTPS port's address.
    fn https(&self) -> SocketAddr;
    /// The SSDP socket's address.
    fn ssdp(&self) -> SocketAddr;
}

impl Tr064Addrs for Phone {
    fn http(&self) -> SocketAddr {
        self.addr("TR-064 HTTP on ")
    }

    fn https(&self) -> SocketAddr {
        self.addr("TR-064 HTTPS on ")
    }

    fn ssdp(&self) -> SocketAddr {
        self.addr("SSDP responder on ")
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The text of the first `<tag>`.
    pub fn value(&self, tag: &str) -> Option<String> {
        let open = format!("<{tag}>");
        let s = self.body.find(&open)? + open.len();
        let e = self.body[s..].find('<')?;
        Some(self.body[s..s + e].to_owned())
    }
}

/// One request on a fresh connection.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &str,
) -> Response {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Response {
        status,
        headers,
        body: body.to_owned(),
    }
}

pub const CONTROL: &[(&str, &str)] = &[
    ("DeviceInfo", "/upnp/control/deviceinfo"),
    ("DeviceConfig", "/upnp/control/deviceconfig"),
    ("ManagementServer", "/upnp/control/mgmsrv"),
    ("LANConfigSecurity", "/upnp/control/lanconfigsecurity"),
    ("Time", "/upnp/control/time"),
    ("X_VoIP", "/upnp/control/x_voip"),
];

pub fn control(service: &str) -> &'static str {
    CONTROL.iter().find(|(s, _)| *s == service).unwrap().1
}

/// A SOAP call with HTTP Digest (`user`, `password`): the 401 first, then the answer.
pub fn call(
    addr: SocketAddr,
    user: &str,
    password: &str,
    service: &str,
    action: &str,
    args: &[(&str, &str)],
) -> Response {
    call_with_header(addr, user, password, service, action, args, "")
}

/// [`call`] with a SOAP header (e.g. a transaction's SessionID).
pub fn call_with_header(
    addr: SocketAddr,
    user: &str,
    password: &str,
    service: &str,
    action: &str,
    args: &[(&str, &str)],
    header: &str,
) -> Response {
    let mut a = String::new();
    for (k, v) in args {
        a.push_str(&format!("<{k}>{v}</{k}>"));
    }
    let body = format!(
        "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">{header}<s:Body>\
         <u:{action} xmlns:u=\"urn:dslforum-org:service:{service}:1\">{a}</u:{action}></s:Body></s:Envelope>"
    );
    let path = control(service);
    let soap_action = (
        "SOAPAction",
        format!("\"urn:dslforum-org:service:{service}:1#{action}\""),
    );
    let xml = ("Content-Type", "text/xml; charset=\"utf-8\"".to_owned());
    let first = request(
        addr,
        "POST",
        path,
        &[soap_action.clone(), xml.clone()],
        &body,
    );
    if first.status != 401 {
        return first;
    }
    let ch = cwmp_connreq::parse_challenge(first.header("WWW-Authenticate").expect("challenge"))
        .expect("digest challenge");
    let auth = cwmp_connreq::authorization_header(&ch, user, password, "POST", path, "c0ffee", 1);
    request(
        addr,
        "POST",
        path,
        &[soap_action, xml, ("Authorization", auth)],
        &body,
    )
}

/// The python with fritzconnection and async-upnp-client (`CPE_TEST_PYTHON`, else the
/// venv `.ci/run` makes under `target/py`).
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("CPE_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/py/bin/python");
    assert!(
        venv.exists(),
        "test peer: a python with fritzconnection and async-upnp-client (CPE_TEST_PYTHON); .ci/run makes one"
    );
    venv
}

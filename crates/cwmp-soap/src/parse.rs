//! The decoder: bytes → [`Envelope`] (TR-069 §2.2, §3.5, Annex A.3.3.1, Annex A, Annex A.5, Annex A.2).
//!
//! Matching rules, chosen for interoperability with real ACSs:
//! * Envelope, Header, Body and Fault are matched by the SOAP 1.1 namespace URI; the RPC
//!   element and the header elements by the cwmp namespace URIs; never by prefix.
//! * Children of the RPC element are unqualified in the XSD (`elementFormDefault=
//!   "unqualified"`); they are matched by local name, so qualified children are accepted too.
//! * Array members are taken in order whatever their element name (SOAP 1.1 §5.4.2: member
//!   names are not significant); `soap-enc:arrayType` is ignored (any form, or none).
//! * Unknown elements inside the RPC element and its structs are skipped (forward
//!   compatibility); a required argument that is missing, or any argument given twice, is
//!   refused.
//! * Strings are taken verbatim (XSD `string` preserves whitespace); numbers, booleans and
//!   dates may be surrounded by whitespace (their XSD types collapse it).

use crate::error::{Limits, ParseError, ParseErrorKind};
use crate::lexer::{clip, is_xml_whitespace, Elem, Lexer, Ns, OpType, Result, Tok, XsiType};
use crate::message::*;
use cwmp_model::DateTime;
use std::borrow::Cow;

/// Parses one CWMP SOAP envelope.
///
/// Refuses, with a [`ParseError`] naming the problem and its byte offset: documents over
/// [`Limits::max_bytes`] or nested deeper than [`Limits::max_depth`], arrays longer than
/// [`Limits::max_array_items`], DOCTYPE/entity declarations (no entity is ever expanded;
/// only the five predefined entities and character references are), invalid UTF-8 or XML
/// 1.0 characters, truncated or otherwise not (namespace-)well-formed XML, a root that is
/// not a SOAP 1.1 Envelope, a missing or empty Body, missing or duplicate required
/// arguments, and values out of range for their XSD type. Never panics.
///
/// Accepted leniently (each a documented decision): GenieACS's `<soap-env:Body:Fault>` (read
/// as a Fault), an empty `Notification` when `NotificationChange` is false (read as 0),
/// `xsi:type` with an undeclared prefix (resolved by its local name), a `faultcode` with a
/// prefix (the prefix is dropped), unknown header elements (recorded in
/// [`Header::unknown_must_understand`] when they carry `mustUnderstand="1"`).
pub fn parse(bytes: &[u8], limits: &Limits) -> std::result::Result<Envelope, ParseError> {
    if bytes.len() > limits.max_bytes {
        return Err(ParseError::new(
            ParseErrorKind::TooLarge {
                size: bytes.len(),
                limit: limits.max_bytes,
            },
            limits.max_bytes,
        ));
    }
    let mut c = Cursor {
        lex: Lexer::new(bytes, limits.max_depth)?,
        max_items: limits.max_array_items,
    };
    let root = match c.next()? {
        Tok::Start(e) => e,
        // The lexer never yields End or Text before the root element.
        _ => return Err(c.error(ParseErrorKind::Truncated, 0)),
    };
    if root.ns != Ns::SoapEnv || root.local != "Envelope" {
        return Err(c.error(
            ParseErrorKind::NotSoapEnvelope(clip(root.local)),
            root.offset,
        ));
    }
    let mut header: Option<(Header, Option<CwmpNamespace>)> = None;
    let mut body: Option<(Body, Option<CwmpNamespace>)> = None;
    while let Some(e) = c.child(&root)? {
        match (&e.ns, e.local) {
            (Ns::SoapEnv, "Header") => {
                if header.is_some() {
                    return Err(c.duplicate(&root, &e));
                }
                header = Some(c.header(&e)?);
            }
            (Ns::SoapEnv, "Body") => {
                if body.is_some() {
                    return Err(c.duplicate(&root, &e));
                }
                body = Some(c.body(&e)?);
            }
            // SOAP 1.1 allows other elements after the Body; they carry nothing for CWMP.
            _ => c.skip()?,
        }
    }
    // The root has ended; the lexer checks that only comments/PIs/whitespace follow.
    if let Some(tok) = c.lex.next()? {
        let kind = match tok {
            Tok::Start(e) => ParseErrorKind::Syntax(format!(
                "element <{}> after the root element",
                clip(e.local)
            )),
            _ => ParseErrorKind::Syntax("content after the root element".into()),
        };
        return Err(c.error(kind, c.lex.offset()));
    }
    let (body, body_ns) = body.ok_or_else(|| c.error(ParseErrorKind::MissingBody, root.offset))?;
    let (header, header_ns) = header.unwrap_or_default();
    Ok(Envelope {
        namespace: body_ns
            .or(header_ns)
            .or(root.declares_cwmp)
            .unwrap_or(CwmpNamespace::V1_2),
        header,
        body,
    })
}

/// The decoder's view of the token stream: element-only content, text-only content,
/// skipping, and typed leaf values.
struct Cursor<'a> {
    lex: Lexer<'a>,
    max_items: usize,
}

/// Reads the children of `$parent` into one `Option` per listed local name, refusing
/// duplicates and skipping unknown children. `$child` names the current child element for
/// the parse expressions.
macro_rules! fields {
    ($c:ident, $parent:expr, $child:ident, { $( $tag:literal => $var:ident = $parse:expr ),* $(,)? }) => {
        $( let mut $var = None; )*
        while let Some($child) = $c.child($parent)? {
            match $child.local {
                $(
                    $tag => {
                        if $var.is_some() {
                            return Err($c.duplicate($parent, &$child));
                        }
                        $var = Some($parse);
                    }
                )*
                _ => $c.skip()?,
            }
        }
    };
}

impl<'a> Cursor<'a> {
    fn error(&self, kind: ParseErrorKind, offset: usize) -> ParseError {
        ParseError::new(kind, offset)
    }

    fn duplicate(&self, parent: &Elem<'a>, e: &Elem<'a>) -> ParseError {
        self.error(
            ParseErrorKind::DuplicateElement {
                parent: clip(parent.local),
                name: clip(e.local),
            },
            e.offset,
        )
    }

    fn missing(&self, parent: &Elem<'a>, name: &'static str) -> ParseError {
        self.error(
            ParseErrorKind::MissingElement {
                parent: clip(parent.local),
                name,
            },
            parent.offset,
        )
    }

    fn required<T>(&self, v: Option<T>, parent: &Elem<'a>, name: &'static str) -> Result<T> {
        v.ok_or_else(|| self.missing(parent, name))
    }

    /// The next token inside the root (the lexer reports truncation itself).
    fn next(&mut self) -> Result<Tok<'a>> {
        match self.lex.next()? {
            Some(t) => Ok(t),
            None => Err(self.error(ParseErrorKind::Truncated, self.lex.offset())),
        }
    }

    /// The next child element of `parent` in element-only content; `None` once `parent` ends.
    fn child(&mut self, parent: &Elem<'a>) -> Result<Option<Elem<'a>>> {
        loop {
            let at = self.lex.offset();
            match self.next()? {
                Tok::Start(e) => return Ok(Some(e)),
                Tok::End => return Ok(None),
                Tok::Text(t) => {
                    if !is_xml_whitespace(&t) {
                        return Err(self.error(
                            ParseErrorKind::UnexpectedText {
                                parent: clip(parent.local),
                            },
                            at,
                        ));
                    }
                }
            }
        }
    }

    /// Skips the rest of the element whose start was just read.
    fn skip(&mut self) -> Result<()> {
        let mut depth = 1usize;
        loop {
            match self.next()? {
                Tok::Start(_) => depth += 1,
                Tok::End => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                Tok::Text(_) => {}
            }
        }
    }

    /// The text content of the text-only element `e` (empty for `<a/>` and `<a></a>`).
    fn text(&mut self, e: &Elem<'a>) -> Result<String> {
        let mut out: Option<Cow<'a, str>> = None;
        loop {
            match self.next()? {
                Tok::Text(t) => match &mut out {
                    None => out = Some(t),
                    Some(o) => o.to_mut().push_str(&t),
                },
                Tok::End => return Ok(out.map(Cow::into_owned).unwrap_or_default()),
                Tok::Start(c) => {
                    return Err(self.error(
                        ParseErrorKind::UnexpectedElement {
                            parent: clip(e.local),
                            name: clip(c.local),
                        },
                        c.offset,
                    ))
                }
            }
        }
    }

    fn invalid(&self, e: &Elem<'a>, value: &str, expected: &'static str) -> ParseError {
        self.error(
            ParseErrorKind::InvalidValue {
                element: clip(e.local),
                value: clip(value),
                expected,
            },
            e.offset,
        )
    }

    fn u32(&mut self, e: &Elem<'a>) -> Result<u32> {
        let t = self.text(e)?;
        parse_u32(&t).ok_or_else(|| self.invalid(e, &t, "unsignedInt"))
    }

    fn i32(&mut self, e: &Elem<'a>) -> Result<i32> {
        let t = self.text(e)?;
        parse_i32(&t).ok_or_else(|| self.invalid(e, &t, "int"))
    }

    fn boolean(&mut self, e: &Elem<'a>) -> Result<bool> {
        let t = self.text(e)?;
        parse_bool(&t).ok_or_else(|| self.invalid(e, &t, "boolean"))
    }

    fn datetime(&mut self, e: &Elem<'a>) -> Result<DateTime> {
        let t = self.text(e)?;
        parse_datetime(&t).ok_or_else(|| self.invalid(e, &t, "dateTime"))
    }

    /// The members of the array `arr`, whatever their element names.
    fn array<T>(
        &mut self,
        arr: &Elem<'a>,
        mut item: impl FnMut(&mut Self, Elem<'a>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        while let Some(e) = self.child(arr)? {
            if out.len() >= self.max_items {
                return Err(self.too_many(arr, e.offset));
            }
            out.push(item(self, e)?);
        }
        Ok(out)
    }

    fn too_many(&self, arr: &Elem<'a>, offset: usize) -> ParseError {
        self.error(
            ParseErrorKind::TooManyItems {
                element: clip(arr.local),
                limit: self.max_items,
            },
            offset,
        )
    }

    fn strings(&mut self, arr: &Elem<'a>) -> Result<Vec<String>> {
        self.array(arr, |c, e| c.text(&e))
    }

    // --- Envelope parts ---------------------------------------------------------------

    fn header(&mut self, h: &Elem<'a>) -> Result<(Header, Option<CwmpNamespace>)> {
        let mut out = Header::default();
        let mut ns = None;
        while let Some(e) = self.child(h)? {
            let cwmp = match e.ns {
                Ns::Cwmp(n) => Some(n),
                _ => None,
            };
            if cwmp.is_some() && ns.is_none() {
                ns = cwmp;
            }
            macro_rules! once {
                ($slot:expr, $value:expr) => {{
                    if $slot.is_some() {
                        return Err(self.duplicate(h, &e));
                    }
                    $slot = Some($value);
                }};
            }
            match (cwmp.is_some(), e.local) {
                (true, "ID") => once!(out.id, self.text(&e)?),
                (true, "HoldRequests") => once!(out.hold_requests, self.boolean(&e)?),
                (true, "SessionTimeout") => once!(out.session_timeout, self.u32(&e)?),
                (true, "SupportedCWMPVersions") => {
                    once!(out.supported_cwmp_versions, self.text(&e)?)
                }
                (true, "UseCWMPVersion") => once!(out.use_cwmp_version, self.text(&e)?),
                (true, "NoMoreRequests") => once!(out.no_more_requests, self.boolean(&e)?),
                _ => {
                    if e.must_understand {
                        if out.unknown_must_understand.len() >= self.max_items {
                            return Err(self.too_many(h, e.offset));
                        }
                        out.unknown_must_understand.push(format!(
                            "{{{}}}{}",
                            e.ns.uri().unwrap_or(""),
                            e.local
                        ));
                    }
                    self.skip()?;
                }
            }
        }
        Ok((out, ns))
    }

    fn body(&mut self, b: &Elem<'a>) -> Result<(Body, Option<CwmpNamespace>)> {
        let rpc = match self.child(b)? {
            Some(e) => e,
            None => return Err(self.error(ParseErrorKind::EmptyBody, b.offset)),
        };
        let ns = match rpc.ns {
            Ns::Cwmp(n) => Some(n),
            _ => None,
        };
        let body = match (&rpc.ns, rpc.local) {
            (Ns::Cwmp(_), _) => self.rpc(&rpc)?,
            // `Body:Fault` is GenieACS 1.2.16's misspelt fault element (see the lexer).
            (Ns::SoapEnv, "Fault" | "Body:Fault") => Body::Fault(self.fault(&rpc)?),
            (other, name) => {
                let b = Body::Unknown {
                    name: name.to_owned(),
                    namespace: other.uri().map(str::to_owned),
                };
                self.skip()?;
                b
            }
        };
        if let Some(extra) = self.child(b)? {
            return Err(self.error(
                ParseErrorKind::ExtraBodyElement(clip(extra.local)),
                extra.offset,
            ));
        }
        Ok((body, ns))
    }

    // --- Faults -------------------------------------------------------------------------

    fn fault(&mut self, f: &Elem<'a>) -> Result<SoapFault> {
        fields!(self, f, e, {
            "faultcode" => faultcode = self.text(&e)?,
            "faultstring" => faultstring = self.text(&e)?,
            "detail" => detail = self.detail(&e)?,
        });
        let faultcode = self.required(faultcode, f, "faultcode")?;
        // faultcode is a QName (`SOAP-ENV:Client`); only the local part matters.
        let faultcode = match faultcode.trim().rsplit_once(':') {
            Some((_, local)) => local.to_owned(),
            None => faultcode.trim().to_owned(),
        };
        Ok(SoapFault {
            faultcode,
            faultstring: self.required(faultstring, f, "faultstring")?,
            detail: detail.flatten(),
        })
    }

    fn detail(&mut self, d: &Elem<'a>) -> Result<Option<CwmpFault>> {
        let mut out = None;
        while let Some(e) = self.child(d)? {
            if e.local == "Fault" && matches!(e.ns, Ns::Cwmp(_)) {
                if out.is_some() {
                    return Err(self.duplicate(d, &e));
                }
                out = Some(self.cwmp_fault(&e)?);
            } else {
                self.skip()?;
            }
        }
        Ok(out)
    }

    fn cwmp_fault(&mut self, f: &Elem<'a>) -> Result<CwmpFault> {
        let mut code = None;
        let mut string = None;
        let mut spvf = Vec::new();
        while let Some(e) = self.child(f)? {
            match e.local {
                "FaultCode" => {
                    if code.is_some() {
                        return Err(self.duplicate(f, &e));
                    }
                    code = Some(self.u32(&e)?);
                }
                "FaultString" => {
                    if string.is_some() {
                        return Err(self.duplicate(f, &e));
                    }
                    string = Some(self.text(&e)?);
                }
                "SetParameterValuesFault" => {
                    if spvf.len() >= self.max_items {
                        return Err(self.too_many(f, e.offset));
                    }
                    fields!(self, &e, x, {
                        "ParameterName" => name = self.text(&x)?,
                        "FaultCode" => fcode = self.u32(&x)?,
                        "FaultString" => fstring = self.text(&x)?,
                    });
                    spvf.push(SetParameterValuesFault {
                        name: self.required(name, &e, "ParameterName")?,
                        code: self.required(fcode, &e, "FaultCode")?,
                        string: fstring.unwrap_or_default(),
                    });
                }
                _ => self.skip()?,
            }
        }
        Ok(CwmpFault {
            code: self.required(code, f, "FaultCode")?,
            string: string.unwrap_or_default(),
            set_parameter_values_faults: spvf,
        })
    }

    // --- RPCs ---------------------------------------------------------------------------

    /// Decodes an RPC element in a cwmp namespace (consumes it).
    fn rpc(&mut self, r: &Elem<'a>) -> Result<Body> {
        Ok(match r.local {
            "GetRPCMethods" => self.empty(Body::GetRPCMethods)?,
            "GetRPCMethodsResponse" => {
                fields!(self, r, e, { "MethodList" => list = self.strings(&e)? });
                Body::GetRPCMethodsResponse(GetRPCMethodsResponse {
                    method_list: self.required(list, r, "MethodList")?,
                })
            }
            "SetParameterValues" => {
                fields!(self, r, e, {
                    "ParameterList" => list = self.parameter_values(&e)?,
                    "ParameterKey" => key = self.text(&e)?,
                });
                Body::SetParameterValues(SetParameterValues {
                    parameter_list: self.required(list, r, "ParameterList")?,
                    parameter_key: self.required(key, r, "ParameterKey")?,
                })
            }
            "SetParameterValuesResponse" => {
                fields!(self, r, e, { "Status" => status = self.i32(&e)? });
                Body::SetParameterValuesResponse(SetParameterValuesResponse {
                    status: self.required(status, r, "Status")?,
                })
            }
            "GetParameterValues" => {
                fields!(self, r, e, { "ParameterNames" => names = self.strings(&e)? });
                Body::GetParameterValues(GetParameterValues {
                    parameter_names: self.required(names, r, "ParameterNames")?,
                })
            }
            "GetParameterValuesResponse" => {
                fields!(self, r, e, { "ParameterList" => list = self.parameter_values(&e)? });
                Body::GetParameterValuesResponse(GetParameterValuesResponse {
                    parameter_list: self.required(list, r, "ParameterList")?,
                })
            }
            "GetParameterNames" => {
                fields!(self, r, e, {
                    "ParameterPath" => path = self.text(&e)?,
                    "NextLevel" => next = self.boolean(&e)?,
                });
                Body::GetParameterNames(GetParameterNames {
                    parameter_path: self.required(path, r, "ParameterPath")?,
                    next_level: self.required(next, r, "NextLevel")?,
                })
            }
            "GetParameterNamesResponse" => {
                fields!(self, r, e, { "ParameterList" => list = self.array(&e, Self::parameter_info)? });
                Body::GetParameterNamesResponse(GetParameterNamesResponse {
                    parameter_list: self.required(list, r, "ParameterList")?,
                })
            }
            "SetParameterAttributes" => {
                fields!(self, r, e, { "ParameterList" => list = self.array(&e, Self::set_attributes)? });
                Body::SetParameterAttributes(SetParameterAttributes {
                    parameter_list: self.required(list, r, "ParameterList")?,
                })
            }
            "SetParameterAttributesResponse" => self.empty(Body::SetParameterAttributesResponse)?,
            "GetParameterAttributes" => {
                fields!(self, r, e, { "ParameterNames" => names = self.strings(&e)? });
                Body::GetParameterAttributes(GetParameterAttributes {
                    parameter_names: self.required(names, r, "ParameterNames")?,
                })
            }
            "GetParameterAttributesResponse" => {
                fields!(self, r, e, { "ParameterList" => list = self.array(&e, Self::attributes)? });
                Body::GetParameterAttributesResponse(GetParameterAttributesResponse {
                    parameter_list: self.required(list, r, "ParameterList")?,
                })
            }
            "AddObject" | "DeleteObject" => {
                fields!(self, r, e, {
                    "ObjectName" => name = self.text(&e)?,
                    "ParameterKey" => key = self.text(&e)?,
                });
                let object_name = self.required(name, r, "ObjectName")?;
                let parameter_key = self.required(key, r, "ParameterKey")?;
                if r.local == "AddObject" {
                    Body::AddObject(AddObject {
                        object_name,
                        parameter_key,
                    })
                } else {
                    Body::DeleteObject(DeleteObject {
                        object_name,
                        parameter_key,
                    })
                }
            }
            "AddObjectResponse" => {
                fields!(self, r, e, {
                    "InstanceNumber" => instance = self.u32(&e)?,
                    "Status" => status = self.i32(&e)?,
                });
                Body::AddObjectResponse(AddObjectResponse {
                    instance_number: self.required(instance, r, "InstanceNumber")?,
                    status: self.required(status, r, "Status")?,
                })
            }
            "DeleteObjectResponse" => {
                fields!(self, r, e, { "Status" => status = self.i32(&e)? });
                Body::DeleteObjectResponse(DeleteObjectResponse {
                    status: self.required(status, r, "Status")?,
                })
            }
            "Reboot" => Body::Reboot(Reboot {
                command_key: self.command_key_only(r)?,
            }),
            "RebootResponse" => self.empty(Body::RebootResponse)?,
            "Download" => {
                fields!(self, r, e, {
                    "CommandKey" => command_key = self.text(&e)?,
                    "FileType" => file_type = self.text(&e)?,
                    "URL" => url = self.text(&e)?,
                    "Username" => username = self.text(&e)?,
                    "Password" => password = self.text(&e)?,
                    "FileSize" => file_size = self.u32(&e)?,
                    "TargetFileName" => target = self.text(&e)?,
                    "DelaySeconds" => delay = self.u32(&e)?,
                    "SuccessURL" => success = self.text(&e)?,
                    "FailureURL" => failure = self.text(&e)?,
                });
                Body::Download(Download {
                    command_key: self.required(command_key, r, "CommandKey")?,
                    file_type: self.required(file_type, r, "FileType")?,
                    url: self.required(url, r, "URL")?,
                    username: self.required(username, r, "Username")?,
                    password: self.required(password, r, "Password")?.into(),
                    file_size: self.required(file_size, r, "FileSize")?,
                    target_file_name: self.required(target, r, "TargetFileName")?,
                    delay_seconds: self.required(delay, r, "DelaySeconds")?,
                    success_url: self.required(success, r, "SuccessURL")?,
                    failure_url: self.required(failure, r, "FailureURL")?,
                })
            }
            "DownloadResponse" => Body::DownloadResponse(self.transfer_response(r)?),
            "UploadResponse" => Body::UploadResponse(self.transfer_response(r)?),
            "Upload" => {
                fields!(self, r, e, {
                    "CommandKey" => command_key = self.text(&e)?,
                    "FileType" => file_type = self.text(&e)?,
                    "URL" => url = self.text(&e)?,
                    "Username" => username = self.text(&e)?,
                    "Password" => password = self.text(&e)?,
                    "DelaySeconds" => delay = self.u32(&e)?,
                });
                Body::Upload(Upload {
                    command_key: self.required(command_key, r, "CommandKey")?,
                    file_type: self.required(file_type, r, "FileType")?,
                    url: self.required(url, r, "URL")?,
                    username: self.required(username, r, "Username")?,
                    password: self.required(password, r, "Password")?.into(),
                    delay_seconds: self.required(delay, r, "DelaySeconds")?,
                })
            }
            "FactoryReset" => self.empty(Body::FactoryReset)?,
            "FactoryResetResponse" => self.empty(Body::FactoryResetResponse)?,
            "ScheduleInform" => {
                fields!(self, r, e, {
                    "DelaySeconds" => delay = self.u32(&e)?,
                    "CommandKey" => command_key = self.text(&e)?,
                });
                Body::ScheduleInform(ScheduleInform {
                    delay_seconds: self.required(delay, r, "DelaySeconds")?,
                    command_key: self.required(command_key, r, "CommandKey")?,
                })
            }
            "ScheduleInformResponse" => self.empty(Body::ScheduleInformResponse)?,
            "GetQueuedTransfers" => self.empty(Body::GetQueuedTransfers)?,
            "GetQueuedTransfersResponse" => {
                fields!(self, r, e, { "TransferList" => list = self.array(&e, Self::queued_transfer)? });
                Body::GetQueuedTransfersResponse(GetQueuedTransfersResponse {
                    transfer_list: self.required(list, r, "TransferList")?,
                })
            }
            "GetAllQueuedTransfers" => self.empty(Body::GetAllQueuedTransfers)?,
            "GetAllQueuedTransfersResponse" => {
                fields!(self, r, e, { "TransferList" => list = self.array(&e, Self::all_queued_transfer)? });
                Body::GetAllQueuedTransfersResponse(GetAllQueuedTransfersResponse {
                    transfer_list: self.required(list, r, "TransferList")?,
                })
            }
            "ScheduleDownload" => {
                fields!(self, r, e, {
                    "CommandKey" => command_key = self.text(&e)?,
                    "FileType" => file_type = self.text(&e)?,
                    "URL" => url = self.text(&e)?,
                    "Username" => username = self.text(&e)?,
                    "Password" => password = self.text(&e)?,
                    "FileSize" => file_size = self.u32(&e)?,
                    "TargetFileName" => target = self.text(&e)?,
                    "TimeWindowList" => windows = self.array(&e, Self::time_window)?,
                });
                Body::ScheduleDownload(ScheduleDownload {
                    command_key: self.required(command_key, r, "CommandKey")?,
                    file_type: self.required(file_type, r, "FileType")?,
                    url: self.required(url, r, "URL")?,
                    username: self.required(username, r, "Username")?,
                    password: self.required(password, r, "Password")?.into(),
                    file_size: self.required(file_size, r, "FileSize")?,
                    target_file_name: self.required(target, r, "TargetFileName")?,
                    time_window_list: self.required(windows, r, "TimeWindowList")?,
                })
            }
            "ScheduleDownloadResponse" => self.empty(Body::ScheduleDownloadResponse)?,
            "CancelTransfer" => Body::CancelTransfer(CancelTransfer {
                command_key: self.command_key_only(r)?,
            }),
            "CancelTransferResponse" => self.empty(Body::CancelTransferResponse)?,
            "ChangeDUState" => Body::ChangeDUState(self.change_du_state(r)?),
            "ChangeDUStateResponse" => self.empty(Body::ChangeDUStateResponse)?,
            "Inform" => Body::Inform(self.inform(r)?),
            "InformResponse" => {
                fields!(self, r, e, { "MaxEnvelopes" => max = self.u32(&e)? });
                Body::InformResponse(InformResponse {
                    max_envelopes: self.required(max, r, "MaxEnvelopes")?,
                })
            }
            "TransferComplete" => {
                fields!(self, r, e, {
                    "CommandKey" => command_key = self.text(&e)?,
                    "FaultStruct" => fault = self.transfer_fault(&e)?,
                    "StartTime" => start = self.datetime(&e)?,
                    "CompleteTime" => complete = self.datetime(&e)?,
                });
                Body::TransferComplete(TransferComplete {
                    command_key: self.required(command_key, r, "CommandKey")?,
                    fault_struct: self.required(fault, r, "FaultStruct")?,
                    start_time: self.required(start, r, "StartTime")?,
                    complete_time: self.required(complete, r, "CompleteTime")?,
                })
            }
            "TransferCompleteResponse" => self.empty(Body::TransferCompleteResponse)?,
            "AutonomousTransferComplete" => {
                fields!(self, r, e, {
                    "AnnounceURL" => announce = self.text(&e)?,
                    "TransferURL" => transfer = self.text(&e)?,
                    "IsDownload" => is_download = self.boolean(&e)?,
                    "FileType" => file_type = self.text(&e)?,
                    "FileSize" => file_size = self.u32(&e)?,
                    "TargetFileName" => target = self.text(&e)?,
                    "FaultStruct" => fault = self.transfer_fault(&e)?,
                    "StartTime" => start = self.datetime(&e)?,
                    "CompleteTime" => complete = self.datetime(&e)?,
                });
                Body::AutonomousTransferComplete(AutonomousTransferComplete {
                    announce_url: self.required(announce, r, "AnnounceURL")?,
                    transfer_url: self.required(transfer, r, "TransferURL")?,
                    is_download: self.required(is_download, r, "IsDownload")?,
                    file_type: self.required(file_type, r, "FileType")?,
                    file_size: self.required(file_size, r, "FileSize")?,
                    target_file_name: self.required(target, r, "TargetFileName")?,
                    fault_struct: self.required(fault, r, "FaultStruct")?,
                    start_time: self.required(start, r, "StartTime")?,
                    complete_time: self.required(complete, r, "CompleteTime")?,
                })
            }
            "AutonomousTransferCompleteResponse" => {
                self.empty(Body::AutonomousTransferCompleteResponse)?
            }
            "RequestDownload" => {
                fields!(self, r, e, {
                    "FileType" => file_type = self.text(&e)?,
                    "FileTypeArg" => args = self.array(&e, Self::arg)?,
                });
                Body::RequestDownload(RequestDownload {
                    file_type: self.required(file_type, r, "FileType")?,
                    file_type_arg: self.required(args, r, "FileTypeArg")?,
                })
            }
            "RequestDownloadResponse" => self.empty(Body::RequestDownloadResponse)?,
            "Kicked" => {
                fields!(self, r, e, {
                    "Command" => command = self.text(&e)?,
                    "Referer" => referer = self.text(&e)?,
                    "Arg" => arg = self.text(&e)?,
                    "Next" => next = self.text(&e)?,
                });
                Body::Kicked(Kicked {
                    command: self.required(command, r, "Command")?,
                    referer: self.required(referer, r, "Referer")?,
                    arg: self.required(arg, r, "Arg")?,
                    next: self.required(next, r, "Next")?,
                })
            }
            "KickedResponse" => {
                fields!(self, r, e, { "NextURL" => next = self.text(&e)? });
                Body::KickedResponse(KickedResponse {
                    next_url: self.required(next, r, "NextURL")?,
                })
            }
            "DUStateChangeComplete" => {
                let mut results = Vec::new();
                let mut command_key = None;
                while let Some(e) = self.child(r)? {
                    match e.local {
                        "Results" => {
                            if results.len() >= self.max_items {
                                return Err(self.too_many(r, e.offset));
                            }
                            results.push(self.op_result(&e)?.0);
                        }
                        "CommandKey" => {
                            if command_key.is_some() {
                                return Err(self.duplicate(r, &e));
                            }
                            command_key = Some(self.text(&e)?);
                        }
                        _ => self.skip()?,
                    }
                }
                if results.is_empty() {
                    return Err(self.missing(r, "Results"));
                }
                Body::DUStateChangeComplete(DUStateChangeComplete {
                    results,
                    command_key,
                })
            }
            "DUStateChangeCompleteResponse" => self.empty(Body::DUStateChangeCompleteResponse)?,
            "AutonomousDUStateChangeComplete" => {
                let mut results = Vec::new();
                while let Some(e) = self.child(r)? {
                    if e.local == "Results" {
                        if results.len() >= self.max_items {
                            return Err(self.too_many(r, e.offset));
                        }
                        let (result, performed) = self.op_result(&e)?;
                        results.push(AutonOpResultStruct {
                            result,
                            operation_performed: self.required(
                                performed,
                                &e,
                                "OperationPerformed",
                            )?,
                        });
                    } else {
                        self.skip()?;
                    }
                }
                if results.is_empty() {
                    return Err(self.missing(r, "Results"));
                }
                Body::AutonomousDUStateChangeComplete(AutonomousDUStateChangeComplete { results })
            }
            "AutonomousDUStateChangeCompleteResponse" => {
                self.empty(Body::AutonomousDUStateChangeCompleteResponse)?
            }
            other => {
                self.skip()?;
                Body::Unknown {
                    name: other.to_owned(),
                    namespace: r.ns.uri().map(str::to_owned),
                }
            }
        })
    }

    /// An argument-less message: its content (if any) is ignored.
    fn empty(&mut self, body: Body) -> Result<Body> {
        self.skip()?;
        Ok(body)
    }

    fn command_key_only(&mut self, r: &Elem<'a>) -> Result<String> {
        fields!(self, r, e, { "CommandKey" => key = self.text(&e)? });
        self.required(key, r, "CommandKey")
    }

    fn parameter_values(&mut self, arr: &Elem<'a>) -> Result<Vec<ParameterValueStruct>> {
        self.array(arr, |c, s| {
            let mut value_type = XsiType::Absent;
            fields!(c, &s, e, {
                "Name" => name = c.text(&e)?,
                "Value" => value = {
                    value_type = e.xsi_type;
                    c.text(&e)?
                },
            });
            Ok(ParameterValueStruct {
                name: c.required(name, &s, "Name")?,
                value: c.required(value, &s, "Value")?,
                // An unknown xsi:type (e.g. xsd:integer) is kept as None: the engine then
                // validates the lexical value against the parameter's type.
                xsi_type: match value_type {
                    XsiType::Xsd(t) => Some(t),
                    _ => None,
                },
            })
        })
    }

    fn parameter_info(&mut self, s: Elem<'a>) -> Result<ParameterInfoStruct> {
        fields!(self, &s, e, {
            "Name" => name = self.text(&e)?,
            "Writable" => writable = self.boolean(&e)?,
        });
        Ok(ParameterInfoStruct {
            name: self.required(name, &s, "Name")?,
            writable: self.required(writable, &s, "Writable")?,
        })
    }

    fn set_attributes(&mut self, s: Elem<'a>) -> Result<SetParameterAttributesStruct> {
        fields!(self, &s, e, {
            "Name" => name = self.text(&e)?,
            "NotificationChange" => notification_change = self.boolean(&e)?,
            "Notification" => notification = (self.text(&e)?, e.clone()),
            "AccessListChange" => access_list_change = self.boolean(&e)?,
            "AccessList" => access_list = self.strings(&e)?,
        });
        let notification_change = self.required(notification_change, &s, "NotificationChange")?;
        let (text, n_elem) = self.required(notification, &s, "Notification")?;
        // GenieACS sends `<Notification></Notification>` when only the access list changes.
        // The value is ignored when NotificationChange is false, so that empty value is read
        // as 0 instead of failing the whole request.
        let notification = match parse_i32(&text) {
            Some(n) => n,
            None if !notification_change && is_xml_whitespace(&text) => 0,
            None => return Err(self.invalid(&n_elem, &text, "int")),
        };
        Ok(SetParameterAttributesStruct {
            name: self.required(name, &s, "Name")?,
            notification_change,
            notification,
            access_list_change: self.required(access_list_change, &s, "AccessListChange")?,
            access_list: self.required(access_list, &s, "AccessList")?,
        })
    }

    fn attributes(&mut self, s: Elem<'a>) -> Result<ParameterAttributeStruct> {
        fields!(self, &s, e, {
            "Name" => name = self.text(&e)?,
            "Notification" => notification = self.i32(&e)?,
            "AccessList" => access_list = self.strings(&e)?,
        });
        Ok(ParameterAttributeStruct {
            name: self.required(name, &s, "Name")?,
            notification: self.required(notification, &s, "Notification")?,
            access_list: self.required(access_list, &s, "AccessList")?,
        })
    }

    fn transfer_response(&mut self, r: &Elem<'a>) -> Result<TransferResponse> {
        fields!(self, r, e, {
            "Status" => status = self.i32(&e)?,
            "StartTime" => start = self.datetime(&e)?,
            "CompleteTime" => complete = self.datetime(&e)?,
        });
        Ok(TransferResponse {
            status: self.required(status, r, "Status")?,
            start_time: self.required(start, r, "StartTime")?,
            complete_time: self.required(complete, r, "CompleteTime")?,
        })
    }

    fn queued_transfer(&mut self, s: Elem<'a>) -> Result<QueuedTransferStruct> {
        fields!(self, &s, e, {
            "CommandKey" => command_key = self.text(&e)?,
            "State" => state = self.i32(&e)?,
        });
        Ok(QueuedTransferStruct {
            command_key: self.required(command_key, &s, "CommandKey")?,
            state: self.required(state, &s, "State")?,
        })
    }

    fn all_queued_transfer(&mut self, s: Elem<'a>) -> Result<AllQueuedTransferStruct> {
        fields!(self, &s, e, {
            "CommandKey" => command_key = self.text(&e)?,
            "State" => state = self.i32(&e)?,
            "IsDownload" => is_download = self.boolean(&e)?,
            "FileType" => file_type = self.text(&e)?,
            "FileSize" => file_size = self.u32(&e)?,
            "TargetFileName" => target = self.text(&e)?,
        });
        Ok(AllQueuedTransferStruct {
            command_key: self.required(command_key, &s, "CommandKey")?,
            state: self.required(state, &s, "State")?,
            is_download: self.required(is_download, &s, "IsDownload")?,
            file_type: self.required(file_type, &s, "FileType")?,
            file_size: self.required(file_size, &s, "FileSize")?,
            target_file_name: self.required(target, &s, "TargetFileName")?,
        })
    }

    fn time_window(&mut self, s: Elem<'a>) -> Result<TimeWindowStruct> {
        fields!(self, &s, e, {
            "WindowStart" => start = self.u32(&e)?,
            "WindowEnd" => end = self.u32(&e)?,
            "WindowMode" => mode = self.text(&e)?,
            "UserMessage" => message = self.text(&e)?,
            "MaxRetries" => retries = self.i32(&e)?,
        });
        Ok(TimeWindowStruct {
            window_start: self.required(start, &s, "WindowStart")?,
            window_end: self.required(end, &s, "WindowEnd")?,
            window_mode: self.required(mode, &s, "WindowMode")?,
            user_message: self.required(message, &s, "UserMessage")?,
            max_retries: self.required(retries, &s, "MaxRetries")?,
        })
    }

    fn arg(&mut self, s: Elem<'a>) -> Result<ArgStruct> {
        fields!(self, &s, e, {
            "Name" => name = self.text(&e)?,
            "Value" => value = self.text(&e)?,
        });
        Ok(ArgStruct {
            name: self.required(name, &s, "Name")?,
            value: self.required(value, &s, "Value")?,
        })
    }

    fn transfer_fault(&mut self, s: &Elem<'a>) -> Result<TransferCompleteFaultStruct> {
        fields!(self, s, e, {
            "FaultCode" => code = self.u32(&e)?,
            "FaultString" => string = self.text(&e)?,
        });
        Ok(TransferCompleteFaultStruct {
            fault_code: self.required(code, s, "FaultCode")?,
            fault_string: self.required(string, s, "FaultString")?,
        })
    }

    fn inform(&mut self, r: &Elem<'a>) -> Result<Inform> {
        fields!(self, r, e, {
            "DeviceId" => device_id = self.device_id(&e)?,
            "Event" => event = self.array(&e, Self::event)?,
            "MaxEnvelopes" => max = self.u32(&e)?,
            "CurrentTime" => time = self.datetime(&e)?,
            "RetryCount" => retry = self.u32(&e)?,
            "ParameterList" => list = self.parameter_values(&e)?,
        });
        Ok(Inform {
            device_id: self.required(device_id, r, "DeviceId")?,
            event: self.required(event, r, "Event")?,
            max_envelopes: self.required(max, r, "MaxEnvelopes")?,
            current_time: self.required(time, r, "CurrentTime")?,
            retry_count: self.required(retry, r, "RetryCount")?,
            parameter_list: self.required(list, r, "ParameterList")?,
        })
    }

    fn device_id(&mut self, s: &Elem<'a>) -> Result<DeviceIdStruct> {
        fields!(self, s, e, {
            "Manufacturer" => manufacturer = self.text(&e)?,
            "OUI" => oui = self.text(&e)?,
            "ProductClass" => product_class = self.text(&e)?,
            "SerialNumber" => serial = self.text(&e)?,
        });
        Ok(DeviceIdStruct {
            manufacturer: self.required(manufacturer, s, "Manufacturer")?,
            oui: self.required(oui, s, "OUI")?,
            product_class: self.required(product_class, s, "ProductClass")?,
            serial_number: self.required(serial, s, "SerialNumber")?,
        })
    }

    fn event(&mut self, s: Elem<'a>) -> Result<EventStruct> {
        fields!(self, &s, e, {
            "EventCode" => code = self.text(&e)?,
            "CommandKey" => key = self.text(&e)?,
        });
        Ok(EventStruct {
            event_code: self.required(code, &s, "EventCode")?,
            command_key: self.required(key, &s, "CommandKey")?,
        })
    }

    fn change_du_state(&mut self, r: &Elem<'a>) -> Result<ChangeDUState> {
        let mut operations = Vec::new();
        let mut command_key = None;
        while let Some(e) = self.child(r)? {
            match e.local {
                "Operations" => {
                    if operations.len() >= self.max_items {
                        return Err(self.too_many(r, e.offset));
                    }
                    operations.push(self.du_operation(&e)?);
                }
                "CommandKey" => {
                    if command_key.is_some() {
                        return Err(self.duplicate(r, &e));
                    }
                    command_key = Some(self.text(&e)?);
                }
                _ => self.skip()?,
            }
        }
        if operations.is_empty() {
            return Err(self.missing(r, "Operations"));
        }
        Ok(ChangeDUState {
            operations,
            command_key,
        })
    }

    /// One `Operations` element; its concrete type is named by `xsi:type` (the XSD's
    /// `OperationStruct` is abstract), which is therefore required.
    fn du_operation(&mut self, o: &Elem<'a>) -> Result<DuOperation> {
        let kind = match o.xsi_type {
            XsiType::Cwmp(k) => k,
            _ => {
                return Err(self.invalid(
                    o,
                    "",
                    "xsi:type InstallOpStruct, UpdateOpStruct or UninstallOpStruct",
                ))
            }
        };
        fields!(self, o, e, {
            "URL" => url = self.text(&e)?,
            "UUID" => uuid = self.text(&e)?,
            "Username" => username = self.text(&e)?,
            "Password" => password = self.text(&e)?,
            "ExecutionEnvRef" => env = self.text(&e)?,
            "Version" => version = self.text(&e)?,
        });
        Ok(match kind {
            OpType::Install => DuOperation::Install(InstallOpStruct {
                url: self.required(url, o, "URL")?,
                uuid,
                username,
                password,
                execution_env_ref: env,
            }),
            OpType::Update => DuOperation::Update(UpdateOpStruct {
                uuid,
                version,
                url,
                username,
                password,
            }),
            OpType::Uninstall => DuOperation::Uninstall(UninstallOpStruct {
                uuid: self.required(uuid, o, "UUID")?,
                version,
                execution_env_ref: env,
            }),
        })
    }

    /// An `OpResultStruct`, plus `OperationPerformed` when present (AutonOpResultStruct).
    fn op_result(&mut self, s: &Elem<'a>) -> Result<(OpResultStruct, Option<String>)> {
        fields!(self, s, e, {
            "UUID" => uuid = self.text(&e)?,
            "DeploymentUnitRef" => du_ref = self.text(&e)?,
            "Version" => version = self.text(&e)?,
            "CurrentState" => state = self.text(&e)?,
            "Resolved" => resolved = self.boolean(&e)?,
            "ExecutionUnitRefList" => eu_refs = self.text(&e)?,
            "StartTime" => start = self.datetime(&e)?,
            "CompleteTime" => complete = self.datetime(&e)?,
            "Fault" => fault = self.du_fault(&e)?,
            "OperationPerformed" => performed = self.text(&e)?,
        });
        Ok((
            OpResultStruct {
                uuid: self.required(uuid, s, "UUID")?,
                deployment_unit_ref: self.required(du_ref, s, "DeploymentUnitRef")?,
                version: self.required(version, s, "Version")?,
                current_state: self.required(state, s, "CurrentState")?,
                resolved: self.required(resolved, s, "Resolved")?,
                execution_unit_ref_list: self.required(eu_refs, s, "ExecutionUnitRefList")?,
                start_time: self.required(start, s, "StartTime")?,
                complete_time: self.required(complete, s, "CompleteTime")?,
                fault: self.required(fault, s, "Fault")?,
            },
            performed,
        ))
    }

    fn du_fault(&mut self, s: &Elem<'a>) -> Result<DeploymentUnitFaultStruct> {
        fields!(self, s, e, {
            "FaultCode" => code = self.u32(&e)?,
            "FaultString" => string = self.text(&e)?,
        });
        Ok(DeploymentUnitFaultStruct {
            fault_code: self.required(code, s, "FaultCode")?,
            fault_string: string,
        })
    }
}

/// `xs:unsignedInt`: optional `+`, decimal digits, surrounding whitespace.
fn parse_u32(t: &str) -> Option<u32> {
    let t = t.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
    if let Some(rest) = t.strip_prefix('-') {
        // "-0" is a valid unsignedInt lexical form.
        return (!rest.is_empty() && rest.bytes().all(|b| b == b'0')).then_some(0);
    }
    t.parse().ok()
}

/// `xs:int`: optional sign, decimal digits, surrounding whitespace.
fn parse_i32(t: &str) -> Option<i32> {
    t.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
        .parse()
        .ok()
}

/// `xs:dateTime` (TR-069 Annex A.2), restricted to what round-trips through the writer.
///
/// Years outside 0001–9999 are refused, and so are the extreme years 0001 and 9999 with an
/// explicit zone offset: converting those to UTC can leave the four-digit range, which
/// `cwmp_model::DateTime::parse` does not survive (it panics on 9999-12-31T23:59:59-05:00)
/// and the writer's `YYYY` form cannot express. Real ACSs write the "infinite" time as
/// `9999-12-31T23:59:59Z`, which is accepted. Fractional seconds are kept (to the nanosecond),
/// as the wire form ([`DateTime::to_xsd`]) writes them, so a parsed value is what would be written.
fn parse_datetime(text: &str) -> Option<DateTime> {
    let t = text.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
    let year: u16 = t.get(..4)?.parse().ok()?;
    if !(1..=9999).contains(&year) {
        return None;
    }
    if year == 1 || year == 9999 {
        let time_part = t.rsplit('T').next().unwrap_or("");
        if time_part.contains('+') || time_part.contains('-') {
            return None;
        }
    }
    DateTime::parse(t)
}

/// `xs:boolean`: `0`, `1`, `true`, `false` (TR-069 Annex A.2), surrounding whitespace.
fn parse_bool(t: &str) -> Option<bool> {
    match t.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r')) {
        "1" | "true" => Some(true),
        "0" | "false" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_u32(" 42\n"), Some(42));
        assert_eq!(parse_u32("+7"), Some(7));
        assert_eq!(parse_u32("-0"), Some(0));
        assert_eq!(parse_u32("-"), None);
        assert_eq!(parse_u32("-1"), None);
        assert_eq!(parse_u32("4294967295"), Some(u32::MAX));
        assert_eq!(parse_u32("4294967296"), None);
        assert_eq!(parse_u32(""), None);
        assert_eq!(parse_u32("1 2"), None);
        assert_eq!(parse_i32("-2147483648"), Some(i32::MIN));
        assert_eq!(parse_i32("2147483648"), None);
        assert_eq!(parse_bool("true"), Some(true));
        assert_eq!(parse_bool(" 0 "), Some(false));
        assert_eq!(parse_bool("yes"), None);
        assert_eq!(parse_bool("TRUE"), None);
    }

    #[test]
    fn datetimes() {
        let z = DateTime::parse("2024-05-01T10:00:00Z");
        assert_eq!(parse_datetime(" 2024-05-01T12:00:00+02:00 "), z);
        assert_eq!(
            parse_datetime("9999-12-31T23:59:59Z")
                .map(|d| d.to_xsd())
                .as_deref(),
            Some("9999-12-31T23:59:59Z")
        );
        assert_eq!(
            parse_datetime("0001-01-01T00:00:00Z"),
            Some(DateTime::UNKNOWN)
        );
        // Would leave the four-digit year range in UTC (and panics in the model's parser).
        assert_eq!(parse_datetime("9999-12-31T23:59:59-05:00"), None);
        assert_eq!(parse_datetime("0001-01-01T00:30:00+01:00"), None);
        assert_eq!(parse_datetime("0000-01-01T00:00:00Z"), None);
        assert_eq!(parse_datetime("-0001-01-01T00:00:00Z"), None);
        assert_eq!(parse_datetime("10000-01-01T00:00:00Z"), None);
        assert_eq!(parse_datetime("é"), None);
        assert_eq!(
            parse_datetime("2024-05-01T10:00:00.999Z").map(|d| d.to_xsd()),
            Some("2024-05-01T10:00:00.999Z".to_owned())
        );
    }
}

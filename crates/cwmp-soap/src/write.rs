//! The encoder: [`Envelope`] → bytes, and streaming writers for the large responses
//! (TR-069 §2.2, §3.5, Annex A.3.3.1, Annex A, Annex A.5, Annex A.2).
//!
//! Output form (stable, so tests and captures can compare it):
//! * `<?xml version="1.0" encoding="UTF-8"?>`, a newline, then the envelope on one line;
//!   prefixes `soap` (SOAP 1.1 envelope), `soap-enc`, `xsd`, `xsi`, `cwmp`, all declared on
//!   the Envelope.
//! * Header only when a header field is set: `cwmp:ID` and `cwmp:HoldRequests` and
//!   `cwmp:UseCWMPVersion` with `soap:mustUnderstand="1"`, `cwmp:SessionTimeout` and
//!   `cwmp:SupportedCWMPVersions` with `soap:mustUnderstand="0"` (as the XSDs fix them).
//! * The RPC element is `cwmp:`-qualified, its children unqualified (XSD
//!   `elementFormDefault="unqualified"`); every array carries
//!   `soap-enc:arrayType="…[N]"` with its exact length; every `Value` carries `xsi:type`
//!   (`xsd:string` when the struct has none).
//! * Booleans are written `true`/`false` (the XSD canonical form).
//! * Text is escaped (`&amp;` `&lt;` `&gt;`; `&#13;` for CR so it survives end-of-line
//!   normalisation). Characters XML 1.0 cannot carry at all (control characters other than
//!   tab/LF/CR, U+FFFE, U+FFFF) are written as U+FFFD: one odd value must not make a whole
//!   response unparseable for the ACS.
//!
//! Decision on base64: `xsd:base64` (the name [`XsdType::as_xsi`] uses, and common in the
//! field) does not exist in XML Schema, so a message carrying it fails schema validation.
//! The writer emits `soap-enc:base64`, SOAP 1.1 encoding's base64 type (valid against the
//! BBF schemas, and its local name is still `base64` for ACSs that compare local names).
//! All other types use [`XsdType::as_xsi`].

use crate::lexer::{SOAP_ENC, SOAP_ENV, XSD, XSI};
use crate::message::*;
use cwmp_model::{DateTime, XsdType};
use std::borrow::Borrow;
use std::io::{self, BufWriter, Write};

/// Writes one envelope.
///
/// Fails with [`io::ErrorKind::InvalidInput`] for a [`Body::Unknown`] (it has no content
/// to write); otherwise only on I/O errors. Writes through an internal 8 KiB buffer, so an
/// unbuffered socket or file is fine.
pub fn write<W: Write>(envelope: &Envelope, w: &mut W) -> io::Result<()> {
    if let Body::Unknown { name, .. } = &envelope.body {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("cannot write unknown body element <{name}>"),
        ));
    }
    let mut out = Out::new(w);
    out.envelope_start(envelope.namespace, &envelope.header)?;
    out.body(&envelope.body)?;
    out.envelope_end()?;
    out.finish()
}

/// Streams a `GetParameterValuesResponse` with `items` as its `ParameterList`, without
/// building the document in memory (TR-069 Annex A.3.2.2). `items` is consumed one entry at a time;
/// its `len()` is written as the array size first.
///
/// Fails with [`io::ErrorKind::InvalidInput`] if the iterator yields a different number of
/// items than its `len()` announced (the document written so far is then wrong and must be
/// discarded).
pub fn write_get_parameter_values_response<W, I>(
    w: &mut W,
    namespace: CwmpNamespace,
    header: &Header,
    items: I,
) -> io::Result<()>
where
    W: Write,
    I: IntoIterator,
    I::IntoIter: ExactSizeIterator,
    I::Item: Borrow<ParameterValueStruct>,
{
    let mut out = Out::new(w);
    out.envelope_start(namespace, header)?;
    out.body_start()?;
    out.gpv_response(items.into_iter())?;
    out.body_end()?;
    out.envelope_end()?;
    out.finish()
}

/// Streams a `GetParameterNamesResponse` (TR-069 Annex A.3.2.3); see
/// [`write_get_parameter_values_response`] for the contract.
pub fn write_get_parameter_names_response<W, I>(
    w: &mut W,
    namespace: CwmpNamespace,
    header: &Header,
    items: I,
) -> io::Result<()>
where
    W: Write,
    I: IntoIterator,
    I::IntoIter: ExactSizeIterator,
    I::Item: Borrow<ParameterInfoStruct>,
{
    let mut out = Out::new(w);
    out.envelope_start(namespace, header)?;
    out.body_start()?;
    out.gpn_response(items.into_iter())?;
    out.body_end()?;
    out.envelope_end()?;
    out.finish()
}

/// Streams a `GetParameterAttributesResponse` (TR-069 Annex A.3.2.5); see
/// [`write_get_parameter_values_response`] for the contract.
pub fn write_get_parameter_attributes_response<W, I>(
    w: &mut W,
    namespace: CwmpNamespace,
    header: &Header,
    items: I,
) -> io::Result<()>
where
    W: Write,
    I: IntoIterator,
    I::IntoIter: ExactSizeIterator,
    I::Item: Borrow<ParameterAttributeStruct>,
{
    let mut out = Out::new(w);
    out.envelope_start(namespace, header)?;
    out.body_start()?;
    out.gpa_response(items.into_iter())?;
    out.body_end()?;
    out.envelope_end()?;
    out.finish()
}

/// Writes `envelope` into a new `Vec` (convenience for small messages and tests).
pub fn to_vec(envelope: &Envelope) -> io::Result<Vec<u8>> {
    let mut v = Vec::new();
    write(envelope, &mut v)?;
    Ok(v)
}

/// The `xsi:type` value written for a type (see the module doc for base64).
pub fn xsi_type_name(t: XsdType) -> &'static str {
    match t {
        XsdType::Base64 => "soap-enc:base64",
        other => other.as_xsi(),
    }
}

struct Out<'w, W: Write> {
    w: BufWriter<&'w mut W>,
}

fn count_mismatch(announced: usize, actual: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("iterator announced {announced} items but yielded {actual}"),
    )
}

impl<'w, W: Write> Out<'w, W> {
    fn new(w: &'w mut W) -> Self {
        Out {
            w: BufWriter::with_capacity(8 * 1024, w),
        }
    }

    fn finish(mut self) -> io::Result<()> {
        self.w.flush()
    }

    fn raw(&mut self, s: &str) -> io::Result<()> {
        self.w.write_all(s.as_bytes())
    }

    /// Escaped character data.
    fn text(&mut self, s: &str) -> io::Result<()> {
        let bytes = s.as_bytes();
        let mut run = 0;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            let replacement: Option<(&[u8], usize)> = match b {
                b'&' => Some((b"&amp;", 1)),
                b'<' => Some((b"&lt;", 1)),
                b'>' => Some((b"&gt;", 1)),
                b'\r' => Some((b"&#13;", 1)),
                b'\t' | b'\n' => None,
                0..=0x1F => Some(("\u{FFFD}".as_bytes(), 1)),
                // U+FFFE / U+FFFF (EF BF BE / EF BF BF) are not XML characters.
                0xEF if bytes.get(i + 1) == Some(&0xBF)
                    && matches!(bytes.get(i + 2), Some(0xBE | 0xBF)) =>
                {
                    Some(("\u{FFFD}".as_bytes(), 3))
                }
                _ => None,
            };
            match replacement {
                Some((rep, len)) => {
                    self.w.write_all(&bytes[run..i])?;
                    self.w.write_all(rep)?;
                    i += len;
                    run = i;
                }
                None => i += 1,
            }
        }
        self.w.write_all(&bytes[run..])
    }

    fn open(&mut self, name: &str) -> io::Result<()> {
        self.raw("<")?;
        self.raw(name)?;
        self.raw(">")
    }

    fn close(&mut self, name: &str) -> io::Result<()> {
        self.raw("</")?;
        self.raw(name)?;
        self.raw(">")
    }

    fn leaf(&mut self, name: &str, value: &str) -> io::Result<()> {
        self.open(name)?;
        self.text(value)?;
        self.close(name)
    }

    fn leaf_u32(&mut self, name: &str, value: u32) -> io::Result<()> {
        self.open(name)?;
        write!(self.w, "{value}")?;
        self.close(name)
    }

    fn leaf_i32(&mut self, name: &str, value: i32) -> io::Result<()> {
        self.open(name)?;
        write!(self.w, "{value}")?;
        self.close(name)
    }

    fn leaf_bool(&mut self, name: &str, value: bool) -> io::Result<()> {
        self.leaf(name, if value { "true" } else { "false" })
    }

    fn leaf_time(&mut self, name: &str, value: DateTime) -> io::Result<()> {
        self.leaf(name, &value.to_xsd())
    }

    fn opt_leaf(&mut self, name: &str, value: &Option<String>) -> io::Result<()> {
        match value {
            Some(v) => self.leaf(name, v),
            None => Ok(()),
        }
    }

    /// `<name soap-enc:arrayType="item[n]">`.
    fn array_open(&mut self, name: &str, item: &str, n: usize) -> io::Result<()> {
        write!(self.w, "<{name} soap-enc:arrayType=\"{item}[{n}]\">")
    }

    /// The RPC element for a message without arguments.
    fn empty_rpc(&mut self, name: &str) -> io::Result<()> {
        write!(self.w, "<cwmp:{name}></cwmp:{name}>")
    }

    fn rpc_open(&mut self, name: &str) -> io::Result<()> {
        write!(self.w, "<cwmp:{name}>")
    }

    fn rpc_close(&mut self, name: &str) -> io::Result<()> {
        write!(self.w, "</cwmp:{name}>")
    }

    // --- Envelope -----------------------------------------------------------------------

    fn envelope_start(&mut self, ns: CwmpNamespace, h: &Header) -> io::Result<()> {
        write!(
            self.w,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <soap:Envelope xmlns:soap=\"{SOAP_ENV}\" xmlns:soap-enc=\"{SOAP_ENC}\" \
             xmlns:xsd=\"{XSD}\" xmlns:xsi=\"{XSI}\" xmlns:cwmp=\"{}\">",
            ns.uri()
        )?;
        let any = h.id.is_some()
            || h.hold_requests.is_some()
            || h.session_timeout.is_some()
            || h.supported_cwmp_versions.is_some()
            || h.use_cwmp_version.is_some()
            || h.no_more_requests.is_some();
        if !any {
            return Ok(());
        }
        self.raw("<soap:Header>")?;
        if let Some(id) = &h.id {
            self.raw("<cwmp:ID soap:mustUnderstand=\"1\">")?;
            self.text(id)?;
            self.raw("</cwmp:ID>")?;
        }
        if let Some(hold) = h.hold_requests {
            self.raw("<cwmp:HoldRequests soap:mustUnderstand=\"1\">")?;
            self.raw(if hold { "true" } else { "false" })?;
            self.raw("</cwmp:HoldRequests>")?;
        }
        if let Some(t) = h.session_timeout {
            write!(
                self.w,
                "<cwmp:SessionTimeout soap:mustUnderstand=\"0\">{t}</cwmp:SessionTimeout>"
            )?;
        }
        if let Some(v) = &h.supported_cwmp_versions {
            self.raw("<cwmp:SupportedCWMPVersions soap:mustUnderstand=\"0\">")?;
            self.text(v)?;
            self.raw("</cwmp:SupportedCWMPVersions>")?;
        }
        if let Some(v) = &h.use_cwmp_version {
            self.raw("<cwmp:UseCWMPVersion soap:mustUnderstand=\"1\">")?;
            self.text(v)?;
            self.raw("</cwmp:UseCWMPVersion>")?;
        }
        if let Some(v) = h.no_more_requests {
            // Deprecated and in no XSD: written only so test ACSs can exercise old peers.
            self.raw("<cwmp:NoMoreRequests>")?;
            self.raw(if v { "true" } else { "false" })?;
            self.raw("</cwmp:NoMoreRequests>")?;
        }
        self.raw("</soap:Header>")
    }

    fn body_start(&mut self) -> io::Result<()> {
        self.raw("<soap:Body>")
    }

    fn body_end(&mut self) -> io::Result<()> {
        self.raw("</soap:Body>")
    }

    fn envelope_end(&mut self) -> io::Result<()> {
        self.raw("</soap:Envelope>")
    }

    // --- Shared arrays ------------------------------------------------------------------

    fn parameter_values<I>(&mut self, items: I) -> io::Result<()>
    where
        I: ExactSizeIterator,
        I::Item: Borrow<ParameterValueStruct>,
    {
        let n = items.len();
        self.array_open("ParameterList", "cwmp:ParameterValueStruct", n)?;
        let mut count = 0usize;
        for p in items {
            let p = p.borrow();
            self.raw("<ParameterValueStruct><Name>")?;
            self.text(&p.name)?;
            self.raw("</Name><Value xsi:type=\"")?;
            self.raw(xsi_type_name(p.xsi_type.unwrap_or(XsdType::String)))?;
            self.raw("\">")?;
            self.text(&p.value)?;
            self.raw("</Value></ParameterValueStruct>")?;
            count += 1;
        }
        if count != n {
            return Err(count_mismatch(n, count));
        }
        self.close("ParameterList")
    }

    fn string_array(&mut self, name: &str, items: &[String]) -> io::Result<()> {
        self.array_open(name, "xsd:string", items.len())?;
        for s in items {
            self.leaf("string", s)?;
        }
        self.close(name)
    }

    fn gpv_response<I>(&mut self, items: I) -> io::Result<()>
    where
        I: ExactSizeIterator,
        I::Item: Borrow<ParameterValueStruct>,
    {
        self.rpc_open("GetParameterValuesResponse")?;
        self.parameter_values(items)?;
        self.rpc_close("GetParameterValuesResponse")
    }

    fn gpn_response<I>(&mut self, items: I) -> io::Result<()>
    where
        I: ExactSizeIterator,
        I::Item: Borrow<ParameterInfoStruct>,
    {
        self.rpc_open("GetParameterNamesResponse")?;
        let n = items.len();
        self.array_open("ParameterList", "cwmp:ParameterInfoStruct", n)?;
        let mut count = 0usize;
        for p in items {
            let p = p.borrow();
            self.raw("<ParameterInfoStruct><Name>")?;
            self.text(&p.name)?;
            self.raw(if p.writable {
                "</Name><Writable>true</Writable></ParameterInfoStruct>"
            } else {
                "</Name><Writable>false</Writable></ParameterInfoStruct>"
            })?;
            count += 1;
        }
        if count != n {
            return Err(count_mismatch(n, count));
        }
        self.close("ParameterList")?;
        self.rpc_close("GetParameterNamesResponse")
    }

    fn gpa_response<I>(&mut self, items: I) -> io::Result<()>
    where
        I: ExactSizeIterator,
        I::Item: Borrow<ParameterAttributeStruct>,
    {
        self.rpc_open("GetParameterAttributesResponse")?;
        let n = items.len();
        self.array_open("ParameterList", "cwmp:ParameterAttributeStruct", n)?;
        let mut count = 0usize;
        for p in items {
            let p = p.borrow();
            self.open("ParameterAttributeStruct")?;
            self.leaf("Name", &p.name)?;
            self.leaf_i32("Notification", p.notification)?;
            self.string_array("AccessList", &p.access_list)?;
            self.close("ParameterAttributeStruct")?;
            count += 1;
        }
        if count != n {
            return Err(count_mismatch(n, count));
        }
        self.close("ParameterList")?;
        self.rpc_close("GetParameterAttributesResponse")
    }

    // --- Bodies -------------------------------------------------------------------------

    fn body(&mut self, body: &Body) -> io::Result<()> {
        self.body_start()?;
        self.body_content(body)?;
        self.body_end()
    }

    fn body_content(&mut self, body: &Body) -> io::Result<()> {
        let name = body.name();
        match body {
            Body::GetRPCMethods
            | Body::SetParameterAttributesResponse
            | Body::RebootResponse
            | Body::FactoryReset
            | Body::FactoryResetResponse
            | Body::ScheduleInformResponse
            | Body::GetQueuedTransfers
            | Body::GetAllQueuedTransfers
            | Body::ScheduleDownloadResponse
            | Body::CancelTransferResponse
            | Body::ChangeDUStateResponse
            | Body::TransferCompleteResponse
            | Body::AutonomousTransferCompleteResponse
            | Body::RequestDownloadResponse
            | Body::DUStateChangeCompleteResponse
            | Body::AutonomousDUStateChangeCompleteResponse => self.empty_rpc(name),
            Body::GetRPCMethodsResponse(m) => {
                self.rpc_open(name)?;
                self.string_array("MethodList", &m.method_list)?;
                self.rpc_close(name)
            }
            Body::SetParameterValues(m) => {
                self.rpc_open(name)?;
                self.parameter_values(m.parameter_list.iter())?;
                self.leaf("ParameterKey", &m.parameter_key)?;
                self.rpc_close(name)
            }
            Body::SetParameterValuesResponse(m) => {
                self.rpc_open(name)?;
                self.leaf_i32("Status", m.status)?;
                self.rpc_close(name)
            }
            Body::GetParameterValues(m) => {
                self.rpc_open(name)?;
                self.string_array("ParameterNames", &m.parameter_names)?;
                self.rpc_close(name)
            }
            Body::GetParameterValuesResponse(m) => self.gpv_response(m.parameter_list.iter()),
            Body::GetParameterNames(m) => {
                self.rpc_open(name)?;
                self.leaf("ParameterPath", &m.parameter_path)?;
                self.leaf_bool("NextLevel", m.next_level)?;
                self.rpc_close(name)
            }
            Body::GetParameterNamesResponse(m) => self.gpn_response(m.parameter_list.iter()),
            Body::SetParameterAttributes(m) => {
                self.rpc_open(name)?;
                self.array_open(
                    "ParameterList",
                    "cwmp:SetParameterAttributesStruct",
                    m.parameter_list.len(),
                )?;
                for s in &m.parameter_list {
                    self.open("SetParameterAttributesStruct")?;
                    self.leaf("Name", &s.name)?;
                    self.leaf_bool("NotificationChange", s.notification_change)?;
                    self.leaf_i32("Notification", s.notification)?;
                    self.leaf_bool("AccessListChange", s.access_list_change)?;
                    self.string_array("AccessList", &s.access_list)?;
                    self.close("SetParameterAttributesStruct")?;
                }
                self.close("ParameterList")?;
                self.rpc_close(name)
            }
            Body::GetParameterAttributes(m) => {
                self.rpc_open(name)?;
                self.string_array("ParameterNames", &m.parameter_names)?;
                self.rpc_close(name)
            }
            Body::GetParameterAttributesResponse(m) => self.gpa_response(m.parameter_list.iter()),
            Body::AddObject(AddObject {
                object_name,
                parameter_key,
            })
            | Body::DeleteObject(DeleteObject {
                object_name,
                parameter_key,
            }) => {
                self.rpc_open(name)?;
                self.leaf("ObjectName", object_name)?;
                self.leaf("ParameterKey", parameter_key)?;
                self.rpc_close(name)
            }
            Body::AddObjectResponse(m) => {
                self.rpc_open(name)?;
                self.leaf_u32("InstanceNumber", m.instance_number)?;
                self.leaf_i32("Status", m.status)?;
                self.rpc_close(name)
            }
            Body::DeleteObjectResponse(m) => {
                self.rpc_open(name)?;
                self.leaf_i32("Status", m.status)?;
                self.rpc_close(name)
            }
            Body::Reboot(Reboot { command_key })
            | Body::CancelTransfer(CancelTransfer { command_key }) => {
                self.rpc_open(name)?;
                self.leaf("CommandKey", command_key)?;
                self.rpc_close(name)
            }
            Body::Download(m) => {
                self.rpc_open(name)?;
                self.leaf("CommandKey", &m.command_key)?;
                self.leaf("FileType", &m.file_type)?;
                self.leaf("URL", &m.url)?;
                self.leaf("Username", &m.username)?;
                self.leaf("Password", m.password.expose())?;
                self.leaf_u32("FileSize", m.file_size)?;
                self.leaf("TargetFileName", &m.target_file_name)?;
                self.leaf_u32("DelaySeconds", m.delay_seconds)?;
                self.leaf("SuccessURL", &m.success_url)?;
                self.leaf("FailureURL", &m.failure_url)?;
                self.rpc_close(name)
            }
            Body::DownloadResponse(m) | Body::UploadResponse(m) => {
                self.rpc_open(name)?;
                self.leaf_i32("Status", m.status)?;
                self.leaf_time("StartTime", m.start_time)?;
                self.leaf_time("CompleteTime", m.complete_time)?;
                self.rpc_close(name)
            }
            Body::Upload(m) => {
                self.rpc_open(name)?;
                self.leaf("CommandKey", &m.command_key)?;
                self.leaf("FileType", &m.file_type)?;
                self.leaf("URL", &m.url)?;
                self.leaf("Username", &m.username)?;
                self.leaf("Password", m.password.expose())?;
                self.leaf_u32("DelaySeconds", m.delay_seconds)?;
                self.rpc_close(name)
            }
            Body::ScheduleInform(m) => {
                self.rpc_open(name)?;
                self.leaf_u32("DelaySeconds", m.delay_seconds)?;
                self.leaf("CommandKey", &m.command_key)?;
                self.rpc_close(name)
            }
            Body::GetQueuedTransfersResponse(m) => {
                self.rpc_open(name)?;
                self.array_open(
                    "TransferList",
                    "cwmp:QueuedTransferStruct",
                    m.transfer_list.len(),
                )?;
                for t in &m.transfer_list {
                    self.open("QueuedTransferStruct")?;
                    self.leaf("CommandKey", &t.command_key)?;
                    self.leaf_i32("State", t.state)?;
                    self.close("QueuedTransferStruct")?;
                }
                self.close("TransferList")?;
                self.rpc_close(name)
            }
            Body::GetAllQueuedTransfersResponse(m) => {
                self.rpc_open(name)?;
                self.array_open(
                    "TransferList",
                    "cwmp:AllQueuedTransferStruct",
                    m.transfer_list.len(),
                )?;
                for t in &m.transfer_list {
                    self.open("AllQueuedTransferStruct")?;
                    self.leaf("CommandKey", &t.command_key)?;
                    self.leaf_i32("State", t.state)?;
                    self.leaf_bool("IsDownload", t.is_download)?;
                    self.leaf("FileType", &t.file_type)?;
                    self.leaf_u32("FileSize", t.file_size)?;
                    self.leaf("TargetFileName", &t.target_file_name)?;
                    self.close("AllQueuedTransferStruct")?;
                }
                self.close("TransferList")?;
                self.rpc_close(name)
            }
            Body::ScheduleDownload(m) => {
                self.rpc_open(name)?;
                self.leaf("CommandKey", &m.command_key)?;
                self.leaf("FileType", &m.file_type)?;
                self.leaf("URL", &m.url)?;
                self.leaf("Username", &m.username)?;
                self.leaf("Password", m.password.expose())?;
                self.leaf_u32("FileSize", m.file_size)?;
                self.leaf("TargetFileName", &m.target_file_name)?;
                self.array_open(
                    "TimeWindowList",
                    "cwmp:TimeWindowStruct",
                    m.time_window_list.len(),
                )?;
                for t in &m.time_window_list {
                    self.open("TimeWindowStruct")?;
                    self.leaf_u32("WindowStart", t.window_start)?;
                    self.leaf_u32("WindowEnd", t.window_end)?;
                    self.leaf("WindowMode", &t.window_mode)?;
                    self.leaf("UserMessage", &t.user_message)?;
                    self.leaf_i32("MaxRetries", t.max_retries)?;
                    self.close("TimeWindowStruct")?;
                }
                self.close("TimeWindowList")?;
                self.rpc_close(name)
            }
            Body::ChangeDUState(m) => {
                self.rpc_open(name)?;
                for op in &m.operations {
                    self.du_operation(op)?;
                }
                self.opt_leaf("CommandKey", &m.command_key)?;
                self.rpc_close(name)
            }
            Body::Inform(m) => {
                self.rpc_open(name)?;
                self.open("DeviceId")?;
                self.leaf("Manufacturer", &m.device_id.manufacturer)?;
                self.leaf("OUI", &m.device_id.oui)?;
                self.leaf("ProductClass", &m.device_id.product_class)?;
                self.leaf("SerialNumber", &m.device_id.serial_number)?;
                self.close("DeviceId")?;
                self.array_open("Event", "cwmp:EventStruct", m.event.len())?;
                for e in &m.event {
                    self.open("EventStruct")?;
                    self.leaf("EventCode", &e.event_code)?;
                    self.leaf("CommandKey", &e.command_key)?;
                    self.close("EventStruct")?;
                }
                self.close("Event")?;
                self.leaf_u32("MaxEnvelopes", m.max_envelopes)?;
                self.leaf_time("CurrentTime", m.current_time)?;
                self.leaf_u32("RetryCount", m.retry_count)?;
                self.parameter_values(m.parameter_list.iter())?;
                self.rpc_close(name)
            }
            Body::InformResponse(m) => {
                self.rpc_open(name)?;
                self.leaf_u32("MaxEnvelopes", m.max_envelopes)?;
                self.rpc_close(name)
            }
            Body::TransferComplete(m) => {
                self.rpc_open(name)?;
                self.leaf("CommandKey", &m.command_key)?;
                self.transfer_fault(&m.fault_struct)?;
                self.leaf_time("StartTime", m.start_time)?;
                self.leaf_time("CompleteTime", m.complete_time)?;
                self.rpc_close(name)
            }
            Body::AutonomousTransferComplete(m) => {
                self.rpc_open(name)?;
                self.leaf("AnnounceURL", &m.announce_url)?;
                self.leaf("TransferURL", &m.transfer_url)?;
                self.leaf_bool("IsDownload", m.is_download)?;
                self.leaf("FileType", &m.file_type)?;
                self.leaf_u32("FileSize", m.file_size)?;
                self.leaf("TargetFileName", &m.target_file_name)?;
                self.transfer_fault(&m.fault_struct)?;
                self.leaf_time("StartTime", m.start_time)?;
                self.leaf_time("CompleteTime", m.complete_time)?;
                self.rpc_close(name)
            }
            Body::RequestDownload(m) => {
                self.rpc_open(name)?;
                self.leaf("FileType", &m.file_type)?;
                self.array_open("FileTypeArg", "cwmp:ArgStruct", m.file_type_arg.len())?;
                for a in &m.file_type_arg {
                    self.open("ArgStruct")?;
                    self.leaf("Name", &a.name)?;
                    self.leaf("Value", &a.value)?;
                    self.close("ArgStruct")?;
                }
                self.close("FileTypeArg")?;
                self.rpc_close(name)
            }
            Body::Kicked(m) => {
                self.rpc_open(name)?;
                self.leaf("Command", &m.command)?;
                self.leaf("Referer", &m.referer)?;
                self.leaf("Arg", &m.arg)?;
                self.leaf("Next", &m.next)?;
                self.rpc_close(name)
            }
            Body::KickedResponse(m) => {
                self.rpc_open(name)?;
                self.leaf("NextURL", &m.next_url)?;
                self.rpc_close(name)
            }
            Body::DUStateChangeComplete(m) => {
                self.rpc_open(name)?;
                for r in &m.results {
                    self.open("Results")?;
                    self.op_result(r)?;
                    self.close("Results")?;
                }
                self.opt_leaf("CommandKey", &m.command_key)?;
                self.rpc_close(name)
            }
            Body::AutonomousDUStateChangeComplete(m) => {
                self.rpc_open(name)?;
                for r in &m.results {
                    self.open("Results")?;
                    self.op_result(&r.result)?;
                    self.leaf("OperationPerformed", &r.operation_performed)?;
                    self.close("Results")?;
                }
                self.rpc_close(name)
            }
            Body::Fault(f) => self.fault(f),
            Body::Unknown { name, .. } => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cannot write unknown body element <{name}>"),
            )),
        }
    }

    fn transfer_fault(&mut self, f: &TransferCompleteFaultStruct) -> io::Result<()> {
        self.open("FaultStruct")?;
        self.leaf_u32("FaultCode", f.fault_code)?;
        self.leaf("FaultString", &f.fault_string)?;
        self.close("FaultStruct")
    }

    fn du_operation(&mut self, op: &DuOperation) -> io::Result<()> {
        match op {
            DuOperation::Install(o) => {
                self.raw("<Operations xsi:type=\"cwmp:InstallOpStruct\">")?;
                self.leaf("URL", &o.url)?;
                self.opt_leaf("UUID", &o.uuid)?;
                self.opt_leaf("Username", &o.username)?;
                self.opt_leaf("Password", &o.password)?;
                self.opt_leaf("ExecutionEnvRef", &o.execution_env_ref)?;
            }
            DuOperation::Update(o) => {
                self.raw("<Operations xsi:type=\"cwmp:UpdateOpStruct\">")?;
                self.opt_leaf("UUID", &o.uuid)?;
                self.opt_leaf("Version", &o.version)?;
                self.opt_leaf("URL", &o.url)?;
                self.opt_leaf("Username", &o.username)?;
                self.opt_leaf("Password", &o.password)?;
            }
            DuOperation::Uninstall(o) => {
                self.raw("<Operations xsi:type=\"cwmp:UninstallOpStruct\">")?;
                self.leaf("UUID", &o.uuid)?;
                self.opt_leaf("Version", &o.version)?;
                self.opt_leaf("ExecutionEnvRef", &o.execution_env_ref)?;
            }
        }
        self.close("Operations")
    }

    fn op_result(&mut self, r: &OpResultStruct) -> io::Result<()> {
        self.leaf("UUID", &r.uuid)?;
        self.leaf("DeploymentUnitRef", &r.deployment_unit_ref)?;
        self.leaf("Version", &r.version)?;
        self.leaf("CurrentState", &r.current_state)?;
        self.leaf_bool("Resolved", r.resolved)?;
        self.leaf("ExecutionUnitRefList", &r.execution_unit_ref_list)?;
        self.leaf_time("StartTime", r.start_time)?;
        self.leaf_time("CompleteTime", r.complete_time)?;
        self.open("Fault")?;
        self.leaf_u32("FaultCode", r.fault.fault_code)?;
        self.opt_leaf("FaultString", &r.fault.fault_string)?;
        self.close("Fault")
    }

    fn fault(&mut self, f: &SoapFault) -> io::Result<()> {
        self.raw("<soap:Fault>")?;
        self.leaf("faultcode", &f.faultcode)?;
        self.leaf("faultstring", &f.faultstring)?;
        if let Some(d) = &f.detail {
            self.raw("<detail><cwmp:Fault>")?;
            self.leaf_u32("FaultCode", d.code)?;
            self.leaf("FaultString", &d.string)?;
            for s in &d.set_parameter_values_faults {
                self.open("SetParameterValuesFault")?;
                self.leaf("ParameterName", &s.name)?;
                self.leaf_u32("FaultCode", s.code)?;
                self.leaf("FaultString", &s.string)?;
                self.close("SetParameterValuesFault")?;
            }
            self.raw("</cwmp:Fault></detail>")?;
        }
        self.raw("</soap:Fault>")
    }
}

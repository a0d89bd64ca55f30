//! The Desk Phone's computed (`live`) parameters: [`DeskPhoneLive`], a [`LiveValues`] the
//! daemon hands to the store, and [`serial_number_from_mac`], the derivation of
//! `DeviceInfo.SerialNumber` from the `mac-address` item.

use cwmp_model::LiveValues;
use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Instant;

const SERIAL_NUMBER: &str = "Device.DeviceInfo.SerialNumber";
const UP_TIME: &str = "Device.DeviceInfo.UpTime";
const DEVICE_STATUS: &str = "Device.DeviceInfo.DeviceStatus";

/// The serial number the phone reports for a MAC address: its 12 hex digits, upper case,
/// without separators (`00:1A:E8:A1:B2:C3` → `001AE8A1B2C3`), as the real phone does in the
/// GenieACS capture. The seed maps `SerialNumber` to the `mac-address` item; this is that
/// mapping made exact.
///
/// Accepts the TR-106 `MACAddress` form (`:`-separated), `-`-separated pairs and 12 bare hex
/// digits, in either case; anything else is `None`.
pub fn serial_number_from_mac(mac: &str) -> Option<String> {
    let mac = mac.trim();
    let digits: String = if mac.len() == 12 {
        mac.to_owned()
    } else if mac.len() == 17 {
        let sep = mac.as_bytes().get(2).copied()?;
        if sep != b':' && sep != b'-' {
            return None;
        }
        let mut out = String::with_capacity(12);
        for (i, c) in mac.chars().enumerate() {
            if i % 3 == 2 {
                if c as u32 != u32::from(sep) {
                    return None;
                }
            } else {
                out.push(c);
            }
        }
        out
    } else {
        return None;
    };
    if digits.len() == 12 && digits.chars().all(|c| c.is_ascii_hexdigit()) {
        Some(digits.to_ascii_uppercase())
    } else {
        None
    }
}

/// `DeviceInfo.DeviceStatus` values (TR-106 enumeration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeviceStatus {
    /// `Up`
    Up,
    /// `Initializing`
    Initializing,
    /// `Error`
    Error,
    /// `Disabled`
    Disabled,
}

impl DeviceStatus {
    /// The parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Up => "Up",
            DeviceStatus::Initializing => "Initializing",
            DeviceStatus::Error => "Error",
            DeviceStatus::Disabled => "Disabled",
        }
    }

    fn from_u8(n: u8) -> DeviceStatus {
        match n {
            1 => DeviceStatus::Initializing,
            2 => DeviceStatus::Error,
            3 => DeviceStatus::Disabled,
            _ => DeviceStatus::Up,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            DeviceStatus::Up => 0,
            DeviceStatus::Initializing => 1,
            DeviceStatus::Error => 2,
            DeviceStatus::Disabled => 3,
        }
    }
}

/// A handle to change `DeviceStatus` after the [`DeskPhoneLive`] has been moved into the store.
#[derive(Debug, Clone, Default)]
pub struct DeviceStatusHandle(Arc<AtomicU8>);

impl DeviceStatusHandle {
    /// Set the status the phone reports.
    pub fn set(&self, status: DeviceStatus) {
        self.0.store(status.to_u8(), Ordering::Relaxed);
    }

    /// The status the phone reports.
    pub fn get(&self) -> DeviceStatus {
        DeviceStatus::from_u8(self.0.load(Ordering::Relaxed))
    }
}

/// The error of [`DeskPhoneLive::new`]: the MAC address has no serial number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidMacAddress(pub String);

impl fmt::Display for InvalidMacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a MAC address (expected six hex pairs such as 00:1A:E8:A1:B2:C3)",
            self.0
        )
    }
}

impl std::error::Error for InvalidMacAddress {}

/// The Desk Phone's [`LiveValues`]:
///
/// * `DeviceInfo.SerialNumber`: [`serial_number_from_mac`] of the MAC address given at
///   construction. It is computed once, at start-up, because TR-069 forbids the serial number
///   (part of the Inform `DeviceId`) to change during the device's life (TR-069 Annex A.3.3.1).
/// * `DeviceInfo.UpTime`: whole seconds since the start instant (saturating at `u32::MAX`).
/// * `DeviceInfo.DeviceStatus`: `Up` unless changed through [`status_handle`](Self::status_handle).
///
/// Every other live parameter (`Description`, `EnabledOptions`, `Additional*Version`) reads as
/// its table default, unless a fallback given with [`with_fallback`](Self::with_fallback)
/// answers it. The fallback is asked first, so an embedder can override any of the above
/// (e.g. UpTime from a simulated clock).
pub struct DeskPhoneLive {
    serial_number: String,
    started: Instant,
    status: DeviceStatusHandle,
    fallback: Option<Box<dyn LiveValues + Send>>,
}

impl DeskPhoneLive {
    /// Live values for a phone with this MAC address, started now.
    pub fn new(mac_address: &str) -> Result<DeskPhoneLive, InvalidMacAddress> {
        let serial_number = serial_number_from_mac(mac_address)
            .ok_or_else(|| InvalidMacAddress(mac_address.to_owned()))?;
        Ok(DeskPhoneLive {
            serial_number,
            started: Instant::now(),
            status: DeviceStatusHandle::default(),
            fallback: None,
        })
    }

    /// Builder: count UpTime from `started` (the daemon's boot instant) instead of now.
    pub fn with_started(mut self, started: Instant) -> DeskPhoneLive {
        self.started = started;
        self
    }

    /// Builder: ask `fallback` first for every live parameter.
    pub fn with_fallback(mut self, fallback: Box<dyn LiveValues + Send>) -> DeskPhoneLive {
        self.fallback = Some(fallback);
        self
    }

    /// The serial number this phone reports.
    pub fn serial_number(&self) -> &str {
        &self.serial_number
    }

    /// A handle to change `DeviceStatus` later.
    pub fn status_handle(&self) -> DeviceStatusHandle {
        self.status.clone()
    }
}

impl LiveValues for DeskPhoneLive {
    fn live_value(&mut self, name: &str) -> Option<String> {
        if let Some(v) = self.fallback.as_mut().and_then(|f| f.live_value(name)) {
            return Some(v);
        }
        match name {
            SERIAL_NUMBER => Some(self.serial_number.clone()),
            UP_TIME => {
                let secs = self.started.elapsed().as_secs();
                Some(u32::try_from(secs).unwrap_or(u32::MAX).to_string())
            }
            DEVICE_STATUS => Some(self.status.get().as_str().to_owned()),
            _ => None,
        }
    }
}

impl fmt::Debug for DeskPhoneLive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeskPhoneLive")
            .field("serial_number", &self.serial_number)
            .field("started", &self.started)
            .field("status", &self.status.get())
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_numbers() {
        for (mac, want) in [
            ("00:1A:E8:A1:B2:C3", Some("001AE8A1B2C3")),
            ("00:1a:e8:a1:b2:c3", Some("001AE8A1B2C3")),
            ("00-1a-e8-a1-b2-c3", Some("001AE8A1B2C3")),
            ("001ae8a1b2c3", Some("001AE8A1B2C3")),
            (" 00:1A:E8:A1:B2:C3 ", Some("001AE8A1B2C3")),
            ("00:1A:E8:A1:B2", None),
            ("00:1A:E8:A1:B2:C3:D4", None),
            ("00:1A-E8:A1:B2:C3", None),
            ("00.1A.E8.A1.B2.C3", None),
            ("00:1G:E8:A1:B2:C3", None),
            ("", None),
            ("00:1A:E8:A1:B2:ÄÄ", None),
        ] {
            assert_eq!(serial_number_from_mac(mac).as_deref(), want, "{mac:?}");
        }
    }

    #[test]
    fn live_values() {
        let mut live = DeskPhoneLive::new("00:1A:E8:A1:B2:C3").unwrap();
        assert_eq!(
            live.live_value(SERIAL_NUMBER).as_deref(),
            Some("001AE8A1B2C3")
        );
        assert_eq!(live.live_value(DEVICE_STATUS).as_deref(), Some("Up"));
        live.status_handle().set(DeviceStatus::Error);
        assert_eq!(live.live_value(DEVICE_STATUS).as_deref(), Some("Error"));
        let up: u32 = live.live_value(UP_TIME).unwrap().parse().unwrap();
        assert!(up < 5);
        assert_eq!(live.live_value("Device.DeviceInfo.Description"), None);
        assert!(DeskPhoneLive::new("nonsense").is_err());
    }

    #[test]
    fn uptime_counts_from_the_start_instant() {
        let Some(earlier) = Instant::now().checked_sub(std::time::Duration::from_secs(100)) else {
            return; // a monotonic clock younger than 100 s: nothing to check
        };
        let mut live = DeskPhoneLive::new("001AE8A1B2C3")
            .unwrap()
            .with_started(earlier);
        let up: u32 = live.live_value(UP_TIME).unwrap().parse().unwrap();
        assert!((100..110).contains(&up), "{up}");
    }

    struct Fixed;
    impl LiveValues for Fixed {
        fn live_value(&mut self, name: &str) -> Option<String> {
            (name == UP_TIME || name == "Device.DeviceInfo.Description").then(|| "42".to_owned())
        }
    }

    #[test]
    fn fallback_is_asked_first() {
        let mut live = DeskPhoneLive::new("001AE8A1B2C3")
            .unwrap()
            .with_fallback(Box::new(Fixed));
        assert_eq!(live.live_value(UP_TIME).as_deref(), Some("42"));
        assert_eq!(
            live.live_value("Device.DeviceInfo.Description").as_deref(),
            Some("42")
        );
        assert_eq!(
            live.live_value(SERIAL_NUMBER).as_deref(),
            Some("001AE8A1B2C3")
        );
    }
}

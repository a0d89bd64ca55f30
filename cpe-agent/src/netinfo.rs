//! The host's network values the phone reports as `Device.LAN.IPAddress`, `SubnetMask` and
//! `DefaultGateway` (items `ipaddress`, `default-mask`, `default-gw`): those of the interface
//! the host uses to reach the ACS.
//!
//! * The local address: connect a UDP socket to the ACS (no packet is sent) and read its
//!   local address, i.e. the kernel's source-address choice for that destination.
//! * Netmask and gateway: `/proc/net/route` (Linux), the most specific on-link route that
//!   contains the local address, and the default route of the same interface. Loopback
//!   addresses are not in that table; they get `255.0.0.0` and no gateway. Where the table is
//!   unreadable (not Linux), both are left empty (TR-106: empty = unknown).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs, UdpSocket};

/// The interface values for the route to the ACS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostNet {
    /// The local address used to reach the ACS.
    pub ip: IpAddr,
    /// Its netmask (dotted quad), or empty when unknown.
    pub mask: String,
    /// The default gateway on that interface, or empty when there is none.
    pub gateway: String,
}

impl HostNet {
    /// The item writes for these values.
    pub fn items(&self) -> Vec<(String, String)> {
        vec![
            ("ipaddress".into(), self.ip.to_string()),
            ("default-mask".into(), self.mask.clone()),
            ("default-gw".into(), self.gateway.clone()),
        ]
    }
}

/// The `host:port` an ACS URL points at (`http://h/` → port 80, `https://h/` → 443), by
/// the one URL parser ([`cwmp_model::Url`]).
pub fn url_host_port(url: &str) -> Option<(String, u16)> {
    let u = cwmp_model::Url::parse(url).ok().filter(|u| u.is_http())?;
    Some((u.host().to_owned(), u.port()))
}

/// The host's values for reaching the ACS at `url`, or `None` when the URL is empty or
/// unusable or no route leads there.
pub fn for_acs(url: &str) -> Option<HostNet> {
    let (host, port) = url_host_port(url)?;
    let target: SocketAddr = (host.as_str(), port).to_socket_addrs().ok()?.next()?;
    let bind: SocketAddr = if target.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = UdpSocket::bind(bind).ok()?;
    sock.connect(target).ok()?;
    let ip = sock.local_addr().ok()?.ip();
    let routes = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    let (mask, gateway) = match ip {
        IpAddr::V4(v4) if v4.is_loopback() => ("255.0.0.0".to_owned(), String::new()),
        IpAddr::V4(v4) => mask_and_gateway(&routes, v4),
        IpAddr::V6(_) => (String::new(), String::new()),
    };
    Some(HostNet { ip, mask, gateway })
}

/// One line of `/proc/net/route`.
struct Route {
    iface: String,
    dest: u32,
    gateway: u32,
    flags: u32,
    mask: u32,
}

/// `/proc/net/route` prints addresses as the hex of the in-memory (network-order) u32 read
/// on a little-endian host, i.e. byte-reversed.
fn parse_addr(hex: &str) -> Option<u32> {
    u32::from_str_radix(hex, 16).ok().map(u32::from_be)
}

fn parse_routes(text: &str) -> Vec<Route> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            Some(Route {
                iface: (*f.first()?).to_owned(),
                dest: parse_addr(f.get(1)?)?,
                gateway: parse_addr(f.get(2)?)?,
                flags: u32::from_str_radix(f.get(3)?, 16).ok()?,
                mask: parse_addr(f.get(7)?)?,
            })
        })
        .collect()
}

/// Netmask and default gateway for `ip` from the text of `/proc/net/route`.
fn mask_and_gateway(routes: &str, ip: Ipv4Addr) -> (String, String) {
    const RTF_UP: u32 = 0x1;
    const RTF_GATEWAY: u32 = 0x2;
    let ip = u32::from(ip);
    let routes = parse_routes(routes);
    let onlink = routes
        .iter()
        .filter(|r| r.flags & RTF_UP != 0 && r.flags & RTF_GATEWAY == 0 && r.mask != 0)
        .filter(|r| ip & r.mask == r.dest)
        .max_by_key(|r| r.mask.count_ones());
    let Some(onlink) = onlink else {
        return (String::new(), String::new());
    };
    let gateway = routes
        .iter()
        .filter(|r| r.flags & RTF_UP != 0 && r.flags & RTF_GATEWAY != 0)
        .filter(|r| r.dest == 0 && r.mask == 0 && r.iface == onlink.iface)
        .map(|r| Ipv4Addr::from(r.gateway).to_string())
        .next()
        .unwrap_or_default();
    (Ipv4Addr::from(onlink.mask).to_string(), gateway)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parts() {
        assert_eq!(
            url_host_port("http://127.0.0.1:7547/"),
            Some(("127.0.0.1".into(), 7547))
        );
        assert_eq!(
            url_host_port("https://acs.example/x"),
            Some(("acs.example".into(), 443))
        );
        assert_eq!(url_host_port("http://[::1]:80/"), Some(("::1".into(), 80)));
        assert_eq!(url_host_port("ftp://x/"), None);
        assert_eq!(url_host_port(""), None);
        assert_eq!(url_host_port("http://:80/"), None);
    }

    #[test]
    fn routes_table() {
        let t =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                 eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n\
                 eth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n\
                 wlan0\t0000000A\t00000000\t0001\t0\t0\t100\t000000FF\t0\t0\t0\n";
        assert_eq!(
            mask_and_gateway(t, Ipv4Addr::new(192, 168, 1, 20)),
            ("255.255.255.0".into(), "192.168.1.1".into())
        );
        assert_eq!(
            mask_and_gateway(t, Ipv4Addr::new(10, 1, 2, 3)),
            ("255.0.0.0".into(), String::new())
        );
        assert_eq!(
            mask_and_gateway(t, Ipv4Addr::new(172, 16, 0, 1)),
            (String::new(), String::new())
        );
    }

    #[test]
    fn loopback_acs() {
        let n = for_acs("http://127.0.0.1:9/").unwrap();
        assert_eq!(n.ip, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(n.mask, "255.0.0.0");
    }
}

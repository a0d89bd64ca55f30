//! A scripted fake ACS over loopback HTTP/HTTPS (filled by the client work).

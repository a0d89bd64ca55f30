//! Simulated time and a SOAP-level scripted ACS (filled by the engine work).

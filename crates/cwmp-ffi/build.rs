//! Decides at build time which external test peers are missing, so that their tests show as
//! ignored in `cargo test`'s summary (and fail under `CI=true`); see the `test-peers` crate.

fn main() {
    test_peers::detect(&[
        test_peers::Peer::Program("cc"),
        test_peers::Peer::Program("valgrind"),
        test_peers::Peer::Program("curl"),
    ]);
}

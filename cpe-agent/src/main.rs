//! `cpe-agent`: the simulated Unify Desk Phone CP (not built yet; see issue "cpe-agent").

fn main() {
    eprintln!("cpe-agent: not built yet (the daemon lands with its own issue)");
    std::process::exit(2);
}

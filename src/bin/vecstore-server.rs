//! `vecstore-server`: the HTTP API of vecstore (see `src/server` and the README's "Server" section).
//!
//! ```sh
//! cargo run --release --bin vecstore-server --features server -- --namespaces --namespace-root ./namespaces
//! ```

use clap::Parser;

fn main() {
    let config = vecstore::server::config::Config::parse();
    std::process::exit(vecstore::server::main_with(config));
}

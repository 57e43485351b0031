//! `vecstore`: the command-line tool over a store directory or a namespace root (see `vecstore --help`
//! and the README's "Command line" section). All of it lives in `vecstore::cli`.

fn main() {
    std::process::exit(vecstore::cli::main());
}

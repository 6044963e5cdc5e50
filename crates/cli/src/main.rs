//! `rediscluster`: the command-line tools; the work is in the library (`rediscluster_tools`),
//! which the Python package's console script calls too.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(rediscluster_tools::cli::main_with_args(
        std::env::args().collect(),
    ))
}

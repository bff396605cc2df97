//! Writes (or with `--check`, verifies) `idl/stableflow_payouts.json` from the program source.
//! Usage: cargo run -p stableflow_payouts --features idl --bin idl -- [--check] [--out PATH]

use stableflow_payouts::idl;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut check = false;
    let mut out = idl::idl_path();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--check" => check = true,
            "--out" => match args.next() {
                Some(path) => out = path.into(),
                None => {
                    eprintln!("idl: --out needs a path");
                    return ExitCode::from(2);
                }
            },
            other => {
                eprintln!("idl: unknown argument {other:?} (expected --check, --out PATH)");
                return ExitCode::from(2);
            }
        }
    }
    let generated = idl::render();
    if check {
        let committed = match std::fs::read_to_string(&out) {
            Ok(text) => text,
            Err(error) => {
                eprintln!("idl: cannot read {}: {error}", out.display());
                return ExitCode::from(1);
            }
        };
        return match idl::first_difference(&generated, &committed) {
            None => {
                println!("idl: {} is up to date", out.display());
                ExitCode::SUCCESS
            }
            Some((line, want, got)) => {
                eprintln!(
                    "idl: {} is stale (first difference at line {line})\n  generated: {want}\n  committed: {got}\nregenerate with `npm run build:program`",
                    out.display()
                );
                ExitCode::from(1)
            }
        };
    }
    if let Some(parent) = out.parent() {
        if let Err(error) = std::fs::create_dir_all(parent) {
            eprintln!("idl: cannot create {}: {error}", parent.display());
            return ExitCode::from(1);
        }
    }
    if let Err(error) = std::fs::write(&out, &generated) {
        eprintln!("idl: cannot write {}: {error}", out.display());
        return ExitCode::from(1);
    }
    println!("idl: wrote {} ({} bytes)", out.display(), generated.len());
    ExitCode::SUCCESS
}

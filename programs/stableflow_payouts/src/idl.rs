//! Host-only: renders the Anchor IDL (spec 0.1.0) from the program's own ABI descriptions,
//! so `idl/stableflow_payouts.json` is generated from source, never written by hand.

extern crate std;

use crate::abi::{AccountSpec, FieldSpec, FieldType, InstructionSpec, SeedSpec, TypeSpec};
use crate::error::RECIPIENT_REFUSED_BASE;
use crate::plan::PLAN_HASH_DOMAIN;
use crate::state::seeds::{SPLIT_SEED, TREASURY_SEED, VAULT_SEED};
use serde_json::{json, Map, Value};
use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

/// Where the committed IDL lives, relative to the repository root.
pub const IDL_RELATIVE_PATH: &str = "idl/stableflow_payouts.json";

/// Absolute path of the committed IDL in this checkout.
pub fn idl_path() -> std::path::PathBuf {
    let crate_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = crate_dir.parent().and_then(|programs| programs.parent()).unwrap_or(crate_dir);
    root.join(IDL_RELATIVE_PATH)
}

fn field_type(ty: FieldType) -> Value {
    match ty {
        FieldType::Pubkey => json!("pubkey"),
        FieldType::Bool => json!("bool"),
        FieldType::U8 => json!("u8"),
        FieldType::U16 => json!("u16"),
        FieldType::U32 => json!("u32"),
        FieldType::U64 => json!("u64"),
        FieldType::I64 => json!("i64"),
        FieldType::Bytes(n) => json!({ "array": ["u8", n] }),
        FieldType::VecU64 => json!({ "vec": "u64" }),
    }
}

fn fields(list: &[FieldSpec]) -> Value {
    Value::Array(list.iter().map(|f| json!({ "name": f.name, "type": field_type(f.ty) })).collect())
}

fn seed(seed: &SeedSpec) -> Value {
    match seed {
        SeedSpec::Const(bytes) => json!({ "kind": "const", "value": bytes }),
        SeedSpec::Account(path) => json!({ "kind": "account", "path": path }),
        SeedSpec::Arg(path) => json!({ "kind": "arg", "path": path }),
    }
}

fn account(spec: &AccountSpec) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), json!(spec.name));
    out.insert("docs".into(), json!([spec.docs]));
    if spec.writable {
        out.insert("writable".into(), json!(true));
    }
    if spec.signer {
        out.insert("signer".into(), json!(true));
    }
    if let Some(address) = spec.address {
        out.insert("address".into(), json!(address));
    }
    if !spec.pda.is_empty() {
        out.insert("pda".into(), json!({ "seeds": spec.pda.iter().map(seed).collect::<Vec<_>>() }));
    }
    Value::Object(out)
}

fn instruction(spec: &InstructionSpec) -> Value {
    json!({
        "name": spec.name,
        "docs": [spec.docs],
        "discriminator": spec.discriminator,
        "accounts": spec.accounts.iter().map(account).collect::<Vec<_>>(),
        "args": fields(spec.args),
    })
}

fn named_discriminator(spec: &TypeSpec) -> Value {
    json!({ "name": spec.name, "discriminator": spec.discriminator })
}

fn type_def(spec: &TypeSpec) -> Value {
    json!({
        "name": spec.name,
        "docs": [spec.docs],
        "type": { "kind": "struct", "fields": fields(spec.fields) },
    })
}

fn bytes_constant(name: &str, bytes: &[u8]) -> Value {
    let list: Vec<String> = bytes.iter().map(|b| b.to_string()).collect();
    json!({ "name": name, "type": "bytes", "value": format!("[{}]", list.join(", ")) })
}

/// The program's errors, then one entry per code of the recipient range (6100 + position), so
/// any Anchor client names a refused recipient's position without knowing the rule.
fn errors() -> Vec<Value> {
    let named = crate::error::ERRORS.iter().map(|e| json!({ "code": e.code, "name": e.name, "msg": e.msg }));
    let positions = (0..crate::MAX_RECIPIENTS).map(|position| {
        json!({
            "code": RECIPIENT_REFUSED_BASE + position as u32,
            "name": format!("RecipientRefusedAt{position}"),
            "msg": format!("The recipient at position {position} cannot receive; the RecipientRefused event says why"),
        })
    });
    named.chain(positions).collect()
}

/// The whole IDL as JSON.
pub fn generate() -> Value {
    let types: Vec<Value> = crate::state::ACCOUNTS.iter().chain(crate::events::ALL).map(type_def).collect();
    json!({
        "address": crate::ID_BASE58,
        "metadata": {
            "name": env!("CARGO_PKG_NAME"),
            "version": env!("CARGO_PKG_VERSION"),
            "spec": "0.1.0",
            "description": env!("CARGO_PKG_DESCRIPTION"),
        },
        "instructions": crate::instructions::ALL.iter().map(instruction).collect::<Vec<_>>(),
        "accounts": crate::state::ACCOUNTS.iter().map(named_discriminator).collect::<Vec<_>>(),
        "events": crate::events::ALL.iter().map(named_discriminator).collect::<Vec<_>>(),
        "errors": errors(),
        "types": types,
        "constants": [
            { "name": "MAX_RECIPIENTS", "type": "u16", "value": crate::MAX_RECIPIENTS.to_string() },
            bytes_constant("PLAN_HASH_DOMAIN", PLAN_HASH_DOMAIN),
            { "name": "RECIPIENT_REFUSED_BASE", "type": "u32", "value": RECIPIENT_REFUSED_BASE.to_string() },
            bytes_constant("SPLIT_SEED", SPLIT_SEED),
            bytes_constant("TREASURY_SEED", TREASURY_SEED),
            bytes_constant("VAULT_SEED", VAULT_SEED),
        ],
    })
}

/// The IDL file's exact text: pretty JSON with a trailing newline.
pub fn render() -> String {
    let mut text = serde_json::to_string_pretty(&generate()).expect("IDL is plain JSON");
    text.push('\n');
    text
}

/// First line where two texts differ, for a readable staleness message.
pub fn first_difference(expected: &str, actual: &str) -> Option<(usize, String, String)> {
    let mut left = expected.lines();
    let mut right = actual.lines();
    let mut line = 1;
    loop {
        match (left.next(), right.next()) {
            (None, None) => return None,
            (a, b) if a != b => {
                return Some((line, a.unwrap_or("<end of file>").into(), b.unwrap_or("<end of file>").into()))
            }
            _ => line += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_idl_matches_the_source() {
        // Given the IDL rendered from the program's ABI descriptions,
        let generated = render();
        // When compared with the committed file,
        let committed = std::fs::read_to_string(idl_path()).unwrap_or_default();
        // Then they are identical; otherwise regenerate with `npm run build:program`.
        if let Some((line, want, got)) = first_difference(&generated, &committed) {
            panic!("{IDL_RELATIVE_PATH} is stale at line {line}:\n  generated: {want}\n  committed: {got}\nregenerate with `npm run build:program`");
        }
    }

    #[test]
    fn idl_carries_discriminators_errors_and_constants() {
        let idl = generate();
        let instructions = idl["instructions"].as_array().unwrap();
        assert_eq!(instructions.len(), 6);
        for ix in instructions {
            assert_eq!(ix["discriminator"].as_array().unwrap().len(), 8);
        }
        let split = instructions.iter().find(|ix| ix["name"] == "execute_split").unwrap();
        assert_eq!(split["args"][3]["type"], json!({ "vec": "u64" }));
        assert_eq!(split["accounts"][0]["writable"], json!(true));
        assert_eq!(split["accounts"][1].get("writable"), None);
        let errors = idl["errors"].as_array().unwrap();
        assert_eq!(errors[0]["code"], json!(6000));
        assert_eq!(errors.len(), crate::error::ERRORS.len() + crate::MAX_RECIPIENTS);
        // The recipient range follows the named errors: 6100 + position, for every position.
        let range = &errors[crate::error::ERRORS.len()..];
        assert_eq!((range[0]["code"].clone(), range[0]["name"].clone()), (json!(6100), json!("RecipientRefusedAt0")));
        assert_eq!(range[crate::MAX_RECIPIENTS - 1]["code"], json!(6100 + crate::MAX_RECIPIENTS - 1));
        assert_eq!(idl["metadata"]["version"], json!("0.2.0"));
        assert_eq!(idl["constants"][0]["value"], json!(crate::MAX_RECIPIENTS.to_string()));
        assert_eq!(idl["metadata"]["spec"], json!("0.1.0"));
    }

    #[test]
    fn program_id_agrees_with_anchor_toml() {
        let anchor_toml = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Anchor.toml"))
            .expect("Anchor.toml at the repository root");
        assert!(anchor_toml.contains(&format!("stableflow_payouts = \"{}\"", crate::ID_BASE58)));
        assert_eq!(crate::ID.as_array()[..4], [181, 23, 23, 146]);
    }

    #[test]
    fn first_difference_reports_the_line() {
        assert_eq!(first_difference("a\nb\n", "a\nb\n"), None);
        assert_eq!(first_difference("a\nb\n", "a\nc\n"), Some((2, "b".into(), "c".into())));
        assert_eq!(first_difference("a\n", "a\nz\n"), Some((2, "<end of file>".into(), "z".into())));
    }
}

//! Anchor discriminators, computed at compile time: `sha256("<namespace>:<name>")[..8]`.

use sha2_const_stable::Sha256;

/// First 8 bytes of `sha256(namespace ":" name)`.
pub const fn anchor(namespace: &str, name: &str) -> [u8; 8] {
    let hash = Sha256::new()
        .update(namespace.as_bytes())
        .update(b":")
        .update(name.as_bytes())
        .finalize();
    [hash[0], hash[1], hash[2], hash[3], hash[4], hash[5], hash[6], hash[7]]
}

/// Instruction discriminator: `sha256("global:<snake_case_name>")[..8]`.
pub const fn instruction(name: &str) -> [u8; 8] {
    anchor("global", name)
}

/// Account discriminator: `sha256("account:<PascalCaseName>")[..8]`.
pub const fn account(name: &str) -> [u8; 8] {
    anchor("account", name)
}

/// Event discriminator: `sha256("event:<PascalCaseName>")[..8]`.
pub const fn event(name: &str) -> [u8; 8] {
    anchor("event", name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256 as RuntimeSha256};
    use std::format;

    fn runtime(namespace: &str, name: &str) -> [u8; 8] {
        let digest = RuntimeSha256::digest(format!("{namespace}:{name}").as_bytes());
        digest[..8].try_into().unwrap()
    }

    #[test]
    fn const_discriminators_equal_runtime_sha256() {
        // Given every name the program uses, When hashed at compile time and at run time,
        // Then the 8-byte prefixes agree.
        for ix in crate::instructions::ALL {
            assert_eq!(ix.discriminator, runtime("global", ix.name), "{}", ix.name);
            assert_eq!(ix.discriminator, instruction(ix.name));
        }
        for acc in crate::state::ACCOUNTS {
            assert_eq!(acc.discriminator, runtime("account", acc.name), "{}", acc.name);
        }
        for ev in crate::events::ALL {
            assert_eq!(ev.discriminator, runtime("event", ev.name), "{}", ev.name);
        }
    }

    #[test]
    fn known_anchor_vector() {
        // Anchor's well-known `initialize` discriminator (sha256("global:initialize")[..8]).
        assert_eq!(instruction("initialize"), [175, 175, 109, 31, 13, 152, 155, 237]);
    }

    #[test]
    fn discriminators_are_distinct() {
        let mut all: std::vec::Vec<[u8; 8]> = std::vec::Vec::new();
        all.extend(crate::instructions::ALL.iter().map(|s| s.discriminator));
        all.extend(crate::state::ACCOUNTS.iter().map(|s| s.discriminator));
        all.extend(crate::events::ALL.iter().map(|s| s.discriminator));
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n);
    }
}

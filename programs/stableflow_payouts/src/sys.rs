//! Thin wrappers over the Solana syscalls the program uses, with host fallbacks where host
//! tests need them (SHA-256) and explicit failures where they cannot work off chain.

use pinocchio::{error::ProgramError, Address};

#[cfg(any(target_os = "solana", target_arch = "bpf"))]
use pinocchio::syscalls;

/// SHA-256 over the concatenation of `parts`, in one syscall on chain.
#[inline(always)]
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut out = [0u8; 32];
    #[cfg(any(target_os = "solana", target_arch = "bpf"))]
    // SAFETY: `&[&[u8]]` has the (pointer, length) pair layout the syscall reads, every slice is
    // valid for reads for the duration of the call, and `out` is 32 writable bytes.
    unsafe {
        syscalls::sol_sha256(parts.as_ptr() as *const u8, parts.len() as u64, out.as_mut_ptr());
    }
    #[cfg(not(any(target_os = "solana", target_arch = "bpf")))]
    {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update(part);
        }
        out.copy_from_slice(&hasher.finalize());
    }
    out
}

/// Emits `Program data: <base64 of each part>`; Anchor's event parser reads one part.
#[inline(always)]
pub fn log_data(parts: &[&[u8]]) {
    #[cfg(any(target_os = "solana", target_arch = "bpf"))]
    // SAFETY: same slice-of-slices layout as `sha256`; the syscall only reads.
    unsafe {
        syscalls::sol_log_data(parts.as_ptr() as *const u8, parts.len() as u64);
    }
    #[cfg(not(any(target_os = "solana", target_arch = "bpf")))]
    core::hint::black_box(parts);
}

/// Logs a static message.
#[inline(always)]
pub fn log(message: &str) {
    #[cfg(any(target_os = "solana", target_arch = "bpf"))]
    // SAFETY: the pointer and length describe a valid UTF-8 string.
    unsafe {
        syscalls::sol_log_(message.as_ptr(), message.len() as u64);
    }
    #[cfg(not(any(target_os = "solana", target_arch = "bpf")))]
    core::hint::black_box(message);
}

/// Logs a number next to a preceding message (e.g. the failing recipient's index).
#[inline(always)]
pub fn log_u64(value: u64) {
    #[cfg(any(target_os = "solana", target_arch = "bpf"))]
    // SAFETY: the syscall takes plain integers.
    unsafe {
        syscalls::sol_log_64_(value, 0, 0, 0, 0);
    }
    #[cfg(not(any(target_os = "solana", target_arch = "bpf")))]
    core::hint::black_box(value);
}

/// The canonical PDA and bump for `seeds`. Only available on chain; host tests do not derive.
pub fn find_program_address(seeds: &[&[u8]], program_id: &Address) -> Result<(Address, u8), ProgramError> {
    #[cfg(any(target_os = "solana", target_arch = "bpf"))]
    {
        let mut address = [0u8; 32];
        let mut bump = 0u8;
        // SAFETY: `seeds` has the slice-of-slices layout the syscall expects; `program_id` is
        // 32 readable bytes; `address` and `bump` are writable and sized for the result.
        let result = unsafe {
            syscalls::sol_try_find_program_address(
                seeds.as_ptr() as *const u8,
                seeds.len() as u64,
                program_id as *const Address as *const u8,
                address.as_mut_ptr(),
                &mut bump as *mut u8,
            )
        };
        if result == 0 {
            Ok((Address::new_from_array(address), bump))
        } else {
            Err(ProgramError::InvalidSeeds)
        }
    }
    #[cfg(not(any(target_os = "solana", target_arch = "bpf")))]
    {
        core::hint::black_box((seeds, program_id));
        Err(ProgramError::InvalidSeeds)
    }
}

/// The PDA for `seeds` (which end with the bump). Only available on chain.
pub fn create_program_address(seeds: &[&[u8]], program_id: &Address) -> Result<Address, ProgramError> {
    #[cfg(any(target_os = "solana", target_arch = "bpf"))]
    {
        let mut address = [0u8; 32];
        // SAFETY: `seeds` has the slice-of-slices layout the syscall expects; `program_id` is
        // 32 readable bytes; `address` is 32 writable bytes.
        let result = unsafe {
            syscalls::sol_create_program_address(
                seeds.as_ptr() as *const u8,
                seeds.len() as u64,
                program_id as *const Address as *const u8,
                address.as_mut_ptr(),
            )
        };
        if result == 0 {
            Ok(Address::new_from_array(address))
        } else {
            Err(ProgramError::InvalidSeeds)
        }
    }
    #[cfg(not(any(target_os = "solana", target_arch = "bpf")))]
    {
        core::hint::black_box((seeds, program_id));
        Err(ProgramError::InvalidSeeds)
    }
}

/// The fields of the Clock sysvar the program records.
pub struct ClockNow {
    pub slot: u64,
    pub unix_timestamp: i64,
}

/// Reads the Clock sysvar through `sol_get_clock_sysvar` (available on every runtime we target).
pub fn clock() -> Result<ClockNow, ProgramError> {
    #[cfg(any(target_os = "solana", target_arch = "bpf"))]
    {
        // slot, epoch_start_timestamp, epoch, leader_schedule_epoch, unix_timestamp
        let mut raw = [0u64; 5];
        // SAFETY: the Clock sysvar is exactly five 8-byte fields; `raw` is 40 aligned bytes.
        #[allow(deprecated)]
        let result = unsafe { syscalls::sol_get_clock_sysvar(raw.as_mut_ptr() as *mut u8) };
        if result != 0 {
            return Err(ProgramError::UnsupportedSysvar);
        }
        Ok(ClockNow { slot: raw[0], unix_timestamp: raw[4] as i64 })
    }
    #[cfg(not(any(target_os = "solana", target_arch = "bpf")))]
    Err(ProgramError::UnsupportedSysvar)
}

/// Rent-exempt minimum for an account with `data_len` bytes.
///
/// Reads the classic Rent sysvar layout `{lamports_per_byte_year: u64, exemption_threshold: f64,
/// burn_percent: u8}` (24 bytes with padding) that Solana 1.18 and later runtimes both return;
/// pinocchio 0.12's `Rent` assumes the newer 8-byte layout, which would overflow its buffer
/// on older runtimes.
pub fn rent_exempt_minimum(data_len: usize) -> Result<u64, ProgramError> {
    #[cfg(any(target_os = "solana", target_arch = "bpf"))]
    {
        let mut raw = [0u64; 3];
        // SAFETY: `raw` is 24 aligned writable bytes, the size of the serialized Rent struct.
        #[allow(deprecated)]
        let result = unsafe { syscalls::sol_get_rent_sysvar(raw.as_mut_ptr() as *mut u8) };
        if result != 0 {
            return Err(ProgramError::UnsupportedSysvar);
        }
        rent_from_parts(raw[0], raw[1], data_len)
    }
    #[cfg(not(any(target_os = "solana", target_arch = "bpf")))]
    {
        core::hint::black_box(data_len);
        Err(ProgramError::UnsupportedSysvar)
    }
}

/// `(128 + data_len) * lamports_per_byte_year * threshold` in integers. The threshold is an
/// f64; clusters use 2.0 (1.0 after SIMD-0194), so only powers of two are accepted, which
/// keeps soft-float code out of the program.
pub fn rent_from_parts(lamports_per_byte_year: u64, threshold_bits: u64, data_len: usize) -> Result<u64, ProgramError> {
    const ACCOUNT_STORAGE_OVERHEAD: u64 = 128;
    // Bounds that make the products below fit a u64 without an overflow check (LLVM turns
    // any overflow-checked multiply into a `__multi3` libcall, which the BPF backend refuses):
    // (128 + 10 MiB) · 10^9 · 2^8 < 2^62.
    const MAX_DATA_LEN: u64 = 10 * 1024 * 1024;
    const MAX_LAMPORTS_PER_BYTE_YEAR: u64 = 1_000_000_000;
    if data_len as u64 > MAX_DATA_LEN || lamports_per_byte_year > MAX_LAMPORTS_PER_BYTE_YEAR {
        return Err(ProgramError::InvalidArgument);
    }
    let base = (ACCOUNT_STORAGE_OVERHEAD + data_len as u64) * lamports_per_byte_year;
    let mantissa = threshold_bits & ((1u64 << 52) - 1);
    let exponent = ((threshold_bits >> 52) & 0x7ff) as i64 - 1023;
    let sign = threshold_bits >> 63;
    if mantissa != 0 || sign != 0 || !(0..=8).contains(&exponent) {
        return Err(ProgramError::UnsupportedSysvar);
    }
    Ok(base << exponent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rent_matches_cluster_default() {
        // Given the default cluster rent (3480 lamports/byte-year, threshold 2.0),
        // Then a 165-byte token account costs 2_039_280 lamports, as on every cluster.
        assert_eq!(rent_from_parts(3480, 2.0f64.to_bits(), 165).unwrap(), 2_039_280);
        assert_eq!(rent_from_parts(6960, 1.0f64.to_bits(), 165).unwrap(), 2_039_280);
    }

    #[test]
    fn rent_refuses_fractional_threshold() {
        assert_eq!(rent_from_parts(3480, 1.5f64.to_bits(), 10), Err(ProgramError::UnsupportedSysvar));
        assert_eq!(rent_from_parts(u64::MAX, 2.0f64.to_bits(), 10), Err(ProgramError::InvalidArgument));
        assert_eq!(rent_from_parts(3480, 2.0f64.to_bits(), 11 * 1024 * 1024), Err(ProgramError::InvalidArgument));
        // The largest accepted inputs do not wrap.
        let max = rent_from_parts(1_000_000_000, 256.0f64.to_bits(), 10 * 1024 * 1024).unwrap();
        assert_eq!(max, (128 + 10 * 1024 * 1024) * 1_000_000_000 * 256);
    }

    #[test]
    fn sha256_of_parts_equals_sha256_of_concatenation() {
        let joined = sha256(&[b"abc".as_slice(), b"def".as_slice()]);
        assert_eq!(joined, sha256(&[b"abcdef".as_slice()]));
        // Known vector: sha256("abc").
        assert_eq!(sha256(&[b"abc".as_slice()])[..4], [0xba, 0x78, 0x16, 0xbf]);
    }
}

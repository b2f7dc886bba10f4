//! Just enough ELF to tell which machine a binary is built for: the check that keeps a host's
//! binaries out of an image for another platform.

/// The `e_machine` of an ELF file from its first 20 bytes, or `None` when it is not ELF.
pub fn machine(header: &[u8]) -> Option<u16> {
    if header.len() < 20 || header[..4] != *b"\x7fELF" {
        return None;
    }
    let bytes = [header[18], header[19]];
    // EI_DATA: 2 is big-endian, 1 little-endian.
    Some(if header[5] == 2 {
        u16::from_be_bytes(bytes)
    } else {
        u16::from_le_bytes(bytes)
    })
}

/// A readable name for an `e_machine` value.
pub fn machine_name(machine: u16) -> String {
    match machine {
        3 => "x86 (i386)".into(),
        21 => "PowerPC64".into(),
        22 => "s390".into(),
        40 => "ARM".into(),
        62 => "x86-64".into(),
        183 => "AArch64".into(),
        243 => "RISC-V".into(),
        other => format!("ELF machine {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_machine_of_both_byte_orders() {
        let mut little = [0u8; 20];
        little[..4].copy_from_slice(b"\x7fELF");
        little[5] = 1;
        little[18] = 183;
        assert_eq!(machine(&little), Some(183));
        let mut big = little;
        big[5] = 2;
        big[18] = 0;
        big[19] = 22;
        assert_eq!(machine(&big), Some(22));
        assert_eq!(machine(b"#!/bin/sh\necho not elf\n"), None);
        assert_eq!(machine(b"\x7fELF"), None, "too short to hold e_machine");
        assert_eq!(machine_name(62), "x86-64");
    }
}

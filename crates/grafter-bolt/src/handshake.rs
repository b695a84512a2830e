//! The Bolt handshake: the magic preamble, four version proposals, the server's choice.
//!
//! Since Bolt 4.3 a proposal can cover a range of minor versions: the second byte says how
//! many minor versions below the named one are also accepted. One proposal, 5.7 with range
//! 7, therefore offers every 5.x from 5.7 down to 5.0, and the next offers 4.4, so a single
//! handshake reaches Neo4j 5/2025, Memgraph and FalkorDB (5.1–5.7) and falls back to 4.4.
//! Each proposal is four bytes: reserved, range, minor, major.

use std::fmt;

use crate::packstream::StructFormat;

/// The four bytes every Bolt connection opens with.
pub const MAGIC: [u8; 4] = [0x60, 0x60, 0xB0, 0x17];

/// A Bolt protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Major version.
    pub major: u8,
    /// Minor version.
    pub minor: u8,
}

impl Version {
    /// Bolt 4.4.
    pub const V4_4: Version = Version { major: 4, minor: 4 };
    /// Bolt 5.0.
    pub const V5_0: Version = Version { major: 5, minor: 0 };
    /// Bolt 5.1: credentials move from HELLO to LOGON.
    pub const V5_1: Version = Version { major: 5, minor: 1 };
    /// Bolt 5.3: HELLO must carry `bolt_agent`.
    pub const V5_3: Version = Version { major: 5, minor: 3 };
    /// Bolt 5.7: FAILURE in the GQL error format.
    pub const V5_7: Version = Version { major: 5, minor: 7 };

    /// A version.
    pub const fn new(major: u8, minor: u8) -> Version {
        Version { major, minor }
    }

    /// The structure layouts this version uses.
    pub fn struct_format(self) -> StructFormat {
        if self.major >= 5 { StructFormat::Bolt5 } else { StructFormat::Bolt4 }
    }

    /// Whether authentication is a separate LOGON message (5.1+).
    pub fn has_logon(self) -> bool {
        self >= Version::V5_1
    }

    /// Whether HELLO must carry `bolt_agent` (5.3+).
    pub fn needs_bolt_agent(self) -> bool {
        self >= Version::V5_3
    }

    /// Whether the ROUTE message exists (4.3+).
    pub fn has_route(self) -> bool {
        self >= Version::new(4, 3)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// One handshake proposal: `major.minor` and `range` minor versions below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proposal {
    /// The highest version offered.
    pub version: Version,
    /// How many minor versions below it are also offered.
    pub range: u8,
}

impl Proposal {
    /// The four wire bytes: reserved, range, minor, major.
    pub fn to_bytes(self) -> [u8; 4] {
        [0, self.range, self.version.minor, self.version.major]
    }

    /// Whether `version` falls in this proposal.
    pub fn covers(self, version: Version) -> bool {
        version.major == self.version.major
            && version.minor <= self.version.minor
            && version.minor >= self.version.minor.saturating_sub(self.range)
    }
}

impl fmt::Display for Proposal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.range == 0 {
            write!(f, "{}", self.version)
        } else {
            let low = self.version.minor.saturating_sub(self.range);
            write!(f, "{}-{}.{}", self.version, self.version.major, low)
        }
    }
}

/// What this client speaks: 5.7 down to 5.0, then 4.4. The last two slots are empty (all
/// zero), which servers skip.
pub const PROPOSALS: [Proposal; 2] =
    [Proposal { version: Version::V5_7, range: 7 }, Proposal { version: Version::V4_4, range: 0 }];

/// The 20 bytes the client sends: magic, then four proposals (unused ones zero).
pub fn request_bytes(proposals: &[Proposal]) -> [u8; 20] {
    let mut out = [0u8; 20];
    out[..4].copy_from_slice(&MAGIC);
    for (slot, proposal) in out[4..].chunks_exact_mut(4).zip(proposals.iter().take(4)) {
        slot.copy_from_slice(&proposal.to_bytes());
    }
    out
}

/// How the server answered the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A version we offered.
    Agreed(Version),
    /// All zero: no common version.
    Refused,
    /// Something we did not offer (or an HTTP server answering "HTTP").
    Invalid(String),
}

/// Reads the server's four reply bytes against what we proposed.
pub fn parse_reply(reply: [u8; 4], proposals: &[Proposal]) -> Reply {
    if reply == [0, 0, 0, 0] {
        return Reply::Refused;
    }
    if &reply == b"HTTP" {
        return Reply::Invalid("\"HTTP\": an HTTP server is listening there, not Bolt".into());
    }
    let version = Version { major: reply[3], minor: reply[2] };
    if reply[0] == 0 && reply[1] == 0 && proposals.iter().any(|p| p.covers(version)) {
        Reply::Agreed(version)
    } else {
        Reply::Invalid(format!("{}, a version we did not offer", hex(&reply)))
    }
}

/// Bytes as `0x00000705`.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::from("0x");
    for b in bytes {
        out.push_str(&format!("{b:02X}"));
    }
    out
}

/// The proposals as a person reads them: "5.7-5.0, 4.4".
pub fn describe(proposals: &[Proposal]) -> String {
    proposals.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bytes_offer_all_of_5x_then_4_4() {
        assert_eq!(
            request_bytes(&PROPOSALS),
            [
                0x60, 0x60, 0xB0, 0x17, // magic
                0x00, 0x07, 0x07, 0x05, // 5.7 and 7 below it: 5.0-5.7
                0x00, 0x00, 0x04, 0x04, // 4.4
                0x00, 0x00, 0x00, 0x00, // unused
                0x00, 0x00, 0x00, 0x00, // unused
            ]
        );
        assert_eq!(describe(&PROPOSALS), "5.7-5.0, 4.4");
    }

    #[test]
    fn replies() {
        assert_eq!(parse_reply([0, 0, 7, 5], &PROPOSALS), Reply::Agreed(Version::new(5, 7)));
        assert_eq!(parse_reply([0, 0, 0, 5], &PROPOSALS), Reply::Agreed(Version::V5_0));
        assert_eq!(parse_reply([0, 0, 4, 4], &PROPOSALS), Reply::Agreed(Version::V4_4));
        assert_eq!(parse_reply([0, 0, 0, 0], &PROPOSALS), Reply::Refused);
        assert!(matches!(parse_reply([0, 0, 3, 4], &PROPOSALS), Reply::Invalid(_)));
        assert!(matches!(parse_reply([0, 0, 8, 5], &PROPOSALS), Reply::Invalid(_)));
        assert!(matches!(parse_reply(*b"HTTP", &PROPOSALS), Reply::Invalid(s) if s.contains("HTTP")));
        // The manifest sentinel is only valid if we offered it, which we do not.
        assert!(matches!(parse_reply([0, 0, 1, 0xFF], &PROPOSALS), Reply::Invalid(_)));
    }

    #[test]
    fn version_features() {
        assert!(!Version::V5_0.has_logon());
        assert!(Version::V5_1.has_logon());
        assert!(!Version::new(5, 2).needs_bolt_agent());
        assert!(Version::V5_3.needs_bolt_agent());
        assert!(Version::V4_4.has_route());
        assert_eq!(Version::V4_4.struct_format(), StructFormat::Bolt4);
        assert_eq!(Version::V5_0.struct_format(), StructFormat::Bolt5);
    }
}

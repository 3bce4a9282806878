//! Why the challenges module rejected a transaction. Codes are stable: never renumbered or reused.

use groundwork_primitives::hash::Digest;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    /// This chain's genesis sets no challenge bond.
    #[error("location challenges are disabled on this chain (no challenge bond in genesis)")]
    ChallengesDisabled,
    /// An owner challenged its own device.
    #[error("self-challenge: the signer owns the device")]
    SelfChallenge,
    /// The device already has an open challenge (or a challenge it lost and has not answered
    /// by asserting a new location); nothing may change it until that resolves.
    #[error("device has a pending location challenge {challenge}")]
    ChallengePending { challenge: Digest },
    /// A cited beacon is not in state, or shows no link of the device, at its current
    /// location, with a device held by neither its owner nor the challenger.
    #[error(
        "evidence beacon {beacon} is unknown, or shows no link of the device at its current location with a device of another owner than its own and the challenger's"
    )]
    EvidenceNotFound { beacon: Digest },
    /// A beacon was cited twice.
    #[error("evidence beacon {beacon} is cited twice")]
    DuplicateEvidence { beacon: Digest },
    /// No cited link is louder than a typical link over its distance by more than the margin.
    #[error(
        "weak evidence: the loudest cited link is {loudest_excess_cdb} cdB over a typical link, more than {min_cdb} needed"
    )]
    WeakEvidence {
        loudest_excess_cdb: i64,
        min_cdb: i64,
    },
    /// No challenge has this id.
    #[error("unknown challenge {challenge}")]
    UnknownChallenge { challenge: Digest },
    /// The challenge's answer window has passed, or it has resolved.
    #[error("challenge closed: answers were accepted until block {answer_by}")]
    ChallengeClosed { answer_by: u64 },
    /// The challenge already has an answer.
    #[error("challenge already answered")]
    AlreadyAnswered,
    /// The answering beacon cannot answer this challenge.
    #[error("bad answer: {reason}")]
    BadAnswer { reason: &'static str },
    /// A challenge upheld against the device's location; it must assert a different location
    /// before it beacons, witnesses or can be challenged again.
    #[error(
        "location disputed: challenge {challenge} was upheld; assert a different location for the device first"
    )]
    LocationDisputed { challenge: Digest },
}

impl ChallengeError {
    /// The stable numeric code, as stored with receipts and returned over RPC.
    pub fn code(&self) -> u16 {
        match self {
            ChallengeError::ChallengesDisabled => 28,
            ChallengeError::SelfChallenge => 29,
            ChallengeError::ChallengePending { .. } => 30,
            ChallengeError::EvidenceNotFound { .. } => 31,
            ChallengeError::DuplicateEvidence { .. } => 32,
            ChallengeError::WeakEvidence { .. } => 33,
            ChallengeError::UnknownChallenge { .. } => 34,
            ChallengeError::ChallengeClosed { .. } => 35,
            ChallengeError::AlreadyAnswered => 36,
            ChallengeError::BadAnswer { .. } => 37,
            ChallengeError::LocationDisputed { .. } => 38,
        }
    }
}

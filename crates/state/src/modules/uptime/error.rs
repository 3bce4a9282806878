//! Why the uptime module rejected a transaction. Codes are stable: never renumbered or reused.

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UptimeError {
    /// The device already has a heartbeat credited in this window.
    #[error("device already sent a heartbeat in window {window}")]
    HeartbeatAlreadyInWindow { window: u64 },
    /// The heartbeat names a block no newer than the device's last credited heartbeat did:
    /// the same signed bytes again, or an older report.
    #[error(
        "heartbeat names block {referenced_height}, not newer than block {last_height} of the device's last credited heartbeat"
    )]
    HeartbeatNotNewer {
        referenced_height: u64,
        last_height: u64,
    },
}

impl UptimeError {
    /// The stable numeric code, as stored with receipts and returned over RPC.
    pub fn code(&self) -> u16 {
        match self {
            UptimeError::HeartbeatAlreadyInWindow { .. } => 13,
            UptimeError::HeartbeatNotNewer { .. } => 14,
        }
    }
}

//! Why the memo module rejected a transaction. Codes are stable: never renumbered or reused.

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MemoError {
    #[error("empty memo: post at least one byte")]
    Empty,
    #[error("memo is not UTF-8 text")]
    NotText,
}

impl MemoError {
    /// The stable numeric code: the memo module's block starts at 1000.
    pub fn code(&self) -> u16 {
        match self {
            MemoError::Empty => 1000,
            MemoError::NotText => 1001,
        }
    }
}

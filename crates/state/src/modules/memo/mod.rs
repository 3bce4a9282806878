//! Memo: each account may keep one short public note. A module on the seam, to show what a
//! new module costs: its tables in its own prefix block, its call, its error block.

mod error;

pub use error::MemoError;

use crate::error::TxError;
use crate::module::{Module, ModuleInfo};
use crate::table::{AnyTable, Table};
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt, Write};
use groundwork_primitives::Address;
#[cfg(doc)]
use groundwork_primitives::tx::memo::MAX_MEMO_BYTES;
use groundwork_primitives::tx::memo::MemoCall;

/// Table prefixes of the memo module. On disk and in proofs: never renumber.
pub mod prefix {
    pub const MEMO: u8 = 0x40;
}

/// A stored memo: at most [`MAX_MEMO_BYTES`] of UTF-8.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note(pub Vec<u8>);

impl Write for Note {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        MemoCall::Post {
            text: self.0.clone(),
        }
        .write(buf);
    }
}

impl EncodeSize for Note {
    fn encode_size(&self) -> usize {
        MemoCall::Post {
            text: self.0.clone(),
        }
        .encode_size()
    }
}

impl Read for Note {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let MemoCall::Post { text } = MemoCall::read(buf)?;
        Ok(Note(text))
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Memo {
    notes: Table<Address, Note>,
}

impl Module for Memo {
    fn info(&self) -> ModuleInfo {
        ModuleInfo {
            name: "memo",
            prefixes: 0x40..=0x4F,
        }
    }

    fn tables(&self) -> Vec<&dyn AnyTable> {
        vec![&self.notes]
    }

    fn tables_mut(&mut self) -> Vec<&mut dyn AnyTable> {
        vec![&mut self.notes]
    }
}

impl Memo {
    pub(crate) fn new() -> Self {
        Self {
            notes: Table::new(prefix::MEMO, "memos"),
        }
    }

    /// An account's memo, if it posted one.
    #[allow(dead_code)]
    pub(crate) fn note(&self, account: &Address) -> Option<Note> {
        self.notes.get(account).cloned()
    }

    pub(crate) fn apply_call(&mut self, sender: &Address, call: &MemoCall) -> Result<(), TxError> {
        let MemoCall::Post { text } = call;
        if text.is_empty() {
            return Err(MemoError::Empty.into());
        }
        if std::str::from_utf8(text).is_err() {
            return Err(MemoError::NotText.into());
        }
        self.notes.put(*sender, Note(text.clone()));
        Ok(())
    }
}

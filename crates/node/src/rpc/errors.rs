//! The one mapping from what went wrong to a JSON-RPC error: every method's error object is
//! made here, with its code from [`code`](super::code) and a message that names the cause.

use super::*;

/// Longest error message, in bytes: a bad parameter is quoted, never echoed back whole.
pub(super) const MAX_ERROR_MESSAGE_BYTES: usize = 300;

/// A parameter is missing, of the wrong type or malformed: `-32602`, naming it.
pub(super) fn invalid(field: &str, reason: impl std::fmt::Display) -> ErrorObjectOwned {
    let mut message = format!("invalid `{field}`: {reason}");
    if message.len() > MAX_ERROR_MESSAGE_BYTES {
        let total = message.len();
        let mut cut = MAX_ERROR_MESSAGE_BYTES;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push_str(&format!("… ({total} bytes in all)"));
    }
    ErrorObject::owned(code::INVALID_PARAMS, message, None::<()>)
}

/// Parameters were given to a method that takes none: `-32602`.
pub(super) fn unexpected_params() -> ErrorObjectOwned {
    ErrorObject::owned(
        code::INVALID_PARAMS,
        "this method takes no parameters: send [] or leave them out",
        None::<()>,
    )
}

/// What was asked for is not known: 4004.
pub(super) fn not_found(what: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObject::owned(code::NOT_FOUND, what.to_string(), None::<()>)
}

/// The node cannot answer now (its store failed, it is stopping): 4503.
pub(super) fn unavailable(what: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObject::owned(code::UNAVAILABLE, what.to_string(), None::<()>)
}

/// A transaction the mempool refused (4000 + its code) or no block could carry (5000 + the
/// state machine's code).
pub(super) fn refused(error: &crate::chain::SubmitError) -> ErrorObjectOwned {
    let code = match error {
        crate::chain::SubmitError::Mempool(reason) => {
            code::TRANSACTION_REFUSED_BASE + i32::from(reason.code())
        }
        crate::chain::SubmitError::Unincludable(reason) => {
            code::TRANSACTION_UNINCLUDABLE_BASE + i32::from(reason.code())
        }
    };
    ErrorObject::owned(code, error.to_string(), None::<()>)
}

/// A quote the state machine refuses: 6000 + the code a transaction asking the same gets.
pub(super) fn quote_refused(error: &TxError) -> ErrorObjectOwned {
    ErrorObject::owned(
        code::QUOTE_REFUSED_BASE + i32::from(error.code()),
        error.to_string(),
        None::<()>,
    )
}

/// The client calls faster than its per-IP rate allows: 4029.
pub(crate) fn rate_limited() -> ErrorObjectOwned {
    ErrorObject::owned(
        code::RATE_LIMITED,
        "too many requests from this address; slow down and retry",
        None::<()>,
    )
}

//! The two envelopes, handled once for every module: an account transaction's signature,
//! validity window, nonce and fee, then its call; a device report's device and signature,
//! then its report. Each dispatches to the module that owns the message.

use crate::error::{CoreError, TxError};
use crate::machine::State;
use crate::modules::attest::Attest;
use crate::modules::compute::ComputeContext;
use crate::modules::storage::StorageContext;
use crate::modules::usage::UsageContext;
use crate::outcome::{TrialOutcome, check_validity_window};
use groundwork_primitives::{
    AccountTransaction, Call, ChallengeCall, CoreCall, DeviceTransaction, Report, Transaction,
};

/// Which signatures are already known to be valid when a transaction runs.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SignatureCheck {
    /// The block's ed25519 signatures were batch-verified (`true`) or the batch failed.
    Ed25519Batch(bool),
    /// The caller verified every signature (the mempool at admission, `verify` before a vote).
    AllVerified,
}

impl SignatureCheck {
    pub(crate) fn covers(self, transaction: &Transaction) -> bool {
        match self {
            SignatureCheck::AllVerified => true,
            SignatureCheck::Ed25519Batch(batch_ok) => {
                batch_ok && crate::signatures::in_ed25519_batch(transaction)
            }
        }
    }
}

impl State {
    /// Runs one transaction in its own layer. `Ok` carries its receipt result; `Err` means no
    /// block may carry it, and nothing was written.
    pub(crate) fn run_transaction(
        &mut self,
        transaction: &Transaction,
        height: u64,
        check: SignatureCheck,
    ) -> TrialOutcome {
        let preverified = check.covers(transaction);
        let report = match transaction {
            Transaction::Account(tx) => {
                return self.run_account_transaction(tx, height, preverified);
            }
            Transaction::Device(tx) => self.apply_report(tx, height, preverified),
        };
        // A device report pays no fee, so one that fails has no place in a block.
        match report {
            Ok(()) => {
                self.commit_transaction();
                Ok(Ok(()))
            }
            Err(error) => {
                self.rollback_transaction();
                Err(error)
            }
        }
    }

    /// A device report: the envelope (an active device, its signature), then the module's
    /// checks and effects. The device is looked up before its signature is checked, so a
    /// report from nowhere costs no signature check.
    fn apply_report(
        &mut self,
        tx: &DeviceTransaction,
        height: u64,
        preverified: bool,
    ) -> Result<(), TxError> {
        let device = self.core.active_device(&tx.device)?;
        // An unattested device of a kind that must be, or a revoked one, does no work.
        self.attest
            .check_may_work(&self.params.attest, &tx.device, device.kind)?;
        if !preverified && !tx.verify_signature(&self.params.core.chain_id) {
            return Err(TxError::Core(CoreError::BadSignature));
        }
        let (core, params, id) = (&mut self.core, &self.params, &tx.device);
        match &tx.report {
            Report::Uptime(report) => {
                // A device whose location a challenge upheld earns in no pool, uptime
                // included, until its owner asserts another location.
                self.challenges.check_location_undisputed(id)?;
                self.uptime
                    .apply_report(core, params, id, &device, report, height)
            }
            Report::Coverage(report) => {
                let challenges = &self.challenges;
                self.coverage
                    .apply_report(core, challenges, params, id, &device, report, height)
            }
            Report::Storage(report) => {
                let cx = StorageContext {
                    core,
                    usage: &self.usage,
                    params: &params.storage,
                    height,
                };
                self.storage.apply_report(cx, id, report)
            }
            Report::Compute(report) => {
                let cx = ComputeContext {
                    core,
                    params: &params.compute,
                    height,
                };
                self.compute.apply_report(cx, id, report)
            }
        }
    }

    /// An account transaction in two steps: the envelope (signature, window, nonce and fee,
    /// which decide whether a block may carry it), then the action, whose failure undoes only
    /// the action.
    fn run_account_transaction(
        &mut self,
        tx: &AccountTransaction,
        height: u64,
        preverified: bool,
    ) -> TrialOutcome {
        let charged = if !preverified && !tx.verify_signature(&self.params.core.chain_id) {
            Err(TxError::Core(CoreError::BadSignature))
        } else {
            check_validity_window(tx, height).and_then(|()| {
                self.core.charge_transaction(
                    &tx.sender(),
                    tx.nonce,
                    self.params.core.transaction_fee,
                )
            })
        };
        if let Err(error) = charged {
            self.rollback_transaction();
            return Err(error);
        }
        self.commit_transaction();
        let result = self.apply_call(tx, height);
        if result.is_ok() {
            self.commit_transaction();
        } else {
            self.rollback_transaction();
        }
        Ok(result)
    }

    /// Dispatches a paid call to the module that owns it.
    fn apply_call(&mut self, tx: &AccountTransaction, height: u64) -> Result<(), TxError> {
        let (sender, nonce) = (&tx.sender(), tx.nonce);
        let (core, params) = (&mut self.core, &self.params);
        match &tx.call {
            Call::Core(call) => {
                if let CoreCall::RegisterDevice { kind, .. } = call {
                    Attest::check_plain_registration(&params.attest, *kind)?;
                }
                core.apply_call(params, &mut self.challenges, sender, call, height)
            }
            Call::Challenges(ChallengeCall::Open { device, evidence }) => {
                self.challenges.open_challenge(
                    core,
                    &self.coverage,
                    &params.challenges,
                    params.coverage.witness_window_blocks,
                    sender,
                    nonce,
                    device,
                    evidence,
                    height,
                )
            }
            Call::Challenges(ChallengeCall::Answer { challenge, beacon }) => self
                .challenges
                .answer_challenge(&self.coverage, sender, challenge, beacon, height),
            Call::Oracle(call) => self.oracle.apply_call(&params.oracle, sender, call, height),
            Call::Credits(call) => self.credits.apply_call(
                core,
                &self.oracle,
                &params.oracle,
                &params.credits,
                params.core.token_decimals,
                params.epoch_of(height),
                sender,
                call,
                height,
            ),
            Call::Attest(call) => self.attest.apply_call(core, params, sender, call, height),
            Call::Usage(call) => {
                let cx = UsageContext {
                    core,
                    credits: &mut self.credits,
                    params: &params.usage,
                    chain: &params.core.chain_id,
                    epoch: params.epoch_of(height),
                    height,
                };
                self.usage.apply_call(cx, sender, &tx.signer, nonce, call)
            }
            Call::Storage(call) => {
                let cx = StorageContext {
                    core,
                    usage: &self.usage,
                    params: &params.storage,
                    height,
                };
                let epoch_blocks = params.core.epoch_length_blocks;
                self.storage
                    .apply_call(cx, sender, nonce, epoch_blocks, call)
            }
            Call::Compute(call) => {
                let cx = ComputeContext {
                    core,
                    params: &params.compute,
                    height,
                };
                self.compute.apply_call(cx, sender, nonce, call)
            }
        }
    }
}

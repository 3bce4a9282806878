//! Metered usage through `State::execute`: offers, sessions, doubly signed vouchers,
//! settlement, closing and refunds, and the capped usage mint.

use crate::common::*;
use groundwork_primitives::hash::Digest;
use groundwork_primitives::{
    AccountKey, Amount, ChainId, CreditsCall, DeviceKey, KeyScheme, OracleCall, ResourceKind,
    Transaction, UsageCall, Voucher, session_id,
};
use groundwork_state::{TxError, UsageError};

/// Account 1 is the oracle, 2 owns the device, 3 is the customer.
struct Market {
    h: Harness,
    owner: AccountKey,
    customer: AccountKey,
    device: DeviceKey,
}

/// $2.50 a token; the device offers 2 credits per packet in sessions of up to 100 blocks; the
/// customer holds 10 000 credits.
fn market() -> Market {
    let mut h = Harness::standard();
    let (oracle, owner, customer) = (account(1), account(2), account(3));
    let device = device(KeyScheme::Ed25519, 50);
    let price = h.signed(
        &oracle,
        OracleCall::SubmitPrice {
            micro_usd_per_token: 2_500_000,
        },
    );
    assert_eq!(h.submit(price), Ok(()));
    assert_eq!(
        h.submit(h.register(&owner, &device, ResourceKind::Wireless)),
        Ok(())
    );
    let offer = h.signed(
        &owner,
        UsageCall::SetOffer {
            device: device.id(),
            credits_per_unit: 2,
            max_session_blocks: 100,
        },
    );
    assert_eq!(h.submit(offer), Ok(()));
    let buy = h.signed(
        &customer,
        CreditsCall::Buy {
            recipient: address(&customer),
            credits: 10_000,
        },
    );
    assert_eq!(h.submit(buy), Ok(()));
    Market {
        h,
        owner,
        customer,
        device,
    }
}

impl Market {
    /// Opens a session escrowing `max_credits` for `blocks`; returns its id.
    fn open(&mut self, max_credits: u64, blocks: u64) -> Digest {
        let nonce = self.h.nonce(&self.customer);
        let tx = self.h.signed(
            &self.customer,
            UsageCall::OpenSession {
                device: self.device.id(),
                credits_per_unit: 2,
                max_credits,
                expires_at: self.h.state.height() + 1 + blocks,
            },
        );
        assert_eq!(self.h.submit(tx), Ok(()));
        session_id(&address(&self.customer), nonce)
    }

    /// A voucher for `units`, signed by `customer` and `device` on `chain`.
    fn voucher_by(
        &self,
        session: Digest,
        units: u64,
        credits: u64,
        customer: &AccountKey,
        device: &DeviceKey,
        chain: &ChainId,
    ) -> UsageCall {
        let voucher = Voucher {
            session,
            cumulative_units: units,
            cumulative_credits: credits,
        };
        UsageCall::Settle {
            voucher,
            customer_signature: voucher.sign_as_customer(customer, chain),
            device_signature: voucher.sign_as_device(device, chain),
        }
    }

    fn voucher(&self, session: Digest, units: u64) -> UsageCall {
        let chain = self.h.chain.clone();
        self.voucher_by(
            session,
            units,
            units * 2,
            &self.customer,
            &self.device,
            &chain,
        )
    }

    fn settle_by(&mut self, who: &AccountKey, call: UsageCall) -> Result<(), TxError> {
        let tx = self.h.signed(who, call);
        self.h.submit(tx)
    }

    fn credits(&self, key: &AccountKey) -> u64 {
        self.h.state.account(&address(key)).credits
    }

    fn rejected(&mut self, who: &AccountKey, call: UsageCall, expected: UsageError) {
        let tx = self.h.signed(who, call);
        self.h.assert_rejected(tx, TxError::Usage(expected));
    }
}

#[test]
fn vouchers_settle_by_increment_and_the_epoch_pays_their_value_at_the_mint_price() {
    let mut m = market();
    let session = m.open(1_000, 10);
    assert_eq!(m.credits(&m.customer), 9_000);
    // The device's owner settles 10 packets (20 credits), the customer 30 packets (60).
    let (owner, customer) = (m.owner.clone(), m.customer.clone());
    assert_eq!(m.settle_by(&owner, m.voucher(session, 10)), Ok(()));
    assert_eq!(m.settle_by(&customer, m.voucher(session, 30)), Ok(()));
    let record = m.h.state.session(&session).unwrap();
    assert_eq!((record.settled_units, record.settled_credits), (30, 60));
    assert_eq!(m.h.state.credit_totals().spent, 60);
    let epoch = m.h.state.epoch_of(m.h.state.height());
    let length = m.h.state.params().core.epoch_length_blocks;
    m.h.advance_to((epoch + 1) * length);
    // 60 credits = $0.0006 = 240 base units at $2.50; devices get 80 %: 192.
    let reward = m.h.state.usage_reward(epoch, &m.device.id()).unwrap();
    assert_eq!((reward.credits, reward.units), (60, 30));
    assert_eq!((reward.uncapped, reward.amount), (Amount(192), Amount(192)));
    assert_eq!(reward.owner, address(&m.owner));
    let mint = m.h.state.usage_epoch(epoch).unwrap();
    assert_eq!((mint.minted, mint.cap_factor_bps()), (Amount(192), 10_000));
    assert_eq!(mint.mint_price_micro_usd, 2_500_000);
}

#[test]
fn cheating_vouchers_are_refused_each_with_its_code() {
    let mut m = market();
    let session = m.open(100, 90);
    let (owner, customer) = (m.owner.clone(), m.customer.clone());
    let chain = m.h.chain.clone();
    // A device settling a voucher the customer never signed (its owner signs instead).
    let forged = m.voucher_by(session, 5, 10, &owner, &m.device, &chain);
    m.rejected(&owner, forged, UsageError::BadCustomerSignature);
    // A voucher the device did not co-sign.
    let stranger = device(KeyScheme::P256, 51);
    let unsigned = m.voucher_by(session, 5, 10, &customer, &stranger, &chain);
    m.rejected(&customer, unsigned, UsageError::BadDeviceSignature);
    // A voucher signed for another chain.
    let other: ChainId = "groundwork-other".parse().unwrap();
    let elsewhere = m.voucher_by(session, 5, 10, &customer, &m.device, &other);
    m.rejected(&owner, elsewhere, UsageError::BadCustomerSignature);
    // Credits that are not the units at the session's price.
    let cheap = m.voucher_by(session, 5, 9, &customer, &m.device, &chain);
    m.rejected(
        &owner,
        cheap,
        UsageError::VoucherPrice {
            units: 5,
            credits: 9,
            price: 2,
        },
    );
    // More than the escrow.
    m.rejected(
        &owner,
        m.voucher(session, 51),
        UsageError::AboveEscrow {
            cumulative: 102,
            escrowed: 100,
        },
    );
    // Someone who is neither party.
    let outsider = account(4);
    m.rejected(
        &outsider,
        m.voucher(session, 5),
        UsageError::NotAParty {
            signer: address(&outsider),
        },
    );
    // A customer replaying an older voucher after a newer one settled.
    let older = m.voucher(session, 5);
    assert_eq!(m.settle_by(&owner, m.voucher(session, 20)), Ok(()));
    m.rejected(
        &customer,
        older,
        UsageError::StaleVoucher {
            cumulative: 10,
            settled: 40,
        },
    );
    // The same voucher twice.
    m.rejected(
        &customer,
        m.voucher(session, 20),
        UsageError::StaleVoucher {
            cumulative: 40,
            settled: 40,
        },
    );
    // A voucher for a session that does not exist.
    let nowhere = m.voucher(Digest::from([7u8; 32]), 1);
    m.rejected(
        &owner,
        nowhere,
        UsageError::UnknownSession {
            session: Digest::from([7u8; 32]),
        },
    );
}

#[test]
fn sessions_open_only_at_the_offer_and_within_its_length() {
    let mut m = market();
    let customer = m.customer.clone();
    let height = m.h.state.height() + 1;
    let id = m.device.id();
    let at = |price, credits, expires_at| UsageCall::OpenSession {
        device: id.clone(),
        credits_per_unit: price,
        max_credits: credits,
        expires_at,
    };
    m.rejected(
        &customer,
        at(1, 10, height + 5),
        UsageError::PriceNotOffered {
            asked: 1,
            offered: 2,
        },
    );
    m.rejected(
        &customer,
        at(2, 10, height + 150),
        UsageError::BadExpiry {
            expires_at: height + 150,
            max_blocks: 100,
        },
    );
    m.rejected(
        &customer,
        at(2, 0, height + 5),
        UsageError::Zero {
            what: "escrowed credits",
        },
    );
    let tx = m.h.signed(&customer, at(2, 20_000, height + 5));
    m.h.assert_rejected(
        tx,
        TxError::Core(groundwork_state::CoreError::InsufficientCredits {
            needed: 20_000,
            available: 10_000,
        }),
    );
    // A device without an offer.
    let other = device(KeyScheme::Ed25519, 52);
    let owner = m.owner.clone();
    assert_eq!(
        m.h.submit(m.h.register(&owner, &other, ResourceKind::Sensor)),
        Ok(())
    );
    let height = m.h.state.height() + 1;
    m.rejected(
        &customer,
        UsageCall::OpenSession {
            device: other.id(),
            credits_per_unit: 2,
            max_credits: 10,
            expires_at: height + 5,
        },
        UsageError::NoOffer { device: other.id() },
    );
}

#[test]
fn a_closed_session_can_still_be_settled_in_its_grace_window_then_refunds_the_rest() {
    let mut m = market();
    let session = m.open(1_000, 15);
    let (owner, customer) = (m.owner.clone(), m.customer.clone());
    // The device signed for 40 packets; the customer closes before the device settles.
    let last = m.voucher(session, 40);
    let close = UsageCall::Close { session };
    m.rejected(&owner, close.clone(), UsageError::NotTheCustomer);
    assert_eq!(m.settle_by(&customer, close), Ok(()));
    let ended = m.h.state.session(&session).unwrap().ends_at;
    assert_eq!(ended, m.h.state.height());
    // Inside the grace window (2 blocks) the device still settles what it served.
    assert_eq!(m.settle_by(&owner, last), Ok(()));
    assert_eq!(m.credits(&customer), 9_000);
    m.h.advance_to(ended + 2);
    // The block that ends the grace window returns the unspent 920 credits.
    assert_eq!(m.credits(&customer), 9_920);
    let record = m.h.state.session(&session).unwrap();
    assert_eq!(record.refunded, Some(920));
    m.rejected(
        &owner,
        m.voucher(session, 41),
        UsageError::SessionClosed {
            session,
            settle_by: ended + 2,
        },
    );
    let totals = m.h.state.credit_totals();
    assert_eq!(
        (totals.minted, totals.spent, totals.outstanding()),
        (10_000, 80, 9_920)
    );
}

#[test]
fn an_expired_session_refunds_itself_after_the_grace_window() {
    let mut m = market();
    let session = m.open(500, 3);
    let expires = m.h.state.session(&session).unwrap().ends_at;
    m.h.advance_to(expires + 1);
    // Still inside grace: the escrow stays.
    assert_eq!(m.credits(&m.customer), 9_500);
    m.h.advance_to(expires + 2);
    assert_eq!(m.credits(&m.customer), 10_000);
}

#[test]
fn the_usage_mint_is_pro_rata_above_its_cap() {
    let mut p = params();
    p.usage.max_mint_per_epoch = Amount(1_000);
    let mut h = Harness::new(&genesis_with(p, 4));
    let (oracle, owner, customer) = (account(1), account(2), account(3));
    let price = h.signed(
        &oracle,
        OracleCall::SubmitPrice {
            micro_usd_per_token: 1_000_000,
        },
    );
    assert_eq!(h.submit(price), Ok(()));
    // Past epoch 0, so a whole epoch lies ahead.
    h.advance_to(4);
    let devices = [device(KeyScheme::Ed25519, 60), device(KeyScheme::P256, 61)];
    let mut txs = vec![h.signed(
        &customer,
        CreditsCall::Buy {
            recipient: address(&customer),
            credits: 1_000,
        },
    )];
    let mut owner_nonce = h.nonce(&owner);
    for d in &devices {
        let register = groundwork_primitives::CoreCall::register_device(
            &h.chain,
            &address(&owner),
            d,
            ResourceKind::Wireless,
            cell(52.52, 13.405),
        );
        txs.push(Transaction::Account(
            groundwork_primitives::AccountTransaction::sign(
                &owner,
                &h.chain,
                owner_nonce,
                h.valid_until(),
                register,
            ),
        ));
        owner_nonce += 1;
        txs.push(Transaction::Account(
            groundwork_primitives::AccountTransaction::sign(
                &owner,
                &h.chain,
                owner_nonce,
                h.valid_until(),
                UsageCall::SetOffer {
                    device: d.id(),
                    credits_per_unit: 1,
                    max_session_blocks: 10,
                },
            ),
        ));
        owner_nonce += 1;
    }
    let outcome = h.execute(txs);
    assert!(
        outcome.receipts.iter().all(|r| r.result.is_ok()),
        "{outcome:?}"
    );
    // Block 6: two sessions; block 7: 300 credits on the first device, 100 on the second.
    let nonce = h.nonce(&customer);
    let sessions = [
        session_id(&address(&customer), nonce),
        session_id(&address(&customer), nonce + 1),
    ];
    let opens = devices
        .iter()
        .enumerate()
        .map(|(i, d)| {
            Transaction::Account(groundwork_primitives::AccountTransaction::sign(
                &customer,
                &h.chain,
                nonce + i as u64,
                h.valid_until(),
                UsageCall::OpenSession {
                    device: d.id(),
                    credits_per_unit: 1,
                    max_credits: 400,
                    expires_at: h.state.height() + 5,
                },
            ))
        })
        .collect();
    let outcome = h.execute(opens);
    assert!(
        outcome.receipts.iter().all(|r| r.result.is_ok()),
        "{outcome:?}"
    );
    let settle = |h: &Harness, i: usize, nonce: u64, units: u64| {
        let voucher = Voucher {
            session: sessions[i],
            cumulative_units: units,
            cumulative_credits: units,
        };
        Transaction::Account(groundwork_primitives::AccountTransaction::sign(
            &customer,
            &h.chain,
            nonce,
            h.valid_until(),
            UsageCall::Settle {
                voucher,
                customer_signature: voucher.sign_as_customer(&customer, &h.chain),
                device_signature: voucher.sign_as_device(&devices[i], &h.chain),
            },
        ))
    };
    let nonce = h.nonce(&customer);
    let outcome = h.execute(vec![
        settle(&h, 0, nonce, 300),
        settle(&h, 1, nonce + 1, 100),
    ]);
    assert!(
        outcome.receipts.iter().all(|r| r.result.is_ok()),
        "{outcome:?}"
    );
    h.advance_to(8);
    // At $1.00, 300 credits are $0.003 = 3 000 base units, ×80 % = 2 400; 100 credits 800.
    // 3 200 earned against a cap of 1 000: each gets 1 000/3 200 of its share.
    let epoch = 1;
    let first = h.state.usage_reward(epoch, &devices[0].id()).unwrap();
    let second = h.state.usage_reward(epoch, &devices[1].id()).unwrap();
    assert_eq!((first.uncapped, first.amount), (Amount(2_400), Amount(750)));
    assert_eq!((second.uncapped, second.amount), (Amount(800), Amount(250)));
    let mint = h.state.usage_epoch(epoch).unwrap();
    assert_eq!(
        (mint.uncapped, mint.minted, mint.cap),
        (Amount(3_200), Amount(1_000), Amount(1_000))
    );
    assert_eq!(mint.cap_factor_bps(), 3_125);
}

#[test]
fn three_epochs_of_growing_demand_mint_in_step_with_the_burn_inside_the_cap() {
    let mut m = market();
    let (owner, customer) = (m.owner.clone(), m.customer.clone());
    let length = m.h.state.params().core.epoch_length_blocks;
    let mut last = None;
    for (round, packets) in [100u64, 200, 400].into_iter().enumerate() {
        // Start each round at an epoch's first block.
        let epoch = m.h.state.epoch_of(m.h.state.height()) + 1;
        m.h.advance_to(epoch * length);
        let buy = m.h.signed(
            &customer,
            CreditsCall::Buy {
                recipient: address(&customer),
                credits: packets * 2,
            },
        );
        assert_eq!(m.h.submit(buy), Ok(()));
        let session = m.open(packets * 2, 2);
        assert_eq!(m.settle_by(&owner, m.voucher(session, packets)), Ok(()));
        m.h.advance_to((epoch + 1) * length);
        let credits = m.h.state.epoch_credits(epoch).unwrap();
        let mint = m.h.state.usage_epoch(epoch).unwrap();
        // Price steady at $2.50: 80 % of what was burned comes back, to a base unit.
        let burned = credits.tokens_burned.0;
        assert_eq!(mint.minted.0, burned * 8 / 10, "round {round}");
        assert!(mint.minted <= mint.cap);
        if let Some(previous) = last {
            assert!(mint.minted > previous, "the mint grows with demand");
        }
        last = Some(mint.minted);
    }
}

#[test]
fn a_price_crashed_to_almost_nothing_mints_no_more_than_the_cap() {
    let mut m = market();
    let session = m.open(1_000, 50);
    // The oracle reports $0.000001 a token for a whole smoothing window.
    let oracle = account(1);
    for _ in 0..5 {
        let crash = m.h.signed(
            &oracle,
            OracleCall::SubmitPrice {
                micro_usd_per_token: 1,
            },
        );
        assert_eq!(m.h.submit(crash), Ok(()));
    }
    let owner = m.owner.clone();
    assert_eq!(m.settle_by(&owner, m.voucher(session, 30)), Ok(()));
    let epoch = m.h.state.epoch_of(m.h.state.height());
    let length = m.h.state.params().core.epoch_length_blocks;
    m.h.advance_to((epoch + 1) * length);
    // 60 credits at $0.000001 a token would be 480 000 000 base units at 80 %; the cap of
    // 1 000 000 is what is minted.
    let mint = m.h.state.usage_epoch(epoch).unwrap();
    assert_eq!(mint.mint_price_micro_usd, 1);
    assert_eq!(mint.uncapped, Amount(480_000_000));
    assert_eq!(mint.minted, Amount(1_000_000));
}

#[test]
fn a_customers_sessions_come_a_page_at_a_time_in_id_order() {
    let mut m = market();
    let mut ids: Vec<Digest> = (0..3).map(|_| m.open(100, 50)).collect();
    ids.sort();
    let customer = address(&m.customer);
    let first = m.h.state.sessions_of(&customer, None, 2);
    assert_eq!(
        first.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        ids[..2]
    );
    let rest = m.h.state.sessions_of(&customer, Some(ids[1]), 2);
    assert_eq!(rest.iter().map(|(id, _)| *id).collect::<Vec<_>>(), ids[2..]);
    // Another account's sessions are not in the list.
    assert!(
        m.h.state
            .sessions_of(&address(&m.owner), None, 10)
            .is_empty()
    );
}

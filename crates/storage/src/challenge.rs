//! Which leaves the chain asks for: drawn from a block hash the provider could not know when
//! it decided what to keep.
//!
//! ```text
//! x_i  = BLAKE3 derive-key(CHALLENGE_CONTEXT, seed ‖ deal ‖ period as u64 BE ‖ i as u32 BE)
//! leaf_i = (first 8 bytes of x_i as u64 BE) mod leaves,   i = 0 … count − 1
//! ```
//!
//! Draws are independent and with replacement, so a provider that lost a fraction α of the
//! leaves passes one period with probability (1 − α)^K, and T periods with (1 − α)^(K·T). The
//! modulo's bias is at most leaves ÷ 2^64, nothing at any shard size allowed.

/// The BLAKE3 key-derivation context of challenges: fixed for the life of the chain.
pub const CHALLENGE_CONTEXT: &str = "groundwork 2026-12 storage possession challenge";

/// The `count` leaf indices challenged for `deal` in proving period `period`, given the
/// period's `seed` (a finalized block hash) and the shard's leaf count (at least 1).
pub fn challenged_leaves(
    seed: &[u8; 32],
    deal: &[u8; 32],
    period: u64,
    leaves: u64,
    count: u16,
) -> Vec<u64> {
    let leaves = leaves.max(1);
    (0..u32::from(count))
        .map(|i| {
            let mut hasher = blake3::Hasher::new_derive_key(CHALLENGE_CONTEXT);
            hasher.update(seed);
            hasher.update(deal);
            hasher.update(&period.to_be_bytes());
            hasher.update(&i.to_be_bytes());
            let out = hasher.finalize();
            let mut first = [0u8; 8];
            first.copy_from_slice(&out.as_bytes()[..8]);
            u64::from_be_bytes(first) % leaves
        })
        .collect()
}

/// The BLAKE3 key-derivation context of retrieval-check draws.
pub const RETRIEVAL_CONTEXT: &str = "groundwork 2026-12 storage retrieval check";

fn draw(seed: &[u8; 32], deal: &[u8; 32], period: u64, what: u8, i: u32) -> u64 {
    let mut hasher = blake3::Hasher::new_derive_key(RETRIEVAL_CONTEXT);
    hasher.update(seed);
    hasher.update(deal);
    hasher.update(&period.to_be_bytes());
    hasher.update(&[what]);
    hasher.update(&i.to_be_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&hasher.finalize().as_bytes()[..8]);
    u64::from_be_bytes(first)
}

/// Who checks a deal's retrieval in `period`, and what: `count` distinct positions among
/// `candidates` (the eligible checkers in a fixed order), each with the block it fetches
/// among `blocks`. Drawn without replacement from the period's seed, so neither the provider
/// nor a checker chooses.
pub fn retrieval_checks(
    seed: &[u8; 32],
    deal: &[u8; 32],
    period: u64,
    count: u16,
    candidates: u64,
    blocks: u64,
) -> Vec<(u64, u64)> {
    let mut left: Vec<u64> = (0..candidates).collect();
    let mut out = Vec::with_capacity(usize::from(count));
    for i in 0..u32::from(count) {
        if left.is_empty() {
            break;
        }
        let at = (draw(seed, deal, period, 0, i) % left.len() as u64) as usize;
        let checker = left.swap_remove(at);
        out.push((checker, draw(seed, deal, period, 1, i) % blocks.max(1)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_in_range_and_change_with_every_input() {
        let (seed, deal) = ([1u8; 32], [2u8; 32]);
        let a = challenged_leaves(&seed, &deal, 7, 1000, 5);
        assert_eq!(a.len(), 5);
        assert!(a.iter().all(|&i| i < 1000));
        // Computed outside this code, with the reference BLAKE3 (Python's `blake3` package) in
        // derive-key mode over the same bytes.
        assert_eq!(a, vec![288, 252, 660, 356, 591]);
        assert_ne!(a, challenged_leaves(&[3u8; 32], &deal, 7, 1000, 5));
        assert_ne!(a, challenged_leaves(&seed, &[3u8; 32], 7, 1000, 5));
        assert_ne!(a, challenged_leaves(&seed, &deal, 8, 1000, 5));
        assert_eq!(challenged_leaves(&seed, &deal, 7, 1, 3), vec![0, 0, 0]);
    }

    #[test]
    fn retrieval_checkers_are_distinct_and_in_range() {
        let (seed, deal) = ([5u8; 32], [6u8; 32]);
        let draws = retrieval_checks(&seed, &deal, 3, 3, 10, 80);
        assert_eq!(draws.len(), 3);
        let mut who: Vec<u64> = draws.iter().map(|d| d.0).collect();
        who.sort();
        who.dedup();
        assert_eq!(who.len(), 3);
        assert!(draws.iter().all(|&(c, b)| c < 10 && b < 80));
        assert_eq!(draws, retrieval_checks(&seed, &deal, 3, 3, 10, 80));
        // Fewer candidates than checks: each once.
        assert_eq!(retrieval_checks(&seed, &deal, 3, 3, 2, 80).len(), 2);
        assert!(retrieval_checks(&seed, &deal, 3, 3, 0, 80).is_empty());
    }

    /// A simulated month of daily periods, K = 5: a provider that lost 1 % or 5 % of its
    /// leaves is caught at least as often as (1 − (1 − α)^(K·T)) predicts, within three
    /// standard errors of the trials.
    #[test]
    fn loss_is_caught_as_often_as_the_formula_predicts() {
        const LEAVES: u64 = 40_960; // a 10 MiB shard
        const K: u16 = 5;
        const PERIODS: u64 = 30;
        const TRIALS: u64 = 2_000;
        for lost_percent in [1u64, 5] {
            let lost = LEAVES * lost_percent / 100;
            let mut caught = 0u64;
            for trial in 0..TRIALS {
                // Which leaves are lost: a different, fixed pseudo-random set per trial.
                let mut deal = [0u8; 32];
                deal[..8].copy_from_slice(&trial.to_be_bytes());
                let is_lost = |leaf: u64| {
                    let h = blake3::hash(&[&deal[..], &leaf.to_be_bytes()].concat());
                    u64::from_be_bytes(h.as_bytes()[..8].try_into().unwrap()) % LEAVES < lost
                };
                let detected = (0..PERIODS).any(|period| {
                    let seed = *blake3::hash(&period.to_be_bytes()).as_bytes();
                    challenged_leaves(&seed, &deal, period, LEAVES, K)
                        .into_iter()
                        .any(is_lost)
                });
                caught += u64::from(detected);
            }
            let measured = caught as f64 / TRIALS as f64;
            let alpha = lost_percent as f64 / 100.0;
            let predicted = 1.0 - (1.0 - alpha).powi(i32::from(K) * PERIODS as i32);
            let se = (predicted * (1.0 - predicted) / TRIALS as f64).sqrt();
            println!(
                "lost {lost_percent}% of leaves, K={K}, T={PERIODS}: caught {:.2}% of {TRIALS} \
                 providers, predicted {:.2}%",
                measured * 100.0,
                predicted * 100.0
            );
            assert!(
                measured >= predicted - 3.0 * se.max(0.001),
                "measured {measured} below predicted {predicted}"
            );
        }
    }
}

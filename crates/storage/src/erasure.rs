//! Erasure coding across providers: a file becomes `data` shards of equal length plus
//! `parity` Reed–Solomon shards (Leopard-RS, `reed-solomon-simd`), one per provider, and any
//! `data` of them rebuild it. With one data shard every shard is a plain copy (replication).

use std::collections::BTreeMap;

/// Most shards of one file: one per provider, and a deal set is one transaction.
pub const MAX_SHARDS: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum ErasureError {
    #[error(
        "need 1 to {MAX_SHARDS} shards in all with at least one data shard, not {data} data and {parity} parity"
    )]
    BadShape { data: usize, parity: usize },
    #[error("an empty file cannot be stored")]
    Empty,
    #[error("only {have} of the {need} shards needed to rebuild the file are here")]
    TooFew { have: usize, need: usize },
    #[error("shard {index} is {got} bytes, not {expected}")]
    ShardLength {
        index: usize,
        expected: usize,
        got: usize,
    },
    #[error("Reed-Solomon: {0}")]
    Codec(#[from] reed_solomon_simd::Error),
}

fn check_shape(data: usize, parity: usize) -> Result<(), ErasureError> {
    if data == 0 || data + parity > MAX_SHARDS || data + parity == 0 {
        return Err(ErasureError::BadShape { data, parity });
    }
    Ok(())
}

/// Length of every shard of a `size`-byte file cut into `data` shards: even, as the codec
/// needs, and the last data shard padded with zeros.
pub fn shard_len(size: u64, data: usize) -> usize {
    let len = (size as usize).div_ceil(data.max(1));
    len + len % 2
}

/// Cuts `file` into `data + parity` shards, data shards first.
pub fn encode(file: &[u8], data: usize, parity: usize) -> Result<Vec<Vec<u8>>, ErasureError> {
    check_shape(data, parity)?;
    if file.is_empty() {
        return Err(ErasureError::Empty);
    }
    if data == 1 {
        return Ok(vec![file.to_vec(); 1 + parity]);
    }
    let len = shard_len(file.len() as u64, data);
    let mut shards: Vec<Vec<u8>> = (0..data)
        .map(|i| {
            let start = (i * len).min(file.len());
            let end = ((i + 1) * len).min(file.len());
            let mut shard = file[start..end].to_vec();
            shard.resize(len, 0);
            shard
        })
        .collect();
    if parity > 0 {
        let recovery = reed_solomon_simd::encode(data, parity, &shards)?;
        shards.extend(recovery);
    }
    Ok(shards)
}

/// Rebuilds a `size`-byte file from the shards that are here (`None` for a missing one).
pub fn decode(
    size: u64,
    data: usize,
    parity: usize,
    shards: &[Option<Vec<u8>>],
) -> Result<Vec<u8>, ErasureError> {
    check_shape(data, parity)?;
    let have = shards.iter().filter(|s| s.is_some()).count();
    if have < data {
        return Err(ErasureError::TooFew { have, need: data });
    }
    if data == 1 {
        let copy = shards
            .iter()
            .flatten()
            .next()
            .ok_or(ErasureError::TooFew { have, need: 1 })?;
        return Ok(copy[..(size as usize).min(copy.len())].to_vec());
    }
    let len = shard_len(size, data);
    for (index, shard) in shards.iter().enumerate() {
        if let Some(shard) = shard
            && shard.len() != len
        {
            return Err(ErasureError::ShardLength {
                index,
                expected: len,
                got: shard.len(),
            });
        }
    }
    let mut originals: BTreeMap<usize, Vec<u8>> = shards
        .iter()
        .take(data)
        .enumerate()
        .filter_map(|(i, s)| s.clone().map(|s| (i, s)))
        .collect();
    if originals.len() < data {
        let recovery = shards
            .iter()
            .skip(data)
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (i, s)));
        let restored = reed_solomon_simd::decode(
            data,
            parity,
            originals.iter().map(|(i, s)| (*i, s)),
            recovery,
        )?;
        originals.extend(restored);
    }
    let mut file: Vec<u8> = originals.into_values().flatten().collect();
    file.truncate(size as usize);
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_of_three_rebuild_the_file_whichever_is_missing() {
        let file: Vec<u8> = (0..100_001u32).map(|i| (i * 7 + 3) as u8).collect();
        let shards = encode(&file, 2, 1).unwrap();
        assert_eq!(shards.len(), 3);
        assert!(shards.iter().all(|s| s.len() == 50_002));
        for missing in 0..3 {
            let mut have: Vec<Option<Vec<u8>>> = shards.iter().cloned().map(Some).collect();
            have[missing] = None;
            assert_eq!(decode(file.len() as u64, 2, 1, &have).unwrap(), file);
        }
        let mut two_missing: Vec<Option<Vec<u8>>> = shards.into_iter().map(Some).collect();
        two_missing[0] = None;
        two_missing[2] = None;
        assert!(matches!(
            decode(file.len() as u64, 2, 1, &two_missing),
            Err(ErasureError::TooFew { have: 1, need: 2 })
        ));
    }

    #[test]
    fn one_data_shard_is_replication() {
        let file = b"three copies".to_vec();
        let shards = encode(&file, 1, 2).unwrap();
        assert!(shards.iter().all(|s| *s == file));
        assert_eq!(
            decode(12, 1, 2, &[None, None, Some(file.clone())]).unwrap(),
            file
        );
        assert!(matches!(
            encode(&file, 0, 3),
            Err(ErasureError::BadShape { .. })
        ));
        assert!(matches!(
            encode(&file, 10, 10),
            Err(ErasureError::BadShape { .. })
        ));
    }
}

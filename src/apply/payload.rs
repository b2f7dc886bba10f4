//! A revision's content as stored: one gzip-compressed JSON document, cut
//! into chunks that each fit in a Secret (Secrets hold at most 1 MiB, the
//! limit Helm's single-Secret releases run into), with a SHA-256 of the
//! whole so a missing or stale chunk is detected instead of mis-read.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The most bytes one chunk holds: half the Secret limit, leaving room for
/// metadata and keeping each object an ordinary size for etcd and watchers.
pub const CHUNK_BYTES: usize = 512 * 1024;

/// Content ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub chunks: Vec<Vec<u8>>,
    /// Bytes of JSON before compression.
    pub raw_size: usize,
    /// Compressed bytes (all chunks).
    pub size: usize,
    /// Hex SHA-256 of the compressed bytes.
    pub sha256: String,
}

/// Compresses `value` and cuts it into chunks of at most `chunk_bytes`
/// (always at least one chunk).
pub fn encode(value: &Value, chunk_bytes: usize) -> Encoded {
    let json = serde_json::to_vec(value).expect("JSON serializes");
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    let compressed = encoder
        .write_all(&json)
        .and_then(|_| encoder.finish())
        .expect("writing to memory succeeds");
    let mut chunks: Vec<Vec<u8>> = compressed
        .chunks(chunk_bytes.max(1))
        .map(<[u8]>::to_vec)
        .collect();
    if chunks.is_empty() {
        chunks.push(vec![]);
    }
    Encoded {
        raw_size: json.len(),
        size: compressed.len(),
        sha256: hex::encode(Sha256::digest(&compressed)),
        chunks,
    }
}

/// Joins the chunks, checks them against `sha256` and decompresses.
pub fn decode(chunks: &[Vec<u8>], sha256: &str) -> Result<Value, String> {
    let compressed = chunks.concat();
    let actual = hex::encode(Sha256::digest(&compressed));
    if actual != sha256 {
        return Err(format!(
            "checksum mismatch over {} chunk(s): a chunk is missing or from another write",
            chunks.len()
        ));
    }
    decompress(&compressed)
}

/// gzip-compressed JSON, as one piece (also the format of older revisions).
pub fn decompress(bytes: &[u8]) -> Result<Value, String> {
    let mut text = Vec::new();
    GzDecoder::new(bytes)
        .read_to_end(&mut text)
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// JSON that compresses poorly: hex of a hash chain.
    fn noisy(bytes: usize) -> Value {
        let mut seed = Sha256::digest(b"seed").to_vec();
        let mut text = String::new();
        while text.len() < bytes {
            seed = Sha256::digest(&seed).to_vec();
            text.push_str(&hex::encode(&seed));
        }
        serde_json::json!({"data": text})
    }

    #[test]
    fn small_content_is_one_chunk_and_round_trips() {
        let value = serde_json::json!({"items": [{"kind": "ConfigMap", "data": {"a": "b"}}]});
        let encoded = encode(&value, CHUNK_BYTES);
        assert_eq!(encoded.chunks.len(), 1);
        assert_eq!(decode(&encoded.chunks, &encoded.sha256).unwrap(), value);
    }

    #[test]
    fn large_content_is_split_and_joined_in_order() {
        let value = noisy(200_000);
        let encoded = encode(&value, 16 * 1024);
        assert!(encoded.chunks.len() > 3, "{} chunks", encoded.chunks.len());
        assert!(encoded.chunks.iter().all(|c| c.len() <= 16 * 1024));
        assert_eq!(
            encoded.chunks.iter().map(Vec::len).sum::<usize>(),
            encoded.size
        );
        assert_eq!(decode(&encoded.chunks, &encoded.sha256).unwrap(), value);
    }

    #[test]
    fn a_missing_or_reordered_chunk_is_detected() {
        let encoded = encode(&noisy(100_000), 16 * 1024);
        let missing = &encoded.chunks[..encoded.chunks.len() - 1];
        assert!(
            decode(missing, &encoded.sha256)
                .unwrap_err()
                .contains("checksum")
        );
        let mut swapped = encoded.chunks.clone();
        swapped.swap(0, 1);
        assert!(decode(&swapped, &encoded.sha256).is_err());
    }
}

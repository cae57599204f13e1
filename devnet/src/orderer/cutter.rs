//! The block cutter, as Fabric's `orderer/common/blockcutter` cuts batches.
//!
//! An envelope's size is `len(payload) + len(signature)` (Fabric's `messageSizeBytes`).
//! - larger than PreferredMaxBytes: the pending batch is cut, then the envelope goes alone
//!   in its own batch;
//! - would push the pending batch over PreferredMaxBytes: the pending batch is cut first;
//! - MaxMessageCount reached: the batch is cut.
//!
//! AbsoluteMaxBytes is checked before ordering ([`BatchSize::check`], Fabric's size
//! filter). BatchTimeout lives in the ordering task: the cutter has no clock.

use sfcbc_fabric::protos::common::Envelope;

/// The channel's `BatchSize` orderer configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSize {
    /// A batch is cut when it holds this many envelopes.
    pub max_message_count: u32,
    /// Envelopes larger than this are refused at broadcast.
    pub absolute_max_bytes: u32,
    /// A batch is cut before it would grow beyond this; a larger envelope goes alone.
    pub preferred_max_bytes: u32,
}

impl Default for BatchSize {
    /// configtx.yaml's defaults in fabric-samples: 10 messages, 99 MB, 512 KB.
    fn default() -> Self {
        Self {
            max_message_count: 10,
            absolute_max_bytes: 99 * 1024 * 1024,
            preferred_max_bytes: 512 * 1024,
        }
    }
}

/// An envelope refused by the size filter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("message payload is {size} bytes and exceeds maximum allowed {max} bytes")]
pub struct TooLarge {
    pub size: u32,
    pub max: u32,
}

impl BatchSize {
    /// Fabric's `MaxBytesRule`: refuses an envelope larger than AbsoluteMaxBytes, with
    /// Fabric's message.
    pub fn check(&self, envelope: &Envelope) -> Result<(), TooLarge> {
        let size = message_size_bytes(envelope);
        if size > self.absolute_max_bytes {
            return Err(TooLarge {
                size,
                max: self.absolute_max_bytes,
            });
        }
        Ok(())
    }
}

/// `len(payload) + len(signature)`, saturating (an envelope over 4 GiB cannot reach us
/// through gRPC anyway).
pub fn message_size_bytes(envelope: &Envelope) -> u32 {
    u32::try_from(envelope.payload.len() + envelope.signature.len()).unwrap_or(u32::MAX)
}

/// What [`BlockCutter::ordered`] did with one envelope.
#[derive(Debug, Default, PartialEq)]
pub struct Ordered {
    /// Zero, one or two batches to make into blocks now, in order.
    pub batches: Vec<Vec<Envelope>>,
    /// Whether envelopes are left pending (the batch timer must be running).
    pub pending: bool,
}

/// The pending batch of one channel.
#[derive(Debug)]
pub struct BlockCutter {
    /// The cutting rules; replaceable when a config block changes them.
    batch_size: BatchSize,
    pending: Vec<Envelope>,
    /// Sum of the pending envelopes' sizes, compared against PreferredMaxBytes.
    pending_bytes: u32,
}

impl BlockCutter {
    pub fn new(batch_size: BatchSize) -> Self {
        Self {
            batch_size,
            pending: Vec::new(),
            pending_bytes: 0,
        }
    }

    pub fn batch_size(&self) -> BatchSize {
        self.batch_size
    }

    /// Applies new cutting rules to the envelopes that follow.
    pub fn set_batch_size(&mut self, batch_size: BatchSize) {
        self.batch_size = batch_size;
    }

    /// Number of envelopes waiting for a cut.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Enqueues `envelope` (already past [`BatchSize::check`]) and returns the batches it
    /// causes to be cut, exactly as Fabric's `receiver.Ordered`.
    pub fn ordered(&mut self, envelope: Envelope) -> Ordered {
        let size = message_size_bytes(&envelope);
        let mut out = Ordered::default();
        if size > self.batch_size.preferred_max_bytes {
            if !self.pending.is_empty() {
                out.batches.push(self.cut());
            }
            out.batches.push(vec![envelope]);
            out.pending = false;
            return out;
        }
        if self.pending_bytes.saturating_add(size) > self.batch_size.preferred_max_bytes {
            out.batches.push(self.cut());
        }
        self.pending.push(envelope);
        self.pending_bytes += size;
        out.pending = true;
        if self.pending.len() as u64 >= u64::from(self.batch_size.max_message_count) {
            out.batches.push(self.cut());
            out.pending = false;
        }
        out
    }

    /// Returns the pending batch (possibly empty) and starts a new one.
    pub fn cut(&mut self) -> Vec<Envelope> {
        self.pending_bytes = 0;
        std::mem::take(&mut self.pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An envelope of exactly `size` bytes (payload only), tagged in its signature-free
    /// payload's first byte so batches can be told apart.
    fn env(tag: u8, size: usize) -> Envelope {
        let mut payload = vec![0u8; size];
        if size > 0 {
            payload[0] = tag;
        }
        Envelope {
            payload,
            signature: Vec::new(),
        }
    }

    fn tags(batch: &[Envelope]) -> Vec<u8> {
        batch.iter().map(|e| e.payload[0]).collect()
    }

    fn cutter(count: u32, preferred: u32) -> BlockCutter {
        BlockCutter::new(BatchSize {
            max_message_count: count,
            absolute_max_bytes: 1000,
            preferred_max_bytes: preferred,
        })
    }

    #[test]
    fn cuts_at_max_message_count() {
        let mut c = cutter(3, 100);
        assert_eq!(
            c.ordered(env(1, 10)),
            Ordered {
                batches: vec![],
                pending: true
            }
        );
        assert!(c.ordered(env(2, 10)).batches.is_empty());
        let o = c.ordered(env(3, 10));
        assert!(!o.pending);
        assert_eq!(
            o.batches.iter().map(|b| tags(b)).collect::<Vec<_>>(),
            [vec![1, 2, 3]]
        );
        assert_eq!(c.pending_len(), 0);
    }

    #[test]
    fn cuts_before_overflowing_preferred_max_bytes() {
        let mut c = cutter(10, 100);
        c.ordered(env(1, 40));
        c.ordered(env(2, 40));
        // 40 + 40 + 30 > 100: cut [1, 2], then 3 is pending alone.
        let o = c.ordered(env(3, 30));
        assert!(o.pending);
        assert_eq!(
            o.batches.iter().map(|b| tags(b)).collect::<Vec<_>>(),
            [vec![1, 2]]
        );
        assert_eq!(c.pending_len(), 1);
        // Exactly at the limit is not an overflow.
        let o = c.ordered(env(4, 70));
        assert!(o.batches.is_empty() && o.pending);
    }

    #[test]
    fn oversized_envelope_goes_alone_after_the_pending_batch() {
        let mut c = cutter(10, 100);
        c.ordered(env(1, 10));
        let o = c.ordered(env(2, 101));
        assert!(!o.pending);
        assert_eq!(
            o.batches.iter().map(|b| tags(b)).collect::<Vec<_>>(),
            [vec![1], vec![2]]
        );
        // With nothing pending, it is a single batch.
        let o = c.ordered(env(3, 500));
        assert_eq!(
            o.batches.iter().map(|b| tags(b)).collect::<Vec<_>>(),
            [vec![3]]
        );
        assert_eq!(c.pending_len(), 0);
    }

    #[test]
    fn overflow_cut_leaves_the_new_envelope_pending() {
        // The overflow cuts [1]; 2 starts the next batch. With count 1 every envelope cuts.
        let mut c = cutter(2, 50);
        c.ordered(env(1, 30));
        let o = c.ordered(env(2, 30));
        assert_eq!(
            o.batches.iter().map(|b| tags(b)).collect::<Vec<_>>(),
            [vec![1]]
        );
        let mut c = cutter(1, 50);
        let o = c.ordered(env(1, 30));
        assert_eq!(o.batches.len(), 1);
        assert!(!o.pending);
    }

    #[test]
    fn size_counts_payload_and_signature() {
        let e = Envelope {
            payload: vec![0; 7],
            signature: vec![0; 5],
        };
        assert_eq!(message_size_bytes(&e), 12);
        let bs = BatchSize {
            max_message_count: 1,
            absolute_max_bytes: 11,
            preferred_max_bytes: 11,
        };
        let err = bs.check(&e).unwrap_err();
        assert_eq!(
            err.to_string(),
            "message payload is 12 bytes and exceeds maximum allowed 11 bytes"
        );
        assert!(
            BatchSize {
                absolute_max_bytes: 12,
                ..bs
            }
            .check(&e)
            .is_ok()
        );
    }

    #[test]
    fn cut_empties_and_resets_bytes() {
        let mut c = cutter(10, 100);
        c.ordered(env(1, 90));
        assert_eq!(tags(&c.cut()), [1]);
        assert!(c.cut().is_empty());
        // After the cut the byte count starts from zero again.
        assert!(c.ordered(env(2, 90)).batches.is_empty());
    }

    proptest::proptest! {
        /// Whatever arrives: order is kept, nothing is lost, no batch exceeds the count, and
        /// only a batch of one envelope exceeds PreferredMaxBytes.
        #[test]
        fn batches_keep_order_and_limits(
            sizes in proptest::collection::vec(1usize..200, 0..60),
            count in 1u32..8,
            preferred in 1u32..300,
        ) {
            let mut c = cutter(count, preferred);
            let mut batches = Vec::new();
            for (i, size) in sizes.iter().enumerate() {
                let o = c.ordered(env(i as u8, *size));
                proptest::prop_assert_eq!(o.pending, c.pending_len() > 0);
                batches.extend(o.batches);
            }
            batches.push(c.cut());
            let mut seen = Vec::new();
            for b in batches.iter().filter(|b| !b.is_empty()) {
                proptest::prop_assert!(b.len() <= count as usize);
                let bytes: u32 = b.iter().map(message_size_bytes).sum();
                proptest::prop_assert!(b.len() == 1 || bytes <= preferred);
                seen.extend(b.iter().map(|e| e.payload.len()));
            }
            proptest::prop_assert_eq!(seen, sizes);
        }
    }
}

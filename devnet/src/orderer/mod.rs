//! The ordering service: the block cutter and the task that chains, signs and delivers blocks.

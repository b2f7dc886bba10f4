//! Batches of requests with a bound on how many are in flight: the client
//! speaks HTTP/1.1, so each concurrent request is a connection, and an
//! unbounded batch of a large release would open thousands and be throttled.

use std::future::Future;

use futures::StreamExt;

/// Requests of one batch in flight at once.
pub const IN_FLIGHT: usize = 32;

/// Runs `futures` at most [`IN_FLIGHT`] at a time; the results keep their order.
pub async fn in_parallel<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    futures::stream::iter(futures)
        .buffered(IN_FLIGHT)
        .collect()
        .await
}

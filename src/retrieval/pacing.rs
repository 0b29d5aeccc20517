//! When a shard's next GetRecords starts: on a schedule shared by every shard of the process.
//!
//! Each shard waits at least `idleTimeBetweenReadsInMillis` from the start of one call to the
//! start of the next. Left to themselves, the shards of a worker drift to unrelated phases and
//! each wakes the process on its own: with two idle shards, half of all wake-ups are timers
//! that could have been shared, and an idle worker's cost is mostly its wake-ups. Here the calls
//! start on a grid counted from one instant of the worker (its epoch), with a period a hair
//! longer than the interval, so shards polled at the same interval fire on the same tick. A shard
//! off the grid (its first call, after a slow call, a back-off or a full prefetch queue) waits at
//! most a quarter of the interval longer than it must, and is on the grid within five calls.
//!
//! Pure: the caller sleeps until the instant returned.

use std::time::{Duration, Instant};

/// The interval before a shard's next call: `idle`, or `millisBehindLatestThresholdForReducedTps`
/// (`reduced_below`) if that is longer and the last response said the shard is less than it
/// behind the tip (Java `KinesisSleepTimeController`: a response without `millisBehindLatest`
/// does not slow down).
pub fn interval(
    idle: Duration,
    reduced_below: Option<Duration>,
    last_behind_ms: Option<i64>,
) -> Duration {
    match (reduced_below, last_behind_ms) {
        (Some(threshold), Some(behind))
            if u128::try_from(behind).map_or(true, |b| b < threshold.as_millis()) =>
        {
            idle.max(threshold)
        }
        _ => idle,
    }
}

/// The grid's period: the interval plus 1 % (at least 1 ms), so that calls on the grid are
/// never closer than the interval, however long each call takes.
fn period(idle: Duration) -> Duration {
    idle + (idle / 100).max(Duration::from_millis(1))
}

/// The start of the next call, for a shard polled every `idle` whose last call started at
/// `last_start`: the first grid point at or after `last_start + idle` if that is at most a
/// quarter of `idle` away, else `last_start + idle` plus that quarter (a step toward the grid).
pub fn next_start(epoch: Instant, last_start: Instant, idle: Duration) -> Instant {
    let earliest = last_start + idle;
    let period = period(idle).as_nanos();
    let since = earliest.saturating_duration_since(epoch).as_nanos();
    let grid_nanos = since.div_ceil(period) * period;
    let grid = epoch + Duration::from_nanos(u64::try_from(grid_nanos).unwrap_or(u64::MAX));
    let step = idle / 4;
    if grid.saturating_duration_since(earliest) <= step {
        grid
    } else {
        earliest + step
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: Duration = Duration::from_millis(250);

    #[test]
    fn near_the_tip_the_reduced_tps_threshold_stretches_the_interval() {
        let ms = Duration::from_millis;
        // At the tip, and just under the threshold: the threshold, if longer than idle.
        assert_eq!(interval(IDLE, Some(ms(1000)), Some(0)), ms(1000));
        assert_eq!(interval(IDLE, Some(ms(1000)), Some(999)), ms(1000));
        // At or behind the threshold: idle (Java compares with <).
        assert_eq!(interval(IDLE, Some(ms(1000)), Some(1000)), IDLE);
        assert_eq!(interval(IDLE, Some(ms(1000)), Some(86_400_000)), IDLE);
        // A threshold shorter than idle never shortens it.
        assert_eq!(interval(IDLE, Some(ms(100)), Some(0)), IDLE);
        // Off, or no millisBehindLatest in the response.
        assert_eq!(interval(IDLE, None, Some(0)), IDLE);
        assert_eq!(interval(IDLE, Some(ms(1000)), None), IDLE);
    }

    /// Runs a shard for `calls` calls from `first`, each call taking `took`; returns the starts.
    fn starts(epoch: Instant, first: Instant, took: Duration, calls: usize) -> Vec<Instant> {
        let mut out = vec![first];
        for _ in 1..calls {
            let last = *out.last().unwrap_or(&first);
            let next = next_start(epoch, last, IDLE).max(last + took);
            out.push(next);
        }
        out
    }

    #[test]
    fn never_sooner_than_the_interval_and_never_much_later() {
        let epoch = Instant::now();
        for offset_ms in [0u64, 1, 3, 60, 61, 63, 100, 200, 249, 251, 400, 1234] {
            let last = epoch + Duration::from_millis(offset_ms);
            let next = next_start(epoch, last, IDLE);
            assert!(next >= last + IDLE, "offset {offset_ms}");
            assert!(next <= last + IDLE + IDLE / 4, "offset {offset_ms}");
        }
    }

    #[test]
    fn shards_at_different_phases_end_on_the_same_ticks() {
        let epoch = Instant::now();
        let a = starts(
            epoch,
            epoch + Duration::from_millis(7),
            Duration::from_millis(4),
            8,
        );
        let b = starts(
            epoch,
            epoch + Duration::from_millis(180),
            Duration::from_millis(30),
            8,
        );
        // Within five calls each is on the grid; from then on both start at the same instants.
        let a_tail: Vec<_> = a[5..].to_vec();
        let b_tail: Vec<_> = b[5..].to_vec();
        assert_eq!(a_tail, b_tail, "{a:?}\n{b:?}");
    }

    #[test]
    fn a_shard_on_the_grid_stays_on_it_whatever_its_calls_take() {
        let epoch = Instant::now();
        let on_grid = epoch + period(IDLE) * 3;
        for took_ms in [0u64, 5, 100, 250] {
            let s = starts(epoch, on_grid, Duration::from_millis(took_ms), 6);
            for (i, w) in s.windows(2).enumerate() {
                assert_eq!(
                    w[1] - w[0],
                    period(IDLE),
                    "call {i}, each taking {took_ms} ms"
                );
            }
        }
    }

    #[test]
    fn from_any_phase_a_shard_is_on_the_grid_within_five_calls() {
        let epoch = Instant::now();
        let p = period(IDLE).as_nanos();
        for phase_ms in (0..260).step_by(7) {
            let first = epoch + Duration::from_secs(2) + Duration::from_millis(phase_ms);
            let s = starts(epoch, first, Duration::from_millis(3), 8);
            for t in &s[5..] {
                assert_eq!((*t - epoch).as_nanos() % p, 0, "phase {phase_ms} ms: {s:?}");
            }
        }
    }
}

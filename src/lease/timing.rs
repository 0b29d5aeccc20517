//! The lease loops' periods, as `DynamoDBLeaseCoordinator` computes them from `failoverTimeMillis`
//! (`docs/leases.md`, "Timing"). Pure arithmetic in whole milliseconds, with Java's integer
//! division; scheduling the loops is the worker's job.

use std::time::Duration;

/// Java's `epsilonMillis` (not configurable from multilang): 25 ms.
pub const EPSILON: Duration = Duration::from_millis(25);

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Renewer period, fixed rate: `failoverTimeMillis / 3 − epsilonMillis` (integer division);
/// 3308 ms for the default 10 s. Never negative: a failover below 75 ms gives zero.
pub fn renewal_period(failover: Duration) -> Duration {
    Duration::from_millis((millis(failover) / 3).saturating_sub(millis(EPSILON)))
}

/// Taker period, fixed delay (2.x mode only): `(failoverTimeMillis + epsilonMillis) × 2`;
/// 20050 ms for the default 10 s.
pub fn taker_period(failover: Duration) -> Duration {
    Duration::from_millis(
        millis(failover)
            .saturating_add(millis(EPSILON))
            .saturating_mul(2),
    )
}

/// How recently a lease must have been confirmed ours for a batch to be handed to its child:
/// two thirds of `failoverTimeMillis`. A worker that takes the lease starts its processor a whole
/// failover time after its take, so this leaves a third of it for the batch in hand; renewals
/// every third of it keep a healthy lease well inside the window.
pub fn delivery_window(failover: Duration) -> Duration {
    failover.saturating_mul(2) / 3
}

/// Lease discoverer period, fixed rate (3.x follower mode):
/// `leaseAssignmentIntervalMillis / 2 − epsilonMillis`; 9975 ms for the default 20 s.
pub fn lease_discoverer_period(lease_assignment_interval: Duration) -> Duration {
    Duration::from_millis((millis(lease_assignment_interval) / 2).saturating_sub(millis(EPSILON)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_java() {
        let failover = Duration::from_millis(10_000);
        assert_eq!(renewal_period(failover), Duration::from_millis(3308));
        assert_eq!(taker_period(failover), Duration::from_millis(20_050));
        // Not Java's: kcl-bridge's own, two renewal periods and more.
        assert_eq!(
            delivery_window(failover),
            Duration::from_nanos(6_666_666_666)
        );
        assert!(delivery_window(failover) > renewal_period(failover) * 2);
        assert_eq!(
            lease_discoverer_period(Duration::from_millis(20_000)),
            Duration::from_millis(9975)
        );
    }

    #[test]
    fn integer_division_and_no_underflow() {
        // 10001 / 3 = 3333 in Java's long arithmetic.
        assert_eq!(
            renewal_period(Duration::from_millis(10_001)),
            Duration::from_millis(3308)
        );
        // Sub-millisecond parts are dropped, as the config holds whole milliseconds anyway.
        assert_eq!(
            renewal_period(Duration::from_micros(10_000_999)),
            Duration::from_millis(3308)
        );
        assert_eq!(renewal_period(Duration::from_millis(60)), Duration::ZERO);
        assert_eq!(taker_period(Duration::ZERO), Duration::from_millis(50));
        assert_eq!(lease_discoverer_period(Duration::ZERO), Duration::ZERO);
    }
}

// Package reliability holds only tests: cross-package checks of how the
// phone migration behaves when things go wrong and at scale. It has no API.
//
//   - fault_test.go: the fault matrix — every migrating scenario × every
//     mutating request of its apply × six faults (one 500, persistent 500,
//     429 storm, a response slower than the client timeout, a dropped
//     connection, a crash right after the write lands), then resume or roll
//     back; the tenant must end migrated or original, and Passwordless and
//     MFA messages must be deliverable at every point in between.
//   - lock_test.go: two concurrent applies on one tenant; the second refuses.
//   - leak_test.go: sentinel secrets never reach logs, errors, plans,
//     checkpoints or reports of the library.
//   - bench_test.go: calls per migration against the minimum, a fleet of 200
//     rate-limited tenants (our retrier and go-auth0's), cancellation latency
//     during a rate-limit wait, memory for 1,000 tenants. Figures are in
//     BENCHMARKS.md at the repository root.
package reliability

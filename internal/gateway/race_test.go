//go:build race

package gateway

// raceEnabled: the race detector enlarges stack frames, so TestConnMemoryBound allows
// stacks twice as large.
const raceEnabled = true

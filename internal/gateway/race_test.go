//go:build race

package gateway

// raceEnabled: the race detector enlarges stack frames and heap objects, so the memory
// per connection is not what TestConnMemoryBound bounds.
const raceEnabled = true

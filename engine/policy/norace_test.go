//go:build !race

package policy

// raceEnabled reports whether the tests run under the race detector.
const raceEnabled = false

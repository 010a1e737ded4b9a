package facts

import "time"

// Time bounds every token time is clamped to: the range a time.Time's UnixNano (and OPA's
// nanosecond time builtins) can hold, 1677-09-21 to 2262-04-11, with a margin. A time outside it
// saturates, so an expiry in 2300 reads as far in the future (lifetime-too-long), never as an
// overflowed past (expired).
var (
	MinTime = time.Date(1678, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
)

// ClampTime saturates t to [MinTime, MaxTime].
func ClampTime(t time.Time) time.Time {
	switch {
	case t.Before(MinTime):
		return MinTime
	case t.After(MaxTime):
		return MaxTime
	}
	return t
}

// AddDays adds n days to t, saturating at MaxTime (or MinTime) instead of overflowing, whatever n.
func AddDays(t time.Time, n int64) time.Time {
	const maxDays = 220000 // more than MaxTime - MinTime in days
	switch {
	case n > maxDays:
		return MaxTime
	case n < -maxDays:
		return MinTime
	}
	return ClampTime(t.AddDate(0, 0, int(n)))
}

// ClampTimes saturates every time of a token (see ClampTime).
func (t *Token) ClampTimes() {
	for _, p := range []**time.Time{&t.CreatedAt, &t.ExpiresAt, &t.LastUsedAt} {
		if *p != nil {
			c := ClampTime(**p)
			*p = &c
		}
	}
}

package enforcement

import (
	"fmt"
	"time"
)

// LocalDateTimeLayout is DDM's TargetLocalDateTime format: RFC 3339
// without a zone.
const LocalDateTimeLayout = "2006-01-02T15:04:05"

// Earth's time zones span UTC-12 to UTC+14: a wall-clock time happens first
// in UTC+14 and last in UTC-12.
const (
	earliestZoneOffset = 14 * time.Hour
	latestZoneOffset   = 12 * time.Hour
)

// parseLocalDateTime reads a zone-less wall-clock time. The result is in
// UTC only as a container for the wall-clock fields; it is never an
// instant. Calendar arithmetic on it (AddDate) therefore never meets a
// daylight-saving change.
func parseLocalDateTime(s string) (time.Time, error) {
	t, err := time.Parse(LocalDateTimeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("local date-time %q: want yyyy-mm-ddThh:mm:ss without a zone", s)
	}
	return t, nil
}

// parseTimeOfDay reads "HH:MM" (24 h); empty means DefaultTimeOfDay.
func parseTimeOfDay(s string) (hour, minute int, err error) {
	if s == "" {
		s = DefaultTimeOfDay
	}
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, 0, fmt.Errorf("time of day %q: want HH:MM (24-hour)", s)
	}
	return t.Hour(), t.Minute(), nil
}

// daysAfterPosting is the wall-clock deadline N calendar days after Apple's
// posting date, at the time of day. Apple's date has no zone; neither has
// the result, so it is the same on every device whatever its zone or DST.
func daysAfterPosting(posted time.Time, days int, timeOfDay string) (string, error) {
	h, m, err := parseTimeOfDay(timeOfDay)
	if err != nil {
		return "", err
	}
	d := time.Date(posted.Year(), posted.Month(), posted.Day()+days, h, m, 0, 0, time.UTC)
	return d.Format(LocalDateTimeLayout), nil
}

// deadlineInstant turns a wall-clock deadline into an instant. In the
// device's zone when known; otherwise the latest (or earliest) instant at
// which that wall-clock time occurs anywhere.
func deadlineInstant(wall time.Time, loc *time.Location, latest bool) time.Time {
	if loc != nil {
		return time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), 0, loc)
	}
	if latest {
		return wall.Add(latestZoneOffset)
	}
	return wall.Add(-earliestZoneOffset)
}

// deadlinePassed reports whether a device's local deadline is surely over.
func deadlinePassed(local string, loc *time.Location, now time.Time) bool {
	wall, err := parseLocalDateTime(local)
	if err != nil {
		return false
	}
	return !now.Before(deadlineInstant(wall, loc, true))
}

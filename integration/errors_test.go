package integration

import (
	"strconv"
	"strings"
	"testing"
)

// requireOneLineError fails t unless res is a failure whose stderr is one
// line whose message names value. An empty value checks only the shape.
func requireOneLineError(t testing.TB, res result, value string) {
	t.Helper()
	if res.Code == 0 {
		t.Errorf("exit code: got 0, want non-zero (%s)", res)
	}
	var lines []string
	for _, line := range strings.Split(res.Stderr, "\n") {
		if strings.TrimSpace(line) != "" {
			lines = append(lines, line)
		}
	}
	if len(lines) != 1 {
		t.Errorf("stderr: got %d lines, want 1: %q", len(lines), res.Stderr)
		return
	}
	if msg := logMessage(lines[0]); !strings.Contains(msg, value) {
		t.Errorf("error message: got %q, want it to name %q", msg, value)
	}
}

// logMessage returns the unquoted msg field of a logfmt line such as
// `time="…" level=error msg="invalid \"x\""`, or the line itself when it
// has none.
func logMessage(line string) string {
	_, rest, ok := strings.Cut(line, " msg=")
	if !ok {
		return line
	}
	quoted, err := strconv.QuotedPrefix(rest)
	if err != nil {
		return rest
	}
	msg, err := strconv.Unquote(quoted)
	if err != nil {
		return rest
	}
	return msg
}

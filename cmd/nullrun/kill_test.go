package main

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseSignal(t *testing.T) {
	tests := []struct {
		in   string
		want unix.Signal
	}{
		{"9", unix.SIGKILL},
		{"15", unix.SIGTERM},
		{"0", 0},
		{"64", 64},
		{"KILL", unix.SIGKILL},
		{"SIGKILL", unix.SIGKILL},
		{"kill", unix.SIGKILL},
		{"sigterm", unix.SIGTERM},
		{"SigHup", unix.SIGHUP},
		{"USR1", unix.SIGUSR1},
		{"SIGWINCH", unix.SIGWINCH},
	}
	for _, tt := range tests {
		got, err := parseSignal(tt.in)
		if err != nil {
			t.Errorf("parseSignal(%q) error: %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("parseSignal(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestParseSignalInvalid(t *testing.T) {
	for _, in := range []string{"", "FOO", "SIGFOO", "SIG", "-1", "65", "9x", " KILL"} {
		if got, err := parseSignal(in); err == nil {
			t.Errorf("parseSignal(%q) = %d, want an error", in, got)
		}
	}
}

package main

import (
	"slices"
	"testing"
)

const psOutput = `UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 10:00 ?        00:00:01 /sbin/init
root        4242       1  0 10:01 ?        00:00:00 sleep 1000
root        4243    4242  0 10:01 ?        00:00:00 sh -c echo  4242
`

func TestFilterPsOutput(t *testing.T) {
	got, err := filterPsOutput(psOutput, []int{4242, 4243})
	if err != nil {
		t.Fatalf("filterPsOutput: %v", err)
	}
	want := []string{
		"UID          PID    PPID  C STIME TTY          TIME CMD",
		"root        4242       1  0 10:01 ?        00:00:00 sleep 1000",
		"root        4243    4242  0 10:01 ?        00:00:00 sh -c echo  4242",
	}
	if !slices.Equal(got, want) {
		t.Errorf("filterPsOutput:\ngot  %q\nwant %q", got, want)
	}

	got, err = filterPsOutput(psOutput, nil)
	if err != nil {
		t.Fatalf("filterPsOutput without pids: %v", err)
	}
	if len(got) != 1 {
		t.Errorf("filterPsOutput without pids: got %q, want the header only", got)
	}
}

func TestFilterPsOutputPIDColumnElsewhere(t *testing.T) {
	out := "COMMAND PID\nsleep 7\nsh 8\n"
	got, err := filterPsOutput(out, []int{8})
	if err != nil {
		t.Fatalf("filterPsOutput: %v", err)
	}
	if want := []string{"COMMAND PID", "sh 8"}; !slices.Equal(got, want) {
		t.Errorf("filterPsOutput: got %q, want %q", got, want)
	}
}

func TestFilterPsOutputErrors(t *testing.T) {
	tests := map[string]string{
		"no PID column":   "UID CMD\nroot init\n",
		"PID not numeric": "PID CMD\nabc init\n",
	}
	for name, out := range tests {
		if got, err := filterPsOutput(out, []int{1}); err == nil {
			t.Errorf("%s: got %q, want an error", name, got)
		}
	}
}

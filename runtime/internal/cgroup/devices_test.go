package cgroup

import (
	"errors"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestWriteDeviceRulesInOrder(t *testing.T) {
	major, minor := int64(10), int64(229)
	block, blockMinor := int64(8), int64(20)
	linux := &specs.Linux{Resources: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: &major, Minor: &minor, Access: "rwm"},
		{Allow: true, Type: "b", Major: &block, Minor: &blockMinor, Access: "rw"},
	}}}
	rules, err := deviceRules(linux)
	if err != nil {
		t.Fatalf("deviceRules: %v", err)
	}

	var got []string
	record := func(dir, file, data string) error {
		got = append(got, dir+"/"+file+": "+data)
		return nil
	}
	if err := writeDeviceRulesInOrder("/cg", rules, record); err != nil {
		t.Fatalf("writeDeviceRulesInOrder: %v", err)
	}

	// The spec's rules come first, in the spec's order, and the default
	// rules follow them.
	want := []string{
		"/cg/devices.deny: a *:* rwm",
		"/cg/devices.allow: c 10:229 rwm",
		"/cg/devices.allow: b 8:20 rw",
		"/cg/devices.allow: c *:* m",
		"/cg/devices.allow: b *:* m",
	}
	if len(got) != len(rules) {
		t.Errorf("number of writes: got %d, want %d (one per rule)", len(got), len(rules))
	}
	if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		t.Errorf("writes: got %q, want them to start with %q", got, want)
	}
}

func TestWriteDeviceRulesInOrderStopsAtError(t *testing.T) {
	rules, err := deviceRules(&specs.Linux{})
	if err != nil {
		t.Fatalf("deviceRules: %v", err)
	}
	writes := 0
	failFirst := func(dir, file, data string) error {
		writes++
		return errors.New("permission denied")
	}

	err = writeDeviceRulesInOrder("/cg", rules, failFirst)
	if err == nil {
		t.Fatalf("error: got nil, want the write error")
	}
	if writes != 1 {
		t.Errorf("writes after a failed one: got %d in all, want 1", writes)
	}
}

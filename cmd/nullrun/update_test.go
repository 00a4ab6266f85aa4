package main

import (
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli"
)

// updateContext parses args with the update command's flags.
func updateContext(t *testing.T, args ...string) *cli.Context {
	t.Helper()
	set := flag.NewFlagSet("update", flag.ContinueOnError)
	set.SetOutput(io.Discard)
	for _, f := range updateCommand.Flags {
		f.Apply(set)
	}
	if err := set.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return cli.NewContext(cli.NewApp(), set, nil)
}

func encode(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestUpdateFlagsToResources(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, `{}`},
		{[]string{"--memory", "64m"}, `{"memory":{"limit":67108864}}`},
		{[]string{"--memory", "1.5g", "--memory-swap", "-1"},
			`{"memory":{"limit":1610612736,"swap":-1}}`},
		{[]string{"--memory-reservation", "512KiB"}, `{"memory":{"reservation":524288}}`},
		{[]string{"--pids-limit", "80"}, `{"pids":{"limit":80}}`},
		{[]string{"--pids-limit", "-1"}, `{"pids":{"limit":-1}}`},
		{[]string{"--cpu-quota", "50000", "--cpu-period", "100000"},
			`{"cpu":{"quota":50000,"period":100000}}`},
		{[]string{"--cpu-share", "512", "--cpuset-cpus", "0-1", "--cpuset-mems", "0"},
			`{"cpu":{"shares":512,"cpus":"0-1","mems":"0"}}`},
		{[]string{"--cpu-rt-period", "1000000", "--cpu-rt-runtime", "-1"},
			`{"cpu":{"realtimeRuntime":-1,"realtimePeriod":1000000}}`},
		{[]string{"--blkio-weight", "300"}, `{"blockIO":{"weight":300}}`},
		// 0 leaves a setting unchanged, as in runc.
		{[]string{"--memory", "0", "--pids-limit", "0", "--cpu-quota", "0"}, `{}`},
	}
	for _, tt := range tests {
		r, err := updateResources(updateContext(t, tt.args...), strings.NewReader(""))
		if err != nil {
			t.Errorf("%v: got error %v, want %s", tt.args, err, tt.want)
			continue
		}
		if got := encode(t, r); got != tt.want {
			t.Errorf("%v: got %s, want %s", tt.args, got, tt.want)
		}
	}
}

func TestUpdateFlagsInvalid(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--memory", "lots"}, "--memory"},
		{[]string{"--memory", "-2"}, "--memory"},
		{[]string{"--memory", "9000000p"}, "maximum"},
		{[]string{"--cpu-quota", "1.5"}, "--cpu-quota"},
		{[]string{"--cpu-period", "-5"}, "--cpu-period"},
		{[]string{"--blkio-weight", "70000"}, "--blkio-weight"},
		{[]string{"--l3-cache-schema", "L3:0=ff"}, "Intel RDT"},
		{[]string{"--mem-bw-schema", "MB:0=70"}, "Intel RDT"},
	}
	for _, tt := range tests {
		_, err := updateResources(updateContext(t, tt.args...), strings.NewReader(""))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: got error %v, want one mentioning %q", tt.args, err, tt.want)
		}
	}
}

func TestUpdateResourcesFromStdinAndFile(t *testing.T) {
	const doc = `{"memory": {"limit": 134217728}, "pids": {"limit": 90}}`
	const want = `{"memory":{"limit":134217728},"pids":{"limit":90}}`

	// --resources wins over the individual flags, as in runc.
	r, err := updateResources(updateContext(t, "--resources", "-", "--memory", "1g"), strings.NewReader(doc))
	if err != nil {
		t.Fatalf("--resources -: %v", err)
	}
	if got := encode(t, r); got != want {
		t.Errorf("--resources -: got %s, want %s", got, want)
	}

	path := filepath.Join(t.TempDir(), "resources.json")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err = updateResources(updateContext(t, "--resources="+path), strings.NewReader(""))
	if err != nil {
		t.Fatalf("--resources FILE: %v", err)
	}
	if got := encode(t, r); got != want {
		t.Errorf("--resources FILE: got %s, want %s", got, want)
	}

	if _, err := updateResources(updateContext(t, "--resources", "-"), strings.NewReader("{")); err == nil {
		t.Errorf("--resources - with truncated JSON: got no error, want one")
	}
	missing := filepath.Join(t.TempDir(), "missing.json")
	if _, err := updateResources(updateContext(t, "--resources", missing), nil); err == nil {
		t.Errorf("--resources %s: got no error, want one for a missing file", missing)
	}
}

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"0", 0}, {"100", 100}, {"-1", -1}, {"1k", 1 << 10}, {"1K", 1 << 10}, {"64m", 64 << 20},
		{"64MB", 64 << 20}, {"64MiB", 64 << 20}, {"2 g", 2 << 30}, {"1.5g", 3 << 29},
		{"1t", 1 << 40}, {"1p", 1 << 50}, {"10b", 10},
	}
	for _, tt := range tests {
		got, err := parseBytes(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseBytes(%q): got %d, %v, want %d", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "m", "1x", "-5", "1..5m", "1 m b"} {
		if got, err := parseBytes(in); err == nil {
			t.Errorf("parseBytes(%q): got %d, want an error", in, got)
		}
	}
}

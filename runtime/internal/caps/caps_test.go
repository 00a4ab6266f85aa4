package caps

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nullrun/nullrun/internal/linux"
)

// The helper process is this test binary re-executed with helperEnv set to
// "prepare" or "skip-prepare". It changes to uid and gid 1000 keeping
// CAP_NET_BIND_SERVICE and prints its thread's capability lines.
const helperEnv = "NULLRUN_CAPS_TEST_HELPER"

const (
	capChown          = 1 << uint(capability.CAP_CHOWN)
	capNetBindService = 1 << uint(capability.CAP_NET_BIND_SERVICE)
	capKill           = 1 << uint(capability.CAP_KILL)
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		if err := runHelper(mode == "prepare"); err != nil {
			fmt.Println("error:", err)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runHelper(prepare bool) error {
	runtime.LockOSThread()

	s, err := Parse(&specs.LinuxCapabilities{
		Bounding:    []string{"CAP_CHOWN", "CAP_NET_BIND_SERVICE"},
		Effective:   []string{"CAP_NET_BIND_SERVICE"},
		Permitted:   []string{"CAP_NET_BIND_SERVICE"},
		Inheritable: []string{"CAP_NET_BIND_SERVICE"},
		Ambient:     []string{"CAP_NET_BIND_SERVICE"},
	})
	if err != nil {
		return err
	}
	if err := s.DropBounding(); err != nil {
		return err
	}
	if prepare {
		if err := s.PrepareUserChange(); err != nil {
			return err
		}
	}
	if err := linux.SetThreadCredentials(1000, 1000, nil); err != nil {
		return err
	}
	if err := s.Apply(); err != nil {
		return err
	}

	// Capabilities and credentials are per thread: read this thread's.
	status, err := os.ReadFile("/proc/thread-self/status")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "Cap") || strings.HasPrefix(line, "Uid:") {
			fmt.Println(line)
		}
	}
	return nil
}

func runHelperProcess(t *testing.T, mode string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the helper drops bounding capabilities and changes to uid 1000")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	if os.Getenv("GORACE") == "" {
		// Under -race, every process otherwise sleeps a second at exit.
		cmd.Env = append(cmd.Env, "GORACE=atexit_sleep_ms=0")
	}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("helper failed: %v", err)
	}
	return stdout.String()
}

// parseStatus returns the fields of /proc/<pid>/status lines in out.
func parseStatus(t *testing.T, out string) map[string]string {
	t.Helper()
	fields := make(map[string]string)
	scanner := bufio.NewScanner(strings.NewReader(out))
	for scanner.Scan() {
		key, value, ok := strings.Cut(scanner.Text(), ":")
		if !ok {
			t.Fatalf("helper printed %q, want status lines", scanner.Text())
		}
		fields[key] = strings.TrimSpace(value)
	}
	return fields
}

func TestApplyAfterUserChange(t *testing.T) {
	out := runHelperProcess(t, "prepare")
	if strings.HasPrefix(out, "error:") {
		t.Fatalf("helper: %s", out)
	}
	fields := parseStatus(t, out)

	if uid := strings.Fields(fields["Uid"]); len(uid) == 0 || uid[0] != "1000" {
		t.Errorf("got Uid %q, want 1000 first", fields["Uid"])
	}
	tests := []struct {
		field string
		want  uint64
	}{
		{"CapEff", capNetBindService},
		{"CapPrm", capNetBindService},
		{"CapInh", capNetBindService},
		{"CapAmb", capNetBindService},
		{"CapBnd", capNetBindService | capChown},
	}
	for _, tt := range tests {
		got, err := strconv.ParseUint(fields[tt.field], 16, 64)
		if err != nil {
			t.Errorf("%s: got %q, want a hex mask", tt.field, fields[tt.field])
			continue
		}
		if got != tt.want {
			t.Errorf("%s: got %#x, want %#x", tt.field, got, tt.want)
		}
	}
}

func TestApplyWithoutPrepare(t *testing.T) {
	out := runHelperProcess(t, "skip-prepare")
	if !strings.HasPrefix(out, "error:") {
		t.Fatalf("helper printed %q, want an error from Apply", out)
	}
	if !strings.Contains(out, "PrepareUserChange") {
		t.Errorf("got %q, want the error to mention PrepareUserChange", out)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   *specs.LinuxCapabilities
		want Set
	}{
		{name: "nil", in: nil},
		{name: "empty", in: &specs.LinuxCapabilities{}},
		{
			name: "all sets",
			in: &specs.LinuxCapabilities{
				Bounding:    []string{"CAP_CHOWN", "CAP_NET_BIND_SERVICE"},
				Effective:   []string{"CAP_CHOWN"},
				Permitted:   []string{"CAP_CHOWN", "CAP_NET_BIND_SERVICE"},
				Inheritable: []string{"CAP_NET_BIND_SERVICE"},
				Ambient:     []string{"CAP_NET_BIND_SERVICE"},
			},
			want: Set{
				bounding:    capChown | capNetBindService,
				effective:   capChown,
				permitted:   capChown | capNetBindService,
				inheritable: capNetBindService,
				ambient:     capNetBindService,
			},
		},
		{
			name: "ambient outside inheritable dropped",
			in: &specs.LinuxCapabilities{
				Permitted: []string{"CAP_KILL"},
				Ambient:   []string{"CAP_KILL"},
			},
			want: Set{permitted: capKill},
		},
		{
			name: "duplicates",
			in:   &specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN", "CAP_CHOWN"}},
			want: Set{bounding: capChown},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			masks := [][3]any{
				{"bounding", got.bounding, tt.want.bounding},
				{"effective", got.effective, tt.want.effective},
				{"permitted", got.permitted, tt.want.permitted},
				{"inheritable", got.inheritable, tt.want.inheritable},
				{"ambient", got.ambient, tt.want.ambient},
			}
			for _, m := range masks {
				if m[1] != m[2] {
					t.Errorf("%s: got %#x, want %#x", m[0], m[1], m[2])
				}
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name string
		in   specs.LinuxCapabilities
		want string
	}{
		{"unknown name", specs.LinuxCapabilities{Effective: []string{"CAP_FLY"}}, `"CAP_FLY"`},
		{"missing prefix", specs.LinuxCapabilities{Bounding: []string{"CHOWN"}}, `"CHOWN"`},
		{"lower case", specs.LinuxCapabilities{Bounding: []string{"cap_chown"}}, `"cap_chown"`},
		{"set named", specs.LinuxCapabilities{Ambient: []string{"CAP_NOPE"}}, "ambient"},
		{
			"effective outside permitted",
			specs.LinuxCapabilities{Effective: []string{"CAP_KILL"}},
			"effective CAP_KILL not in the permitted set",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(&tt.in)
			if err == nil {
				t.Fatalf("got no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLookupUnsupported(t *testing.T) {
	// A kernel whose last capability is CAP_CHOWN supports nothing after it.
	_, err := lookup("CAP_KILL", capability.CAP_CHOWN)
	if err == nil {
		t.Fatalf("got no error, want one for a capability newer than the kernel")
	}
	if !strings.Contains(err.Error(), "CAP_KILL is not supported by this kernel") {
		t.Errorf("got error %q, want it to name CAP_KILL as unsupported", err)
	}
}

func TestCheckGrantable(t *testing.T) {
	// The test process's bounding set is whatever it inherited; every
	// capability in it is grantable and a set of exactly those passes.
	own, err := capability.NewPid2(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := own.Load(); err != nil {
		t.Fatal(err)
	}
	last, err := capability.LastCap()
	if err != nil {
		t.Fatal(err)
	}
	var have, lacking []string
	for c := capability.Cap(0); c <= last; c++ {
		name := "CAP_" + strings.ToUpper(c.String())
		if own.Get(capability.BOUNDING, c) {
			have = append(have, name)
		} else {
			lacking = append(lacking, name)
		}
	}
	s, err := Parse(&specs.LinuxCapabilities{Bounding: have})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CheckGrantable(); err != nil {
		t.Errorf("own bounding set: got %v, want no error", err)
	}
	if len(lacking) == 0 {
		t.Skip("the test process has every capability in its bounding set, so none can be missing")
	}
	s, err = Parse(&specs.LinuxCapabilities{Effective: lacking[:1], Permitted: lacking[:1]})
	if err != nil {
		t.Fatal(err)
	}
	err = s.CheckGrantable()
	if err == nil || !strings.Contains(err.Error(), lacking[0]) {
		t.Errorf("capability outside the bounding set: got %v, want an error naming %s", err, lacking[0])
	}
}

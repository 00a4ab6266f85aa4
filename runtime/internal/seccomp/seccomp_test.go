package seccomp

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

func uintPtr(v uint) *uint { return &v }

func loadFixture(t *testing.T, name string) *specs.LinuxSeccomp {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var s specs.LinuxSeccomp
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return &s
}

func compile(t *testing.T, s *specs.LinuxSeccomp) (*Filter, []string) {
	t.Helper()
	f, unknown, err := Compile(s)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	t.Cleanup(f.Release)
	return f, unknown
}

func TestCompileDefaultProfile(t *testing.T) {
	s := loadFixture(t, "default.json")
	names := 0
	for _, entry := range s.Syscalls {
		names += len(entry.Names)
	}
	if names < 300 {
		t.Fatalf("fixture names %d syscalls, want at least 300", names)
	}

	f, unknown := compile(t, s)
	if len(unknown) != 0 {
		t.Errorf("got unknown syscalls %v, want none", unknown)
	}
	if len(f.program) == 0 {
		t.Errorf("got an empty program, want BPF instructions")
	}
	if f.flags != 0 {
		t.Errorf("got flags %#x, want 0", f.flags)
	}

	out, err := os.Create(filepath.Join(t.TempDir(), "filter.bpf"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if err := f.ctx.ExportBPF(out); err != nil {
		t.Fatalf("ExportBPF: %v", err)
	}
	info, err := out.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := info.Size(), int64(len(f.program)*8); got != want {
		t.Errorf("ExportBPF wrote %d bytes, want %d (the compiled program)", got, want)
	}
}

func TestCompileUnknownSyscalls(t *testing.T) {
	s := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdirat", "nullrun_future_call", "getpid"}, Action: specs.ActErrno},
			{Names: []string{"another_unknown_call"}, Action: specs.ActKillProcess},
		},
	}
	f, unknown := compile(t, s)
	want := []string{"nullrun_future_call", "another_unknown_call"}
	if !slices.Equal(unknown, want) {
		t.Errorf("got unknown %v, want %v", unknown, want)
	}
	if len(f.program) == 0 {
		t.Errorf("got an empty program, want BPF instructions")
	}
}

func TestCompileInvalid(t *testing.T) {
	tests := []struct {
		name    string
		profile specs.LinuxSeccomp
		want    string
	}{
		{
			name:    "default action",
			profile: specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_MAYBE"},
			want:    `"SCMP_ACT_MAYBE"`,
		},
		{
			name: "rule action",
			profile: specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
				{Names: []string{"getpid"}, Action: "SCMP_ACT_BOGUS"},
			}},
			want: `"SCMP_ACT_BOGUS"`,
		},
		{
			name: "operator",
			profile: specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
				{Names: []string{"getpid"}, Action: specs.ActErrno,
					Args: []specs.LinuxSeccompArg{{Index: 0, Op: "SCMP_CMP_ALMOST"}}},
			}},
			want: `"SCMP_CMP_ALMOST"`,
		},
		{
			name: "argument index",
			profile: specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
				{Names: []string{"getpid"}, Action: specs.ActErrno,
					Args: []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}},
			}},
			want: "argument index 6",
		},
		{
			name:    "architecture",
			profile: specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{"SCMP_ARCH_VAX"}},
			want:    `"SCMP_ARCH_VAX"`,
		},
		{
			name:    "flag",
			profile: specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_FAST"}},
			want:    `"SECCOMP_FILTER_FLAG_FAST"`,
		},
		{
			name:    "errnoRet on allow",
			profile: specs.LinuxSeccomp{DefaultAction: specs.ActAllow, DefaultErrnoRet: uintPtr(1)},
			want:    "only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take errnoRet",
		},
		{
			name:    "errnoRet too large",
			profile: specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: uintPtr(70000)},
			want:    "errnoRet 70000",
		},
		{
			name: "empty names",
			profile: specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
				{Action: specs.ActErrno},
			}},
			want: "names is empty",
		},
		{
			name: "range on one argument",
			profile: specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{
				{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
					{Index: 0, Value: 10, Op: specs.OpGreaterEqual},
					{Index: 0, Value: 20, Op: specs.OpLessEqual},
				}},
			}},
			want: "2 checks on argument 0",
		},
		{
			name:    "notify default",
			profile: specs.LinuxSeccomp{DefaultAction: specs.ActNotify, ListenerPath: "/run/agent.sock"},
			want:    "defaultAction SCMP_ACT_NOTIFY",
		},
		{
			name: "notify without listener",
			profile: specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
				{Names: []string{"mkdirat"}, Action: specs.ActNotify},
			}},
			want: "need listenerPath",
		},
		{
			name: "notify on write",
			profile: specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/run/agent.sock",
				Syscalls: []specs.LinuxSyscall{{Names: []string{"write"}, Action: specs.ActNotify}}},
			want: "on write",
		},
		{
			name:    "metadata without listener",
			profile: specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerMetadata: "x"},
			want:    "listenerMetadata is set without listenerPath",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, err := Compile(&tt.profile)
			if err == nil {
				f.Release()
				t.Fatalf("got no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestCompileNil(t *testing.T) {
	if _, _, err := Compile(nil); err == nil {
		t.Errorf("got no error for a nil profile, want one")
	}
}

func TestCompileFlags(t *testing.T) {
	notify := []specs.LinuxSyscall{{Names: []string{"mkdirat"}, Action: specs.ActNotify}}
	tests := []struct {
		name     string
		flags    []specs.LinuxSeccompFlag
		syscalls []specs.LinuxSyscall
		want     uint
	}{
		{"none", nil, nil, 0},
		{"log", []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog}, nil, unix.SECCOMP_FILTER_FLAG_LOG},
		{"spec allow", []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagSpecAllow}, nil, unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW},
		{"tsync", []specs.LinuxSeccompFlag{flagTsync}, nil, 0},
		{"wait killable without notify", []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv}, nil, 0},
		{"notify", nil, notify, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER},
		{
			"wait killable with notify", []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv}, notify,
			unix.SECCOMP_FILTER_FLAG_NEW_LISTENER | unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := compile(t, &specs.LinuxSeccomp{
				DefaultAction: specs.ActAllow,
				Flags:         tt.flags,
				ListenerPath:  "/run/agent.sock",
				Syscalls:      tt.syscalls,
			})
			if f.flags != tt.want {
				t.Errorf("got flags %#x, want %#x", f.flags, tt.want)
			}
		})
	}
}

func TestCompileActions(t *testing.T) {
	for name, want := range actions {
		t.Run(string(name), func(t *testing.T) {
			got, err := convertAction(name, nil)
			if err != nil {
				t.Fatalf("convertAction: %v", err)
			}
			if want == libseccomp.ActErrno || want == libseccomp.ActTrace {
				want = want.SetReturnCode(int16(unix.EPERM))
			}
			if got != want {
				t.Errorf("got action %v, want %v", got, want)
			}
		})
	}
}

func TestConditionSets(t *testing.T) {
	args := []specs.LinuxSeccompArg{
		{Index: 0, Value: 1, Op: specs.OpEqualTo},
		{Index: 0, Value: 2, Op: specs.OpEqualTo},
		{Index: 1, Value: 5, Op: specs.OpEqualTo},
		{Index: 2, Value: 0xff, ValueTwo: 0x10, Op: specs.OpMaskedEqual},
	}
	sets, err := conditionSets("ioctl", args)
	if err != nil {
		t.Fatalf("conditionSets: %v", err)
	}
	if len(sets) != 2 {
		t.Fatalf("got %d rules, want 2 (one per alternative of argument 0)", len(sets))
	}
	for i, want := range []uint64{1, 2} {
		set := sets[i]
		if len(set) != 3 {
			t.Fatalf("rule %d has %d conditions, want 3", i, len(set))
		}
		if set[0].Argument != 0 || set[0].Operand1 != want {
			t.Errorf("rule %d: got first condition %+v, want a0 == %d", i, set[0], want)
		}
		if set[1].Argument != 1 || set[1].Operand1 != 5 {
			t.Errorf("rule %d: got second condition %+v, want a1 == 5", i, set[1])
		}
		if set[2].Op != libseccomp.CompareMaskedEqual || set[2].Operand1 != 0xff || set[2].Operand2 != 0x10 {
			t.Errorf("rule %d: got third condition %+v, want (a2 & 0xff) == 0x10", i, set[2])
		}
	}
}

func TestCompileEqualAlternatives(t *testing.T) {
	// Two SCMP_CMP_EQ checks on one argument, which libseccomp alone rejects.
	f, _ := compile(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Syscalls: []specs.LinuxSyscall{{
			Names:  []string{"personality"},
			Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 0x0, Op: specs.OpEqualTo},
				{Index: 0, Value: 0x20008, Op: specs.OpEqualTo},
			},
		}},
	})
	if len(f.program) == 0 {
		t.Errorf("got an empty program, want BPF instructions")
	}
}

func TestDecodeProgramInvalid(t *testing.T) {
	for _, n := range []int{0, 7, 9} {
		if _, err := decodeProgram(make([]byte, n)); err == nil {
			t.Errorf("decodeProgram of %d bytes: got no error, want one", n)
		}
	}
}

func TestReleaseTwice(t *testing.T) {
	f, _, err := Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow})
	if err != nil {
		t.Fatal(err)
	}
	f.Release()
	f.Release()
	if err := f.Load(); err == nil {
		t.Errorf("Load after Release: got no error, want one")
	}
}

package integration

import (
	"os"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestHostname(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle(shell("hostname; cat /proc/sys/kernel/hostname")...)
	b.Spec.Hostname = "box.one"
	if got, want := r.mustRunBundle(b), "box.one\nbox.one\n"; got != want {
		t.Errorf("hostname: got %q, want %q", got, want)
	}
}

func TestDomainname(t *testing.T) {
	skipIfRuntime(t, "runc", "runc 1.1.5 ignores domainname, which runtime-spec 1.1 added")
	r := newRuntime(t)
	b := r.newBundle("cat", "/proc/sys/kernel/domainname")
	b.Spec.Domainname = "example.test"
	if got, want := r.mustRunBundle(b), "example.test\n"; got != want {
		t.Errorf("domainname: got %q, want %q", got, want)
	}
}

func TestSysctl(t *testing.T) {
	t.Run("new network namespace", func(t *testing.T) {
		r := newRuntime(t)
		b := r.newBundle("cat", "/proc/sys/net/ipv4/ip_forward")
		b.Spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		if got, want := r.mustRunBundle(b), "1\n"; got != want {
			t.Errorf("net.ipv4.ip_forward: got %q, want %q", got, want)
		}
	})
	t.Run("host network namespace", func(t *testing.T) {
		r := newRuntime(t)
		b := r.newBundle("true")
		b.removeNamespace(specs.NetworkNamespace)
		b.Spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		_, res := r.runBundle(b)
		if res.Code == 0 {
			t.Fatalf("sysctl in the host network namespace: got exit 0, want an error")
		}
		requireOneLineError(t, res, "net.ipv4.ip_forward")
		r.requireNoLeaks()
	})
}

func TestRlimitNofile(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle(shell("ulimit -n; ulimit -Hn")...)
	b.Spec.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1000, Hard: 2000}}
	if got, want := r.mustRunBundle(b), "1000\n2000\n"; got != want {
		t.Errorf("ulimit -n and -Hn: got %q, want %q", got, want)
	}
}

func TestCapabilities(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle("grep", "^Cap", "/proc/self/status")
	caps := []string{"CAP_CHOWN", "CAP_KILL"}
	b.Spec.Process.Capabilities = &specs.LinuxCapabilities{
		Bounding: caps, Effective: caps, Permitted: caps,
	}
	got := r.mustRunBundle(b)
	// CAP_CHOWN is bit 0, CAP_KILL is bit 5.
	for _, want := range []string{
		"CapEff:\t0000000000000021", "CapPrm:\t0000000000000021",
		"CapBnd:\t0000000000000021", "CapInh:\t0000000000000000",
		"CapAmb:\t0000000000000000",
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("capabilities: got %q, want a line %q", got, want)
		}
	}
}

func TestUnknownCapability(t *testing.T) {
	skipIfRuntime(t, "runc", "runc 1.1.5 logs a warning for an unknown capability and runs the container")
	r := newRuntime(t)
	b := r.newBundle("true")
	b.Spec.Process.Capabilities.Bounding = append(b.Spec.Process.Capabilities.Bounding, "CAP_NO_SUCH_THING")
	_, res := r.runBundle(b)
	if res.Code == 0 {
		t.Fatalf("unknown capability: got exit 0, want an error")
	}
	requireOneLineError(t, res, "CAP_NO_SUCH_THING")
	r.requireNoLeaks()
}

func TestNoNewPrivileges(t *testing.T) {
	for _, nnp := range []bool{true, false} {
		want := "NoNewPrivs:\t0"
		if nnp {
			want = "NoNewPrivs:\t1"
		}
		t.Run(want[len(want)-1:], func(t *testing.T) {
			r := newRuntime(t)
			b := r.newBundle("grep", "^NoNewPrivs", "/proc/self/status")
			b.Spec.Process.NoNewPrivileges = nnp
			if got := strings.TrimSpace(r.mustRunBundle(b)); got != want {
				t.Errorf("noNewPrivileges %v: got %q, want %q", nnp, got, want)
			}
		})
	}
}

func TestOOMScoreAdj(t *testing.T) {
	t.Run("set", func(t *testing.T) {
		r := newRuntime(t)
		b := r.newBundle("cat", "/proc/self/oom_score_adj")
		adj := 432
		b.Spec.Process.OOMScoreAdj = &adj
		if got, want := r.mustRunBundle(b), "432\n"; got != want {
			t.Errorf("oom_score_adj: got %q, want %q", got, want)
		}
	})
	t.Run("unset", func(t *testing.T) {
		r := newRuntime(t)
		b := r.newBundle("cat", "/proc/self/oom_score_adj")
		b.Spec.Process.OOMScoreAdj = nil
		own, err := os.ReadFile("/proc/self/oom_score_adj")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := r.mustRunBundle(b), string(own); got != want {
			t.Errorf("oom_score_adj when unset: got %q, want the caller's %q", got, want)
		}
	})
}

func TestUserAndUmask(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle(shell("id; umask")...)
	umask := uint32(0o027)
	b.Spec.Process.User = specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{2000, 2001}, Umask: &umask}
	if got, want := r.mustRunBundle(b), "uid=1000 gid=1001 groups=2000,2001\n0027\n"; got != want {
		t.Errorf("id and umask: got %q, want %q", got, want)
	}
}

func TestEnv(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle(shell(`echo "$GREETING|$EMPTY|$PATH"`)...)
	b.Spec.Process.Env = []string{"PATH=/bin", "GREETING=hello world", "EMPTY="}
	if got, want := r.mustRunBundle(b), "hello world||/bin\n"; got != want {
		t.Errorf("env: got %q, want %q", got, want)
	}
}

func TestCwdCreated(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle("pwd")
	b.Spec.Process.Cwd = "/does/not/exist"
	if got, want := r.mustRunBundle(b), "/does/not/exist\n"; got != want {
		t.Errorf("pwd: got %q, want %q", got, want)
	}
}

func TestSeccompErrno(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle(shell("mkdir /tmp/blocked; echo $?; touch /tmp/allowed && echo touched")...)
	errno := uint(1) // EPERM
	b.Spec.Linux.Seccomp = &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchAARCH64},
		Syscalls: []specs.LinuxSyscall{{
			Names:    []string{"mkdir", "mkdirat"},
			Action:   specs.ActErrno,
			ErrnoRet: &errno,
		}},
	}
	_, res := r.runBundle(b)
	if res.Code != 0 {
		t.Fatalf("run: %s", res)
	}
	if got, want := res.Stdout, "1\ntouched\n"; got != want {
		t.Errorf("output: got %q, want %q", got, want)
	}
	if want := "Operation not permitted"; !strings.Contains(res.Stderr, want) {
		t.Errorf("mkdir error: got stderr %q, want it to contain %q", res.Stderr, want)
	}
}

// TestOwnSession checks that a container without a terminal does not keep
// the caller's session, whose terminal it could push input into with
// ioctl(TIOCSTI): its init leads a session of its own.
func TestOwnSession(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle("cat", "/proc/self/stat")
	out := r.mustRunBundle(b)
	i := strings.LastIndexByte(out, ')')
	if i < 0 {
		t.Fatalf("stat: got %q, want /proc/self/stat", out)
	}
	fields := strings.Fields(out[i+1:])
	// fields[0] is field 3 (state); session is field 6, tty_nr field 7.
	pid := strings.Fields(out)[0]
	if len(fields) < 5 || fields[3] != pid {
		t.Errorf("session of the init: got %v, want its own pid %s", fields[3:4], pid)
	}
	if len(fields) >= 5 && fields[4] != "0" {
		t.Errorf("controlling terminal of the init: got tty_nr %s, want 0", fields[4])
	}
}

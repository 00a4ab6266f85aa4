package nullns

import (
	"bytes"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/nullrun/nullrun/specext"
)

// requireApply skips unless the emulated backend can be tested here, and
// fails when the probe reports a feature that the tests then cannot use.
func requireApply(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the checks must show that the filter, not a missing privilege, rejects mount and setuid")
	}
	p := Probe()
	if !p.Seccomp.Available {
		t.Skipf("seccomp filters unavailable: %s", p.Seccomp.Detail)
	}
	if p.LandlockABI < 6 {
		t.Skipf("Landlock ABI %d, want 6 or later for the scopes (%s)", p.LandlockABI, p.Landlock.Detail)
	}
}

// TestEmulatedApply runs each scenario in a re-executed test binary, which
// applies the settings on its locked thread, checks every forbidden call
// for its errno and every allowed one for success, then execs the program
// fd.
func TestEmulatedApply(t *testing.T) {
	requireApply(t)
	scenarios := []string{
		"network", "ipc", "uts", "user", "pid", "mount", "root", "cwd",
		"mount,root,cwd,network,ipc,uts,user,pid,cgroup",
	}
	for _, scenario := range scenarios {
		t.Run(scenario, func(t *testing.T) {
			base := setupTree(t)
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), helperEnv+"="+scenario, helperDirEnv+"="+base)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if err != nil {
				t.Fatalf("helper %s: %v\n%s", scenario, err, stderr.String())
			}
			if got, want := stdout.String(), "exec ok\n"; got != want {
				t.Errorf("output of the exec'd program: got %q, want %q", got, want)
			}
		})
	}
}

// TestHelperFailsUnrestricted runs the helper checks without Apply: they
// must report the calls that then succeed.
func TestHelperFailsUnrestricted(t *testing.T) {
	requireApply(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=network,uts,mount,root", helperDirEnv+"="+setupTree(t),
		helperNoApplyEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err == nil {
		t.Fatalf("helper without Apply: got success, want failed checks")
	}
	for _, want := range []string{
		"socket(family 2): got success, want machine is not on the network",
		"uname: got success, want no such file or directory",
		"openat(ro, ../secret): got success, want permission denied",
		"chroot: got success, want operation not permitted",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("helper output: got %q, want it to contain %q", stderr.String(), want)
		}
	}
}

// TestEmulatedApplyRejectsMissingABI checks that Apply refuses to run a
// network emulation without the Landlock scopes instead of enforcing less.
func TestEmulatedApplyRejectsMissingABI(t *testing.T) {
	req := Request{Settings: map[specext.Setting]bool{specext.Network: true}, ProgramFD: -1, ABI: 5}
	err := Emulated{}.Apply(req)
	u, ok := err.(*UnsupportedError)
	if !ok {
		t.Fatalf("Apply with ABI 5: got %v, want *UnsupportedError", err)
	}
	if u.Setting != specext.Network {
		t.Errorf("setting: got %s, want network", u.Setting)
	}
	if u.Kernel != kernelLandlock6 {
		t.Errorf("kernel: got %s, want %s", u.Kernel, kernelLandlock6)
	}
}

// BenchmarkApplyAll measures building and installing every emulation (all
// settings but time) on a fresh locked thread per iteration; the thread
// ends with its goroutine because it stays locked. Compare with
// BenchmarkLockedThread, the cost of the thread alone.
func BenchmarkApplyAll(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root, as TestEmulatedApply does")
	}
	self, err := os.Open("/proc/self/exe")
	if err != nil {
		b.Fatal(err)
	}
	defer self.Close()
	dir := b.TempDir()
	grant, err := os.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer grant.Close()

	settings := map[specext.Setting]bool{}
	for _, s := range specext.Settings {
		settings[s] = s != specext.Time
	}
	req := Request{Settings: settings, Grants: []Grant{{FD: int(grant.Fd()), Dir: true, Writable: true}},
		ProgramFD: int(self.Fd()), ABI: Probe().LandlockABI}
	errs := make(chan error)
	b.ResetTimer()
	for b.Loop() {
		go func() {
			runtime.LockOSThread()
			errs <- Emulated{}.Apply(req)
		}()
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLockedThread is the baseline of BenchmarkApplyAll.
func BenchmarkLockedThread(b *testing.B) {
	errs := make(chan error)
	for b.Loop() {
		go func() {
			runtime.LockOSThread()
			errs <- nil
		}()
		<-errs
	}
}

// BenchmarkBuildPolicy measures building the Landlock and seccomp policy of
// every setting without installing it.
func BenchmarkBuildPolicy(b *testing.B) {
	settings := map[specext.Setting]bool{}
	for _, s := range specext.Settings {
		settings[s] = s != specext.Time
	}
	req := Request{Settings: settings, Grants: []Grant{{FD: 3, Dir: true}}, ProgramFD: 4, ABI: 7}
	for b.Loop() {
		if _, err := newLandlockPolicy(req); err != nil {
			b.Fatal(err)
		}
		if _, err := buildFilter(newFilterSpec(settings, 7)); err != nil {
			b.Fatal(err)
		}
	}
}

package integration

import (
	"os"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestDefaultDevices(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle(shell(strings.Join([]string{
		"for d in null zero full random urandom tty; do stat -c '%n %F %t,%T' /dev/$d; done",
		"for l in ptmx fd stdin stdout stderr; do echo /dev/$l $(readlink /dev/$l); done",
		"test -c /dev/pts/ptmx && echo pts-ok",
	}, "; "))...)
	want := strings.Join([]string{
		"/dev/null character special file 1,3",
		"/dev/zero character special file 1,5",
		"/dev/full character special file 1,7",
		"/dev/random character special file 1,8",
		"/dev/urandom character special file 1,9",
		"/dev/tty character special file 5,0",
		"/dev/ptmx pts/ptmx",
		"/dev/fd /proc/self/fd",
		"/dev/stdin /proc/self/fd/0",
		"/dev/stdout /proc/self/fd/1",
		"/dev/stderr /proc/self/fd/2",
		"pts-ok",
	}, "\n") + "\n"
	if got := r.mustRunBundle(b); got != want {
		t.Errorf("devices: got\n%s\nwant\n%s", got, want)
	}
}

func TestLinuxDevices(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle(shell("stat -c '%F %t,%T %a %u %g' /dev/mynull; echo x >/dev/mynull && echo written")...)
	mode := os.FileMode(0o640)
	uid, gid := uint32(5), uint32(6)
	major, minor := int64(1), int64(3) // the null device
	b.Spec.Linux.Devices = append(b.Spec.Linux.Devices, specs.LinuxDevice{
		Path: "/dev/mynull", Type: "c", Major: major, Minor: minor, FileMode: &mode, UID: &uid, GID: &gid,
	})
	// The owner writes to it: the node must work and the device cgroup
	// must allow a device listed in linux.devices.
	b.Spec.Process.User = specs.User{UID: uid, GID: gid}
	if got, want := r.mustRunBundle(b), "character special file 1,3 640 5 6\nwritten\n"; got != want {
		t.Errorf("device: got %q, want %q", got, want)
	}
}

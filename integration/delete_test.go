package integration

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestDeleteForceEveryState(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(r *testRuntime, id string)
		want    string
	}{
		{"created", func(r *testRuntime, id string) {}, "created"},
		{"running", func(r *testRuntime, id string) { r.mustRun("start", id) }, "running"},
		{"paused", func(r *testRuntime, id string) {
			r.mustRun("start", id)
			r.waitStatus(id, "running")
			r.mustRun("pause", id)
		}, "paused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRuntime(t)
			id := r.create(r.newBundle("sleep", "1000"))
			tt.prepare(r, id)
			st := r.waitStatus(id, tt.want)
			r.mustRun("delete", "--force", id)
			if res := r.run("state", id); res.Code == 0 {
				t.Errorf("state after delete --force: got exit 0, want the container gone")
			}
			if _, err := os.Stat("/proc/" + strconv.Itoa(st.Pid)); err == nil {
				if data, _ := os.ReadFile("/proc/" + strconv.Itoa(st.Pid) + "/stat"); !isZombie(data) {
					t.Errorf("init %d still runs after delete --force", st.Pid)
				}
			}
			r.requireNoLeaks()
		})
	}
}

// TestDeleteForceHostPidNamespace checks that without a PID namespace of
// its own, the container's other processes die with it: the kernel does
// not kill them when the init exits, so the runtime must, through the
// cgroup.
func TestDeleteForceHostPidNamespace(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle(shell("sleep 1000 & echo $! > /tmp/child; exec sleep 1000")...)
	b.removeNamespace(specs.PIDNamespace)
	b.Spec.Root.Readonly = false
	id := r.create(b)
	r.mustRun("start", id)
	r.waitStatus(id, "running")
	childFile := b.Dir + "/rootfs/tmp/child"
	var child int
	for i := 0; i < 200 && child == 0; i++ {
		data, _ := os.ReadFile(childFile)
		child, _ = strconv.Atoi(strings.TrimSpace(string(data)))
		if child == 0 {
			r.sleepPoll()
		}
	}
	if child == 0 {
		t.Fatalf("the container did not record its background child in %s", childFile)
	}
	r.mustRun("delete", "--force", id)
	for i := 0; i < 200; i++ {
		data, err := os.ReadFile("/proc/" + strconv.Itoa(child) + "/stat")
		if err != nil || isZombie(data) {
			r.requireNoLeaks()
			return
		}
		r.sleepPoll()
	}
	t.Errorf("background process %d of the container survived delete --force", child)
}

// isZombie reports whether /proc/PID/stat content is of a process that
// has exited and waits to be reaped.
func isZombie(stat []byte) bool {
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && len(s) > i+2 && (s[i+2] == 'Z' || s[i+2] == 'X')
}

// sleepPoll waits one polling interval of a bounded wait loop.
func (r *testRuntime) sleepPoll() { time.Sleep(20 * time.Millisecond) }

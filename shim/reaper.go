package shim

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"sync"
	"time"

	"github.com/containerd/log"
	"golang.org/x/sys/unix"

	"github.com/nullrun/nullrun/internal/linux"
)

// exit is one reaped child.
type exit struct {
	pid    int
	status int
	at     time.Time
}

// reaper reaps every child of the shim: the containers' inits and execs,
// and the processes reparented to the shim as their child subreaper.
//
// Some runtime calls start children of their own and wait for them with
// wait4 on their PID: OCI hooks, and the intermediate process that
// forks an exec into a PID namespace. A wait4(-1) running at the same time
// could reap such a child first and make that call fail with ECHILD. So
// every runtime call that starts processes runs while holding ops for
// reading, and the reaper reaps only while holding it for writing.
// Exits are therefore noticed after such a call returns, never lost: a
// zombie waits for its reaper.
//
// The same lock orders events: a call records the PID it started and
// queues its event (TaskStart, TaskExecStarted) before releasing ops, so
// the exit of that PID is always handled, and its TaskExit queued, after.
type reaper struct {
	ops    sync.RWMutex
	handle func([]exit)
}

func newReaper(handle func([]exit)) *reaper {
	return &reaper{handle: handle}
}

// run reaps children on every SIGCHLD until ctx is done.
func (r *reaper) run(ctx context.Context) {
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, unix.SIGCHLD)
	defer signal.Stop(sigs)
	// Children that exited before Notify sent no signal we could see.
	r.reapAll(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-sigs:
			r.reapAll(ctx)
		}
	}
}

// reapAll reaps every exited child and hands the exits to handle, all
// while holding ops, so no runtime call starts in between.
func (r *reaper) reapAll(ctx context.Context) {
	r.ops.Lock()
	defer r.ops.Unlock()
	var exits []exit
	for {
		pid, ws, err := linux.ReapAnyChild()
		if err != nil {
			if !errors.Is(err, unix.ECHILD) {
				log.G(ctx).WithError(err).Error("reap child processes")
			}
			break
		}
		if pid == 0 {
			break
		}
		exits = append(exits, exit{pid: pid, status: exitCode(ws), at: time.Now()})
	}
	if len(exits) > 0 {
		r.handle(exits)
	}
}

// startingProcesses marks a runtime call that may start child processes
// and wait for them. The caller calls the returned function when the call
// has returned and its PIDs and events are recorded.
func (r *reaper) startingProcesses() (done func()) {
	r.ops.RLock()
	return r.ops.RUnlock
}

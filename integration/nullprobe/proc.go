package main

import (
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// idValue returns "value=ID" of a get*id system call.
func idValue(nr uintptr) string {
	id, _, _ := unix.RawSyscall(nr, 0, 0, 0)
	return "value=" + strconv.Itoa(int(id))
}

func checkGetpid(string) string {
	if unix.Getpid() <= 0 {
		return "value=" + strconv.Itoa(unix.Getpid())
	}
	return "ok"
}

// checkFork creates a process with clone(SIGCHLD), as fork(2) does. The
// child runs nothing but exit_group on the copy of the parent's stack, so
// no Go code runs in it, and the parent reaps it.
func checkFork(string) string {
	pid, _, errno := unix.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	if errno != 0 {
		return errnoResult(errno)
	}
	if pid == 0 {
		unix.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
	}
	var status unix.WaitStatus
	unix.Wait4(int(pid), &status, 0, nil)
	return "ok"
}

// cloneArgs is struct clone_args of clone3(2), version 0 (64 bytes).
type cloneArgs struct {
	flags, pidfd, childTID, parentTID, exitSignal, stack, stackSize, tls uint64
}

// checkClone3 creates a process with clone3, which passes its flags in
// memory where a seccomp filter cannot read them.
func checkClone3(string) string {
	args := cloneArgs{exitSignal: uint64(unix.SIGCHLD)}
	pid, _, errno := unix.RawSyscall(unix.SYS_CLONE3, uintptr(unsafe.Pointer(&args)), unsafe.Sizeof(args), 0)
	if errno != 0 {
		return errnoResult(errno)
	}
	if pid == 0 {
		unix.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
	}
	var status unix.WaitStatus
	unix.Wait4(int(pid), &status, 0, nil)
	return "ok"
}

// threadCount is how many goroutines checkThread pins to threads of their
// own at once. The Go runtime must start new threads (clone with
// CLONE_THREAD) to run them, because locked threads are never shared.
const threadCount = 4

// checkThread pins threadCount goroutines to OS threads at the same time
// and checks that they got distinct thread IDs.
func checkThread(string) string {
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		tids    = map[int]bool{}
		release = make(chan struct{})
	)
	for range threadCount {
		wg.Add(1)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			mu.Lock()
			tids[unix.Gettid()] = true
			mu.Unlock()
			wg.Done()
			<-release
		}()
	}
	wg.Wait()
	close(release)
	if len(tids) != threadCount {
		return fmt.Sprintf("value=%d threads", len(tids))
	}
	return "ok"
}

// checkKill sends SIGTERM to PID, a process outside the sandbox.
func checkKill(arg string) string {
	pid, err := strconv.Atoi(arg)
	if err != nil {
		return "error=invalid pid " + strconv.Quote(arg)
	}
	return errnoResult(unix.Kill(pid, unix.SIGTERM))
}

// checkPidfdOpen looks PID up with pidfd_open.
func checkPidfdOpen(arg string) string {
	pid, err := strconv.Atoi(arg)
	if err != nil {
		return "error=invalid pid " + strconv.Quote(arg)
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return errnoResult(err)
	}
	unix.Close(fd)
	return "ok"
}

// checkPidfdSignal sends SIGTERM to PID through a pidfd. It reports the
// pidfd_open error when the lookup fails already.
func checkPidfdSignal(arg string) string {
	pid, err := strconv.Atoi(arg)
	if err != nil {
		return "error=invalid pid " + strconv.Quote(arg)
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return errnoResult(err)
	}
	defer unix.Close(fd)
	return errnoResult(unix.PidfdSendSignal(fd, unix.SIGTERM, nil, 0))
}

package nullns

import "golang.org/x/sys/unix"

func forkRaw(forked func(string, uintptr, ...uintptr)) {
	forked("fork", unix.SYS_FORK)
	forked("vfork", unix.SYS_VFORK)
}

package main

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// The mount checks aim at the process's root, "/". Where the root is the
// removed empty directory of a null root, even a call that got past the
// filter would find nothing to mount on or to detach.

func checkMount(string) string {
	return errnoResult(unix.Mount("nullprobe", "/", "tmpfs", unix.MS_RDONLY, ""))
}

func checkUmount2(string) string {
	return errnoResult(unix.Unmount("/", unix.MNT_DETACH))
}

func checkPivotRoot(string) string {
	return errnoResult(unix.PivotRoot(".", "."))
}

func checkChroot(string) string {
	return errnoResult(unix.Chroot("."))
}

func checkOpenTree(string) string {
	fd, err := unix.OpenTree(unix.AT_FDCWD, "/", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err == nil {
		unix.Close(fd)
	}
	return errnoResult(err)
}

func checkFsopen(string) string {
	fd, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err == nil {
		unix.Close(fd)
	}
	return errnoResult(err)
}

func checkFspick(string) string {
	fd, err := unix.Fspick(unix.AT_FDCWD, "/", unix.FSPICK_CLOEXEC)
	if err == nil {
		unix.Close(fd)
	}
	return errnoResult(err)
}

func checkMountSetattr(string) string {
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	return errnoResult(unix.MountSetattr(unix.AT_FDCWD, "/", 0, &attr))
}

// unshareThread unshares flag on a thread that is then thrown away: the
// thread stays locked, so the Go runtime ends it instead of reusing a
// thread in another namespace.
func unshareThread(flag int) string {
	done := make(chan string)
	go func() {
		runtime.LockOSThread()
		done <- errnoResult(unix.Unshare(flag))
	}()
	return <-done
}

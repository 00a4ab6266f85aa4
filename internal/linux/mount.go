package linux

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// MountError is a failed mount(2) with everything needed to act on it.
type MountError struct {
	Op     string
	Source string
	Target string
	FSType string
	Flags  uintptr
	Data   string
	Err    error
}

func (e *MountError) Error() string {
	msg := e.Op + " " + e.Target
	if e.Source != "" {
		msg += " from " + e.Source
	}
	if e.FSType != "" {
		msg += " (type " + e.FSType + ")"
	}
	if e.Flags != 0 {
		msg += fmt.Sprintf(" flags %#x", e.Flags)
	}
	if e.Data != "" {
		msg += " data " + e.Data
	}
	return msg + ": " + e.Err.Error()
}

func (e *MountError) Unwrap() error { return e.Err }

// Mount calls mount(2). Target is often a /proc/self/fd/N path of a
// directory opened fd-relative inside the rootfs; displayName, when not
// empty, names it in errors instead.
func Mount(source, target, fstype string, flags uintptr, data, displayName string) error {
	err := retryEINTR(func() error { return unix.Mount(source, target, fstype, flags, data) })
	if err == nil {
		return nil
	}
	if displayName != "" {
		target = displayName
	}
	return &MountError{Op: "mount", Source: source, Target: target, FSType: fstype,
		Flags: flags, Data: data, Err: err}
}

// Unmount calls umount2(2).
func Unmount(target string, flags int) error {
	err := retryEINTR(func() error { return unix.Unmount(target, flags) })
	if err != nil {
		return &MountError{Op: "unmount", Target: target, Flags: uintptr(flags), Err: err}
	}
	return nil
}

// PivotRoot calls pivot_root(2).
func PivotRoot(newRoot, putOld string) error {
	if err := unix.PivotRoot(newRoot, putOld); err != nil {
		return &os.PathError{Op: "pivot_root", Path: newRoot, Err: err}
	}
	return nil
}

// Chroot calls chroot(2).
func Chroot(path string) error {
	if err := unix.Chroot(path); err != nil {
		return &os.PathError{Op: "chroot", Path: path, Err: err}
	}
	return nil
}

// Statfs returns the mount flags (ST_*) of the filesystem at path.
func MountFlags(path string) (uintptr, error) {
	var st unix.Statfs_t
	if err := retryEINTR(func() error { return unix.Statfs(path, &st) }); err != nil {
		return 0, &os.PathError{Op: "statfs", Path: path, Err: err}
	}
	return uintptr(st.Flags), nil
}

func retryEINTR(fn func() error) error {
	for {
		err := fn()
		if err != unix.EINTR {
			return err
		}
	}
}

// OpenTree returns a handle on the mount tree at dir (an O_PATH directory
// handle); with OPEN_TREE_CLONE it is a detached copy.
func OpenTree(dir *os.File, flags uint) (*os.File, error) {
	fd, err := unix.OpenTree(int(dir.Fd()), "", flags|unix.AT_EMPTY_PATH|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return nil, &os.PathError{Op: "open_tree", Path: dir.Name(), Err: err}
	}
	return os.NewFile(uintptr(fd), dir.Name()), nil
}

// MoveMount attaches the mount tree from onto the directory to.
func MoveMount(from, to *os.File) error {
	err := unix.MoveMount(int(from.Fd()), "", int(to.Fd()), "",
		unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
	if err != nil {
		return &os.PathError{Op: "move_mount", Path: to.Name(), Err: err}
	}
	return nil
}

// MountSetattr sets and clears MOUNT_ATTR_* flags on the mount at mnt and
// every mount beneath it.
func MountSetattr(mnt *os.File, set, clear uint64) error {
	attr := unix.MountAttr{Attr_set: set, Attr_clr: clear}
	err := unix.MountSetattr(int(mnt.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr)
	if err != nil {
		return &os.PathError{Op: "mount_setattr", Path: mnt.Name(), Err: err}
	}
	return nil
}

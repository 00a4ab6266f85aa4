package linux

import (
	"os"

	"golang.org/x/sys/unix"
)

// Fchdir changes the working directory to the directory f.
func Fchdir(f *os.File) error {
	if err := unix.Fchdir(int(f.Fd())); err != nil {
		return &os.PathError{Op: "fchdir", Path: f.Name(), Err: err}
	}
	return nil
}

// Mknodat creates a device node or fifo name in the directory dir.
func Mknodat(dir *os.File, name string, mode uint32, dev uint64) error {
	if err := unix.Mknodat(int(dir.Fd()), name, mode, int(dev)); err != nil {
		return &os.PathError{Op: "mknodat", Path: dir.Name() + "/" + name, Err: err}
	}
	return nil
}

// Fchownat changes the owner of name in dir without following a final
// symlink.
func Fchownat(dir *os.File, name string, uid, gid int) error {
	err := unix.Fchownat(int(dir.Fd()), name, uid, gid, unix.AT_SYMLINK_NOFOLLOW)
	if err != nil {
		return &os.PathError{Op: "fchownat", Path: dir.Name() + "/" + name, Err: err}
	}
	return nil
}

// Symlinkat creates name in dir pointing at target.
func Symlinkat(target string, dir *os.File, name string) error {
	if err := unix.Symlinkat(target, int(dir.Fd()), name); err != nil {
		return &os.PathError{Op: "symlinkat", Path: dir.Name() + "/" + name, Err: err}
	}
	return nil
}

// Unlinkat removes the non-directory name from dir.
func Unlinkat(dir *os.File, name string) error {
	if err := unix.Unlinkat(int(dir.Fd()), name, 0); err != nil {
		return &os.PathError{Op: "unlinkat", Path: dir.Name() + "/" + name, Err: err}
	}
	return nil
}

// Mkfifo creates a named pipe at path.
func Mkfifo(path string, mode uint32) error {
	if err := unix.Mkfifo(path, mode); err != nil {
		return &os.PathError{Op: "mkfifo", Path: path, Err: err}
	}
	return nil
}

// Flock takes (or with unix.LOCK_UN releases) an advisory lock on f,
// waiting for it unless how includes unix.LOCK_NB.
func Flock(f *os.File, how int) error {
	err := retryEINTR(func() error { return unix.Flock(int(f.Fd()), how) })
	if err != nil {
		return &os.PathError{Op: "flock", Path: f.Name(), Err: err}
	}
	return nil
}

// Umask sets the file mode creation mask and returns the previous one.
func Umask(mask int) int { return unix.Umask(mask) }

// CloseExecFrom marks every fd >= first close-on-exec, so nothing the
// caller leaked to this process reaches a program it executes.
func CloseExecFrom(first int) error {
	err := unix.CloseRange(uint(first), ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	if err != nil {
		return os.NewSyscallError("close_range", err)
	}
	return nil
}

// Socketpair returns a connected pair of unix stream sockets, both
// close-on-exec.
func Socketpair(name string) (*os.File, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, os.NewSyscallError("socketpair", err)
	}
	return os.NewFile(uintptr(fds[0]), name+"-parent"), os.NewFile(uintptr(fds[1]), name+"-child"), nil
}

// FdIsOpen reports whether fd is an open file descriptor of this process.
func FdIsOpen(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	return err == nil
}

// SetBlocking clears O_NONBLOCK on f, for a fifo that had to be opened
// non-blocking.
func SetBlocking(f *os.File) error {
	flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	if err == nil {
		_, err = unix.FcntlInt(f.Fd(), unix.F_SETFL, flags&^unix.O_NONBLOCK)
	}
	if err != nil {
		return &os.PathError{Op: "fcntl", Path: f.Name(), Err: err}
	}
	return nil
}

// OpenDirNoSymlinks opens the directory at path for use as a dirfd,
// refusing a path with any symlink in it (openat2 RESOLVE_NO_SYMLINKS), so
// a writer of a directory along the path cannot redirect it.
func OpenDirNoSymlinks(path string) (*os.File, error) {
	return OpenNoSymlinks(path, unix.O_PATH|unix.O_DIRECTORY)
}

// FileID is the device and inode number that identify a file.
type FileID struct {
	Dev uint64 `json:"dev"`
	Ino uint64 `json:"ino"`
}

// LstatID returns the identity of name in dir, without following a final
// symlink, and whether it is a socket.
func LstatID(dir *os.File, name string) (FileID, bool, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(int(dir.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return FileID{}, false, &os.PathError{Op: "fstatat", Path: dir.Name() + "/" + name, Err: err}
	}
	return FileID{Dev: st.Dev, Ino: st.Ino}, st.Mode&unix.S_IFMT == unix.S_IFSOCK, nil
}

// OpenNoSymlinks opens path like open(2) with flags, but refuses a path
// with any symlink or magic link in it (openat2 RESOLVE_NO_SYMLINKS).
func OpenNoSymlinks(path string, flags int) (*os.File, error) {
	how := unix.OpenHow{Flags: uint64(flags) | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}
	var fd int
	err := retryEINTR(func() error {
		var err error
		fd, err = unix.Openat2(unix.AT_FDCWD, path, &how)
		return err
	})
	if err != nil {
		return nil, &os.PathError{Op: "openat2", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// FSType returns the filesystem magic number (statfs f_type) of f.
func FSType(f *os.File) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return 0, &os.PathError{Op: "fstatfs", Path: f.Name(), Err: err}
	}
	return int64(st.Type), nil
}

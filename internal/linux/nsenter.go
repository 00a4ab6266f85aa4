package linux

import (
	"os"

	"golang.org/x/sys/unix"
)

// NamespaceOwner opens the user namespace that owns the namespace ns
// (ioctl NS_GET_USERNS). The caller closes the returned file.
func NamespaceOwner(ns *os.File) (*os.File, error) {
	fd, err := unix.IoctlRetInt(int(ns.Fd()), unix.NS_GET_USERNS)
	if err != nil {
		return nil, &os.PathError{Op: "ioctl NS_GET_USERNS", Path: ns.Name(), Err: err}
	}
	return os.NewFile(uintptr(fd), "userns owning "+ns.Name()), nil
}

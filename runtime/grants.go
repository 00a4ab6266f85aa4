package runtime

import (
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"

	"github.com/nullrun/nullrun/specext"
)

// openedGrant is a grant the runtime has opened on the host, ready to be
// handed to the process at its fd number.
type openedGrant struct {
	specext.Grant
	file *os.File
	// dir is true for a path grant that names a directory.
	dir bool
}

// openGrants opens every grant: path grants as files or directories,
// unix: grants as sockets connected to their path, listen: grants as
// sockets bound to their path and listening, as socket activation does.
// On error the files opened so far are closed.
func openGrants(grants []specext.Grant) (opened []openedGrant, err error) {
	defer func() {
		if err != nil {
			closeGrants(opened)
		}
	}()
	for _, g := range grants {
		og, err := openGrant(g)
		if err != nil {
			return opened, fmt.Errorf("open grant %s: %w", g, err)
		}
		opened = append(opened, og)
	}
	return opened, nil
}

func openGrant(g specext.Grant) (openedGrant, error) {
	switch g.Kind {
	case specext.GrantUnixConnect:
		conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: g.Path, Net: "unix"})
		if err != nil {
			return openedGrant{}, err
		}
		defer conn.Close()
		f, err := conn.File()
		return openedGrant{Grant: g, file: f}, err
	case specext.GrantUnixListen:
		l, err := net.ListenUnix("unix", &net.UnixAddr{Name: g.Path, Net: "unix"})
		if err != nil {
			return openedGrant{}, err
		}
		// The socket file stays for the process; the runtime's copy of
		// the listener must not remove it when closed.
		l.SetUnlinkOnClose(false)
		defer l.Close()
		f, err := l.File()
		return openedGrant{Grant: g, file: f}, err
	}
	fi, err := os.Stat(g.Path)
	if err != nil {
		return openedGrant{}, err
	}
	flags := unix.O_CLOEXEC | unix.O_NOCTTY
	switch {
	case fi.IsDir():
		flags |= unix.O_RDONLY | unix.O_DIRECTORY
	case g.Writable:
		flags |= unix.O_RDWR
	default:
		flags |= unix.O_RDONLY
	}
	if !fi.IsDir() && !fi.Mode().IsRegular() {
		return openedGrant{}, errors.New("not a regular file or directory")
	}
	f, err := os.OpenFile(g.Path, flags, 0)
	if err != nil {
		return openedGrant{}, err
	}
	return openedGrant{Grant: g, file: f, dir: fi.IsDir()}, nil
}

func closeGrants(grants []openedGrant) {
	for _, g := range grants {
		g.file.Close()
	}
}

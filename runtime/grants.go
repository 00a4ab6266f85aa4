package runtime

import (
	"fmt"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/nullrun/nullrun/internal/linux"
	"net"
	"os"
	"path/filepath"

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
	// socket identifies the file a listen: grant bound, which only that
	// exact file may be removed later.
	socket linux.FileID
}

// listenSocket is a socket file bound for a listen: grant, as state.json
// records it.
type listenSocket struct {
	Path string       `json:"path"`
	ID   linux.FileID `json:"id"`
}

// remove unlinks the socket file if it is still the one the runtime bound.
// The parent directory is opened without following symlinks and the name
// checked there, so a process that can write along the path cannot turn
// the removal onto another file.
func (s listenSocket) remove() {
	dir, err := linux.OpenDirNoSymlinks(filepath.Dir(s.Path))
	if err != nil {
		return
	}
	defer dir.Close()
	name := filepath.Base(s.Path)
	id, isSocket, err := linux.LstatID(dir, name)
	if err != nil || !isSocket || id != s.ID {
		return
	}
	linux.Unlinkat(dir, name)
}

// openGrants opens every grant: path grants as files or directories,
// unix: grants as sockets connected to their path, listen: grants as
// sockets bound to their path and listening, as socket activation does.
// On error the files opened so far are closed.
func openGrants(grants []specext.Grant) (opened []openedGrant, err error) {
	defer func() {
		if err != nil {
			closeGrants(opened)
			for _, g := range opened {
				if g.Kind == specext.GrantUnixListen {
					listenSocket{Path: g.Path, ID: g.socket}.remove()
				}
			}
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
		if err != nil {
			return openedGrant{}, err
		}
		og := openedGrant{Grant: g, file: f}
		if dir, err := linux.OpenDirNoSymlinks(filepath.Dir(g.Path)); err == nil {
			og.socket, _, _ = linux.LstatID(dir, filepath.Base(g.Path))
			dir.Close()
		}
		return og, nil
	}
	// Open first, check the type of what was opened, then reopen it for
	// use: a check of the path before opening it could be raced by a
	// symlink swap into a device or a fifo.
	h, err := os.OpenFile(g.Path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return openedGrant{}, err
	}
	defer h.Close()
	fi, err := h.Stat()
	if err != nil {
		return openedGrant{}, err
	}
	if !fi.IsDir() && !fi.Mode().IsRegular() {
		return openedGrant{}, fmt.Errorf("%s is a %s: grant a regular file or a directory, "+
			"or a unix socket with unix: or listen:", g.Path, fileType(fi.Mode()))
	}
	flags := unix.O_CLOEXEC | unix.O_NOCTTY | unix.O_NONBLOCK
	switch {
	case fi.IsDir():
		flags |= unix.O_RDONLY | unix.O_DIRECTORY
	case g.Writable:
		flags |= unix.O_RDWR
	default:
		flags |= unix.O_RDONLY
	}
	f, err := pathrs.Reopen(h, flags)
	if err != nil {
		return openedGrant{}, err
	}
	// The process gets a blocking file, as an open(2) of its own would.
	if err := linux.SetBlocking(f); err != nil {
		f.Close()
		return openedGrant{}, err
	}
	return openedGrant{Grant: g, file: f, dir: fi.IsDir()}, nil
}

// fileType names the type of a file mode for messages.
func fileType(m os.FileMode) string {
	switch {
	case m&os.ModeSymlink != 0:
		return "symlink"
	case m&os.ModeNamedPipe != 0:
		return "fifo"
	case m&os.ModeSocket != 0:
		return "socket"
	case m&os.ModeCharDevice != 0:
		return "character device"
	case m&os.ModeDevice != 0:
		return "block device"
	}
	return "special file"
}

func closeGrants(grants []openedGrant) {
	for _, g := range grants {
		g.file.Close()
	}
}

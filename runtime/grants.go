package runtime

import (
	"errors"
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
		return openSocketGrant(g, func(addr string) (*os.File, error) {
			conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: addr, Net: "unix"})
			if err != nil {
				return nil, err
			}
			defer conn.Close()
			return conn.File()
		})
	case specext.GrantUnixListen:
		return openSocketGrant(g, func(addr string) (*os.File, error) {
			l, err := net.ListenUnix("unix", &net.UnixAddr{Name: addr, Net: "unix"})
			if err != nil {
				return nil, err
			}
			// The socket file stays for the process; the runtime's copy of
			// the listener must not remove it when closed.
			l.SetUnlinkOnClose(false)
			defer l.Close()
			return l.File()
		})
	}
	// Open first, check the type of what was opened, then reopen it for
	// use: a check of the path before opening it could be raced by a
	// symlink swap into a device or a fifo.
	// No symlink in the path is followed: the runtime opens it as root,
	// and a symlink planted by anyone who can write a directory on the way
	// would hand the process any file of the host.
	h, err := linux.OpenNoSymlinks(g.Path, unix.O_PATH)
	if err != nil {
		return openedGrant{}, noSymlinkHint(err)
	}
	defer h.Close()
	if err := checkGrantFS(h); err != nil {
		return openedGrant{}, err
	}
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

// openSocketGrant connects to or binds the socket of a unix: or listen:
// grant through its parent directory, opened without following symlinks,
// so the socket the runtime reaches as root is the one at the path given.
// The /proc/self/fd form also keeps the address short enough for
// sun_path whatever the length of the directory's path.
func openSocketGrant(g specext.Grant, open func(addr string) (*os.File, error)) (openedGrant, error) {
	dir, err := linux.OpenDirNoSymlinks(filepath.Dir(g.Path))
	if err != nil {
		return openedGrant{}, noSymlinkHint(err)
	}
	defer dir.Close()
	name := filepath.Base(g.Path)
	f, err := open(fdPath(dir) + "/" + name)
	if err != nil {
		return openedGrant{}, err
	}
	og := openedGrant{Grant: g, file: f}
	if g.Kind == specext.GrantUnixListen {
		og.socket, _, _ = linux.LstatID(dir, name)
	}
	return og, nil
}

// pseudoFilesystems are kernel interfaces, not files: a grant of one of
// their files (core_pattern, say) would hand the process a lever on the
// host. statfs f_type values from linux/magic.h.
var pseudoFilesystems = map[int64]string{
	0x9fa0:     "proc",
	0x62656572: "sysfs",
	0x27e0eb:   "cgroup",
	0x63677270: "cgroup2",
	0x64626720: "debugfs",
	0x74726163: "tracefs",
	0x73636673: "securityfs",
	0xcafe4a11: "bpf",
	0x62656570: "configfs",
	0xf97cff8c: "selinuxfs",
	0xde5e81e4: "efivarfs",
	0x6165676c: "pstore",
}

func checkGrantFS(f *os.File) error {
	t, err := linux.FSType(f)
	if err != nil {
		return err
	}
	if name, ok := pseudoFilesystems[t]; ok {
		return fmt.Errorf("%s is on %s, a kernel interface: grant files of real filesystems only",
			f.Name(), name)
	}
	return nil
}

// noSymlinkHint adds what to do to the error for a grant path that was
// rejected for a symlink in it.
func noSymlinkHint(err error) error {
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EXDEV) {
		return fmt.Errorf("%w: a grant path must not contain symlinks; give the path they "+
			"resolve to", err)
	}
	return err
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

package runtime

import (
	"errors"
	"fmt"
	"os"
	"path"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nullrun/nullrun/internal/linux"
)

// defaultDevices are created in every container, as runc does; an entry
// of linux.devices with the same path replaces one.
var defaultDevices = []specs.LinuxDevice{
	{Path: "/dev/null", Type: "c", Major: 1, Minor: 3},
	{Path: "/dev/zero", Type: "c", Major: 1, Minor: 5},
	{Path: "/dev/full", Type: "c", Major: 1, Minor: 7},
	{Path: "/dev/tty", Type: "c", Major: 5, Minor: 0},
	{Path: "/dev/random", Type: "c", Major: 1, Minor: 8},
	{Path: "/dev/urandom", Type: "c", Major: 1, Minor: 9},
}

func (r *rootfs) createDevices() error {
	mode := os.FileMode(0o666)
	devices := make([]specs.LinuxDevice, 0, len(defaultDevices)+len(r.spec.Linux.Devices))
	for _, d := range defaultDevices {
		if !hasDevice(r.spec.Linux.Devices, d.Path) {
			d.FileMode = &mode
			devices = append(devices, d)
		}
	}
	devices = append(devices, r.spec.Linux.Devices...)
	for _, d := range devices {
		if err := r.createDevice(d); err != nil {
			return err
		}
	}
	return nil
}

func hasDevice(devices []specs.LinuxDevice, p string) bool {
	for _, d := range devices {
		if path.Clean(d.Path) == path.Clean(p) {
			return true
		}
	}
	return false
}

// createDevice makes one device node, or in a user namespace (where mknod
// is not allowed) bind-mounts the host's node of the same path.
func (r *rootfs) createDevice(d specs.LinuxDevice) error {
	dest := path.Clean("/" + d.Path)
	if r.cfg.UserNS {
		target, err := r.mkfile(dest)
		if err != nil {
			return err
		}
		defer target.Close()
		return linux.Mount(d.Path, fdPath(target), "", unix.MS_BIND, "", dest)
	}
	var typ uint32
	switch d.Type {
	case "c", "u":
		typ = unix.S_IFCHR
	case "b":
		typ = unix.S_IFBLK
	case "p":
		typ = unix.S_IFIFO
	default:
		return fmt.Errorf("invalid type %q of device %s: want c, u, b or p", d.Type, d.Path)
	}
	perm := uint32(0o666)
	if d.FileMode != nil {
		perm = unixMode(*d.FileMode)
	}
	dir, err := r.mkdirAll(path.Dir(dest))
	if err != nil {
		return err
	}
	defer dir.Close()
	name := path.Base(dest)
	if err := linux.Unlinkat(dir, name); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("replace device %s: %w", dest, err)
	}
	dev := unix.Mkdev(uint32(d.Major), uint32(d.Minor))
	if err := linux.Mknodat(dir, name, typ|perm, dev); err != nil {
		return fmt.Errorf("create device %s: %w", dest, err)
	}
	uid, gid := -1, -1
	if d.UID != nil {
		uid = int(*d.UID)
	}
	if d.GID != nil {
		gid = int(*d.GID)
	}
	if uid != -1 || gid != -1 {
		if err := linux.Fchownat(dir, name, uid, gid); err != nil {
			return fmt.Errorf("set owner of device %s: %w", dest, err)
		}
	}
	return nil
}

// devLinks creates the /dev symlinks programs expect: ptmx into the
// container's devpts, and fd, stdin, stdout, stderr into /proc.
func (r *rootfs) devLinks() error {
	links := [][2]string{
		{"/proc/self/fd", "/dev/fd"},
		{"/proc/self/fd/0", "/dev/stdin"},
		{"/proc/self/fd/1", "/dev/stdout"},
		{"/proc/self/fd/2", "/dev/stderr"},
	}
	for _, l := range links {
		if err := r.symlink(l[0], l[1]); err != nil {
			return err
		}
	}
	dev, err := r.mkdirAll("/dev")
	if err != nil {
		return err
	}
	defer dev.Close()
	if err := linux.Unlinkat(dev, "ptmx"); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("replace /dev/ptmx: %w", err)
	}
	return r.symlink("pts/ptmx", "/dev/ptmx")
}

// enter switches the root to the rootfs.
func (r *rootfs) enter() error {
	if r.cfg.NoPivot {
		if err := r.moveRoot(); err != nil {
			return err
		}
	} else if err := r.pivotRoot(); err != nil {
		return err
	}
	return nil
}

// finish applies, from inside the new root, what must come after the
// sysctls are written: the root's propagation, a read-only root, and the
// masked and read-only paths (/proc/sys is usually one of them).
func (r *rootfs) finish() error {
	// The new root is a bind of the rootfs made under a private parent, so
	// it is private whatever prepare set: apply the requested propagation
	// to it again (an unbindable root must reject a bind of "/").
	if p := r.spec.Linux.RootfsPropagation; p != "" {
		if err := linux.Mount("", "/", "", propagationOptions[p], "", "/"); err != nil {
			return err
		}
	}
	if r.spec.Root.Readonly {
		root, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY, 0)
		if err != nil {
			return err
		}
		err = remount(root, "/", unix.MS_RDONLY)
		root.Close()
		if err != nil {
			return fmt.Errorf("make root read-only: %w", err)
		}
	}
	for _, p := range r.spec.Linux.MaskedPaths {
		if err := maskPath(p); err != nil {
			return err
		}
	}
	for _, p := range r.spec.Linux.ReadonlyPaths {
		if err := readonlyPath(p); err != nil {
			return err
		}
	}
	return nil
}

// pivotRoot makes the rootfs the root with pivot_root(".", "."), which
// stacks the old root on the new one, then detaches the old root. The
// mount is made a slave first so the detach does not propagate to the host.
func (r *rootfs) pivotRoot() error {
	oldRoot, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open old root: %w", err)
	}
	defer oldRoot.Close()
	if err := linux.Fchdir(r.root); err != nil {
		return err
	}
	if err := linux.PivotRoot(".", "."); err != nil {
		return err
	}
	if err := linux.Fchdir(oldRoot); err != nil {
		return err
	}
	if err := linux.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, "", "old root"); err != nil {
		return err
	}
	if err := linux.Unmount(".", unix.MNT_DETACH); err != nil {
		return err
	}
	r.root.Close()
	return os.Chdir("/")
}

// moveRoot is --no-pivot: move the rootfs mount over / and chroot into it,
// for filesystems (such as a ramdisk root) where pivot_root fails.
func (r *rootfs) moveRoot() error {
	if err := linux.Fchdir(r.root); err != nil {
		return err
	}
	if err := linux.Mount(".", "/", "", unix.MS_MOVE, "", "/"); err != nil {
		return err
	}
	return r.chrootHere()
}

// chrootOnly is for a container without a mount namespace of its own.
func (r *rootfs) chrootOnly() error {
	if err := linux.Fchdir(r.root); err != nil {
		return err
	}
	return r.chrootHere()
}

func (r *rootfs) chrootHere() error {
	if err := linux.Chroot("."); err != nil {
		return err
	}
	r.root.Close()
	return os.Chdir("/")
}

// maskPath hides p: a directory behind an empty read-only tmpfs, anything
// else behind /dev/null. A missing path needs no mask.
func maskPath(p string) error {
	fi, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mask %s: %w", p, err)
	}
	if fi.IsDir() {
		return linux.Mount("tmpfs", p, "tmpfs", unix.MS_RDONLY, "", "")
	}
	return linux.Mount("/dev/null", p, "", unix.MS_BIND, "", "")
}

// readonlyPath makes p a read-only bind mount of itself.
func readonlyPath(p string) error {
	if err := linux.Mount(p, p, "", unix.MS_BIND|unix.MS_REC, "", ""); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	mnt, err := os.OpenFile(p, unix.O_PATH, 0)
	if err != nil {
		return fmt.Errorf("reopen %s: %w", p, err)
	}
	defer mnt.Close()
	return remount(mnt, p, unix.MS_RDONLY)
}

// unixMode returns the kernel mode bits of a device's fileMode. The OCI
// field is the raw mode number (0o7777 includes setuid, setgid and
// sticky), which JSON decoding puts into an os.FileMode unchanged.
func unixMode(m os.FileMode) uint32 {
	return uint32(m) & 0o7777
}

package runtime

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nullrun/nullrun/internal/linux"
)

// rootfs builds the container's root filesystem inside its mount namespace.
// Every path inside the rootfs is resolved fd-relative against root, so a
// symlink planted in the image cannot redirect a mount to the host, and the
// mount itself targets the resolved handle through /proc/self/fd/N.
type rootfs struct {
	cfg  *initConfig
	spec *specs.Spec
	// root is an O_PATH handle on the root of the container's own rootfs
	// mount once prepare has bound it; until then the rootfs directory.
	root *os.File
}

func newRootfs(cfg *initConfig) (*rootfs, error) {
	root, err := os.OpenFile(cfg.Rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open rootfs: %w", err)
	}
	return &rootfs{cfg: cfg, spec: cfg.Spec, root: root}, nil
}

func fdPath(f *os.File) string { return "/proc/self/fd/" + strconv.Itoa(int(f.Fd())) }

// prepare sets the propagation of the namespace, binds the rootfs onto
// itself, performs the spec's mounts and creates the devices.
func (r *rootfs) prepare() error {
	linux.Umask(0)
	flag := uintptr(unix.MS_SLAVE | unix.MS_REC)
	if p := r.spec.Linux.RootfsPropagation; p != "" {
		f, ok := propagationOptions[p]
		if !ok {
			return fmt.Errorf("invalid linux.rootfsPropagation %q", p)
		}
		flag = f
	}
	if err := linux.Mount("", "/", "", flag, "", ""); err != nil {
		return err
	}
	if err := r.bindRoot(); err != nil {
		return err
	}
	for _, m := range r.spec.Mounts {
		if err := r.mount(m); err != nil {
			return err
		}
	}
	if err := r.createDevices(); err != nil {
		return err
	}
	return r.devLinks()
}

// bindRoot makes the rootfs a mount of its own, which pivot_root needs,
// and opens the root of that mount. The rootfs is looked up by path here,
// in the container's mount namespace: a handle opened by the runtime
// refers to a mount of the host's namespace, which mount calls reject.
func (r *rootfs) bindRoot() error {
	path := r.cfg.Rootfs
	// pivot_root refuses a new root whose parent mount is shared.
	if err := makeParentPrivate(path); err != nil {
		return err
	}
	if err := linux.Mount(path, path, "", unix.MS_BIND|unix.MS_REC, "", ""); err != nil {
		return fmt.Errorf("bind rootfs: %w", err)
	}
	root, err := os.OpenFile(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open rootfs: %w", err)
	}
	r.root = root
	return nil
}

// makeParentPrivate makes the mount that contains the rootfs private, as
// pivot_root requires when the namespace's root propagation is shared.
func makeParentPrivate(target string) error {
	mounts, err := mountinfo.GetMounts(nil)
	if err != nil {
		return fmt.Errorf("read mount table: %w", err)
	}
	parent := "/"
	for _, m := range mounts {
		mp := m.Mountpoint
		if (target == mp || strings.HasPrefix(target, strings.TrimSuffix(mp, "/")+"/")) &&
			len(mp) > len(parent) {
			parent = mp
		}
	}
	return linux.Mount("", parent, "", unix.MS_PRIVATE, "", "")
}

// mount performs one entry of the spec's mounts.
func (r *rootfs) mount(m specs.Mount) error {
	mo := parseMountOptions(m.Options)
	dest := path.Clean("/" + m.Destination)
	typ := m.Type
	if mo.flags&unix.MS_BIND != 0 {
		typ = "bind"
	}
	switch typ {
	case "bind":
		return r.mountBind(m, dest, mo)
	case "cgroup":
		return r.mountCgroup(m, dest, mo)
	}
	target, err := r.mkdirAll(dest)
	if err != nil {
		return err
	}
	defer target.Close()
	err = linux.Mount(m.Source, fdPath(target), typ, mo.flags, mo.dataString(), dest)
	if err != nil && typ == "sysfs" && errors.Is(err, unix.EPERM) && !r.hasOwn(specs.NetworkNamespace) {
		// sysfs can only be mounted by the owner of the network namespace;
		// without one of its own the container gets the host's, read-only
		// where asked, as runc does.
		mo.flags |= unix.MS_BIND | unix.MS_REC
		return r.mountBindFrom("/sys", dest, target, mo)
	}
	if err != nil {
		return err
	}
	return r.applyAfter(dest, mo, false)
}

func (r *rootfs) hasOwn(t specs.LinuxNamespaceType) bool {
	for _, ns := range r.spec.Linux.Namespaces {
		if ns.Type == t {
			return true
		}
	}
	return false
}

func (r *rootfs) mountBind(m specs.Mount, dest string, mo mountOptions) error {
	source := m.Source
	if !filepath.IsAbs(source) {
		source = filepath.Join(r.cfg.Bundle, source)
	}
	fi, err := os.Stat(source)
	if err != nil {
		return fmt.Errorf("bind mount %s to %s: %w", m.Source, dest, err)
	}
	var target *os.File
	if fi.IsDir() {
		target, err = r.mkdirAll(dest)
	} else {
		target, err = r.mkfile(dest)
	}
	if err != nil {
		return err
	}
	defer target.Close()
	return r.mountBindFrom(source, dest, target, mo)
}

func (r *rootfs) mountBindFrom(source, dest string, target *os.File, mo mountOptions) error {
	bindFlags := mo.flags & (unix.MS_BIND | unix.MS_REC)
	if err := linux.Mount(source, fdPath(target), "", bindFlags, "", dest); err != nil {
		return err
	}
	return r.applyAfter(dest, mo, true)
}

// applyAfter applies what mount(2) cannot set when creating the mount: the
// flags of a bind mount (a remount), propagation, and recursive attributes.
// It reopens dest, because the handle used to create the mount refers to
// the directory beneath it.
func (r *rootfs) applyAfter(dest string, mo mountOptions, bind bool) error {
	extra := mo.flags &^ (unix.MS_BIND | unix.MS_REC | unix.MS_REMOUNT)
	if (!bind || extra == 0) && len(mo.propagation) == 0 && mo.recAttrSet|mo.recAttrClr == 0 {
		return nil
	}
	mnt, err := pathrs.OpenatInRoot(r.root, dest)
	if err != nil {
		return fmt.Errorf("reopen mount %s: %w", dest, err)
	}
	defer mnt.Close()
	if bind && extra != 0 {
		if err := remount(mnt, dest, extra); err != nil {
			return err
		}
	}
	for _, p := range mo.propagation {
		if err := linux.Mount("", fdPath(mnt), "", p, "", dest); err != nil {
			return err
		}
	}
	if mo.recAttrSet|mo.recAttrClr != 0 {
		if err := linux.MountSetattr(mnt, mo.recAttrSet, mo.recAttrClr); err != nil {
			return fmt.Errorf("set recursive attributes on %s: %w", dest, err)
		}
	}
	return nil
}

// lockedFlags are the per-mount flags a remount must repeat: in a user
// namespace the kernel refuses to clear ones the parent namespace set.
const lockedFlags = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC |
	unix.MS_NOATIME | unix.MS_NODIRATIME

// remount changes the flags of the bind mount at mnt, keeping the flags it
// already has.
func remount(mnt *os.File, name string, flags uintptr) error {
	cur, err := linux.MountFlags(fdPath(mnt))
	if err != nil {
		return err
	}
	have := cur & lockedFlags
	if cur&unix.ST_RELATIME != 0 {
		have |= unix.MS_RELATIME
	}
	return linux.Mount("", fdPath(mnt), "", unix.MS_BIND|unix.MS_REMOUNT|have|flags, "", name)
}

// mkdirAll creates dest and its parents inside the rootfs and returns a
// handle on it.
func (r *rootfs) mkdirAll(dest string) (*os.File, error) {
	f, err := pathrs.MkdirAllHandle(r.root, dest, 0o755)
	if err != nil {
		return nil, fmt.Errorf("create mount point %s in rootfs: %w", dest, err)
	}
	return f, nil
}

// mkfile creates an empty file at dest (a mount point for a file bind
// mount or a device) unless something exists there, and returns a handle.
func (r *rootfs) mkfile(dest string) (*os.File, error) {
	if f, err := pathrs.OpenatInRoot(r.root, dest); err == nil {
		return f, nil
	}
	dir, err := r.mkdirAll(path.Dir(dest))
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	if err := linux.Mknodat(dir, path.Base(dest), unix.S_IFREG|0o644, 0); err != nil &&
		!errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("create mount point %s in rootfs: %w", dest, err)
	}
	f, err := pathrs.OpenatInRoot(r.root, dest)
	if err != nil {
		return nil, fmt.Errorf("open mount point %s in rootfs: %w", dest, err)
	}
	return f, nil
}

// mountCgroup gives the container its cgroups at dest: a cgroup2 mount on
// a pure cgroup v2 host with a cgroup namespace, else a tmpfs holding a
// bind mount of the container's own directory of every hierarchy.
func (r *rootfs) mountCgroup(m specs.Mount, dest string, mo mountOptions) error {
	target, err := r.mkdirAll(dest)
	if err != nil {
		return err
	}
	defer target.Close()
	paths := r.cfg.CgroupPaths
	if unified, ok := paths[""]; ok && len(paths) == 1 {
		if r.cfg.CgroupNS {
			return linux.Mount("cgroup2", fdPath(target), "cgroup2", mo.flags, "", dest)
		}
		mo.flags |= unix.MS_BIND | unix.MS_REC
		return r.mountBindFrom(unified, dest, target, mo)
	}
	tmpfsFlags := mo.flags&^unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	if err := linux.Mount("tmpfs", fdPath(target), "tmpfs", tmpfsFlags, "mode=755", dest); err != nil {
		return err
	}
	hierarchies, err := mountinfo.GetMounts(func(i *mountinfo.Info) (bool, bool) {
		return i.FSType != "cgroup" && i.FSType != "cgroup2", false
	})
	if err != nil {
		return fmt.Errorf("read cgroup mounts: %w", err)
	}
	for _, h := range hierarchies {
		own := ownCgroupDir(paths, h.Mountpoint)
		if own == "" {
			continue
		}
		name := path.Base(h.Mountpoint)
		sub := path.Join(dest, name)
		subTarget, err := r.mkdirAll(sub)
		if err != nil {
			return err
		}
		bind := mountOptions{flags: unix.MS_BIND | unix.MS_REC | mo.flags&lockedFlags}
		err = r.mountBindFrom(own, sub, subTarget, bind)
		subTarget.Close()
		if err != nil {
			return err
		}
		// A hierarchy of co-mounted controllers ("cpu,cpuacct") is also
		// reachable under each controller's name, as on the host.
		if strings.Contains(name, ",") {
			for _, ctrl := range strings.Split(name, ",") {
				r.symlink(name, path.Join(dest, ctrl))
			}
		}
	}
	if mo.flags&unix.MS_RDONLY != 0 {
		mnt, err := pathrs.OpenatInRoot(r.root, dest)
		if err != nil {
			return fmt.Errorf("reopen mount %s: %w", dest, err)
		}
		defer mnt.Close()
		return remount(mnt, dest, unix.MS_RDONLY)
	}
	return nil
}

// ownCgroupDir returns the container's cgroup directory in the hierarchy
// mounted at mountpoint, or "" when it has none there.
func ownCgroupDir(paths map[string]string, mountpoint string) string {
	for _, p := range paths {
		if p == mountpoint || strings.HasPrefix(p, mountpoint+"/") {
			return p
		}
	}
	return ""
}

// symlink creates link -> target inside the rootfs; an existing entry is
// left alone.
func (r *rootfs) symlink(target, link string) error {
	dir, err := r.mkdirAll(path.Dir(link))
	if err != nil {
		return err
	}
	defer dir.Close()
	err = linux.Symlinkat(target, dir, path.Base(link))
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("create symlink %s: %w", link, err)
	}
	return nil
}

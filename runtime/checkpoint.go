package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nullrun/nullrun/internal/linux"
	"github.com/nullrun/nullrun/runtime/internal/cgroup"
	"github.com/nullrun/nullrun/specext"
)

// nullrun drives the criu program's command line, not its swrk RPC
// (go-criu). Every option it needs exists on the criu 3.17 command line,
// `criu check` output is the error users need to see, and it adds no
// protobuf dependency. The price is that criu cannot call back into
// nullrun during restore, so a container with a terminal cannot be
// restored (the pty master would arrive through that callback).

// descriptorsFile lists, in the image directory, what the init's fds 0, 1
// and 2 were at checkpoint, so restore can reconnect pipes to its own
// stdio. runc writes the same file under the same name.
const descriptorsFile = "descriptors.json"

// CRIUOptions are the criu settings that checkpoint and restore share,
// named after runc's flags.
type CRIUOptions struct {
	// ImagePath is the image directory, "checkpoint" in the working
	// directory when empty.
	ImagePath string
	// WorkPath receives criu's logs, ImagePath when empty.
	WorkPath string
	// TCPEstablished, ExtUnixSk, ShellJob, FileLocks and AutoDedup turn on
	// the criu options of the same names.
	TCPEstablished, ExtUnixSk, ShellJob, FileLocks, AutoDedup bool
	// LazyPages is rejected: nullrun has no lazy-pages page server.
	LazyPages bool
	// ManageCgroupsMode is soft (when empty), full or strict.
	ManageCgroupsMode string
	// EmptyNS is "network" to create an empty network namespace on
	// restore instead of restoring the checkpointed one, or empty.
	EmptyNS string
}

// CheckpointOptions are the settings of Container.Checkpoint.
type CheckpointOptions struct {
	CRIUOptions
	// ParentPath is the image directory of an earlier pre-dump, absolute
	// or relative to ImagePath.
	ParentPath string
	// LeaveRunning keeps the container running after the dump.
	LeaveRunning bool
	// PreDump dumps memory only and leaves the container running.
	PreDump bool
	// PageServer is ADDRESS:PORT of a criu page server, or empty.
	PageServer string
	// StatusFD is rejected unless negative: it only works with LazyPages.
	StatusFD int
}

// RestoreOptions are the settings of Runtime.Restore.
type RestoreOptions struct {
	CRIUOptions
	// Bundle holds the config.json of the checkpointed container.
	Bundle string
	// ConsoleSocket is rejected, because criu's command line cannot hand
	// over the pty master.
	ConsoleSocket string
	// PidFile receives the restored init's PID.
	PidFile string
	// Foreground makes the caller a child subreaper so that the restored
	// init becomes its child and Container.Wait works (restore without
	// --detach), unless NoSubreaper is set.
	Foreground  bool
	NoSubreaper bool
	// NoPivot is accepted for runc compatibility and has no effect,
	// because criu 3.17 has no command line option for it.
	NoPivot bool
	// LSMProfile (TYPE:NAME) and LSMMountContext are passed to criu.
	LSMProfile, LSMMountContext string
	// Stdin, Stdout and Stderr replace the pipes the init had at
	// checkpoint; nil means the caller's own.
	Stdin, Stdout, Stderr *os.File
}

// validate checks the shared options and fills in defaults.
func (o *CRIUOptions) validate() error {
	if o.LazyPages {
		return errors.New("--lazy-pages is not supported by nullrun: " +
			"checkpoint and restore without it")
	}
	switch o.ManageCgroupsMode {
	case "":
		o.ManageCgroupsMode = "soft"
	case "soft", "full", "strict":
	default:
		return fmt.Errorf("invalid --manage-cgroups-mode %q: use soft, full or strict",
			o.ManageCgroupsMode)
	}
	if o.EmptyNS != "" && o.EmptyNS != "network" {
		return fmt.Errorf("invalid --empty-ns %q: only network can be empty", o.EmptyNS)
	}
	if o.ImagePath == "" {
		o.ImagePath = "checkpoint"
	}
	var err error
	if o.ImagePath, err = filepath.Abs(o.ImagePath); err != nil {
		return fmt.Errorf("resolve --image-path: %w", err)
	}
	if o.WorkPath == "" {
		o.WorkPath = o.ImagePath
	}
	if o.WorkPath, err = filepath.Abs(o.WorkPath); err != nil {
		return fmt.Errorf("resolve --work-path: %w", err)
	}
	return nil
}

// args returns the criu options that o turns on, for dump and restore.
func (o *CRIUOptions) args() []string {
	args := []string{"--images-dir", o.ImagePath, "--work-dir", o.WorkPath, "-v4",
		"--manage-cgroups=" + o.ManageCgroupsMode}
	for _, opt := range []struct {
		on   bool
		name string
	}{
		{o.TCPEstablished, "--tcp-established"},
		{o.ExtUnixSk, "--ext-unix-sk"},
		{o.ShellJob, "--shell-job"},
		{o.FileLocks, "--file-locks"},
		{o.AutoDedup, "--auto-dedup"},
	} {
		if opt.on {
			args = append(args, opt.name)
		}
	}
	if o.EmptyNS == "network" {
		args = append(args, "--empty-ns", "net")
	}
	return args
}

// rejectNull fails for a container with null settings. criu restores
// seccomp filters but not Landlock domains, so a restored process would
// be less confined than the one checkpointed.
func rejectNull(id string, spec *specs.Spec) error {
	cfg, err := specext.Parse(spec.Annotations)
	if err != nil {
		return err
	}
	if cfg != nil {
		return fmt.Errorf("checkpoint or restore container %s: it has null settings "+
			"(dev.nullrun.* annotations), which criu cannot restore without weakening "+
			"them: run it without them to checkpoint it", id)
	}
	return nil
}

// Checkpoint dumps a running container's processes with criu into
// opts.ImagePath. Unless LeaveRunning or PreDump is set, the processes are
// gone afterwards and the container is deleted, as runc does. It checks
// with `criu check` first and returns an error wrapping
// linux.ErrCRIUUnavailable when criu cannot work on this kernel.
func (c *Container) Checkpoint(opts CheckpointOptions) error {
	if err := opts.validate(); err != nil {
		return err
	}
	if opts.StatusFD >= 0 {
		return fmt.Errorf("--status-fd %d only works with --lazy-pages, "+
			"which nullrun does not support: drop it", opts.StatusFD)
	}
	lock, err := c.lockAndReload()
	if err != nil {
		return err
	}
	defer func() {
		if lock != nil {
			lock.Close()
		}
	}()
	if status := c.status(); status != Running {
		if status == Paused {
			return fmt.Errorf("checkpoint container %s: it is paused: resume it first", c.id)
		}
		return fmt.Errorf("checkpoint container %s: %w", c.id, ErrNotRunning)
	}
	if err := rejectNull(c.id, c.state.Config); err != nil {
		return err
	}
	criu, err := linux.CRIUCheck()
	if err != nil {
		return fmt.Errorf("checkpoint container %s: %w", c.id, err)
	}

	for _, dir := range []string{opts.ImagePath, opts.WorkPath} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create checkpoint directory: %w", err)
		}
	}
	if err := saveDescriptors(c.state.Pid, opts.ImagePath); err != nil {
		return err
	}
	args, err := c.dumpArgs(&opts)
	if err != nil {
		return err
	}
	run := linux.CRIUCommand{Path: criu, Args: args, LogFile: filepath.Join(opts.WorkPath, logName(args[0]))}
	if err := run.Run(); err != nil {
		return fmt.Errorf("checkpoint container %s: %w", c.id, err)
	}
	if opts.LeaveRunning || opts.PreDump {
		return nil
	}
	// criu killed the processes: remove the container like delete would.
	lock.Close()
	lock = nil
	return c.Delete(false)
}

func logName(action string) string { return action + ".log" }

// dumpArgs builds the criu dump (or pre-dump) command line.
func (c *Container) dumpArgs(opts *CheckpointOptions) ([]string, error) {
	action := "dump"
	if opts.PreDump {
		action = "pre-dump"
	}
	args := []string{action, "--tree", strconv.Itoa(c.state.Pid), "-o", logName(action),
		"--root", c.state.Rootfs}
	args = append(args, opts.args()...)
	if opts.LeaveRunning && !opts.PreDump {
		args = append(args, "--leave-running")
	}
	if opts.PreDump || opts.ParentPath != "" {
		args = append(args, "--track-mem")
	}
	if opts.ParentPath != "" {
		parent := opts.ParentPath
		if filepath.IsAbs(parent) {
			rel, err := filepath.Rel(opts.ImagePath, parent)
			if err != nil {
				return nil, fmt.Errorf("resolve --parent-path %q: %w", parent, err)
			}
			parent = rel
		}
		args = append(args, "--prev-images-dir", parent)
	}
	if opts.PageServer != "" {
		host, port, ok := strings.Cut(opts.PageServer, ":")
		if !ok || host == "" || port == "" {
			return nil, fmt.Errorf("invalid --page-server %q: use ADDRESS:PORT", opts.PageServer)
		}
		args = append(args, "--page-server", "--address", host, "--port", port)
	}
	keys, err := externalMounts(c.state.Config, c.state.Cgroup.Paths, "")
	if err != nil {
		return nil, err
	}
	for _, key := range slices.Sorted(maps.Keys(keys)) {
		args = append(args, "--external", "mnt["+key+"]:"+key)
	}
	for _, ns := range c.state.Config.Linux.Namespaces {
		ext, err := externalNamespace(ns)
		if err != nil {
			return nil, err
		}
		if ext != "" {
			args = append(args, "--external", ext)
		}
	}
	return args, nil
}

// externalNamespace returns the criu --external value for a namespace the
// container joined by path. criu can only leave network and PID
// namespaces outside the dump; other joined namespaces are rejected.
func externalNamespace(ns specs.LinuxNamespace) (string, error) {
	if ns.Path == "" {
		return "", nil
	}
	var key string
	switch ns.Type {
	case specs.NetworkNamespace:
		key = "net"
	case specs.PIDNamespace:
		key = "pid"
	default:
		return "", fmt.Errorf("checkpoint a container that joins the %s namespace %s: "+
			"criu can only leave network and PID namespaces external", ns.Type, ns.Path)
	}
	fi, err := os.Stat(ns.Path)
	if err != nil {
		return "", err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", fmt.Errorf("stat %s: no inode number", ns.Path)
	}
	return fmt.Sprintf("%s[%d]:extRoot%sNS", key, st.Ino, strings.ToUpper(key[:1])+key[1:]), nil
}

// externalMounts maps each mount that criu must treat as external, named
// by its destination in the container, to its source on the host: the
// bind mounts of the spec and the per-hierarchy binds under a cgroup
// mount. bundle resolves relative bind sources.
func externalMounts(spec *specs.Spec, cgroupPaths map[string]string, bundle string) (map[string]string, error) {
	out := map[string]string{}
	for _, m := range spec.Mounts {
		dest := path.Clean("/" + m.Destination)
		switch {
		case m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind"):
			src := m.Source
			if !filepath.IsAbs(src) {
				src = filepath.Join(bundle, src)
			}
			out[dest] = src
		case m.Type == "cgroup" || m.Type == "cgroup2":
			if err := cgroupExternals(out, dest, cgroupPaths); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// cgroupExternals adds the bind mounts that mountCgroup makes under dest:
// one per host hierarchy that holds the container's cgroup, or dest itself
// on a cgroup v2 host.
func cgroupExternals(out map[string]string, dest string, paths map[string]string) error {
	if unified, ok := paths[""]; ok && len(paths) == 1 {
		out[dest] = unified
		return nil
	}
	hierarchies, err := mountinfo.GetMounts(func(i *mountinfo.Info) (bool, bool) {
		return i.FSType != "cgroup" && i.FSType != "cgroup2", false
	})
	if err != nil {
		return fmt.Errorf("read cgroup mounts: %w", err)
	}
	for _, h := range hierarchies {
		if own := ownCgroupDir(paths, h.Mountpoint); own != "" {
			out[path.Join(dest, path.Base(h.Mountpoint))] = own
		}
	}
	return nil
}

// saveDescriptors records the targets of the init's fds 0, 1 and 2.
func saveDescriptors(pid int, imageDir string) error {
	var targets []string
	for fd := 0; fd < 3; fd++ {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, fd))
		if err != nil {
			target = ""
		}
		targets = append(targets, target)
	}
	data, err := json.Marshal(targets)
	if err != nil {
		return fmt.Errorf("encode %s: %w", descriptorsFile, err)
	}
	return writeFileAtomic(filepath.Join(imageDir, descriptorsFile), data, 0o600)
}

// Restore starts container id from the criu images in opts.ImagePath and
// the bundle's config.json, and records it in state.json as running, so
// state, kill and delete work on it. It checks with `criu check` first and
// returns an error wrapping linux.ErrCRIUUnavailable when criu cannot work
// on this kernel.
//
// NOTE: the steps after `criu check` have only run where criu check
// fails, so they are untested against a working criu.
func (r *Runtime) Restore(id string, opts RestoreOptions) (*Container, error) {
	if err := validateID(id); err != nil {
		return nil, err
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	bundle, err := filepath.Abs(cmpOr(opts.Bundle, "."))
	if err != nil {
		return nil, fmt.Errorf("resolve bundle %q: %w", opts.Bundle, err)
	}
	spec, err := loadSpec(bundle)
	if err != nil {
		return nil, err
	}
	if spec.Process != nil && spec.Process.Terminal || opts.ConsoleSocket != "" {
		return nil, fmt.Errorf("restore container %s: containers with process.terminal "+
			"cannot be restored by nullrun, because criu's command line cannot hand "+
			"over the pty master: checkpoint containers without a terminal", id)
	}
	if err := rejectNull(id, spec); err != nil {
		return nil, err
	}
	criu, err := linux.CRIUCheck()
	if err != nil {
		return nil, fmt.Errorf("restore container %s: %w", id, err)
	}
	if _, err := os.Stat(filepath.Join(opts.ImagePath, "inventory.img")); err != nil {
		return nil, fmt.Errorf("restore container %s: %s has no criu images (inventory.img): "+
			"pass the --image-path of a checkpoint: %w", id, opts.ImagePath, err)
	}
	if err := os.MkdirAll(opts.WorkPath, 0o700); err != nil {
		return nil, fmt.Errorf("create work directory: %w", err)
	}
	res := &restorer{r: r, id: id, spec: spec, bundle: bundle, opts: &opts, criu: criu}
	return res.run()
}

func cmpOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// restorer carries one Restore through its steps.
type restorer struct {
	r      *Runtime
	id     string
	spec   *specs.Spec
	bundle string
	opts   *RestoreOptions
	criu   string
	cg     *cgroup.Manager
	undo   undoStack
	// extra are the files criu inherits as fds 3, 4, …
	extra []*os.File
}

func (res *restorer) run() (*Container, error) {
	cg, err := cgroup.New(res.id, res.spec.Linux, res.r.systemdCgroup)
	if err != nil {
		return nil, err
	}
	res.cg = cg
	dir := filepath.Join(res.r.root, res.id)
	if err := os.Mkdir(dir, 0o711); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("restore container %s: %w", res.id, ErrExist)
		}
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	defer res.undo.run()
	res.undo.push(func() { os.RemoveAll(dir) })
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	st := &persistedState{
		State: State{OCIVersion: res.spec.Version, ID: res.id, Status: Creating,
			Bundle: res.bundle, Rootfs: rootfsPath(res.spec, res.bundle),
			Created: time.Now().UTC(), Owner: ownerName()},
		Cgroup: cg.Saved(), Config: res.spec,
		SharedPidNS: !planNamespaces(res.spec.Linux).has(specs.PIDNamespace),
	}
	if err := writeState(dir, st); err != nil {
		return nil, err
	}

	pid, err := res.restore(st.Rootfs)
	if err != nil {
		return nil, err
	}
	res.undo.push(func() { killPid(pid); cg.KillAll(unix.SIGKILL) })
	if err := cg.Apply(pid); err != nil {
		return nil, fmt.Errorf("restore container %s: place pid %d in its cgroup: %w", res.id, pid, err)
	}
	res.undo.push(func() { destroyCgroup(cg) })
	start, _, err := procStartTime(pid)
	if err != nil {
		return nil, fmt.Errorf("restore container %s: read the restored init: %w", res.id, err)
	}
	st.Pid, st.InitStartTime, st.Status, st.Cgroup = pid, start, Running, cg.Saved()
	if err := writeState(dir, st); err != nil {
		return nil, err
	}
	if res.opts.PidFile != "" {
		if err := writePidFile(res.opts.PidFile, pid); err != nil {
			return nil, err
		}
	}
	res.undo.release()
	return &Container{rt: res.r, id: res.id, dir: dir, state: st, foreground: res.opts.Foreground && !res.opts.NoSubreaper}, nil
}

// restore runs criu restore on a bind mount of the rootfs onto itself,
// since criu pivots into --root and needs it to be a mount point, and
// returns the restored init's PID.
func (res *restorer) restore(rootfs string) (int, error) {
	if err := linux.Mount(rootfs, rootfs, "", unix.MS_BIND|unix.MS_REC, "", rootfs); err != nil {
		return 0, err
	}
	defer linux.Unmount(rootfs, unix.MNT_DETACH)
	if res.opts.Foreground && !res.opts.NoSubreaper {
		// The restored init is criu's child; when criu exits it is
		// reparented to us, so that Wait can reap it.
		if err := linux.SetChildSubreaper(); err != nil {
			return 0, err
		}
	}

	pidFile := filepath.Join(res.opts.WorkPath, "restore.pid")
	os.Remove(pidFile)
	args := []string{"restore", "--restore-detached", "--pidfile", pidFile,
		"-o", logName("restore"), "--root", rootfs}
	args = append(args, res.opts.args()...)
	if res.opts.LSMProfile != "" {
		args = append(args, "--lsm-profile", res.opts.LSMProfile)
	}
	if res.opts.LSMMountContext != "" {
		args = append(args, "--lsm-mount-context", res.opts.LSMMountContext)
	}
	mounts, err := externalMounts(res.spec, res.cg.Paths(), res.bundle)
	if err != nil {
		return 0, err
	}
	for _, key := range slices.Sorted(maps.Keys(mounts)) {
		args = append(args, "--external", "mnt["+key+"]:"+mounts[key])
	}
	roots, err := cgroupRoots(res.cg.Paths())
	if err != nil {
		return 0, err
	}
	for _, root := range roots {
		args = append(args, "--cgroup-root", root)
	}
	for _, ns := range res.spec.Linux.Namespaces {
		if ns.Path == "" || (ns.Type != specs.NetworkNamespace && ns.Type != specs.PIDNamespace) {
			continue
		}
		// On restore the key names the fd of the namespace to join.
		f, err := os.Open(ns.Path)
		if err != nil {
			return 0, fmt.Errorf("open %s namespace: %w", ns.Type, err)
		}
		defer f.Close()
		res.extra = append(res.extra, f)
		key := "extRootNetNS"
		if ns.Type == specs.PIDNamespace {
			key = "extRootPidNS"
		}
		args = append(args, "--inherit-fd", fmt.Sprintf("fd[%d]:%s", 2+len(res.extra), key))
	}
	args = append(args, res.inheritStdio()...)

	run := linux.CRIUCommand{Path: res.criu, Args: args, ExtraFiles: res.extra,
		LogFile: filepath.Join(res.opts.WorkPath, logName("restore"))}
	if err := run.Run(); err != nil {
		return 0, fmt.Errorf("restore container %s: %w", res.id, err)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, fmt.Errorf("restore container %s: read criu pid file: %w", res.id, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, fmt.Errorf("restore container %s: parse criu pid file %s: %w", res.id, pidFile, err)
	}
	return pid, nil
}

// inheritStdio returns the --inherit-fd options that connect the pipes the
// init had as fds 0, 1 and 2 at checkpoint to the restore's own stdio, and
// adds those files to res.extra. Other targets (files, /dev/null) criu
// reopens by path.
func (res *restorer) inheritStdio() []string {
	data, err := os.ReadFile(filepath.Join(res.opts.ImagePath, descriptorsFile))
	if err != nil {
		return nil
	}
	var targets []string
	if json.Unmarshal(data, &targets) != nil {
		return nil
	}
	stdio := []*os.File{
		cmpFile(res.opts.Stdin, os.Stdin),
		cmpFile(res.opts.Stdout, os.Stdout),
		cmpFile(res.opts.Stderr, os.Stderr),
	}
	var args []string
	for fd, target := range targets {
		if fd > 2 || !strings.HasPrefix(target, "pipe:") {
			continue
		}
		res.extra = append(res.extra, stdio[fd])
		args = append(args, "--inherit-fd", fmt.Sprintf("fd[%d]:%s", 2+len(res.extra), target))
	}
	return args
}

func cmpFile(f, fallback *os.File) *os.File {
	if f == nil {
		return fallback
	}
	return f
}

// cgroupRoots returns criu --cgroup-root values that put the restored
// processes in the new container's cgroup of each hierarchy, given the
// absolute cgroup directories from cgroup.Manager.Paths.
//
// NOTE: the names of co-mounted v1 hierarchies ("cpu,cpuacct") are passed
// as criu's controller name unchanged; this is untested against criu.
func cgroupRoots(paths map[string]string) ([]string, error) {
	if unified, ok := paths[""]; ok && len(paths) == 1 {
		rel, err := cgroupRelative(unified, "cgroup2")
		if err != nil {
			return nil, err
		}
		return []string{rel}, nil
	}
	hierarchies, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup"))
	if err != nil {
		return nil, fmt.Errorf("read cgroup mounts: %w", err)
	}
	var roots []string
	for _, h := range hierarchies {
		own := ownCgroupDir(paths, h.Mountpoint)
		if own == "" {
			continue
		}
		rel := "/" + strings.TrimLeft(strings.TrimPrefix(own, h.Mountpoint), "/")
		roots = append(roots, path.Base(h.Mountpoint)+":"+rel)
	}
	slices.Sort(roots)
	return slices.Compact(roots), nil
}

// cgroupRelative returns dir relative to the root of its fstype hierarchy.
func cgroupRelative(dir, fstype string) (string, error) {
	mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter(fstype))
	if err != nil {
		return "", fmt.Errorf("read cgroup mounts: %w", err)
	}
	for _, m := range mounts {
		if dir == m.Mountpoint || strings.HasPrefix(dir, m.Mountpoint+"/") {
			return "/" + strings.TrimLeft(strings.TrimPrefix(dir, m.Mountpoint), "/"), nil
		}
	}
	return "", fmt.Errorf("find the %s hierarchy of cgroup %s: not mounted", fstype, dir)
}

// killPid sends SIGKILL to pid through a pidfd, for undoing a restore that
// failed after criu started the processes.
func killPid(pid int) {
	pidfd, err := linux.PidfdOpen(pid)
	if err != nil {
		return
	}
	defer pidfd.Close()
	linux.PidfdSendSignal(pidfd, unix.SIGKILL)
}

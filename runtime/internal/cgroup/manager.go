// Package cgroup places container processes into cgroups and applies the
// resources of an OCI spec, on cgroup v1, v2 and hybrid hosts, with the
// cgroupfs or the systemd driver. The controller files themselves are
// written by github.com/opencontainers/cgroups; this package converts and
// checks the spec, tracks which directories it created and removes them.
package cgroup

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/sys/userns"
	"github.com/opencontainers/cgroups"
	_ "github.com/opencontainers/cgroups/devices" // lets the managers write device rules
	"github.com/opencontainers/cgroups/manager"
	"github.com/opencontainers/cgroups/systemd"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Manager is the cgroup of one container. A Manager is not safe for
// concurrent use; commands on one container are serialised by its lock.
type Manager struct {
	config *cgroups.Cgroup
	mgr    cgroups.Manager
	// created maps a controller to the highest directory Apply created
	// for it, so Destroy also removes the empty parents it made.
	created map[string]string
}

// Saved is the part of a container's state that Load needs to rebuild its
// Manager in a later command. It is stored as JSON in state.json.
type Saved struct {
	// Config is the cgroup configuration, resources included.
	Config *cgroups.Cgroup `json:"config"`
	// Paths maps each controller to its absolute cgroup directory; the
	// key "" is the cgroup v2 directory (v2 and hybrid hosts).
	Paths map[string]string `json:"paths"`
	// Created maps a controller to the highest directory that Apply
	// created for it.
	Created map[string]string `json:"created,omitempty"`
}

// New converts an OCI spec's linux section into a Manager for container
// id, with the systemd driver when systemd is set. It checks every value
// and returns an error wrapping ErrInvalid that names the field; it reads
// the host's cgroup layout but creates nothing.
func New(id string, linux *specs.Linux, systemd bool) (*Manager, error) {
	if systemd {
		if err := checkSystemd(); err != nil {
			return nil, err
		}
	}
	if linux == nil {
		linux = &specs.Linux{}
	}

	config, err := convert(id, linux, systemd)
	if err != nil {
		return nil, err
	}
	mgr, err := manager.New(config)
	if errors.Is(err, cgroups.ErrV1NoUnified) {
		return nil, invalid("linux.resources.unified", slices.Sorted(maps.Keys(config.Unified)),
			"this host's controllers are on cgroup v1: remove the cgroup v2 entries")
	}
	if err != nil {
		return nil, fmt.Errorf("set up cgroup manager for container %s: %w", id, err)
	}
	return &Manager{config: config, mgr: mgr}, nil
}

// convert builds the library's cgroup configuration from the spec.
func convert(id string, linux *specs.Linux, systemd bool) (*cgroups.Cgroup, error) {
	config := &cgroups.Cgroup{Systemd: systemd, Resources: &cgroups.Resources{}}
	if err := placeCgroup(config, id, linux.CgroupsPath); err != nil {
		return nil, err
	}
	if err := mergeResources(config.Resources, linux.Resources, false); err != nil {
		return nil, err
	}
	rules, err := deviceRules(linux)
	if err != nil {
		return nil, err
	}
	config.Resources.Devices = rules
	return config, nil
}

func checkSystemd() error {
	if systemd.IsRunningSystemd() {
		return nil
	}
	return fmt.Errorf("%w: /run/systemd/system is missing; "+
		"drop --systemd-cgroup to use the cgroupfs driver", ErrSystemdNotRunning)
}

// Load rebuilds a Manager from the output of Saved.
func Load(saved Saved) (*Manager, error) {
	if saved.Config == nil || saved.Config.Resources == nil {
		return nil, errors.New("load cgroup state: the saved configuration is missing; " +
			"the container's state.json is damaged")
	}
	if saved.Config.Systemd {
		if err := checkSystemd(); err != nil {
			return nil, err
		}
	}
	mgr, err := manager.NewWithPaths(saved.Config, maps.Clone(saved.Paths))
	if err != nil {
		return nil, fmt.Errorf("load cgroup manager for %v: %w", saved.Paths, err)
	}
	return &Manager{config: saved.Config, mgr: mgr, created: maps.Clone(saved.Created)}, nil
}

// Saved returns what Load needs. Call it after Apply and after Update so
// that the stored state has the directories created and the resources set.
func (m *Manager) Saved() Saved {
	config := *m.config
	resources := *m.config.Resources
	// Keeping the freezer state would make a later Update re-apply a
	// stale pause or resume.
	resources.Freezer = cgroups.Undefined
	config.Resources = &resources
	return Saved{Config: &config, Paths: m.Paths(), Created: maps.Clone(m.created)}
}

// Paths returns each controller's absolute cgroup directory; the key ""
// is the cgroup v2 directory on v2 and hybrid hosts. With the systemd
// driver the paths are known only after Apply.
func (m *Manager) Paths() map[string]string {
	return maps.Clone(m.mgr.GetPaths())
}

// Apply creates the cgroup, applies the resources and moves pid into it.
// With the cgroupfs driver, a failure to create or configure the cgroup
// makes Apply remove what it created. If moving pid fails, or the systemd
// driver is used (it moves pid in first), pid may already be in the
// cgroup: the caller then kills pid and calls Destroy.
func (m *Manager) Apply(pid int) error {
	if m.config.Systemd {
		// The systemd driver creates the unit with its first process.
		if err := m.mgr.Apply(pid); err != nil {
			return fmt.Errorf("create systemd unit for pid %d: %w", pid, err)
		}
		if err := m.mgr.Set(m.config.Resources); err != nil {
			return fmt.Errorf("set cgroup resources: %w", err)
		}
		return nil
	}

	m.created = missingDirs(m.mgr.GetPaths())
	// Create the directories empty first (-1 adds no process), so the
	// limits are in place before pid joins and a failure leaves no
	// process in a cgroup that has to be removed.
	if err := m.mgr.Apply(-1); err != nil {
		err = fmt.Errorf("create cgroup: %w", err)
		return errors.Join(err, m.Destroy())
	}
	if err := m.writeNewDeviceRules(); err != nil {
		return errors.Join(err, m.Destroy())
	}
	if err := m.mgr.Set(m.config.Resources); err != nil {
		err = fmt.Errorf("set cgroup resources: %w", err)
		return errors.Join(err, m.Destroy())
	}
	return m.AddProcess(pid)
}

// writeNewDeviceRules writes the device rules in the spec's order into a
// cgroup v1 devices directory that Apply has just created, so that
// devices.list shows them in that order. The library's Set that follows
// then finds nothing left to change and checks that the cgroup matches the
// rules. An existing cgroup is left to the library, which moves it to the
// rules without a moment of denying every device.
func (m *Manager) writeNewDeviceRules() error {
	dir := m.mgr.Path("devices")
	_, created := m.created["devices"]
	if dir == "" || !created || m.config.Resources.SkipDevices ||
		cgroups.IsCgroup2UnifiedMode() || userns.RunningInUserNS() {
		return nil
	}
	return writeDeviceRulesInOrder(dir, m.config.Resources.Devices, cgroups.WriteFile)
}

// AddProcess moves pid into the container's existing cgroup, for exec.
func (m *Manager) AddProcess(pid int) error {
	if err := m.mgr.AddPid("", pid); err != nil {
		return fmt.Errorf("add pid %d to cgroup %s: %w", pid, m.describe(), err)
	}
	return nil
}

// Update merges r into the container's resources and applies them. Only
// the values r sets change. Device rules are not changed, as in runc.
// Call Saved afterwards to store the merged resources.
func (m *Manager) Update(r *specs.LinuxResources) error {
	merged := *m.config.Resources
	if err := mergeResources(&merged, r, true); err != nil {
		return err
	}

	toSet := merged
	toSet.SkipDevices = true
	toSet.Freezer = cgroups.Undefined
	if err := m.mgr.Set(&toSet); err != nil {
		return fmt.Errorf("update cgroup resources of %s: %w", m.describe(), err)
	}
	*m.config.Resources = merged
	return nil
}

// Destroy removes the container's cgroup directories and the empty parent
// directories Apply created. Directories that are already gone are not an
// error; a directory that still holds processes is.
func (m *Manager) Destroy() error {
	if m.config.Systemd {
		if err := m.mgr.Destroy(); err != nil {
			return fmt.Errorf("remove cgroup %s: %w", m.describe(), err)
		}
		return nil
	}

	var errs []error
	paths := m.mgr.GetPaths()
	for _, controller := range slices.Sorted(maps.Keys(paths)) {
		dir := paths[controller]
		if err := cgroups.RemovePath(dir); err != nil {
			errs = append(errs, fmt.Errorf("remove cgroup %s: %w "+
				"(if processes are left in it, kill them and retry)", dir, err))
			continue
		}
		if top, ok := m.created[controller]; ok {
			if err := removeParents(dir, top); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// describe names the cgroup in error messages.
func (m *Manager) describe() string {
	if p := m.mgr.Path("devices"); p != "" {
		return p
	}
	if p := m.mgr.Path(""); p != "" {
		return p
	}
	return filepath.Join(m.config.Parent, m.config.Name, m.config.Path)
}

// missingDirs maps each controller to the highest directory on the way to
// its cgroup that does not exist yet, leaving out cgroups that exist.
func missingDirs(paths map[string]string) map[string]string {
	created := make(map[string]string)
	for controller, dir := range paths {
		if exists(dir) {
			continue
		}
		top := dir
		for parent := filepath.Dir(dir); parent != "/" && !exists(parent); parent = filepath.Dir(parent) {
			top = parent
		}
		created[controller] = top
	}
	return created
}

// exists reports whether path exists. An error other than "not found"
// counts as existing, so Destroy never removes a directory that it did not
// see being created.
func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}

// removeParents removes the parents of the removed cgroup dir up to and
// including top. It stops at the first one that is not empty, because
// another container's cgroup sits there.
func removeParents(dir, top string) error {
	for parent := filepath.Dir(dir); isWithin(parent, top); parent = filepath.Dir(parent) {
		err := os.Remove(parent)
		switch {
		case err == nil, errors.Is(err, os.ErrNotExist):
		case errors.Is(err, unix.ENOTEMPTY), errors.Is(err, unix.EBUSY):
			return nil
		default:
			return fmt.Errorf("remove parent cgroup: %w", err)
		}
	}
	return nil
}

func isWithin(path, top string) bool {
	return path == top || strings.HasPrefix(path, top+"/")
}

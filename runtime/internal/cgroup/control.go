package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/cgroups"
	"golang.org/x/sys/unix"
)

// Freeze stops every process in the cgroup (pause).
func (m *Manager) Freeze() error {
	if err := m.mgr.Freeze(cgroups.Frozen); err != nil {
		return fmt.Errorf("freeze cgroup %s: %w", m.describe(), err)
	}
	return nil
}

// Thaw lets the processes of a frozen cgroup run again (resume).
func (m *Manager) Thaw() error {
	if err := m.mgr.Freeze(cgroups.Thawed); err != nil {
		return fmt.Errorf("thaw cgroup %s: %w", m.describe(), err)
	}
	return nil
}

// Frozen reports whether the cgroup is frozen. A cgroup that is still
// freezing counts as not frozen. A v1 host without the freezer controller
// reports false.
func (m *Manager) Frozen() (bool, error) {
	state, err := m.mgr.GetFreezerState()
	if err != nil {
		return false, fmt.Errorf("read freezer state of %s: %w", m.describe(), err)
	}
	return state == cgroups.Frozen, nil
}

// Pids returns the pids of every process in the cgroup and its children.
func (m *Manager) Pids() ([]int, error) {
	pids, err := m.mgr.GetAllPids()
	if err != nil {
		return nil, fmt.Errorf("list processes of cgroup %s: %w", m.describe(), err)
	}
	return pids, nil
}

// Stats returns the usage counters of every controller the cgroup is in.
func (m *Manager) Stats() (*cgroups.Stats, error) {
	stats, err := m.mgr.GetStats()
	if err != nil {
		return nil, fmt.Errorf("read statistics of cgroup %s: %w", m.describe(), err)
	}
	return stats, nil
}

// KillAll sends sig to every process in the cgroup. It freezes the cgroup
// first, so no process can fork a child that escapes the signal, and thaws
// it afterwards so the signal is delivered. Processes that exit meanwhile
// are not an error. On a cgroup v1 host without the freezer controller the
// processes are signalled without freezing.
func (m *Manager) KillAll(sig unix.Signal) error {
	freeze := cgroups.IsCgroup2UnifiedMode() || m.mgr.Path("freezer") != ""
	if freeze {
		if err := m.Freeze(); err != nil {
			return fmt.Errorf("signal all processes: %w", err)
		}
	}

	err := m.signalAll(sig)
	if freeze {
		err = errors.Join(err, m.Thaw())
	}
	return err
}

func (m *Manager) signalAll(sig unix.Signal) error {
	pids, err := m.Pids()
	if err != nil {
		return err
	}
	var errs []error
	for _, pid := range pids {
		if err := signal(pid, sig); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// signal sends sig to pid through a pidfd (os.FindProcess opens one on
// Linux 5.3 and later), so a pid reused after the lookup is not hit.
func signal(pid int, sig unix.Signal) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return fmt.Errorf("find process %d: %w", pid, err)
	}
	defer p.Release()

	err = p.Signal(sig)
	if err == nil || errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return fmt.Errorf("send %v to pid %d: %w", sig, pid, err)
}

// Frozen reports whether the saved cgroup is frozen by reading the
// freezer file directly: a status query then costs one read instead of
// building a manager. A cgroup without a freezer is never frozen.
func (s Saved) Frozen() (bool, error) {
	if dir, ok := s.Paths["freezer"]; ok && dir != "" {
		data, err := os.ReadFile(filepath.Join(dir, "freezer.state"))
		if err != nil {
			return false, err
		}
		state := strings.TrimSpace(string(data))
		return state == "FROZEN" || state == "FREEZING", nil
	}
	if dir, ok := s.Paths[""]; ok && dir != "" {
		data, err := os.ReadFile(filepath.Join(dir, "cgroup.freeze"))
		if err != nil {
			return false, err
		}
		return strings.TrimSpace(string(data)) == "1", nil
	}
	return false, nil
}

package runtime

import (
	"fmt"
	"os"

	"github.com/nullrun/nullrun/runtime/internal/cgroup"
)

// Processes returns the host PIDs of every process in the container's
// cgroup, the init included. A stopped container whose cgroup is already
// gone (the systemd driver removes it with the last process) has none,
// which is returned as nil without an error.
func (c *Container) Processes() ([]int, error) {
	cg, err := cgroup.Load(c.state.Cgroup)
	if err != nil {
		return nil, fmt.Errorf("list processes of container %s: %w", c.id, err)
	}
	pids, err := cg.Pids()
	if err != nil {
		if c.status() == Stopped && !cgroupExists(cg) {
			return nil, nil
		}
		return nil, fmt.Errorf("list processes of container %s: %w", c.id, err)
	}
	return pids, nil
}

// cgroupExists reports whether any directory of the cgroup is still there.
func cgroupExists(cg *cgroup.Manager) bool {
	for _, dir := range cg.Paths() {
		if _, err := os.Stat(dir); err == nil {
			return true
		}
	}
	return false
}

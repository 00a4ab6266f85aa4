package runtime

import (
	"fmt"
	"os"

	"github.com/nullrun/nullrun/runtime/internal/cgroup"
)

// Pause freezes every process of the container through the cgroup freezer.
// As in runc 1.1, a created container can be paused as well as a running
// one. Any other state returns an error wrapping ErrNotRunning.
func (c *Container) Pause() error {
	lock, err := c.lockAndReload()
	if err != nil {
		return err
	}
	defer lock.Close()

	switch c.status() {
	case Running, Created:
	default:
		return fmt.Errorf("pause container %s: %w", c.id, ErrNotRunning)
	}
	cg, err := cgroup.Load(c.state.Cgroup)
	if err != nil {
		return fmt.Errorf("pause container %s: %w", c.id, err)
	}
	if err := cg.Freeze(); err != nil {
		return fmt.Errorf("pause container %s: %w", c.id, err)
	}
	return nil
}

// Resume thaws a paused container. A container in any other state returns
// an error wrapping ErrNotPaused.
func (c *Container) Resume() error {
	lock, err := c.lockAndReload()
	if err != nil {
		return err
	}
	defer lock.Close()

	if !c.state.initAlive() {
		return fmt.Errorf("resume container %s: %w", c.id, ErrNotPaused)
	}
	cg, err := cgroup.Load(c.state.Cgroup)
	if err != nil {
		return fmt.Errorf("resume container %s: %w", c.id, err)
	}
	// The freezer is asked directly rather than through status, which
	// reports a paused container that was never started as created.
	frozen, err := cg.Frozen()
	if err != nil {
		return fmt.Errorf("resume container %s: %w", c.id, err)
	}
	if !frozen {
		return fmt.Errorf("resume container %s: %w", c.id, ErrNotPaused)
	}
	if err := cg.Thaw(); err != nil {
		return fmt.Errorf("resume container %s: %w", c.id, err)
	}
	return nil
}

// lockAndReload takes the container's lock and rereads state.json, so a
// change another command made since Load is seen. A container deleted
// meanwhile returns an error wrapping ErrNotExist. The caller closes the
// returned file to release the lock.
func (c *Container) lockAndReload() (*os.File, error) {
	lock, err := lockDir(c.dir)
	if err != nil {
		if isNotExist(err) {
			return nil, fmt.Errorf("container %s %w", c.id, ErrNotExist)
		}
		return nil, fmt.Errorf("lock container %s: %w", c.id, err)
	}
	st, err := readState(c.dir)
	if err != nil {
		lock.Close()
		if isNotExist(err) {
			return nil, fmt.Errorf("container %s %w", c.id, ErrNotExist)
		}
		return nil, fmt.Errorf("load container %s: %w", c.id, err)
	}
	c.state = st
	return lock, nil
}

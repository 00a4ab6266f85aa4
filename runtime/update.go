package runtime

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nullrun/nullrun/runtime/internal/cgroup"
)

// Update changes the cgroup limits of a created, running or paused
// container. Only the values r sets change, and device rules never do, as
// in runc. The merged limits are stored both as the cgroup state and as
// the spec's linux.resources, so later commands read the values in force.
// A stopped container returns an error wrapping ErrNotRunning. If the
// kernel rejects a value, the previous limits are written back.
func (c *Container) Update(r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	lock, err := c.lockAndReload()
	if err != nil {
		return err
	}
	defer lock.Close()

	if c.status() == Stopped {
		return fmt.Errorf("update container %s: %w", c.id, ErrNotRunning)
	}
	cg, err := cgroup.Load(c.state.Cgroup)
	if err != nil {
		return fmt.Errorf("update container %s: %w", c.id, err)
	}
	if err := cg.Update(r); err != nil {
		err = fmt.Errorf("update container %s: %w", c.id, err)
		// The library writes the controller files one by one, so a
		// failure can leave some of the new values in place. An empty
		// update writes the stored values again.
		if rerr := cg.Update(&specs.LinuxResources{}); rerr != nil {
			err = errors.Join(err, fmt.Errorf("restore the previous limits: %w", rerr))
		}
		return err
	}

	c.state.Cgroup = cg.Saved()
	if c.state.Config != nil {
		if c.state.Config.Linux == nil {
			c.state.Config.Linux = &specs.Linux{}
		}
		if c.state.Config.Linux.Resources == nil {
			c.state.Config.Linux.Resources = &specs.LinuxResources{}
		}
		mergeSpecResources(c.state.Config.Linux.Resources, r)
	}
	if err := writeState(c.dir, c.state); err != nil {
		return fmt.Errorf("update container %s: the new limits are in force but "+
			"were not stored: %w", c.id, err)
	}
	return nil
}

// mergeSpecResources copies every value r sets into dst and keeps the
// others, the way the cgroup package merges an update: a list or map that
// r sets replaces the stored one as a whole. Devices are left alone
// because an update does not change device rules.
func mergeSpecResources(dst, r *specs.LinuxResources) {
	mergeSpecMemory(&dst.Memory, r.Memory)
	mergeSpecCPU(&dst.CPU, r.CPU)
	if r.Pids != nil && r.Pids.Limit != nil {
		limit := *r.Pids.Limit
		dst.Pids = &specs.LinuxPids{Limit: &limit}
	}
	mergeSpecBlockIO(&dst.BlockIO, r.BlockIO)
	if len(r.HugepageLimits) > 0 {
		dst.HugepageLimits = slices.Clone(r.HugepageLimits)
	}
	if r.Network != nil {
		if dst.Network == nil {
			dst.Network = &specs.LinuxNetwork{}
		}
		copyPtr(&dst.Network.ClassID, r.Network.ClassID)
		if len(r.Network.Priorities) > 0 {
			dst.Network.Priorities = slices.Clone(r.Network.Priorities)
		}
	}
	if len(r.Rdma) > 0 {
		dst.Rdma = maps.Clone(r.Rdma)
	}
	if r.Unified != nil {
		dst.Unified = maps.Clone(r.Unified)
	}
}

func mergeSpecMemory(dst **specs.LinuxMemory, m *specs.LinuxMemory) {
	if m == nil {
		return
	}
	if *dst == nil {
		*dst = &specs.LinuxMemory{}
	}
	d := *dst
	copyPtr(&d.Limit, m.Limit)
	copyPtr(&d.Reservation, m.Reservation)
	copyPtr(&d.Swap, m.Swap)
	copyPtr(&d.Kernel, m.Kernel)
	copyPtr(&d.KernelTCP, m.KernelTCP)
	copyPtr(&d.Swappiness, m.Swappiness)
	copyPtr(&d.DisableOOMKiller, m.DisableOOMKiller)
	copyPtr(&d.UseHierarchy, m.UseHierarchy)
	copyPtr(&d.CheckBeforeUpdate, m.CheckBeforeUpdate)
	// The cgroup package lifts the swap limit together with the memory
	// limit when an update sets memory to -1 without a swap value.
	if m.Limit != nil && *m.Limit == -1 && m.Swap == nil {
		d.Swap = ptrTo(int64(-1))
	}
}

func mergeSpecCPU(dst **specs.LinuxCPU, c *specs.LinuxCPU) {
	if c == nil {
		return
	}
	if *dst == nil {
		*dst = &specs.LinuxCPU{}
	}
	d := *dst
	copyPtr(&d.Shares, c.Shares)
	copyPtr(&d.Quota, c.Quota)
	copyPtr(&d.Burst, c.Burst)
	copyPtr(&d.Period, c.Period)
	copyPtr(&d.RealtimeRuntime, c.RealtimeRuntime)
	copyPtr(&d.RealtimePeriod, c.RealtimePeriod)
	copyPtr(&d.Idle, c.Idle)
	if c.Cpus != "" {
		d.Cpus = c.Cpus
	}
	if c.Mems != "" {
		d.Mems = c.Mems
	}
}

func mergeSpecBlockIO(dst **specs.LinuxBlockIO, b *specs.LinuxBlockIO) {
	if b == nil {
		return
	}
	if *dst == nil {
		*dst = &specs.LinuxBlockIO{}
	}
	d := *dst
	copyPtr(&d.Weight, b.Weight)
	copyPtr(&d.LeafWeight, b.LeafWeight)
	replaceIfSet(&d.WeightDevice, b.WeightDevice)
	replaceIfSet(&d.ThrottleReadBpsDevice, b.ThrottleReadBpsDevice)
	replaceIfSet(&d.ThrottleWriteBpsDevice, b.ThrottleWriteBpsDevice)
	replaceIfSet(&d.ThrottleReadIOPSDevice, b.ThrottleReadIOPSDevice)
	replaceIfSet(&d.ThrottleWriteIOPSDevice, b.ThrottleWriteIOPSDevice)
}

// replaceIfSet sets *dst to a copy of src unless src is empty.
func replaceIfSet[T any](dst *[]T, src []T) {
	if len(src) > 0 {
		*dst = slices.Clone(src)
	}
}

// copyPtr sets *dst to a copy of *src when src is set.
func copyPtr[T any](dst **T, src *T) {
	if src != nil {
		*dst = ptrTo(*src)
	}
}

func ptrTo[T any](v T) *T { return &v }

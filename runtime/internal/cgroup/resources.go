package cgroup

import (
	"fmt"
	"maps"

	"github.com/opencontainers/cgroups"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// mergeResources copies every value r sets into dst and leaves the others
// as they are, checking each value on the way. New merges into an empty
// Resources and Update into the container's current ones. With update set,
// a memory limit of -1 without a swap value also lifts the swap limit, as
// `runc update` does, so that "unlimited memory" works on cgroup v1.
//
// Devices are not handled here: see deviceRules.
func mergeResources(dst *cgroups.Resources, r *specs.LinuxResources, update bool) error {
	if r == nil {
		return nil
	}
	steps := []func() error{
		func() error { return mergeMemory(dst, r.Memory, update) },
		func() error { return mergeCPU(dst, r.CPU) },
		func() error { return mergeBlockIO(dst, r.BlockIO) },
		func() error { return mergeHugepages(dst, r.HugepageLimits) },
		func() error { return mergeNetwork(dst, r.Network) },
		func() error { return mergeRdma(dst, r.Rdma) },
		func() error { return mergeUnified(dst, r.Unified) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	if r.Pids != nil && r.Pids.Limit != nil {
		// Zero or a negative limit means "no limit" in the library, which
		// writes "max" (and 0 as 1, to match the systemd driver).
		limit := *r.Pids.Limit
		dst.PidsLimit = &limit
	}
	return checkMemoryPair(dst)
}

func mergeMemory(dst *cgroups.Resources, m *specs.LinuxMemory, update bool) error {
	if m == nil {
		return nil
	}
	const field = "linux.resources.memory."
	if m.Limit != nil {
		if err := checkBytes(field+"limit", *m.Limit); err != nil {
			return err
		}
		dst.Memory = *m.Limit
		if update && *m.Limit == -1 && m.Swap == nil {
			dst.MemorySwap = -1
		}
	}
	if m.Reservation != nil {
		if err := checkBytes(field+"reservation", *m.Reservation); err != nil {
			return err
		}
		dst.MemoryReservation = *m.Reservation
	}
	if m.Swap != nil {
		if err := checkBytes(field+"swap", *m.Swap); err != nil {
			return err
		}
		dst.MemorySwap = *m.Swap
	}

	// Kernel and KernelTCP are ignored without an error, as runc 1.1 and
	// later do, because kernel memory limits are deprecated on cgroup v1
	// and do not exist on cgroup v2.

	if m.Swappiness != nil {
		if *m.Swappiness > 100 {
			return invalid(field+"swappiness", *m.Swappiness, "use 0 to 100")
		}
		swappiness := *m.Swappiness
		dst.MemorySwappiness = &swappiness
	}
	if m.DisableOOMKiller != nil {
		dst.OomKillDisable = *m.DisableOOMKiller
	}
	if m.CheckBeforeUpdate != nil {
		dst.MemoryCheckBeforeUpdate = *m.CheckBeforeUpdate
	}
	return nil
}

// checkBytes accepts a memory size in bytes, 0 (not set) or -1 (no limit).
func checkBytes(field string, v int64) error {
	if v < -1 {
		return invalid(field, v, "use a number of bytes, or -1 for no limit")
	}
	return nil
}

// checkMemoryPair rejects a memory+swap limit below the memory limit, which
// the kernel rejects on cgroup v1 with a bare EINVAL.
func checkMemoryPair(r *cgroups.Resources) error {
	if r.Memory > 0 && r.MemorySwap > 0 && r.MemorySwap < r.Memory {
		return invalid("linux.resources.memory.swap", r.MemorySwap, fmt.Sprintf(
			"the memory+swap limit must be at least the memory limit %d, or -1 for no swap limit",
			r.Memory))
	}
	return nil
}

func mergeCPU(dst *cgroups.Resources, c *specs.LinuxCPU) error {
	if c == nil {
		return nil
	}
	const field = "linux.resources.cpu."
	if c.Shares != nil {
		dst.CpuShares = *c.Shares
		dst.CpuWeight = cgroups.ConvertCPUSharesToCgroupV2Value(*c.Shares)
	}

	if c.Quota != nil {
		// The kernel's minimum quota and period are 1 ms and its maximum
		// period is 1 s (kernel/sched/core.c).
		q := *c.Quota
		if q < -1 || (q > 0 && q < 1000) {
			return invalid(field+"quota", q, "use at least 1000 microseconds, or -1 for no limit")
		}
		dst.CpuQuota = q
	}
	if c.Burst != nil {
		burst := *c.Burst
		dst.CpuBurst = &burst
	}
	if c.Period != nil {
		p := *c.Period
		if p != 0 && (p < 1000 || p > 1000000) {
			return invalid(field+"period", p, "use 1000 to 1000000 microseconds")
		}
		dst.CpuPeriod = p
	}
	if c.RealtimeRuntime != nil {
		if *c.RealtimeRuntime < -1 {
			return invalid(field+"realtimeRuntime", *c.RealtimeRuntime,
				"use a number of microseconds, or -1 for no limit")
		}
		dst.CpuRtRuntime = *c.RealtimeRuntime
	}
	if c.RealtimePeriod != nil {
		dst.CpuRtPeriod = *c.RealtimePeriod
	}

	if c.Cpus != "" {
		if err := checkList(field+"cpus", c.Cpus); err != nil {
			return err
		}
		dst.CpusetCpus = c.Cpus
	}
	if c.Mems != "" {
		if err := checkList(field+"mems", c.Mems); err != nil {
			return err
		}
		dst.CpusetMems = c.Mems
	}

	if c.Idle != nil {
		if *c.Idle != 0 && *c.Idle != 1 {
			return invalid(field+"idle", *c.Idle, "use 0 or 1 (SCHED_IDLE)")
		}
		idle := *c.Idle
		dst.CPUIdle = &idle
	}
	return nil
}

func mergeBlockIO(dst *cgroups.Resources, b *specs.LinuxBlockIO) error {
	if b == nil {
		return nil
	}
	const field = "linux.resources.blockIO."
	if b.Weight != nil {
		if err := checkWeight(field+"weight", *b.Weight); err != nil {
			return err
		}
		dst.BlkioWeight = *b.Weight
	}
	if b.LeafWeight != nil {
		if err := checkWeight(field+"leafWeight", *b.LeafWeight); err != nil {
			return err
		}
		dst.BlkioLeafWeight = *b.LeafWeight
	}

	if len(b.WeightDevice) > 0 {
		var list []*cgroups.WeightDevice
		for i, wd := range b.WeightDevice {
			at := fmt.Sprintf("%sweightDevice[%d]", field, i)
			if err := checkBlockDevice(at, wd.LinuxBlockIODevice); err != nil {
				return err
			}
			var weight, leaf uint16
			if wd.Weight != nil {
				weight = *wd.Weight
			}
			if wd.LeafWeight != nil {
				leaf = *wd.LeafWeight
			}
			if err := checkWeight(at+".weight", weight); err != nil {
				return err
			}
			if err := checkWeight(at+".leafWeight", leaf); err != nil {
				return err
			}
			list = append(list, cgroups.NewWeightDevice(wd.Major, wd.Minor, weight, leaf))
		}
		dst.BlkioWeightDevice = list
	}

	throttles := []struct {
		name string
		src  []specs.LinuxThrottleDevice
		dst  *[]*cgroups.ThrottleDevice
	}{
		{"throttleReadBpsDevice", b.ThrottleReadBpsDevice, &dst.BlkioThrottleReadBpsDevice},
		{"throttleWriteBpsDevice", b.ThrottleWriteBpsDevice, &dst.BlkioThrottleWriteBpsDevice},
		{"throttleReadIOPSDevice", b.ThrottleReadIOPSDevice, &dst.BlkioThrottleReadIOPSDevice},
		{"throttleWriteIOPSDevice", b.ThrottleWriteIOPSDevice, &dst.BlkioThrottleWriteIOPSDevice},
	}
	for _, t := range throttles {
		if len(t.src) == 0 {
			continue
		}
		var list []*cgroups.ThrottleDevice
		for i, td := range t.src {
			at := fmt.Sprintf("%s%s[%d]", field, t.name, i)
			if err := checkBlockDevice(at, td.LinuxBlockIODevice); err != nil {
				return err
			}
			list = append(list, cgroups.NewThrottleDevice(td.Major, td.Minor, td.Rate))
		}
		*t.dst = list
	}
	return nil
}

// checkWeight accepts 0 (not set) or the blkio weight range 10 to 1000.
func checkWeight(field string, w uint16) error {
	if w != 0 && (w < 10 || w > 1000) {
		return invalid(field, w, "use 10 to 1000")
	}
	return nil
}

func checkBlockDevice(field string, d specs.LinuxBlockIODevice) error {
	if d.Major < 0 || d.Major > maxMajor {
		return invalid(field+".major", d.Major, fmt.Sprintf("use 0 to %d", maxMajor))
	}
	if d.Minor < 0 || d.Minor > maxMinor {
		return invalid(field+".minor", d.Minor, fmt.Sprintf("use 0 to %d", maxMinor))
	}
	return nil
}

func mergeHugepages(dst *cgroups.Resources, limits []specs.LinuxHugepageLimit) error {
	if len(limits) == 0 {
		return nil
	}
	var list []*cgroups.HugepageLimit
	for i, l := range limits {
		if !isPageSize(l.Pagesize) {
			return invalid(fmt.Sprintf("linux.resources.hugepageLimits[%d].pageSize", i),
				fmt.Sprintf("%q", l.Pagesize), `use a size with a unit, such as "2MB" or "1GB"`)
		}
		list = append(list, &cgroups.HugepageLimit{Pagesize: l.Pagesize, Limit: l.Limit})
	}
	dst.HugetlbLimit = list
	return nil
}

func mergeNetwork(dst *cgroups.Resources, n *specs.LinuxNetwork) error {
	if n == nil {
		return nil
	}
	if n.ClassID != nil {
		dst.NetClsClassid = *n.ClassID
	}
	if len(n.Priorities) == 0 {
		return nil
	}
	var list []*cgroups.IfPrioMap
	for i, p := range n.Priorities {
		if !isInterfaceName(p.Name) {
			return invalid(fmt.Sprintf("linux.resources.network.priorities[%d].name", i),
				fmt.Sprintf("%q", p.Name), "use a network interface name such as eth0")
		}
		list = append(list, &cgroups.IfPrioMap{Interface: p.Name, Priority: int64(p.Priority)})
	}
	dst.NetPrioIfpriomap = list
	return nil
}

func mergeRdma(dst *cgroups.Resources, rdma map[string]specs.LinuxRdma) error {
	if len(rdma) == 0 {
		return nil
	}
	out := make(map[string]cgroups.LinuxRdma, len(rdma))
	for device, limit := range rdma {
		if !isInterfaceName(device) {
			return invalid("linux.resources.rdma", fmt.Sprintf("%q", device),
				"use an RDMA device name such as mlx4_0 as the key")
		}
		out[device] = cgroups.LinuxRdma{HcaHandles: limit.HcaHandles, HcaObjects: limit.HcaObjects}
	}
	dst.Rdma = out
	return nil
}

func mergeUnified(dst *cgroups.Resources, unified map[string]string) error {
	if unified == nil {
		return nil
	}
	for key := range unified {
		if !isUnifiedKey(key) {
			return invalid("linux.resources.unified", fmt.Sprintf("%q", key),
				`use a cgroup v2 file name such as "memory.high" as the key`)
		}
	}
	dst.Unified = maps.Clone(unified)
	return nil
}

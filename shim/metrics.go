package shim

import (
	v1 "github.com/containerd/cgroups/v3/cgroup1/stats"
	v2 "github.com/containerd/cgroups/v3/cgroup2/stats"

	"github.com/nullrun/nullrun/runtime"
)

// metricsV1 converts the runtime's statistics to the cgroup v1 metrics
// that containerd's clients decode (`ctr task metrics`, the CRI plugin).
// Memory counters that the runtime keeps only in raw form come from
// memory.stat's keys.
func metricsV1(s *runtime.Stats) *v1.Metrics {
	raw := s.Memory.Raw
	m := &v1.Metrics{
		Pids: &v1.PidsStat{Current: s.Pids.Current, Limit: s.Pids.Limit},
		CPU: &v1.CPUStat{
			Usage: &v1.CPUUsage{
				Total:  s.CPU.Usage.Total,
				Kernel: s.CPU.Usage.Kernel,
				User:   s.CPU.Usage.User,
				PerCPU: s.CPU.Usage.Percpu,
			},
			Throttling: &v1.Throttle{
				Periods:          s.CPU.Throttling.Periods,
				ThrottledPeriods: s.CPU.Throttling.ThrottledPeriods,
				ThrottledTime:    s.CPU.Throttling.ThrottledTime,
			},
		},
		Memory: &v1.MemoryStat{
			Cache:                   s.Memory.Cache,
			RSS:                     raw["rss"],
			RSSHuge:                 raw["rss_huge"],
			MappedFile:              raw["mapped_file"],
			Dirty:                   raw["dirty"],
			Writeback:               raw["writeback"],
			PgPgIn:                  raw["pgpgin"],
			PgPgOut:                 raw["pgpgout"],
			PgFault:                 raw["pgfault"],
			PgMajFault:              raw["pgmajfault"],
			InactiveAnon:            raw["inactive_anon"],
			ActiveAnon:              raw["active_anon"],
			InactiveFile:            raw["inactive_file"],
			ActiveFile:              raw["active_file"],
			Unevictable:             raw["unevictable"],
			HierarchicalMemoryLimit: raw["hierarchical_memory_limit"],
			HierarchicalSwapLimit:   raw["hierarchical_memsw_limit"],
			TotalCache:              raw["total_cache"],
			TotalRSS:                raw["total_rss"],
			TotalRSSHuge:            raw["total_rss_huge"],
			TotalMappedFile:         raw["total_mapped_file"],
			TotalDirty:              raw["total_dirty"],
			TotalWriteback:          raw["total_writeback"],
			TotalPgPgIn:             raw["total_pgpgin"],
			TotalPgPgOut:            raw["total_pgpgout"],
			TotalPgFault:            raw["total_pgfault"],
			TotalPgMajFault:         raw["total_pgmajfault"],
			TotalInactiveAnon:       raw["total_inactive_anon"],
			TotalActiveAnon:         raw["total_active_anon"],
			TotalInactiveFile:       raw["total_inactive_file"],
			TotalActiveFile:         raw["total_active_file"],
			TotalUnevictable:        raw["total_unevictable"],
			Usage:                   memoryEntryV1(s.Memory.Usage),
			Swap:                    memoryEntryV1(s.Memory.Swap),
			Kernel:                  memoryEntryV1(s.Memory.Kernel),
			KernelTCP:               memoryEntryV1(s.Memory.KernelTCP),
		},
		Blkio: &v1.BlkIOStat{
			IoServiceBytesRecursive: blkioV1(s.Blkio.IoServiceBytesRecursive),
			IoServicedRecursive:     blkioV1(s.Blkio.IoServicedRecursive),
			IoQueuedRecursive:       blkioV1(s.Blkio.IoQueuedRecursive),
			IoServiceTimeRecursive:  blkioV1(s.Blkio.IoServiceTimeRecursive),
			IoWaitTimeRecursive:     blkioV1(s.Blkio.IoWaitTimeRecursive),
			IoMergedRecursive:       blkioV1(s.Blkio.IoMergedRecursive),
			IoTimeRecursive:         blkioV1(s.Blkio.IoTimeRecursive),
			SectorsRecursive:        blkioV1(s.Blkio.SectorsRecursive),
		},
	}
	for size, h := range s.Hugetlb {
		m.Hugetlb = append(m.Hugetlb, &v1.HugetlbStat{
			Usage: h.Usage, Max: h.Max, Failcnt: h.Failcnt, Pagesize: size,
		})
	}
	return m
}

func memoryEntryV1(e runtime.MemoryEntry) *v1.MemoryEntry {
	return &v1.MemoryEntry{Limit: e.Limit, Usage: e.Usage, Max: e.Max, Failcnt: e.Failcnt}
}

func blkioV1(entries []runtime.BlkioEntry) []*v1.BlkIOEntry {
	var out []*v1.BlkIOEntry
	for _, e := range entries {
		out = append(out, &v1.BlkIOEntry{Op: e.Op, Major: e.Major, Minor: e.Minor, Value: e.Value})
	}
	return out
}

// metricsV2 converts the runtime's statistics to the cgroup v2 metrics.
// CPU times become microseconds, as cpu.stat reports them; the memory
// counters come from memory.stat's keys.
func metricsV2(s *runtime.Stats) *v2.Metrics {
	raw := s.Memory.Raw
	m := &v2.Metrics{
		Pids: &v2.PidsStat{Current: s.Pids.Current, Limit: s.Pids.Limit},
		CPU: &v2.CPUStat{
			UsageUsec:     s.CPU.Usage.Total / 1000,
			UserUsec:      s.CPU.Usage.User / 1000,
			SystemUsec:    s.CPU.Usage.Kernel / 1000,
			NrPeriods:     s.CPU.Throttling.Periods,
			NrThrottled:   s.CPU.Throttling.ThrottledPeriods,
			ThrottledUsec: s.CPU.Throttling.ThrottledTime / 1000,
		},
		Memory: &v2.MemoryStat{
			Anon:              raw["anon"],
			File:              raw["file"],
			KernelStack:       raw["kernel_stack"],
			Slab:              raw["slab"],
			Sock:              raw["sock"],
			Shmem:             raw["shmem"],
			FileMapped:        raw["file_mapped"],
			FileDirty:         raw["file_dirty"],
			FileWriteback:     raw["file_writeback"],
			AnonThp:           raw["anon_thp"],
			InactiveAnon:      raw["inactive_anon"],
			ActiveAnon:        raw["active_anon"],
			InactiveFile:      raw["inactive_file"],
			ActiveFile:        raw["active_file"],
			Unevictable:       raw["unevictable"],
			SlabReclaimable:   raw["slab_reclaimable"],
			SlabUnreclaimable: raw["slab_unreclaimable"],
			Pgfault:           raw["pgfault"],
			Pgmajfault:        raw["pgmajfault"],
			Usage:             s.Memory.Usage.Usage,
			UsageLimit:        s.Memory.Usage.Limit,
			MaxUsage:          s.Memory.Usage.Max,
			SwapUsage:         s.Memory.Swap.Usage,
			SwapLimit:         s.Memory.Swap.Limit,
			SwapMaxUsage:      s.Memory.Swap.Max,
		},
		Io: &v2.IOStat{Usage: ioV2(s.Blkio)},
	}
	for size, h := range s.Hugetlb {
		m.Hugetlb = append(m.Hugetlb, &v2.HugeTlbStat{Current: h.Usage, Max: h.Max, Pagesize: size})
	}
	return m
}

// ioV2 folds the per-operation block I/O entries into one entry per
// device, as io.stat reports them.
func ioV2(b runtime.BlkioStats) []*v2.IOEntry {
	type device struct{ major, minor uint64 }
	byDevice := map[device]*v2.IOEntry{}
	var order []device
	entry := func(e runtime.BlkioEntry) *v2.IOEntry {
		d := device{e.Major, e.Minor}
		if byDevice[d] == nil {
			byDevice[d] = &v2.IOEntry{Major: e.Major, Minor: e.Minor}
			order = append(order, d)
		}
		return byDevice[d]
	}
	for _, e := range b.IoServiceBytesRecursive {
		switch e.Op {
		case "Read", "read":
			entry(e).Rbytes = e.Value
		case "Write", "write":
			entry(e).Wbytes = e.Value
		}
	}
	for _, e := range b.IoServicedRecursive {
		switch e.Op {
		case "Read", "read":
			entry(e).Rios = e.Value
		case "Write", "write":
			entry(e).Wios = e.Value
		}
	}
	out := make([]*v2.IOEntry, 0, len(order))
	for _, d := range order {
		out = append(out, byDevice[d])
	}
	return out
}

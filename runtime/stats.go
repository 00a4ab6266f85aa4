package runtime

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/cgroups"

	"github.com/nullrun/nullrun/runtime/internal/cgroup"
)

// Event is one line of `events` output: the shape and field names of
// runc's types.Event, which containerd's go-runc decodes.
type Event struct {
	// Type is EventStats or EventOOM.
	Type string `json:"type"`
	// ID is the container's ID.
	ID string `json:"id"`
	// Data is set for EventStats.
	Data *Stats `json:"data,omitempty"`
}

// The event types Events sends.
const (
	// EventStats carries the container's resource usage in Data.
	EventStats = "stats"
	// EventOOM reports that the kernel's OOM killer killed a process of
	// the container.
	EventOOM = "oom"
)

// Stats is the resource usage of a container's cgroup, with runc's JSON
// field names (runc 1.1 types.Stats, without intel_rdt).
type Stats struct {
	CPU    CPUStats    `json:"cpu"`
	CPUSet CPUSetStats `json:"cpuset"`
	Memory MemoryStats `json:"memory"`
	Pids   PidsStats   `json:"pids"`
	Blkio  BlkioStats  `json:"blkio"`
	// Hugetlb maps a page size such as "2MB" to its usage.
	Hugetlb map[string]HugetlbStats `json:"hugetlb"`
	// NetworkInterfaces is always nil: runc fills it only for network
	// interfaces that its own configuration created, and nullrun creates
	// none.
	NetworkInterfaces []*NetworkInterface `json:"network_interfaces"`
}

// CPUStats is CPU time used and CFS throttling.
type CPUStats struct {
	Usage      CPUUsage        `json:"usage,omitempty"`
	Throttling ThrottlingStats `json:"throttling,omitempty"`
}

// CPUUsage is CPU time in nanoseconds.
type CPUUsage struct {
	Total        uint64   `json:"total,omitempty"`
	Percpu       []uint64 `json:"percpu,omitempty"`
	PercpuKernel []uint64 `json:"percpu_kernel,omitempty"`
	PercpuUser   []uint64 `json:"percpu_user,omitempty"`
	Kernel       uint64   `json:"kernel"`
	User         uint64   `json:"user"`
}

// ThrottlingStats counts CFS periods and the time spent throttled, in
// nanoseconds.
type ThrottlingStats struct {
	Periods          uint64 `json:"periods,omitempty"`
	ThrottledPeriods uint64 `json:"throttledPeriods,omitempty"`
	ThrottledTime    uint64 `json:"throttledTime,omitempty"`
}

// CPUSetStats is the cgroup v1 cpuset controller's settings.
type CPUSetStats struct {
	CPUs                  []uint16 `json:"cpus,omitempty"`
	CPUExclusive          uint64   `json:"cpu_exclusive"`
	Mems                  []uint16 `json:"mems,omitempty"`
	MemHardwall           uint64   `json:"mem_hardwall"`
	MemExclusive          uint64   `json:"mem_exclusive"`
	MemoryMigrate         uint64   `json:"memory_migrate"`
	MemorySpreadPage      uint64   `json:"memory_spread_page"`
	MemorySpreadSlab      uint64   `json:"memory_spread_slab"`
	MemoryPressure        uint64   `json:"memory_pressure"`
	SchedLoadBalance      uint64   `json:"sched_load_balance"`
	SchedRelaxDomainLevel int64    `json:"sched_relax_domain_level"`
}

// MemoryStats is memory usage in bytes, plus the controller's raw
// memory.stat counters.
type MemoryStats struct {
	Cache     uint64            `json:"cache,omitempty"`
	Usage     MemoryEntry       `json:"usage,omitempty"`
	Swap      MemoryEntry       `json:"swap,omitempty"`
	Kernel    MemoryEntry       `json:"kernel,omitempty"`
	KernelTCP MemoryEntry       `json:"kernelTCP,omitempty"`
	Raw       map[string]uint64 `json:"raw,omitempty"`
}

// MemoryEntry is one memory counter: limit, current and maximum usage in
// bytes, and how often the limit was hit.
type MemoryEntry struct {
	Limit   uint64 `json:"limit"`
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

// PidsStats is the number of tasks and the limit, 0 when there is none.
type PidsStats struct {
	Current uint64 `json:"current,omitempty"`
	Limit   uint64 `json:"limit,omitempty"`
}

// BlkioStats is block I/O per device and operation.
type BlkioStats struct {
	IoServiceBytesRecursive []BlkioEntry `json:"ioServiceBytesRecursive,omitempty"`
	IoServicedRecursive     []BlkioEntry `json:"ioServicedRecursive,omitempty"`
	IoQueuedRecursive       []BlkioEntry `json:"ioQueueRecursive,omitempty"`
	IoServiceTimeRecursive  []BlkioEntry `json:"ioServiceTimeRecursive,omitempty"`
	IoWaitTimeRecursive     []BlkioEntry `json:"ioWaitTimeRecursive,omitempty"`
	IoMergedRecursive       []BlkioEntry `json:"ioMergedRecursive,omitempty"`
	IoTimeRecursive         []BlkioEntry `json:"ioTimeRecursive,omitempty"`
	SectorsRecursive        []BlkioEntry `json:"sectorsRecursive,omitempty"`
}

// BlkioEntry is one counter of one block device.
type BlkioEntry struct {
	Major uint64 `json:"major,omitempty"`
	Minor uint64 `json:"minor,omitempty"`
	Op    string `json:"op,omitempty"`
	Value uint64 `json:"value,omitempty"`
}

// HugetlbStats is the usage of one huge page size in bytes.
type HugetlbStats struct {
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

// NetworkInterface is the traffic of one network interface. Its fields
// have no JSON tags, as in runc.
type NetworkInterface struct {
	Name      string
	RxBytes   uint64
	RxPackets uint64
	RxErrors  uint64
	RxDropped uint64
	TxBytes   uint64
	TxPackets uint64
	TxErrors  uint64
	TxDropped uint64
}

// Stats reads the resource usage of the container's cgroup. It works in
// every state as long as the cgroup exists, that is until Delete.
func (c *Container) Stats() (*Stats, error) {
	cg, err := cgroup.Load(c.state.Cgroup)
	if err != nil {
		return nil, fmt.Errorf("read statistics of container %s: %w", c.id, err)
	}
	s, err := cg.Stats()
	if err != nil {
		return nil, fmt.Errorf("read statistics of container %s: %w", c.id, err)
	}
	return convertStats(s), nil
}

// oomPollInterval is how often Events looks for new OOM kills and for the
// init's exit when the stats interval is longer.
const oomPollInterval = 100 * time.Millisecond

// Events calls send with a stats event every interval, and with an oom
// event when the kernel's OOM killer has killed a process of the container
// since the last check, until ctx is done or the container's init exits.
// A stopped container returns an error wrapping ErrNotRunning; an error
// from send ends Events with that error. A failure to read the statistics
// of a running container goes to Options.Warn and skips one event.
func (c *Container) Events(ctx context.Context, interval time.Duration, send func(Event) error) error {
	if interval <= 0 {
		return fmt.Errorf("read events of container %s: interval %v must be greater than 0", c.id, interval)
	}
	if !c.state.initAlive() {
		return fmt.Errorf("read events of container %s: %w", c.id, ErrNotRunning)
	}
	oom := c.newOOMCounter()

	stats := time.NewTicker(interval)
	defer stats.Stop()
	poll := time.NewTicker(min(interval, oomPollInterval))
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-stats.C:
			s, err := c.Stats()
			if err != nil {
				if !c.state.initAlive() {
					return nil
				}
				c.rt.warnf("%w", err)
				continue
			}
			if err := send(Event{Type: EventStats, ID: c.id, Data: s}); err != nil {
				return err
			}
		case <-poll.C:
			// OOM first: a kill of the init itself is reported before
			// the loop ends on the init's exit.
			if oom.increased() {
				if err := send(Event{Type: EventOOM, ID: c.id}); err != nil {
					return err
				}
			}
			if !c.state.initAlive() {
				return nil
			}
		}
	}
}

// oomCounter watches the memory controller's count of OOM kills: oom_kill
// in memory.oom_control on cgroup v1 (Linux 4.13 and later) and in
// memory.events on cgroup v2. A zero oomCounter, for a cgroup without the
// memory controller, never reports an increase.
type oomCounter struct {
	path  string
	count uint64
}

func (c *Container) newOOMCounter() *oomCounter {
	cg, err := cgroup.Load(c.state.Cgroup)
	if err != nil {
		return &oomCounter{}
	}
	paths := cg.Paths()
	var path string
	if dir := paths["memory"]; dir != "" {
		path = filepath.Join(dir, "memory.oom_control")
	} else if dir := paths[""]; dir != "" && cgroups.IsCgroup2UnifiedMode() {
		path = filepath.Join(dir, "memory.events")
	}
	o := &oomCounter{path: path}
	o.count, _ = readKeyedValue(path, "oom_kill")
	return o
}

// increased reports whether the count of OOM kills has grown since the
// last call.
func (o *oomCounter) increased() bool {
	if o.path == "" {
		return false
	}
	n, err := readKeyedValue(o.path, "oom_kill")
	if err != nil || n <= o.count {
		return false
	}
	o.count = n
	return true
}

// readKeyedValue returns the value of key in a cgroup file of "key value"
// lines.
func readKeyedValue(path, key string) (uint64, error) {
	if path == "" {
		return 0, errors.New("read cgroup counter: no file")
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		k, v, ok := strings.Cut(scanner.Text(), " ")
		if ok && k == key {
			return strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		}
	}
	if err := scanner.Err(); err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	return 0, fmt.Errorf("read %s: no %s line", path, key)
}

// convertStats maps the cgroup library's statistics to runc's layout.
func convertStats(cg *cgroups.Stats) *Stats {
	var s Stats
	cpu := cg.CpuStats
	s.CPU.Usage = CPUUsage{
		Total:        cpu.CpuUsage.TotalUsage,
		Percpu:       cpu.CpuUsage.PercpuUsage,
		PercpuKernel: cpu.CpuUsage.PercpuUsageInKernelmode,
		PercpuUser:   cpu.CpuUsage.PercpuUsageInUsermode,
		Kernel:       cpu.CpuUsage.UsageInKernelmode,
		User:         cpu.CpuUsage.UsageInUsermode,
	}
	s.CPU.Throttling = ThrottlingStats{
		Periods:          cpu.ThrottlingData.Periods,
		ThrottledPeriods: cpu.ThrottlingData.ThrottledPeriods,
		ThrottledTime:    cpu.ThrottlingData.ThrottledTime,
	}

	set := cg.CPUSetStats
	s.CPUSet = CPUSetStats{
		CPUs:                  set.CPUs,
		CPUExclusive:          set.CPUExclusive,
		Mems:                  set.Mems,
		MemHardwall:           set.MemHardwall,
		MemExclusive:          set.MemExclusive,
		MemoryMigrate:         set.MemoryMigrate,
		MemorySpreadPage:      set.MemorySpreadPage,
		MemorySpreadSlab:      set.MemorySpreadSlab,
		MemoryPressure:        set.MemoryPressure,
		SchedLoadBalance:      set.SchedLoadBalance,
		SchedRelaxDomainLevel: set.SchedRelaxDomainLevel,
	}

	mem := cg.MemoryStats
	s.Memory = MemoryStats{
		Cache:     mem.Cache,
		Usage:     convertMemoryEntry(mem.Usage),
		Swap:      convertMemoryEntry(mem.SwapUsage),
		Kernel:    convertMemoryEntry(mem.KernelUsage),
		KernelTCP: convertMemoryEntry(mem.KernelTCPUsage),
		Raw:       mem.Stats,
	}

	s.Pids = PidsStats{Current: cg.PidsStats.Current, Limit: cg.PidsStats.Limit}

	io := cg.BlkioStats
	s.Blkio = BlkioStats{
		IoServiceBytesRecursive: convertBlkio(io.IoServiceBytesRecursive),
		IoServicedRecursive:     convertBlkio(io.IoServicedRecursive),
		IoQueuedRecursive:       convertBlkio(io.IoQueuedRecursive),
		IoServiceTimeRecursive:  convertBlkio(io.IoServiceTimeRecursive),
		IoWaitTimeRecursive:     convertBlkio(io.IoWaitTimeRecursive),
		IoMergedRecursive:       convertBlkio(io.IoMergedRecursive),
		IoTimeRecursive:         convertBlkio(io.IoTimeRecursive),
		SectorsRecursive:        convertBlkio(io.SectorsRecursive),
	}

	s.Hugetlb = make(map[string]HugetlbStats, len(cg.HugetlbStats))
	for size, h := range cg.HugetlbStats {
		s.Hugetlb[size] = HugetlbStats{Usage: h.Usage, Max: h.MaxUsage, Failcnt: h.Failcnt}
	}
	return &s
}

func convertMemoryEntry(m cgroups.MemoryData) MemoryEntry {
	return MemoryEntry{Limit: m.Limit, Usage: m.Usage, Max: m.MaxUsage, Failcnt: m.Failcnt}
}

func convertBlkio(entries []cgroups.BlkioStatEntry) []BlkioEntry {
	var out []BlkioEntry
	for _, e := range entries {
		out = append(out, BlkioEntry{Major: e.Major, Minor: e.Minor, Op: e.Op, Value: e.Value})
	}
	return out
}

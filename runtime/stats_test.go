package runtime

import (
	"encoding/json"
	"slices"
	"sort"
	"testing"

	"github.com/opencontainers/cgroups"
)

// goRuncStatsKeys are the JSON keys that containerd's go-runc (events.go,
// type Stats and its members) decodes from `events` output, as dotted
// paths. Hugetlb entries sit under a page size key such as "2MB".
var goRuncStatsKeys = []string{
	"cpu.usage.total", "cpu.usage.percpu", "cpu.usage.kernel", "cpu.usage.user",
	"cpu.throttling.periods", "cpu.throttling.throttledPeriods", "cpu.throttling.throttledTime",
	"memory.cache", "memory.raw",
	"memory.usage.limit", "memory.usage.usage", "memory.usage.max", "memory.usage.failcnt",
	"memory.swap.limit", "memory.swap.usage", "memory.swap.max", "memory.swap.failcnt",
	"memory.kernel.limit", "memory.kernel.usage", "memory.kernel.max", "memory.kernel.failcnt",
	"memory.kernelTCP.limit", "memory.kernelTCP.usage", "memory.kernelTCP.max", "memory.kernelTCP.failcnt",
	"pids.current", "pids.limit",
	"blkio.ioServiceBytesRecursive", "blkio.ioServicedRecursive", "blkio.ioQueueRecursive",
	"blkio.ioServiceTimeRecursive", "blkio.ioWaitTimeRecursive", "blkio.ioMergedRecursive",
	"blkio.ioTimeRecursive", "blkio.sectorsRecursive",
	"hugetlb.2MB.usage", "hugetlb.2MB.max", "hugetlb.2MB.failcnt",
	"network_interfaces",
}

// runcOnlyStatsKeys are written by runc 1.1 (types.Stats) but not read by
// go-runc.
var runcOnlyStatsKeys = []string{
	"cpu.usage.percpu_kernel", "cpu.usage.percpu_user",
	"cpuset.cpus", "cpuset.cpu_exclusive", "cpuset.mems", "cpuset.mem_hardwall",
	"cpuset.mem_exclusive", "cpuset.memory_migrate", "cpuset.memory_spread_page",
	"cpuset.memory_spread_slab", "cpuset.memory_pressure", "cpuset.sched_load_balance",
	"cpuset.sched_relax_domain_level",
}

// fullCgroupStats returns library statistics with every field that
// convertStats reads set to a non-zero value, so no omitempty key is left
// out of the JSON.
func fullCgroupStats() *cgroups.Stats {
	entry := []cgroups.BlkioStatEntry{{Major: 8, Minor: 1, Op: "Read", Value: 4096}}
	mem := cgroups.MemoryData{Usage: 1, MaxUsage: 2, Failcnt: 3, Limit: 4}
	return &cgroups.Stats{
		CpuStats: cgroups.CpuStats{
			CpuUsage: cgroups.CpuUsage{
				TotalUsage: 10, PercpuUsage: []uint64{5, 5},
				PercpuUsageInKernelmode: []uint64{1, 1}, PercpuUsageInUsermode: []uint64{4, 4},
				UsageInKernelmode: 2, UsageInUsermode: 8,
			},
			ThrottlingData: cgroups.ThrottlingData{Periods: 1, ThrottledPeriods: 2, ThrottledTime: 3},
		},
		CPUSetStats: cgroups.CPUSetStats{CPUs: []uint16{0, 1}, Mems: []uint16{0}, SchedLoadBalance: 1},
		MemoryStats: cgroups.MemoryStats{
			Cache: 1, Usage: mem, SwapUsage: mem, KernelUsage: mem, KernelTCPUsage: mem,
			Stats: map[string]uint64{"rss": 1},
		},
		PidsStats: cgroups.PidsStats{Current: 3, Limit: 50},
		BlkioStats: cgroups.BlkioStats{
			IoServiceBytesRecursive: entry, IoServicedRecursive: entry, IoQueuedRecursive: entry,
			IoServiceTimeRecursive: entry, IoWaitTimeRecursive: entry, IoMergedRecursive: entry,
			IoTimeRecursive: entry, SectorsRecursive: entry,
		},
		HugetlbStats: map[string]cgroups.HugetlbStats{"2MB": {Usage: 1, MaxUsage: 2, Failcnt: 3}},
	}
}

// jsonKeys returns the dotted paths of every key in v, descending into
// objects but not into arrays or the raw memory map.
func jsonKeys(prefix string, v any) []string {
	obj, ok := v.(map[string]any)
	if !ok || prefix == "memory.raw" {
		return []string{prefix}
	}
	var keys []string
	for k, child := range obj {
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		keys = append(keys, jsonKeys(path, child)...)
	}
	return keys
}

func TestStatsJSONKeys(t *testing.T) {
	data, err := json.Marshal(convertStats(fullCgroupStats()))
	if err != nil {
		t.Fatalf("encode stats: %v", err)
	}
	var decoded any
	if err := json.Unmarshal(data, &decoded); err != nil {
		t.Fatalf("decode stats: %v", err)
	}
	got := jsonKeys("", decoded)
	sort.Strings(got)

	want := append(slices.Clone(goRuncStatsKeys), runcOnlyStatsKeys...)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		for _, k := range want {
			if !slices.Contains(got, k) {
				t.Errorf("stats JSON: key %q missing", k)
			}
		}
		for _, k := range got {
			if !slices.Contains(want, k) {
				t.Errorf("stats JSON: unexpected key %q", k)
			}
		}
	}
}

func TestConvertStatsValues(t *testing.T) {
	s := convertStats(fullCgroupStats())
	checks := []struct {
		name      string
		got, want uint64
	}{
		{"cpu.usage.total", s.CPU.Usage.Total, 10},
		{"cpu.usage.kernel", s.CPU.Usage.Kernel, 2},
		{"cpu.usage.user", s.CPU.Usage.User, 8},
		{"cpu.throttling.throttledTime", s.CPU.Throttling.ThrottledTime, 3},
		{"memory.usage.usage", s.Memory.Usage.Usage, 1},
		{"memory.usage.max", s.Memory.Usage.Max, 2},
		{"memory.usage.limit", s.Memory.Usage.Limit, 4},
		{"pids.current", s.Pids.Current, 3},
		{"pids.limit", s.Pids.Limit, 50},
		{"hugetlb.2MB.max", s.Hugetlb["2MB"].Max, 2},
		{"blkio.ioServiceBytesRecursive[0].value", s.Blkio.IoServiceBytesRecursive[0].Value, 4096},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, c.got, c.want)
		}
	}
}

func TestStatsEmptyHugetlbIsObject(t *testing.T) {
	data, err := json.Marshal(convertStats(cgroups.NewStats()))
	if err != nil {
		t.Fatalf("encode stats: %v", err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("decode stats: %v", err)
	}
	// runc prints {} for a host without hugetlb controller, and null for
	// the network interfaces.
	if got := string(doc["hugetlb"]); got != "{}" {
		t.Errorf("hugetlb: got %s, want {}", got)
	}
	if got := string(doc["network_interfaces"]); got != "null" {
		t.Errorf("network_interfaces: got %s, want null", got)
	}
}

func TestEventJSON(t *testing.T) {
	tests := []struct {
		event Event
		want  string
	}{
		{Event{Type: EventOOM, ID: "c1"}, `{"type":"oom","id":"c1"}`},
		{Event{Type: EventStats, ID: "c1", Data: &Stats{}},
			`{"type":"stats","id":"c1","data":{"cpu":{"usage":{"kernel":0,"user":0},"throttling":{}},` +
				`"cpuset":{"cpu_exclusive":0,"mem_hardwall":0,"mem_exclusive":0,"memory_migrate":0,` +
				`"memory_spread_page":0,"memory_spread_slab":0,"memory_pressure":0,` +
				`"sched_load_balance":0,"sched_relax_domain_level":0},` +
				`"memory":{"usage":{"limit":0,"failcnt":0},"swap":{"limit":0,"failcnt":0},` +
				`"kernel":{"limit":0,"failcnt":0},"kernelTCP":{"limit":0,"failcnt":0}},` +
				`"pids":{},"blkio":{},"hugetlb":null,"network_interfaces":null}}`},
	}
	for _, tt := range tests {
		data, err := json.Marshal(tt.event)
		if err != nil {
			t.Fatalf("encode %s event: %v", tt.event.Type, err)
		}
		if got := string(data); got != tt.want {
			t.Errorf("%s event:\ngot  %s\nwant %s", tt.event.Type, got, tt.want)
		}
	}
}

func TestReadKeyedValue(t *testing.T) {
	path := t.TempDir() + "/memory.oom_control"
	if err := writeFileAtomic(path, []byte("oom_kill_disable 0\nunder_oom 0\noom_kill 7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readKeyedValue(path, "oom_kill")
	if err != nil || got != 7 {
		t.Errorf("oom_kill: got %d, %v, want 7, nil", got, err)
	}
	if _, err := readKeyedValue(path, "oom"); err == nil {
		t.Errorf("missing key oom: got no error, want one")
	}

	counter := &oomCounter{path: path, count: 7}
	if counter.increased() {
		t.Errorf("increased with an unchanged count: got true, want false")
	}
	if err := writeFileAtomic(path, []byte("oom_kill 8\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !counter.increased() {
		t.Errorf("increased after the count grew to 8: got false, want true")
	}
	if counter.increased() {
		t.Errorf("increased a second time without a new kill: got true, want false")
	}
	if (&oomCounter{}).increased() {
		t.Errorf("increased without a memory controller: got true, want false")
	}
}

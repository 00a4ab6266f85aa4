package cgroup

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/opencontainers/cgroups"
	devices "github.com/opencontainers/cgroups/devices/config"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func ptr[T any](v T) *T { return &v }

func TestConvertResources(t *testing.T) {
	linux := &specs.Linux{
		Resources: &specs.LinuxResources{
			Memory: &specs.LinuxMemory{
				Limit:            ptr(int64(64 << 20)),
				Reservation:      ptr(int64(32 << 20)),
				Swap:             ptr(int64(128 << 20)),
				Kernel:           ptr(int64(1 << 20)),
				Swappiness:       ptr(uint64(10)),
				DisableOOMKiller: ptr(true),
			},
			CPU: &specs.LinuxCPU{
				Shares: ptr(uint64(512)), Quota: ptr(int64(50000)), Period: ptr(uint64(100000)),
				RealtimeRuntime: ptr(int64(-1)), RealtimePeriod: ptr(uint64(1000000)),
				Cpus: "0-1", Mems: "0", Idle: ptr(int64(1)),
			},
			Pids: &specs.LinuxPids{Limit: ptr(int64(100))},
			BlockIO: &specs.LinuxBlockIO{
				Weight: ptr(uint16(500)),
				WeightDevice: []specs.LinuxWeightDevice{{
					LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0},
					Weight:             ptr(uint16(300)),
				}},
				ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{{
					LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0},
					Rate:               1 << 20,
				}},
			},
			HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1 << 30}},
			Network: &specs.LinuxNetwork{
				ClassID:    ptr(uint32(0x100001)),
				Priorities: []specs.LinuxInterfacePriority{{Name: "eth0", Priority: 5}},
			},
			Rdma:    map[string]specs.LinuxRdma{"mlx4_0": {HcaHandles: ptr(uint32(2))}},
			Unified: map[string]string{"memory.high": "max"},
		},
	}

	config, err := convert("ctr", linux, false)
	if err != nil {
		t.Fatalf("convert: %v", err)
	}
	r := config.Resources
	checks := []struct {
		name      string
		got, want any
	}{
		{"Memory", r.Memory, int64(64 << 20)},
		{"MemoryReservation", r.MemoryReservation, int64(32 << 20)},
		{"MemorySwap", r.MemorySwap, int64(128 << 20)},
		{"MemorySwappiness", *r.MemorySwappiness, uint64(10)},
		{"OomKillDisable", r.OomKillDisable, true},
		{"CpuShares", r.CpuShares, uint64(512)},
		{"CpuWeight", r.CpuWeight, cgroups.ConvertCPUSharesToCgroupV2Value(512)},
		{"CpuQuota", r.CpuQuota, int64(50000)},
		{"CpuPeriod", r.CpuPeriod, uint64(100000)},
		{"CpuRtRuntime", r.CpuRtRuntime, int64(-1)},
		{"CpuRtPeriod", r.CpuRtPeriod, uint64(1000000)},
		{"CpusetCpus", r.CpusetCpus, "0-1"},
		{"CpusetMems", r.CpusetMems, "0"},
		{"CPUIdle", *r.CPUIdle, int64(1)},
		{"PidsLimit", *r.PidsLimit, int64(100)},
		{"BlkioWeight", r.BlkioWeight, uint16(500)},
		{"BlkioWeightDevice", r.BlkioWeightDevice[0].WeightString(), "8:0 300"},
		{"BlkioThrottleReadBpsDevice", r.BlkioThrottleReadBpsDevice[0].String(), "8:0 1048576"},
		{"HugetlbLimit", *r.HugetlbLimit[0], cgroups.HugepageLimit{Pagesize: "2MB", Limit: 1 << 30}},
		{"NetClsClassid", r.NetClsClassid, uint32(0x100001)},
		{"NetPrioIfpriomap", r.NetPrioIfpriomap[0].CgroupString(), "eth0 5"},
		{"Rdma", *r.Rdma["mlx4_0"].HcaHandles, uint32(2)},
		{"Unified", r.Unified, map[string]string{"memory.high": "max"}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestConvertNilResources(t *testing.T) {
	config, err := convert("ctr", &specs.Linux{}, false)
	if err != nil {
		t.Fatalf("convert: %v", err)
	}
	if config.Resources == nil {
		t.Fatal("got nil Resources, want an empty set plus the default device rules")
	}
	if got, want := len(config.Resources.Devices), len(defaultRules); got != want {
		t.Errorf("device rules: got %d, want %d", got, want)
	}
	if config.Resources.PidsLimit != nil {
		t.Errorf("PidsLimit: got %d, want nil (keep the current limit)", *config.Resources.PidsLimit)
	}
}

func TestConvertRejectsInvalid(t *testing.T) {
	tests := []struct {
		name  string
		res   specs.LinuxResources
		field string
	}{
		{"memory limit", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(-2))}},
			"linux.resources.memory.limit"},
		{"memory reservation", specs.LinuxResources{Memory: &specs.LinuxMemory{Reservation: ptr(int64(-5))}},
			"linux.resources.memory.reservation"},
		{"swap below limit", specs.LinuxResources{Memory: &specs.LinuxMemory{
			Limit: ptr(int64(200 << 20)), Swap: ptr(int64(100 << 20)),
		}}, "linux.resources.memory.swap"},
		{"swappiness", specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: ptr(uint64(101))}},
			"linux.resources.memory.swappiness"},
		{"cpu quota small", specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: ptr(int64(999))}},
			"linux.resources.cpu.quota"},
		{"cpu quota negative", specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: ptr(int64(-2))}},
			"linux.resources.cpu.quota"},
		{"cpu period", specs.LinuxResources{CPU: &specs.LinuxCPU{Period: ptr(uint64(2000000))}},
			"linux.resources.cpu.period"},
		{"realtime runtime", specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: ptr(int64(-3))}},
			"linux.resources.cpu.realtimeRuntime"},
		{"cpus", specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0-x"}}, "linux.resources.cpu.cpus"},
		{"cpus reversed", specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "3-1"}}, "linux.resources.cpu.cpus"},
		{"mems", specs.LinuxResources{CPU: &specs.LinuxCPU{Mems: "0,,1"}}, "linux.resources.cpu.mems"},
		{"idle", specs.LinuxResources{CPU: &specs.LinuxCPU{Idle: ptr(int64(2))}}, "linux.resources.cpu.idle"},
		{"blkio weight", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: ptr(uint16(5))}},
			"linux.resources.blockIO.weight"},
		{"blkio leaf weight", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{LeafWeight: ptr(uint16(1001))}},
			"linux.resources.blockIO.leafWeight"},
		{"weight device major", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
			WeightDevice: []specs.LinuxWeightDevice{{
				LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: -1}, Weight: ptr(uint16(100)),
			}},
		}}, "linux.resources.blockIO.weightDevice[0].major"},
		{"weight device weight", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
			WeightDevice: []specs.LinuxWeightDevice{{Weight: ptr(uint16(1))}},
		}}, "linux.resources.blockIO.weightDevice[0].weight"},
		{"throttle minor", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{
				LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: -4},
			}},
		}}, "linux.resources.blockIO.throttleWriteIOPSDevice[0].minor"},
		{"hugepage size", specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2M"}}},
			"linux.resources.hugepageLimits[0].pageSize"},
		{"hugepage traversal", specs.LinuxResources{
			HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "../2MB"}},
		}, "linux.resources.hugepageLimits[0].pageSize"},
		{"priority name", specs.LinuxResources{Network: &specs.LinuxNetwork{
			Priorities: []specs.LinuxInterfacePriority{{Name: "eth0 7"}},
		}}, "linux.resources.network.priorities[0].name"},
		{"rdma device", specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{"": {}}},
			"linux.resources.rdma"},
		{"unified key", specs.LinuxResources{Unified: map[string]string{"../memory.max": "1"}},
			"linux.resources.unified"},
		{"unified no dot", specs.LinuxResources{Unified: map[string]string{"memory": "1"}},
			"linux.resources.unified"},
		{"device type", specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
			{Allow: true, Type: "p", Access: "rwm"},
		}}, "linux.resources.devices[0].type"},
		{"device access empty", specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
			{Allow: true, Type: "c"},
		}}, "linux.resources.devices[0].access"},
		{"device access letter", specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
			{Allow: true, Type: "c", Access: "rwx"},
		}}, "linux.resources.devices[0].access"},
		{"device major", specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
			{Allow: true, Access: "r"}, {Allow: true, Type: "c", Major: ptr(int64(-2)), Access: "r"},
		}}, "linux.resources.devices[1].major"},
		{"device minor", specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
			{Allow: true, Type: "b", Major: ptr(int64(8)), Minor: ptr(int64(1 << 20)), Access: "r"},
		}}, "linux.resources.devices[0].minor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.res
			_, err := convert("ctr", &specs.Linux{Resources: &res}, false)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("got error %v, want one wrapping ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.field+" ") {
				t.Errorf("got error %q, want it to name %s", err, tt.field)
			}
		})
	}
}

func TestConvertAcceptsEdgeValues(t *testing.T) {
	res := specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptr(int64(-1)), Swap: ptr(int64(-1))},
		CPU:    &specs.LinuxCPU{Quota: ptr(int64(-1)), Period: ptr(uint64(1000)), Cpus: "0-15:2/4,17"},
		Pids:   &specs.LinuxPids{Limit: ptr(int64(-1))},
		Devices: []specs.LinuxDeviceCgroup{
			{Allow: false, Access: "rwm"},
			{Allow: true, Type: "c", Major: ptr(int64(-1)), Minor: ptr(int64(-1)), Access: "m"},
		},
	}
	if _, err := convert("ctr", &specs.Linux{Resources: &res}, false); err != nil {
		t.Fatalf("got error %v, want none", err)
	}
}

func TestDeviceRules(t *testing.T) {
	linux := &specs.Linux{
		Devices: []specs.LinuxDevice{{Path: "/dev/null", Type: "c", Major: 1, Minor: 3}},
		Resources: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
			{Allow: false, Access: "rwm"},
			{Allow: true, Type: "c", Major: ptr(int64(10)), Minor: ptr(int64(200)), Access: "mwr"},
		}},
	}
	rules, err := deviceRules(linux)
	if err != nil {
		t.Fatalf("deviceRules: %v", err)
	}

	want0 := devices.Rule{Type: 'a', Major: -1, Minor: -1, Permissions: "rwm", Allow: false}
	if *rules[0] != want0 {
		t.Errorf("rule 0: got %+v, want %+v (the spec's rules come first)", *rules[0], want0)
	}
	want1 := devices.Rule{Type: 'c', Major: 10, Minor: 200, Permissions: "rwm", Allow: true}
	if *rules[1] != want1 {
		t.Errorf("rule 1: got %+v, want %+v", *rules[1], want1)
	}
	if got, want := len(rules), 2+len(defaultRules)-1; got != want {
		t.Errorf("rule count: got %d, want %d (defaults without /dev/null)", got, want)
	}
	for _, r := range rules[2:] {
		if r.Type == 'c' && r.Major == 1 && r.Minor == 3 {
			t.Errorf("got a default rule for /dev/null, want none because linux.devices lists it")
		}
	}
	ptmx := devices.Rule{Type: 'c', Major: 5, Minor: 2, Permissions: "rwm", Allow: true}
	if last := *rules[len(rules)-1]; last != ptmx {
		t.Errorf("last rule: got %+v, want /dev/ptmx %+v", last, ptmx)
	}
}

func TestMergeUpdateKeepsUnsetValues(t *testing.T) {
	dst := &cgroups.Resources{
		Memory: 100 << 20, MemorySwap: 200 << 20, CpuShares: 256, PidsLimit: ptr(int64(10)),
		CpusetCpus: "0",
	}
	update := &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(-1))}}
	if err := mergeResources(dst, update, true); err != nil {
		t.Fatalf("mergeResources: %v", err)
	}
	if dst.Memory != -1 {
		t.Errorf("Memory: got %d, want -1", dst.Memory)
	}
	if dst.MemorySwap != -1 {
		t.Errorf("MemorySwap: got %d, want -1 (unlimited memory lifts the swap limit)", dst.MemorySwap)
	}
	if dst.CpuShares != 256 {
		t.Errorf("CpuShares: got %d, want 256 (unchanged)", dst.CpuShares)
	}
	if dst.PidsLimit == nil || *dst.PidsLimit != 10 {
		t.Errorf("PidsLimit: got %v, want 10 (unchanged)", dst.PidsLimit)
	}
	if dst.CpusetCpus != "0" {
		t.Errorf("CpusetCpus: got %q, want %q (unchanged)", dst.CpusetCpus, "0")
	}
}

func TestMergeUpdateChecksSwapAgainstOldLimit(t *testing.T) {
	dst := &cgroups.Resources{Memory: 100 << 20}
	update := &specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: ptr(int64(50 << 20))}}
	if err := mergeResources(dst, update, true); !errors.Is(err, ErrInvalid) {
		t.Errorf("got error %v, want ErrInvalid for swap below the current memory limit", err)
	}
}

func TestCheckList(t *testing.T) {
	tests := []struct {
		list string
		ok   bool
	}{
		{"0", true},
		{"0-3", true},
		{"0-3,8,10-11", true},
		{"0-15:2/4", true},
		{"3-3", true},
		{"", false},
		{"-1", false},
		{"1-", false},
		{"a", false},
		{"0,", false},
		{"0-3:2", false},
		{"0 1", false},
		{"4:1/2", false},
	}
	for _, tt := range tests {
		err := checkList("cpus", tt.list)
		if got := err == nil; got != tt.ok {
			t.Errorf("checkList(%q): got ok=%v (%v), want ok=%v", tt.list, got, err, tt.ok)
		}
	}
}

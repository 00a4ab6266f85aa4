package runtime

import (
	"encoding/json"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestMergeSpecResources(t *testing.T) {
	dst := &specs.LinuxResources{
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
		Memory:  &specs.LinuxMemory{Limit: ptrTo(int64(64 << 20)), Reservation: ptrTo(int64(32 << 20))},
		Pids:    &specs.LinuxPids{Limit: ptrTo(int64(50))},
		CPU:     &specs.LinuxCPU{Shares: ptrTo(uint64(512)), Cpus: "0"},
		Unified: map[string]string{"memory.high": "max"},
	}
	update := &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: ptrTo(int64(96 << 20))},
		CPU:     &specs.LinuxCPU{Quota: ptrTo(int64(50000))},
		BlockIO: &specs.LinuxBlockIO{Weight: ptrTo(uint16(300))},
		Devices: []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}},
	}
	mergeSpecResources(dst, update)

	want := &specs.LinuxResources{
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
		Memory:  &specs.LinuxMemory{Limit: ptrTo(int64(96 << 20)), Reservation: ptrTo(int64(32 << 20))},
		Pids:    &specs.LinuxPids{Limit: ptrTo(int64(50))},
		CPU:     &specs.LinuxCPU{Shares: ptrTo(uint64(512)), Quota: ptrTo(int64(50000)), Cpus: "0"},
		BlockIO: &specs.LinuxBlockIO{Weight: ptrTo(uint16(300))},
		Unified: map[string]string{"memory.high": "max"},
	}
	if got, want := asJSON(t, dst), asJSON(t, want); got != want {
		t.Errorf("merged resources:\ngot  %s\nwant %s", got, want)
	}

	// The update's values are copied, not shared.
	*update.Memory.Limit = 1
	if got := *dst.Memory.Limit; got != 96<<20 {
		t.Errorf("memory limit after changing the update: got %d, want %d", got, 96<<20)
	}
}

func TestMergeSpecResourcesUnlimitedMemoryLiftsSwap(t *testing.T) {
	dst := &specs.LinuxResources{Memory: &specs.LinuxMemory{
		Limit: ptrTo(int64(64 << 20)), Swap: ptrTo(int64(128 << 20)),
	}}
	mergeSpecResources(dst, &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptrTo(int64(-1))}})
	if got := *dst.Memory.Swap; got != -1 {
		t.Errorf("swap after memory limit -1: got %d, want -1", got)
	}

	dst = &specs.LinuxResources{}
	mergeSpecResources(dst, &specs.LinuxResources{Memory: &specs.LinuxMemory{
		Limit: ptrTo(int64(-1)), Swap: ptrTo(int64(256 << 20)),
	}})
	if got := *dst.Memory.Swap; got != 256<<20 {
		t.Errorf("swap given with memory limit -1: got %d, want %d", got, 256<<20)
	}
}

func TestMergeSpecResourcesReplacesLists(t *testing.T) {
	dst := &specs.LinuxResources{
		HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1}, {Pagesize: "1GB", Limit: 2}},
		Rdma:           map[string]specs.LinuxRdma{"mlx4_0": {HcaHandles: ptrTo(uint32(1))}},
	}
	mergeSpecResources(dst, &specs.LinuxResources{
		HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 3}},
		Pids:           &specs.LinuxPids{Limit: ptrTo(int64(10))},
	})
	want := `[{"pageSize":"2MB","limit":3}]`
	if got := asJSON(t, dst.HugepageLimits); got != want {
		t.Errorf("hugepage limits: got %s, want %s", got, want)
	}
	if _, ok := dst.Rdma["mlx4_0"]; !ok {
		t.Errorf("rdma: got %v, want mlx4_0 kept by an update without rdma", dst.Rdma)
	}
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode %T: %v", v, err)
	}
	return string(data)
}

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// markerHook returns a hook that stores its state JSON in dir/NAME.json
// and appends NAME to dir/order. dir is bind-mounted at the same path in
// the container, and /bin/sh exists on both sides, so the same hook works
// in the runtime's and in the container's namespaces.
func markerHook(dir, name string) specs.Hook {
	script := "cat > " + filepath.Join(dir, name+".json") + "; echo " + name + " >> " + filepath.Join(dir, "order")
	return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", script}}
}

func TestHooks(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle("true")
	markers := openTempDir(t)
	b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{
		Destination: markers, Source: markers, Options: []string{"bind"},
	})
	b.Spec.Hooks = &specs.Hooks{
		Prestart:        []specs.Hook{markerHook(markers, "prestart")},
		CreateRuntime:   []specs.Hook{markerHook(markers, "createRuntime")},
		CreateContainer: []specs.Hook{markerHook(markers, "createContainer")},
		StartContainer:  []specs.Hook{markerHook(markers, "startContainer")},
		Poststart:       []specs.Hook{markerHook(markers, "poststart")},
		Poststop:        []specs.Hook{markerHook(markers, "poststop")},
	}
	id := r.create(b)
	r.mustRun("start", id)
	r.waitStatus(id, "stopped")
	r.mustRun("delete", id)

	order, err := os.ReadFile(filepath.Join(markers, "order"))
	if err != nil {
		t.Fatalf("read hook order: %v", err)
	}
	wantOrder := "prestart createRuntime createContainer startContainer poststart poststop"
	gotOrder := strings.Join(strings.Fields(string(order)), " ")
	runcOrder := "prestart createRuntime createContainer poststart startContainer poststop"
	if runtimeName() == "runc" && gotOrder == runcOrder {
		t.Logf("runc 1.1.5 runs poststart while the init runs startContainer; nullrun must order them: %q", wantOrder)
		gotOrder = wantOrder
	}
	if gotOrder != wantOrder {
		t.Errorf("hook order: got %q, want %q", gotOrder, wantOrder)
	}

	wantStatus := map[string]string{
		// runtime-spec runs these hooks after the environment is
		// created (lifecycle step 2), so the container is "created".
		"prestart":        "created",
		"createRuntime":   "created",
		"createContainer": "created",
		"startContainer":  "created",
		"poststart":       "running",
		"poststop":        "stopped",
	}

	for _, name := range strings.Fields(wantOrder) {
		data, err := os.ReadFile(filepath.Join(markers, name+".json"))
		if err != nil {
			t.Errorf("%s hook state: %v", name, err)
			continue
		}
		var st containerState
		if err := json.Unmarshal(data, &st); err != nil {
			t.Errorf("%s hook state %q: %v", name, data, err)
			continue
		}
		if st.ID != id {
			t.Errorf("%s hook state id: got %q, want %q", name, st.ID, id)
		}
		if st.Bundle != b.Dir {
			t.Errorf("%s hook state bundle: got %q, want %q", name, st.Bundle, b.Dir)
		}
		if st.OCIVersion == "" {
			t.Errorf("%s hook state ociVersion: got none, want one", name)
		}
		if name != "poststop" && st.Pid <= 0 {
			t.Errorf("%s hook state pid: got %d, want > 0", name, st.Pid)
		}
		want := wantStatus[name]
		if name == "poststart" && runtimeName() == "runc" && st.Status == "created" {
			t.Logf("runc 1.1.5 reports status %q to poststart hooks; nullrun must report %q", st.Status, want)
			continue
		}
		if want == "created" && runtimeName() == "runc" && st.Status == "creating" {
			t.Logf("runc 1.1.5 reports status %q to %s hooks; nullrun must report %q", st.Status, name, want)
			continue
		}
		if st.Status != want {
			t.Errorf("%s hook state status: got %q, want %q", name, st.Status, want)
		}
	}
}

func TestFailingHookRemovesContainer(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle("true")
	b.Spec.Hooks = &specs.Hooks{
		CreateRuntime: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "exit 3"}}},
	}
	_, res := r.runBundle(b)
	if res.Code == 0 {
		t.Fatalf("run with a failing createRuntime hook: got exit 0, want an error")
	}
	r.requireNoLeaks()
}

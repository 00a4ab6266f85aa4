package main

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"testing"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// The testdata files are the config.json that `runc spec` and
// `runc spec --rootless` of runc 1.1.5 write, run as root on a cgroup v1
// hybrid host.

func TestDefaultSpecMatchesRunc(t *testing.T) {
	want := loadJSON(t, "testdata/runc-spec.json")
	if cgroups.IsCgroup2UnifiedMode() {
		addNamespace(t, want, len(namespaces(t, want)), "cgroup")
	}
	compareSpec(t, defaultSpec(), want)
}

func TestRootlessSpecMatchesRunc(t *testing.T) {
	want := loadJSON(t, "testdata/runc-spec-rootless.json")
	if cgroups.IsCgroup2UnifiedMode() {
		// runc adds the cgroup namespace before the user namespace.
		addNamespace(t, want, len(namespaces(t, want))-1, "cgroup")
	}
	// The mappings contain the effective IDs of the user running the test.
	linux := want["linux"].(map[string]any)
	linux["uidMappings"].([]any)[0].(map[string]any)["hostID"] = float64(os.Geteuid())
	linux["gidMappings"].([]any)[0].(map[string]any)["hostID"] = float64(os.Getegid())

	spec := defaultSpec()
	makeRootless(spec)
	compareSpec(t, spec, want)
}

// compareSpec checks that spec encodes to the same JSON document as want,
// apart from ociVersion, which must be the runtime-spec module's version.
func compareSpec(t *testing.T, spec *specs.Spec, want map[string]any) {
	t.Helper()
	data, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}

	if got["ociVersion"] != specs.Version {
		t.Errorf("ociVersion = %v, want %q", got["ociVersion"], specs.Version)
	}
	delete(got, "ociVersion")
	delete(want, "ociVersion")

	for _, d := range diffJSON("", got, want) {
		t.Error(d)
	}
}

func loadJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return doc
}

func namespaces(t *testing.T, doc map[string]any) []any {
	t.Helper()
	return doc["linux"].(map[string]any)["namespaces"].([]any)
}

func addNamespace(t *testing.T, doc map[string]any, at int, nsType string) {
	t.Helper()
	ns := namespaces(t, doc)
	ns = append(ns[:at], append([]any{map[string]any{"type": nsType}}, ns[at:]...)...)
	doc["linux"].(map[string]any)["namespaces"] = ns
}

// diffJSON lists the differences between two decoded JSON values, one line
// per path, so a failure names the field.
func diffJSON(path string, got, want any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %v, want an object", path, got)}
		}
		keys := map[string]bool{}
		for k := range g {
			keys[k] = true
		}
		for k := range w {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		var diffs []string
		for _, k := range sorted {
			diffs = append(diffs, diffJSON(path+"."+k, g[k], w[k])...)
		}
		return diffs
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: got %v, want %v", path, got, want)}
		}
		var diffs []string
		for i := range w {
			diffs = append(diffs, diffJSON(fmt.Sprintf("%s[%d]", path, i), g[i], w[i])...)
		}
		return diffs
	default:
		if !reflect.DeepEqual(got, want) {
			return []string{fmt.Sprintf("%s: got %v, want %v", path, got, want)}
		}
		return nil
	}
}

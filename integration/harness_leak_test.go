package integration

import (
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cgroupRoot is where the host mounts its cgroup hierarchies.
const cgroupRoot = "/sys/fs/cgroup"

// cgroupSearchDepth bounds the walk for leftover cgroups. With an empty
// cgroupsPath the container's cgroup is "<caller's cgroup>/<id>" in each
// hierarchy, and the callers here sit at most a few levels deep.
const cgroupSearchDepth = 5

// checkLeaks fails the test when anything of the test's containers is
// left: an entry under the state root, a cgroup named after a container,
// a mount under a bundle, or a process rooted in or working in a bundle or
// sitting in a container's cgroup. Teardown is asynchronous in places
// (cgroup removal, process exit), so it polls up to stateTimeout before
// reporting.
func (r *testRuntime) checkLeaks() {
	r.t.Helper()
	deadline := time.Now().Add(stateTimeout)
	for {
		leaks := r.findLeaks()
		if len(leaks) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, leak := range leaks {
				r.t.Errorf("leak: %s", leak)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// findLeaks returns one line per leftover resource.
func (r *testRuntime) findLeaks() []string {
	r.mu.Lock()
	var ids []string
	for _, id := range r.ids {
		if validID(id) {
			ids = append(ids, id)
		}
	}
	bundles := append([]string(nil), r.bundles...)
	r.mu.Unlock()

	var leaks []string
	entries, err := os.ReadDir(r.root)
	if err != nil && !os.IsNotExist(err) {
		leaks = append(leaks, "read state root: "+err.Error())
	}
	for _, e := range entries {
		// The cache of kernel probe results belongs to the runtime, not to
		// a container.
		if e.Name() == ".nullns-probes.json" {
			continue
		}
		leaks = append(leaks, "state root entry "+filepath.Join(r.root, e.Name()))
	}
	leaks = append(leaks, findCgroups(ids)...)
	leaks = append(leaks, findMounts(bundles)...)
	leaks = append(leaks, findProcesses(ids, bundles)...)
	return leaks
}

// findCgroups returns cgroup directories named after one of ids.
func findCgroups(ids []string) []string {
	if len(ids) == 0 {
		return nil
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var found []string
	filepath.WalkDir(cgroupRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(cgroupRoot, path)
		depth := strings.Count(rel, "/") + 1
		if want[d.Name()] {
			found = append(found, "cgroup "+path)
		}
		if depth > cgroupSearchDepth {
			return filepath.SkipDir
		}
		return nil
	})
	return found
}

// findMounts returns mountinfo lines of this mount namespace that mention
// a bundle directory.
func findMounts(bundles []string) []string {
	if len(bundles) == 0 {
		return nil
	}
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return []string{"read mountinfo: " + err.Error()}
	}
	var found []string
	for _, line := range strings.Split(string(data), "\n") {
		for _, b := range bundles {
			if strings.Contains(line, b) {
				found = append(found, "mount "+line)
			}
		}
	}
	return found
}

// findProcesses returns processes whose root or cwd lies in a bundle, or
// that sit in a cgroup named after a container.
func findProcesses(ids, bundles []string) []string {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return []string{"read /proc: " + err.Error()}
	}
	self := os.Getpid()
	var found []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		if reason := processLeak(pid, ids, bundles); reason != "" {
			comm, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
			found = append(found, "process "+e.Name()+" ("+strings.TrimSpace(string(comm))+"): "+reason)
		}
	}
	return found
}

// processLeak returns reason pid belongs to a test container, or "".
func processLeak(pid int, ids, bundles []string) string {
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	for _, link := range []string{"root", "cwd"} {
		target, err := os.Readlink(filepath.Join(dir, link))
		if err != nil {
			continue
		}
		for _, b := range bundles {
			if target == b || strings.HasPrefix(target, b+"/") {
				return link + " is " + target
			}
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "cgroup"))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		for _, id := range ids {
			if strings.HasSuffix(line, "/"+id) {
				return "in cgroup " + line
			}
		}
	}
	return ""
}

// requireNoLeaks checks for leftovers right away, before cleanup deletes
// anything, for tests that expect a failed command to leave nothing.
func (r *testRuntime) requireNoLeaks() {
	r.t.Helper()
	for _, leak := range r.findLeaks() {
		r.t.Errorf("left behind by the failed command: %s", leak)
	}
}

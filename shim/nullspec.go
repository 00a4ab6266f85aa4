package shim

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nullrun/nullrun/specext"
)

// fitNullSpec removes from spec what the runtime rejects next to the null
// settings that its dev.nullrun.* annotations ask for, and returns one line
// per removal. Clients such as ctr and the CRI plugin build every spec
// from one default with /proc, /dev, /sys and cgroup mounts, so without
// this step a null sandbox could not be started through them:
//
//   - null mount or null root: every mount, because there is no mount
//     table (or no root) to mount them in;
//   - null pid: the proc mounts, which would list the host's processes;
//   - null cgroup: the cgroup mounts, which would show the hierarchy;
//   - null uts: the host and domain name, because there is no UTS
//     namespace to hold them.
//
// A spec without null annotations is left as it is. Invalid annotations
// are left for the runtime to reject with its own message.
func fitNullSpec(spec *specs.Spec) []string {
	cfg, err := specext.Parse(spec.Annotations)
	if err != nil || cfg == nil {
		return nil
	}
	var changes []string
	var kept []specs.Mount
	for _, m := range spec.Mounts {
		var reason specext.Setting
		switch {
		case cfg.Has(specext.Mount):
			reason = specext.Mount
		case cfg.Has(specext.Root):
			reason = specext.Root
		case cfg.Has(specext.PID) && m.Type == "proc":
			reason = specext.PID
		case cfg.Has(specext.Cgroup) && (m.Type == "cgroup" || m.Type == "cgroup2"):
			reason = specext.Cgroup
		default:
			kept = append(kept, m)
			continue
		}
		changes = append(changes, fmt.Sprintf("drop mount %s (type %s): null %s",
			m.Destination, m.Type, reason))
	}
	spec.Mounts = kept
	if cfg.Has(specext.UTS) && (spec.Hostname != "" || spec.Domainname != "") {
		changes = append(changes, fmt.Sprintf("drop hostname %q and domainname %q: null uts",
			spec.Hostname, spec.Domainname))
		spec.Hostname, spec.Domainname = "", ""
	}
	return changes
}

// fitNullBundle applies fitNullSpec to the bundle's config.json and
// rewrites the file when anything changed.
func fitNullBundle(bundle string) ([]string, error) {
	path := filepath.Join(bundle, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read bundle config: %w", err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, fmt.Errorf("decode bundle config %s: %w", path, err)
	}
	changes := fitNullSpec(&spec)
	if len(changes) == 0 {
		return nil, nil
	}
	data, err = json.Marshal(&spec)
	if err != nil {
		return nil, fmt.Errorf("encode bundle config: %w", err)
	}
	tmp := path + ".nullrun-tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return nil, fmt.Errorf("write bundle config: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("replace bundle config: %w", err)
	}
	return changes, nil
}

package cgroup

import (
	"fmt"
	"path/filepath"

	devices "github.com/opencontainers/cgroups/devices/config"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Largest device numbers the kernel's dev_t can carry (12-bit major, 20-bit
// minor).
const (
	maxMajor = 1<<12 - 1
	maxMinor = 1<<20 - 1
)

// defaultRule is a device cgroup rule every container gets after the
// spec's own rules. path is the device node the rule exists for, if any.
type defaultRule struct {
	path string
	rule devices.Rule
}

// defaultRules lists the devices every container may use, whatever the
// spec requests, matching runc's AllowedDevices (libcontainer/specconv, runc
// 1.1): mknod of any node, the standard character devices, /dev/pts/* and
// /dev/ptmx. Clients such as containerd and podman rely on these.
var defaultRules = []defaultRule{
	{rule: allowChar(devices.Wildcard, devices.Wildcard, "m")},
	{rule: devices.Rule{
		Type: devices.BlockDevice, Major: devices.Wildcard, Minor: devices.Wildcard,
		Permissions: "m", Allow: true,
	}},
	{path: "/dev/null", rule: allowChar(1, 3, "rwm")},
	{path: "/dev/random", rule: allowChar(1, 8, "rwm")},
	{path: "/dev/full", rule: allowChar(1, 7, "rwm")},
	{path: "/dev/tty", rule: allowChar(5, 0, "rwm")},
	{path: "/dev/zero", rule: allowChar(1, 5, "rwm")},
	{path: "/dev/urandom", rule: allowChar(1, 9, "rwm")},
	// /dev/pts/N: the container's devpts instance allocates these.
	{rule: allowChar(136, devices.Wildcard, "rwm")},
	// /dev/ptmx.
	{rule: allowChar(5, 2, "rwm")},
}

func allowChar(major, minor int64, access devices.Permissions) devices.Rule {
	return devices.Rule{
		Type: devices.CharDevice, Major: major, Minor: minor,
		Permissions: access, Allow: true,
	}
}

// deviceRules converts linux.resources.devices into cgroup rules and
// appends the default rules. A default rule tied to a device node is left
// out when linux.devices lists a node at the same path, so the spec's
// own rules decide about that node, as in runc.
func deviceRules(linux *specs.Linux) ([]*devices.Rule, error) {
	var rules []*devices.Rule
	if linux.Resources != nil {
		for i, d := range linux.Resources.Devices {
			r, err := deviceRule(fmt.Sprintf("linux.resources.devices[%d]", i), d)
			if err != nil {
				return nil, err
			}
			rules = append(rules, r)
		}
	}

	for _, def := range defaultRules {
		if def.path != "" && specHasDevice(linux, def.path) {
			continue
		}
		r := def.rule
		rules = append(rules, &r)
	}
	return rules, nil
}

func specHasDevice(linux *specs.Linux, path string) bool {
	for _, d := range linux.Devices {
		if d.Path == path {
			return true
		}
	}
	return false
}

// deviceRule converts one OCI device cgroup entry. An empty type means all
// types, and a missing major or minor (or -1) means all numbers.
func deviceRule(field string, d specs.LinuxDeviceCgroup) (*devices.Rule, error) {
	r := &devices.Rule{
		Type:  devices.WildcardDevice,
		Major: devices.Wildcard,
		Minor: devices.Wildcard,
		Allow: d.Allow,
	}

	switch d.Type {
	case "", "a":
	case "b":
		r.Type = devices.BlockDevice
	case "c":
		r.Type = devices.CharDevice
	default:
		return nil, invalid(field+".type", fmt.Sprintf("%q", d.Type),
			`use "a" (all), "b" (block) or "c" (character)`)
	}

	var err error
	if r.Major, err = deviceNumber(field+".major", d.Major, maxMajor); err != nil {
		return nil, err
	}
	if r.Minor, err = deviceNumber(field+".minor", d.Minor, maxMinor); err != nil {
		return nil, err
	}

	perms, err := deviceAccess(field+".access", d.Access)
	if err != nil {
		return nil, err
	}
	r.Permissions = perms
	return r, nil
}

func deviceNumber(field string, n *int64, limit int64) (int64, error) {
	if n == nil || *n == devices.Wildcard {
		return devices.Wildcard, nil
	}
	if *n < 0 || *n > limit {
		return 0, invalid(field, *n, fmt.Sprintf("use 0 to %d, or leave it out to match all", limit))
	}
	return *n, nil
}

// deviceAccess checks a cgroup v1 style access string and returns it in
// the canonical "rwm" order.
func deviceAccess(field, access string) (devices.Permissions, error) {
	if access == "" {
		return "", invalid(field, `""`, `the access string is empty: use a combination of "r", "w" and "m"`)
	}
	for _, c := range access {
		if c != 'r' && c != 'w' && c != 'm' {
			return "", invalid(field, fmt.Sprintf("%q", access),
				`use a combination of "r" (read), "w" (write) and "m" (mknod)`)
		}
	}
	return devices.Permissions("").Union(devices.Permissions(access)), nil
}

// writeDeviceRulesInOrder writes rules one at a time to devices.allow or
// devices.deny in the cgroup v1 directory dir, in the order the spec lists
// them, through write (cgroups.WriteFile outside tests). The library's v1
// writer applies the minimal transition sorted by device number instead:
// the access is the same, but devices.list then lists the rules in another
// order than linux.resources.devices.
func writeDeviceRulesInOrder(dir string, rules []*devices.Rule, write func(dir, file, data string) error) error {
	for _, rule := range rules {
		file := "devices.deny"
		if rule.Allow {
			file = "devices.allow"
		}
		if err := write(dir, file, rule.CgroupString()); err != nil {
			return fmt.Errorf("write device rule %q to %s: %w", rule.CgroupString(),
				filepath.Join(dir, file), err)
		}
	}
	return nil
}

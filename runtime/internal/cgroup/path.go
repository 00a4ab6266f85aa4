package cgroup

import (
	"fmt"
	"strings"

	"github.com/opencontainers/cgroups"
)

// defaultScopePrefix names the systemd scope of a container whose spec has
// no cgroupsPath: the unit becomes "nullrun-<id>.scope", as runc's becomes
// "runc-<id>.scope".
const defaultScopePrefix = "nullrun"

// placeCgroup fills in where the container's cgroup lives.
//
// With the cgroupfs driver an absolute cgroupsPath is taken relative to
// the root of each hierarchy, and a relative one relative to the caller's
// own cgroup in that hierarchy. An empty cgroupsPath means "<id>" relative
// to the caller's own cgroup, which is what runc 1.1 does.
//
// With the systemd driver cgroupsPath is "slice:prefix:name"; an empty one
// means the driver's default slice, prefix "nullrun" and the container ID.
func placeCgroup(c *cgroups.Cgroup, id, cgroupsPath string) error {
	if !c.Systemd {
		if cgroupsPath == "" {
			c.Name = id
			return nil
		}
		if strings.IndexByte(cgroupsPath, 0) >= 0 {
			return invalid("linux.cgroupsPath", fmt.Sprintf("%q", cgroupsPath),
				"the path contains a NUL byte")
		}
		c.Path = cgroupsPath
		return nil
	}

	if cgroupsPath == "" {
		c.ScopePrefix = defaultScopePrefix
		c.Name = id
		return nil
	}
	parts := strings.Split(cgroupsPath, ":")
	if len(parts) != 3 {
		return invalid("linux.cgroupsPath", fmt.Sprintf("%q", cgroupsPath),
			`the systemd cgroup driver expects "slice:prefix:name", such as "system.slice:nullrun:ID"`)
	}
	c.Parent, c.ScopePrefix, c.Name = parts[0], parts[1], parts[2]
	if c.Name == "" {
		return invalid("linux.cgroupsPath", fmt.Sprintf("%q", cgroupsPath),
			`the name part of "slice:prefix:name" is empty`)
	}
	return nil
}

package runtime

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// maxIDLength bounds container IDs, which become directory names: a name
// longer than NAME_MAX (255) cannot be created.
const maxIDLength = 255

// validateID accepts the IDs runc accepts: letters, digits and "_+-.",
// except "." and "..", at most maxIDLength bytes.
func validateID(id string) error {
	if id == "" {
		return fmt.Errorf("invalid container ID %q: must not be empty", id)
	}
	if len(id) > maxIDLength {
		return fmt.Errorf("invalid container ID %.20q...: %d bytes, the maximum is %d",
			id, len(id), maxIDLength)
	}
	if id == "." || id == ".." {
		return fmt.Errorf("invalid container ID %q: must not be . or ..", id)
	}
	for _, c := range id {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '+' || c == '-' || c == '.'
		if !ok {
			return fmt.Errorf("invalid container ID %q: use only letters, digits and _+-.", id)
		}
	}
	return nil
}

// loadSpec reads and validates bundle/config.json.
func loadSpec(bundle string) (*specs.Spec, error) {
	path := filepath.Join(bundle, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		if isNotExist(err) {
			return nil, fmt.Errorf("read bundle config: %s does not exist: "+
				"create one with `nullrun spec` or pass --bundle", path)
		}
		return nil, fmt.Errorf("read bundle config: %w", err)
	}
	spec, err := decodeSpec(data)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if err := validateSpec(spec, bundle); err != nil {
		return nil, fmt.Errorf("invalid %s: %w", path, err)
	}
	return spec, nil
}

func decodeSpec(data []byte) (*specs.Spec, error) {
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, err
	}
	return &spec, nil
}

func validateSpec(spec *specs.Spec, bundle string) error {
	if err := validateVersion(spec.Version); err != nil {
		return err
	}
	if spec.Root == nil || spec.Root.Path == "" {
		return fmt.Errorf("root.path is missing: set it to the rootfs directory")
	}
	rootfs := spec.Root.Path
	if !filepath.IsAbs(rootfs) {
		rootfs = filepath.Join(bundle, rootfs)
	}
	if fi, err := os.Stat(rootfs); err != nil {
		return fmt.Errorf("rootfs %s: %w", rootfs, unwrapPathError(err))
	} else if !fi.IsDir() {
		return fmt.Errorf("rootfs %s is not a directory", rootfs)
	}
	if spec.Process == nil {
		return fmt.Errorf("process is missing")
	}
	if spec.Linux == nil {
		return fmt.Errorf("linux is missing: nullrun runs Linux containers only")
	}
	if err := validateProcess(spec.Process); err != nil {
		return err
	}
	if err := validateNamespaces(spec); err != nil {
		return err
	}
	for i, m := range spec.Mounts {
		if m.Destination == "" {
			return fmt.Errorf("mounts[%d].destination is empty", i)
		}
	}
	if err := validateDevices(spec.Linux.Devices); err != nil {
		return err
	}
	if h, ok := spec.Linux.Sysctl["kernel.hostname"]; ok && spec.Hostname != "" && h != spec.Hostname {
		return fmt.Errorf("sysctl kernel.hostname=%q contradicts hostname %q: set only one", h,
			spec.Hostname)
	}
	if d, ok := spec.Linux.Sysctl["kernel.domainname"]; ok && spec.Domainname != "" &&
		d != spec.Domainname {
		return fmt.Errorf("sysctl kernel.domainname=%q contradicts domainname %q: set only one",
			d, spec.Domainname)
	}
	return nil
}

// validateDevices checks linux.devices: the type, and device numbers that
// fit the kernel's dev_t (12-bit major, 20-bit minor) with no wildcards.
func validateDevices(devices []specs.LinuxDevice) error {
	for _, d := range devices {
		switch d.Type {
		case "c", "u", "b", "p":
		default:
			return fmt.Errorf("invalid type %q of device %s: want c, u, b or p", d.Type, d.Path)
		}
		if d.Path == "" || !filepath.IsAbs(d.Path) {
			return fmt.Errorf("device path %q must be absolute", d.Path)
		}
		if d.Type == "p" {
			continue
		}
		if d.Major < 0 || d.Major > 1<<12-1 || d.Minor < 0 || d.Minor > 1<<20-1 {
			return fmt.Errorf("invalid device %s: major %d and minor %d must be 0..4095 and "+
				"0..1048575", d.Path, d.Major, d.Minor)
		}
	}
	return nil
}

// validateVersion accepts any 1.x runtime-spec version, as the spec keeps
// compatibility within a major version.
func validateVersion(v string) error {
	if v == "" {
		return fmt.Errorf("ociVersion is missing: set it to %q", specs.Version)
	}
	major, _, _ := strings.Cut(v, ".")
	if n, err := strconv.Atoi(major); err != nil || n != specs.VersionMajor {
		return fmt.Errorf("unsupported ociVersion %q: nullrun supports runtime-spec 1.x (up to %s)",
			v, specs.Version)
	}
	return nil
}

func validateProcess(p *specs.Process) error {
	if len(p.Args) == 0 {
		return fmt.Errorf("process.args must not be empty: name the program to run")
	}
	if p.Args[0] == "" {
		return fmt.Errorf("process.args[0] is empty: name the program to run")
	}
	if p.Cwd == "" || !filepath.IsAbs(p.Cwd) {
		return fmt.Errorf("process.cwd %q must be an absolute path", p.Cwd)
	}
	for _, e := range p.Env {
		name, _, ok := strings.Cut(e, "=")
		if !ok || name == "" {
			return fmt.Errorf("invalid process.env entry %q: want NAME=VALUE", e)
		}
	}
	seen := map[string]bool{}
	for _, r := range p.Rlimits {
		if _, ok := rlimitByName[r.Type]; !ok {
			return fmt.Errorf("invalid rlimit type %q", r.Type)
		}
		if seen[r.Type] {
			return fmt.Errorf("rlimit %s is set twice", r.Type)
		}
		seen[r.Type] = true
		if r.Soft > r.Hard {
			return fmt.Errorf("invalid rlimit %s: soft limit %d is above hard limit %d",
				r.Type, r.Soft, r.Hard)
		}
	}
	return nil
}

func validateNamespaces(spec *specs.Spec) error {
	have := map[specs.LinuxNamespaceType]bool{}
	newNS := map[specs.LinuxNamespaceType]bool{}
	for _, ns := range spec.Linux.Namespaces {
		if _, ok := cloneFlags[ns.Type]; !ok {
			return fmt.Errorf("invalid namespace type %q", ns.Type)
		}
		if have[ns.Type] {
			return fmt.Errorf("namespace %q is listed twice", ns.Type)
		}
		have[ns.Type] = true
		if ns.Path == "" {
			newNS[ns.Type] = true
		} else if _, err := os.Stat(ns.Path); err != nil {
			return fmt.Errorf("namespace %s path %s: %w", ns.Type, ns.Path, unwrapPathError(err))
		}
	}
	if spec.Hostname != "" && !have[specs.UTSNamespace] {
		return fmt.Errorf("hostname %q needs a private UTS namespace: add a uts namespace",
			spec.Hostname)
	}
	if spec.Domainname != "" && !have[specs.UTSNamespace] {
		return fmt.Errorf("domainname %q needs a private UTS namespace: add a uts namespace",
			spec.Domainname)
	}
	idMaps := len(spec.Linux.UIDMappings) > 0 || len(spec.Linux.GIDMappings) > 0
	if idMaps && !newNS[specs.UserNamespace] {
		return fmt.Errorf("uidMappings and gidMappings need a new user namespace: " +
			"add a user namespace without a path")
	}
	if newNS[specs.UserNamespace] && len(spec.Linux.UIDMappings) == 0 {
		return fmt.Errorf("a new user namespace needs uidMappings and gidMappings")
	}
	for key := range spec.Linux.Sysctl {
		if err := validateSysctl(key, have); err != nil {
			return err
		}
	}
	return nil
}

// validateSysctl accepts only sysctls that belong to a namespace the
// container has privately, so a container can never change the host.
func validateSysctl(key string, have map[specs.LinuxNamespaceType]bool) error {
	t, ok := sysctlNamespace(key)
	if !ok {
		return fmt.Errorf("sysctl %q is not namespaced: setting it would change the host", key)
	}
	if !have[t] {
		return fmt.Errorf("sysctl %q needs a private %s namespace", key, t)
	}
	return nil
}

// sysctlNamespace returns the namespace a namespaced sysctl belongs to.
func sysctlNamespace(key string) (specs.LinuxNamespaceType, bool) {
	ipc := map[string]bool{
		"kernel.msgmax": true, "kernel.msgmnb": true, "kernel.msgmni": true,
		"kernel.sem": true, "kernel.shmall": true, "kernel.shmmax": true,
		"kernel.shmmni": true, "kernel.shm_rmid_forced": true,
	}
	switch {
	case ipc[key] || strings.HasPrefix(key, "fs.mqueue."):
		return specs.IPCNamespace, true
	case strings.HasPrefix(key, "net."):
		return specs.NetworkNamespace, true
	case key == "kernel.hostname" || key == "kernel.domainname":
		return specs.UTSNamespace, true
	}
	return "", false
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

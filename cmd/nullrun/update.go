package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli"
)

var updateCommand = cli.Command{
	Name:  "update",
	Usage: "update container resource constraints",
	ArgsUsage: `<container-id>

Where "<container-id>" is the name for the instance of the container.`,
	Description: `The update command changes the cgroup limits of a created, running or
paused container. Only the values given change. A value of 0 leaves the
setting as it is, as in runc. Memory sizes take a unit suffix (k, m, g, t, p,
powers of 1024) and -1 means no limit.`,
	Flags: []cli.Flag{
		cli.StringFlag{
			Name: "resources, r",
			Usage: `path to a file with the resources to update as an OCI linux.resources
JSON object, or '-' to read it from the standard input; values left out are
not changed, and all other options are ignored`,
		},
		cli.IntFlag{
			Name:  "blkio-weight",
			Usage: "block IO weight of the cgroup, 10 to 1000",
		},
		cli.StringFlag{
			Name:  "cpu-period",
			Usage: "CPU CFS period used for hard capping, in microseconds",
		},
		cli.StringFlag{
			Name:  "cpu-quota",
			Usage: "CPU CFS hard limit: CPU time allowed per period, in microseconds",
		},
		cli.StringFlag{
			Name:  "cpu-share",
			Usage: "CPU shares (weight relative to other containers)",
		},
		cli.StringFlag{
			Name:  "cpu-rt-period",
			Usage: "CPU realtime period used for hard capping, in microseconds",
		},
		cli.StringFlag{
			Name:  "cpu-rt-runtime",
			Usage: "CPU realtime hard limit: realtime CPU time allowed per period, in microseconds",
		},
		cli.StringFlag{
			Name:  "cpuset-cpus",
			Usage: "CPUs the container may use, such as 0-2,4",
		},
		cli.StringFlag{
			Name:  "cpuset-mems",
			Usage: "memory nodes the container may use, such as 0-1",
		},
		cli.StringFlag{
			Name:   "kernel-memory",
			Usage:  "(obsolete and ignored)",
			Hidden: true,
		},
		cli.StringFlag{
			Name:   "kernel-memory-tcp",
			Usage:  "(obsolete and ignored)",
			Hidden: true,
		},
		cli.StringFlag{
			Name:  "memory",
			Usage: "memory limit in bytes",
		},
		cli.StringFlag{
			Name:  "memory-reservation",
			Usage: "memory soft limit in bytes",
		},
		cli.StringFlag{
			Name:  "memory-swap",
			Usage: "limit of memory plus swap in bytes; -1 for unlimited swap",
		},
		cli.IntFlag{
			Name:  "pids-limit",
			Usage: "maximum number of processes in the container; -1 for no limit",
		},
		cli.StringFlag{
			Name:  "l3-cache-schema",
			Usage: "Intel RDT/CAT L3 cache schema (not supported by nullrun)",
		},
		cli.StringFlag{
			Name:  "mem-bw-schema",
			Usage: "Intel RDT/MBA memory bandwidth schema (not supported by nullrun)",
		},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, exactArgs); err != nil {
			return err
		}
		r, err := updateResources(ctx, os.Stdin)
		if err != nil {
			return err
		}
		c, err := loadContainer(ctx)
		if err != nil {
			return err
		}
		return c.Update(r)
	},
}

// updateResources builds the resources to change from --resources, read
// from stdin for "-", or else from the individual flags.
func updateResources(ctx *cli.Context, stdin io.Reader) (*specs.LinuxResources, error) {
	for _, flag := range []string{"l3-cache-schema", "mem-bw-schema"} {
		if ctx.String(flag) != "" {
			return nil, fmt.Errorf("invalid --%s: nullrun does not support Intel RDT; remove the option", flag)
		}
	}
	if path := ctx.String("resources"); path != "" {
		return readResources(path, stdin)
	}
	return resourcesFromFlags(ctx)
}

// readResources decodes an OCI linux.resources object from the file at
// path, or from stdin when path is "-".
func readResources(path string, stdin io.Reader) (*specs.LinuxResources, error) {
	in := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("read --resources: %w", err)
		}
		defer f.Close()
		in = f
	}
	var r specs.LinuxResources
	if err := json.NewDecoder(in).Decode(&r); err != nil {
		return nil, fmt.Errorf("decode --resources %s: %w: want a JSON object such as "+
			`{"memory": {"limit": 67108864}, "pids": {"limit": 100}}`, path, err)
	}
	return &r, nil
}

// resourcesFromFlags converts the individual flags. A flag that is not
// given, or given as 0, leaves its setting unchanged, as in runc.
func resourcesFromFlags(ctx *cli.Context) (*specs.LinuxResources, error) {
	var (
		r   specs.LinuxResources
		mem specs.LinuxMemory
		cpu specs.LinuxCPU
		err error
	)

	unsigned := []struct {
		flag string
		dst  **uint64
	}{
		{"cpu-period", &cpu.Period},
		{"cpu-rt-period", &cpu.RealtimePeriod},
		{"cpu-share", &cpu.Shares},
	}
	for _, u := range unsigned {
		if *u.dst, err = parseFlag(ctx, u.flag, parseUint); err != nil {
			return nil, err
		}
	}
	signed := []struct {
		flag  string
		dst   **int64
		parse func(string) (int64, error)
	}{
		{"cpu-quota", &cpu.Quota, parseInt},
		{"cpu-rt-runtime", &cpu.RealtimeRuntime, parseInt},
		{"memory", &mem.Limit, parseBytes},
		{"memory-reservation", &mem.Reservation, parseBytes},
		{"memory-swap", &mem.Swap, parseBytes},
		{"kernel-memory", &mem.Kernel, parseBytes},
		{"kernel-memory-tcp", &mem.KernelTCP, parseBytes},
	}
	for _, s := range signed {
		if *s.dst, err = parseFlag(ctx, s.flag, s.parse); err != nil {
			return nil, err
		}
	}
	if mem.Kernel != nil || mem.KernelTCP != nil {
		logrus.Warn("kernel memory settings are ignored: cgroup v2 has no kernel memory limit " +
			"and Linux 5.16 and later ignore it on cgroup v1")
	}
	cpu.Cpus = ctx.String("cpuset-cpus")
	cpu.Mems = ctx.String("cpuset-mems")

	if cpu != (specs.LinuxCPU{}) {
		r.CPU = &cpu
	}
	if mem != (specs.LinuxMemory{}) {
		r.Memory = &mem
	}
	if w := ctx.Int("blkio-weight"); w != 0 {
		if w < 0 || w > math.MaxUint16 {
			return nil, fmt.Errorf("invalid --blkio-weight %d: use 10 to 1000", w)
		}
		weight := uint16(w)
		r.BlockIO = &specs.LinuxBlockIO{Weight: &weight}
	}
	if n := ctx.Int("pids-limit"); n != 0 {
		limit := int64(n)
		r.Pids = &specs.LinuxPids{Limit: &limit}
	}
	return &r, nil
}

// parseFlag parses the value of flag, returning nil when the flag is not
// given or its value is 0.
func parseFlag[T int64 | uint64](ctx *cli.Context, flag string, parse func(string) (T, error)) (*T, error) {
	s := ctx.String(flag)
	if s == "" {
		return nil, nil
	}
	v, err := parse(s)
	if err != nil {
		return nil, fmt.Errorf("invalid --%s %q: %w", flag, s, err)
	}
	if v == 0 {
		return nil, nil
	}
	return &v, nil
}

func parseUint(s string) (uint64, error) {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want a whole number of 0 or more")
	}
	return v, nil
}

func parseInt(s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want a whole number, or -1 for no limit")
	}
	return v, nil
}

// byteSize matches a size such as "64", "64m", "1.5G", "512 KiB" or "2gb".
var byteSize = regexp.MustCompile(`^(\d+(?:\.\d+)?) ?([kKmMgGtTpP]?)(?:[iI]?[bB])?$`)

// parseBytes converts a memory size with an optional binary unit suffix
// (the forms docker/go-units' RAMInBytes takes, which runc uses) to bytes.
// "-1" means no limit.
func parseBytes(s string) (int64, error) {
	if s == "-1" {
		return -1, nil
	}
	m := byteSize.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("want a size in bytes with an optional unit such as 64m or 1g, or -1 for no limit")
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("parse the number %q: %w", m[1], err)
	}
	shift := 0
	if m[2] != "" {
		shift = strings.Index("kmgtp", strings.ToLower(m[2])) + 1
	}
	size := n * math.Pow(1024, float64(shift))
	if size >= math.MaxInt64 {
		return 0, fmt.Errorf("%s is more than the maximum of %d bytes", s, int64(math.MaxInt64))
	}
	return int64(size), nil
}

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli"
	"golang.org/x/sys/unix"

	"github.com/nullrun/nullrun/internal/linux"
	"github.com/nullrun/nullrun/runtime"
)

var execCommand = cli.Command{
	Name:  "exec",
	Usage: "execute new process inside the container",
	ArgsUsage: `<container-id> <command> [command options]  || -p process.json <container-id>

Where "<container-id>" is the name for the instance of the container and
"<command>" is the command to be executed in the container.
"<command>" can't be empty unless a "-p" flag provided.

EXAMPLE:
For example, if the container is configured to run the linux ps command the
following will output a list of processes running in the container:

       # nullrun exec <container-id> ps`,
	Flags: []cli.Flag{
		cli.StringFlag{Name: "console-socket", Usage: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal"},
		cli.StringFlag{Name: "cwd", Usage: "current working directory in the container"},
		cli.StringSliceFlag{Name: "env, e", Usage: "set environment variables"},
		cli.BoolFlag{Name: "tty, t", Usage: "allocate a pseudo-TTY"},
		cli.StringFlag{Name: "user, u", Usage: "UID (format: <uid>[:<gid>])"},
		// A string slice: urfave/cli 1.22's Int64SliceFlag with an alias
		// reports a single value twice.
		cli.StringSliceFlag{Name: "additional-gids, g", Usage: "additional gids"},
		cli.StringFlag{Name: "process, p", Usage: "path to the process.json"},
		cli.BoolFlag{Name: "detach,d", Usage: "detach from the container's process"},
		cli.StringFlag{Name: "pid-file", Usage: "specify the file to write the process id to"},
		cli.StringFlag{Name: "process-label", Usage: "set the asm process label for the process commonly used with selinux"},
		cli.StringFlag{Name: "apparmor", Usage: "set the apparmor profile for the process"},
		cli.BoolFlag{Name: "no-new-privs", Usage: "set the no new privileges value for the process"},
		cli.StringSliceFlag{Name: "cap, c", Usage: "add a capability to the bounding set for the process"},
		cli.IntFlag{Name: "preserve-fds", Usage: "Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)"},
		cli.StringSliceFlag{Name: "cgroup", Usage: "run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup>."},
		cli.BoolFlag{Name: "ignore-paused", Usage: "allow exec in a paused container"},
	},
	SkipArgReorder: true,
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, minArgs); err != nil {
			return err
		}
		status, err := execProcess(ctx)
		if err != nil {
			// runc exits 255 when exec itself fails, so that a caller can
			// tell it from the exit status of the process.
			reportError(logrus.StandardLogger(), os.Stderr, err)
			os.Exit(255)
		}
		os.Exit(status)
		return nil
	},
}

func execProcess(ctx *cli.Context) (int, error) {
	c, err := loadContainer(ctx)
	if err != nil {
		return -1, err
	}
	st, err := c.State()
	if err != nil {
		return -1, err
	}
	if st.Status == runtime.Stopped {
		return -1, runtime.ErrStopped
	}
	if ctx.String("process-label") != "" || ctx.String("apparmor") != "" {
		return -1, fmt.Errorf("--process-label and --apparmor are not supported: " +
			"nullrun has no SELinux or AppArmor support")
	}
	if len(ctx.StringSlice("cgroup")) > 0 {
		return -1, fmt.Errorf("--cgroup is not supported yet: the process joins the container's cgroup")
	}
	process, err := execSpec(ctx, c)
	if err != nil {
		return -1, err
	}
	opts := runtime.ExecOptions{
		Process:      process,
		Detach:       ctx.Bool("detach"),
		IgnorePaused: ctx.Bool("ignore-paused"),
		PreserveFDs:  ctx.Int("preserve-fds"),
	}
	if opts.PidFile, err = absPath(ctx, "pid-file"); err != nil {
		return -1, err
	}
	if opts.ConsoleSocket, err = absPath(ctx, "console-socket"); err != nil {
		return -1, err
	}
	if opts.Detach {
		_, err := c.Exec(opts)
		return 0, err
	}
	return execForeground(c, opts)
}

// execSpec builds the process to run: process.json when given, else the
// container's own process with the command line and flags applied.
func execSpec(ctx *cli.Context, c *runtime.Container) (*specs.Process, error) {
	if path := ctx.String("process"); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read --process: %w", err)
		}
		var p specs.Process
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, fmt.Errorf("parse --process %s: %w", path, err)
		}
		return &p, nil
	}
	args := ctx.Args().Tail()
	if len(args) == 0 {
		return nil, fmt.Errorf("exec needs a command to run, or --process")
	}
	base := c.Config().Process
	p := *base
	p.Args = args
	p.Terminal = ctx.Bool("tty")
	p.Env = append(append([]string(nil), base.Env...), ctx.StringSlice("env")...)
	if cwd := ctx.String("cwd"); cwd != "" {
		p.Cwd = cwd
	}
	if u := ctx.String("user"); u != "" {
		uidText, gidText, hasGid := strings.Cut(u, ":")
		uid, err := strconv.ParseUint(uidText, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("invalid --user %q: use <uid>[:<gid>] with numbers", u)
		}
		p.User.UID = uint32(uid)
		if hasGid {
			gid, err := strconv.ParseUint(gidText, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("invalid --user %q: use <uid>[:<gid>] with numbers", u)
			}
			p.User.GID = uint32(gid)
		}
	}
	for _, text := range ctx.StringSlice("additional-gids") {
		g, err := strconv.ParseUint(text, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("invalid --additional-gids %q: use a numeric gid", text)
		}
		p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(g))
	}
	if ctx.Bool("no-new-privs") {
		p.NoNewPrivileges = true
	}
	if caps := ctx.StringSlice("cap"); len(caps) > 0 {
		p.Capabilities = addCapabilities(p.Capabilities, caps)
	}
	return &p, nil
}

// addCapabilities adds caps to every set but the ambient one, as runc's
// --cap does.
func addCapabilities(c *specs.LinuxCapabilities, caps []string) *specs.LinuxCapabilities {
	out := specs.LinuxCapabilities{}
	if c != nil {
		out = *c
	}
	out.Bounding = append(append([]string(nil), out.Bounding...), caps...)
	out.Effective = append(append([]string(nil), out.Effective...), caps...)
	out.Permitted = append(append([]string(nil), out.Permitted...), caps...)
	out.Inheritable = append(append([]string(nil), out.Inheritable...), caps...)
	return &out
}

// execForeground runs the process as a child of this one, forwarding
// signals and the terminal, and returns its exit status.
func execForeground(c *runtime.Container, opts runtime.ExecOptions) (int, error) {
	signals := make(chan os.Signal, 128)
	signal.Notify(signals)
	defer signal.Stop(signals)

	opts.Stdin, opts.Stdout, opts.Stderr = os.Stdin, os.Stdout, os.Stderr
	proc, err := c.Exec(opts)
	if err != nil {
		return -1, err
	}
	var console *consoleCopier
	if master := proc.Console(); master != nil {
		if console, err = startConsole(master, os.Stdin, os.Stdout); err != nil {
			linux.Kill(proc.Pid(), unix.SIGKILL)
			return -1, err
		}
		defer console.close()
	}
	signal := func(sig unix.Signal) error { return linux.Kill(proc.Pid(), sig) }
	status, err := forwardUntilExit(proc.Wait, signal,
		fmt.Sprintf("exec process %d", proc.Pid()), signals, console)
	if console != nil && err == nil {
		console.waitOutput()
	}
	return status, err
}

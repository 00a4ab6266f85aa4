package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli"

	"github.com/nullrun/nullrun/runtime"
	"github.com/nullrun/nullrun/specext"
)

var sandboxCommand = cli.Command{
	Name:  "sandbox",
	Usage: "run a program with null namespaces, without a bundle",
	ArgsUsage: `[options] -- <program> [args...]

Runs <program> with every setting null: no mount, network, IPC, UTS, user,
PID, cgroup or time namespace, no root and no working directory. It reaches
nothing but its stdio and the file descriptors granted with --grant. The
program is looked up in --rootfs (the host's / by default) and must be
statically linked. Use --share or --fresh to keep a setting of the caller's
or to give it a fresh namespace. Exits with the program's status.

EXAMPLE (a null root has no PATH to look cat up in, so shell builtins only):
       # nullrun sandbox --share time --grant 3=/srv/in.txt --grant 4=/srv/out.txt:rw \
             -- /bin/busybox sh -c 'while read l; do echo "$l"; done <&3 >&4'`,
	Flags: []cli.Flag{
		cli.StringSliceFlag{Name: "grant, g", Usage: "hand the process fd N: N=PATH[:ro|:rw], N=unix:PATH (connected socket) or N=listen:PATH (listening socket)"},
		cli.StringSliceFlag{Name: "share", Usage: "keep the caller's namespace for these settings (comma list or repeated)"},
		cli.StringSliceFlag{Name: "fresh", Usage: "give a fresh namespace for these settings (comma list or repeated)"},
		cli.StringFlag{Name: "enforce", Value: string(specext.EnforceStrict), Usage: "strict, native or permissive"},
		cli.StringFlag{Name: "rootfs", Value: "/", Usage: "directory the program is looked up in"},
		cli.StringSliceFlag{Name: "env, e", Usage: "set an environment variable NAME=VALUE"},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, minArgs); err != nil {
			return err
		}
		sb, err := sandboxFromFlags(ctx)
		if err != nil {
			return err
		}
		rt, err := newRuntime(ctx)
		if err != nil {
			return err
		}
		p, err := rt.Spawn(sb)
		if errors.Is(err, errors.ErrUnsupported) {
			return fmt.Errorf("%w; with nullrun sandbox, keep such a setting with --share "+
				"(for example --share time) or pass --enforce permissive", err)
		}
		if err != nil {
			return err
		}
		status, err := p.Wait()
		if err != nil {
			return err
		}
		os.Exit(status)
		return nil
	},
}

func sandboxFromFlags(ctx *cli.Context) (runtime.Sandbox, error) {
	sb := runtime.Sandbox{
		Args:    ctx.Args(),
		Env:     ctx.StringSlice("env"),
		Root:    ctx.String("rootfs"),
		Enforce: specext.Enforce(ctx.String("enforce")),
	}
	for _, e := range sb.Env {
		if name, _, ok := strings.Cut(e, "="); !ok || name == "" {
			return sb, fmt.Errorf("invalid --env %q: use NAME=VALUE", e)
		}
	}
	annotations := map[string]string{specext.EnforceKey: string(sb.Enforce)}
	for _, g := range ctx.StringSlice("grant") {
		fd, spec, ok := strings.Cut(g, "=")
		if !ok {
			return sb, fmt.Errorf("invalid --grant %q: use N=PATH[:ro|:rw], N=unix:PATH or N=listen:PATH", g)
		}
		key := specext.GrantKeyPrefix + fd
		if _, dup := annotations[key]; dup {
			return sb, fmt.Errorf("invalid --grant %q: fd %s is granted twice", g, fd)
		}
		annotations[key] = spec
	}
	cfg, err := specext.Parse(annotations)
	if err != nil {
		return sb, err
	}
	sb.Grants = cfg.Grants
	sb.Share = settingsFlag(ctx.StringSlice("share"))
	sb.Fresh = settingsFlag(ctx.StringSlice("fresh"))
	return sb, nil
}

// settingsFlag splits repeated, comma-separated setting names.
func settingsFlag(values []string) []specext.Setting {
	var out []specext.Setting
	for _, v := range values {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, specext.Setting(s))
			}
		}
	}
	return out
}

package main

import (
	"fmt"
	"path/filepath"

	"github.com/nullrun/nullrun/runtime"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli"
)

// How checkArgs compares the argument count with the expected number.
const (
	exactArgs = iota
	minArgs
	maxArgs
)

// checkArgs checks the number of positional arguments. On a mismatch it
// prints the command's help to stdout, as runc does, and returns an error
// worded like runc's with nullrun's name.
func checkArgs(ctx *cli.Context, expected, check int) error {
	name := ctx.Command.Name
	var err error
	switch check {
	case exactArgs:
		if ctx.NArg() != expected {
			err = fmt.Errorf("%s: %q requires exactly %d argument(s)", appName, name, expected)
		}
	case minArgs:
		if ctx.NArg() < expected {
			err = fmt.Errorf("%s: %q requires a minimum of %d argument(s)", appName, name, expected)
		}
	case maxArgs:
		if ctx.NArg() > expected {
			err = fmt.Errorf("%s: %q requires a maximum of %d argument(s)", appName, name, expected)
		}
	}
	if err != nil {
		fmt.Fprint(ctx.App.Writer, "Incorrect Usage.\n\n")
		_ = cli.ShowCommandHelp(ctx, name)
	}
	return err
}

// newRuntime opens the state root named by --root.
func newRuntime(ctx *cli.Context) (*runtime.Runtime, error) {
	root, err := filepath.Abs(ctx.GlobalString("root"))
	if err != nil {
		return nil, fmt.Errorf("resolve --root: %w", err)
	}
	return runtime.New(runtime.Options{
		Root:          root,
		SystemdCgroup: ctx.GlobalBool("systemd-cgroup"),
		Warn:          func(err error) { logrus.Warn(err) },
	})
}

// loadContainer opens the container named by the first argument. The
// runtime validates the ID and wraps runtime.ErrNotExist for unknown ones.
func loadContainer(ctx *cli.Context) (*runtime.Container, error) {
	rt, err := newRuntime(ctx)
	if err != nil {
		return nil, err
	}
	return rt.Load(ctx.Args().First())
}

// absPath makes a path flag absolute so it still names the same file
// whatever directory the runtime works in. Empty stays empty.
func absPath(ctx *cli.Context, flag string) (string, error) {
	path := ctx.String(flag)
	if path == "" {
		return "", nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("resolve --%s %q: %w", flag, path, err)
	}
	return abs, nil
}

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli"
)

var specCommand = cli.Command{
	Name:      "spec",
	Usage:     "create a new specification file",
	ArgsUsage: "",
	Description: `The spec command creates the new specification file named "` + specConfig + `" for
the bundle.

The generated file is a starter: edit it for your container. For example, its
args parameter runs "sh" when the container starts, which works for a busybox
or Debian rootfs but not for images without a shell.

EXAMPLE:
  To run a static program named "hello" from a bundle directory:

    mkdir -p hello/rootfs
    cp hello-static hello/rootfs/hello
    cd hello
    nullrun spec
    sed -i 's;"sh";"/hello";' ` + specConfig + `
    nullrun run container1

"container1" is your name for the instance of the container; it must be unique
on your host.

Creating containers needs root unless the spec is rootless. Pass --rootless to
generate a spec that maps your user to root in a user namespace and drops the
settings an unprivileged user cannot apply.`,
	Flags: []cli.Flag{
		cli.StringFlag{
			Name:  "bundle, b",
			Usage: "path to the root of the bundle directory",
		},
		cli.BoolFlag{
			Name:  "rootless",
			Usage: "generate a configuration for a rootless container",
		},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 0, exactArgs); err != nil {
			return err
		}

		spec := defaultSpec()
		if ctx.Bool("rootless") {
			makeRootless(spec)
		}
		data, err := json.MarshalIndent(spec, "", "\t")
		if err != nil {
			return fmt.Errorf("encode spec: %w", err)
		}

		return writeNewFile(filepath.Join(ctx.String("bundle"), specConfig), data)
	},
}

// writeNewFile writes data to path and fails if path already exists, with
// runc's message so scripts written for runc keep working.
func writeNewFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("File %s exists. Remove it first", specConfig) //nolint:staticcheck // runc's text.
	}
	if err != nil {
		return fmt.Errorf("create spec file: %w", err)
	}

	_, err = f.Write(data)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("write spec file: %w", err)
	}
	return nil
}

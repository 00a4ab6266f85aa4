package main

import (
	"encoding/json"
	"fmt"

	"github.com/nullrun/nullrun/runtime"
	"github.com/urfave/cli"
)

var featuresCommand = cli.Command{
	Name:      "features",
	Usage:     "show the enabled features",
	ArgsUsage: "",
	Description: `Show the enabled features as a JSON document of the runtime-spec's
features type (github.com/opencontainers/runtime-spec/specs-go/features):
the spec versions, hooks, mount options, namespaces, capabilities and seccomp
values this build accepts.`,
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 0, exactArgs); err != nil {
			return err
		}
		doc := runtime.Features()
		doc.Annotations[runtime.AnnotationVersion] = version
		doc.Annotations[runtime.AnnotationCommit] = gitCommit

		enc := json.NewEncoder(ctx.App.Writer)
		// Four spaces, as runc indents the same document.
		enc.SetIndent("", "    ")
		if err := enc.Encode(doc); err != nil {
			return fmt.Errorf("write features document: %w", err)
		}
		return nil
	},
}

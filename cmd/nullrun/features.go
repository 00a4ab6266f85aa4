package main

import (
	"encoding/json"
	"fmt"
	"github.com/nullrun/nullrun/nullns"
	"github.com/nullrun/nullrun/specext"
	"github.com/opencontainers/runtime-spec/specs-go/features"

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
values this build accepts. The "nullrun" key adds the null-namespace
annotations and, for each null setting, how this kernel enforces it.`,
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 0, exactArgs); err != nil {
			return err
		}
		base := runtime.Features()
		base.Annotations[runtime.AnnotationVersion] = version
		base.Annotations[runtime.AnnotationCommit] = gitCommit
		null := specext.Features(nullns.Describe(nullns.Probe()))
		// A grant makes the runtime open a host path with its own
		// privileges, so a caller that passes untrusted annotations (pod
		// annotations, say) must filter it.
		base.PotentiallyUnsafeConfigAnnotations = append(base.PotentiallyUnsafeConfigAnnotations,
			specext.GrantKeyPrefix)
		// The null extension rides along under its own key: clients that
		// read the runtime-spec document ignore it.
		doc := struct {
			*features.Features
			Nullrun specext.FeaturesDocument `json:"nullrun"`
		}{base, null}

		enc := json.NewEncoder(ctx.App.Writer)
		// Four spaces, as runc indents the same document.
		enc.SetIndent("", "    ")
		if err := enc.Encode(doc); err != nil {
			return fmt.Errorf("write features document: %w", err)
		}
		return nil
	},
}

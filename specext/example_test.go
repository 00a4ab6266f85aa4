package specext_test

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nullrun/nullrun/specext"
)

func Example() {
	spec := &specs.Spec{
		Annotations: map[string]string{
			"dev.nullrun.null":    "mount, network",
			"dev.nullrun.grant.3": "/srv/build:rw",
			"dev.nullrun.grant.4": "unix:/run/cache.sock",
		},
		Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
			{Type: specs.PIDNamespace},
			{Type: specs.NetworkNamespace},
			{Type: specs.MountNamespace},
		}},
	}

	cfg, err := specext.Parse(spec.Annotations)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := cfg.Validate(spec, 0); err != nil {
		fmt.Println(err)
		return
	}

	fmt.Println("null:", cfg.NullSettings())
	fmt.Println("enforce:", cfg.Enforce)
	for _, g := range cfg.Grants {
		fmt.Println("grant:", g)
	}
	fmt.Println("create:", cfg.Namespaces(spec.Linux.Namespaces))
	// Output:
	// null: [mount network root cwd]
	// enforce: strict
	// grant: dev.nullrun.grant.3=/srv/build:rw
	// grant: dev.nullrun.grant.4=unix:/run/cache.sock
	// create: [{pid }]
}

func ExampleConfig_Validate() {
	cfg, _ := specext.Parse(map[string]string{"dev.nullrun.null": "mount"})
	spec := &specs.Spec{Mounts: []specs.Mount{{Destination: "/proc"}, {Destination: "/dev"}}}

	fmt.Println(cfg.Validate(spec, 0))
	// Output:
	// validate annotation dev.nullrun.null="mount,root,cwd" against mounts: a null mount namespace has no mount table, but mounts lists /proc, /dev; drop the mounts or remove "mount" from dev.nullrun.null
}

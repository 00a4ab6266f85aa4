package shim

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	runtimeoptions "github.com/containerd/containerd/api/types/runtimeoptions/v1"
	"github.com/containerd/typeurl/v2"
	"github.com/pelletier/go-toml/v2"
	"google.golang.org/protobuf/types/known/anypb"
)

// DefaultStateRoot is the parent of the runtime's state roots when the
// options name none: each containerd namespace gets a directory below it.
const DefaultStateRoot = "/run/containerd/nullrun"

// optionsFile is the file in the bundle that keeps the options a task was
// created with, so that the shim's delete action finds the state root
// after the shim that created the task has died.
const optionsFile = "nullrun-options.json"

// Options are the shim's runtime options. containerd passes them as a
// runtimeoptions.v1.Options message, whose TOML comes from the runtime's
// options table in containerd's config or from the file that
// `ctr run --runtime-config-path` names.
type Options struct {
	// Root is the parent of the runtime's state roots; the state of the
	// containers of containerd namespace NS lives in Root/NS.
	// DefaultStateRoot when empty.
	Root string `toml:"Root" json:"root,omitempty"`
	// SystemdCgroup manages the containers' cgroups through systemd, and
	// expects cgroupsPath in the form "slice:prefix:name".
	SystemdCgroup bool `toml:"SystemdCgroup" json:"systemdCgroup,omitempty"`
}

// knownOptionKeys are the TOML keys Options reads. Other keys are ignored
// and logged, so that an options table shared with runc's shim (BinaryName,
// ShimCgroup and the like) does not fail the task.
var knownOptionKeys = []string{"Root", "SystemdCgroup"}

// stateRoot returns the runtime's state root for containerd namespace ns.
func (o Options) stateRoot(ns string) string {
	root := o.Root
	if root == "" {
		root = DefaultStateRoot
	}
	return filepath.Join(root, ns)
}

// parseOptions decodes the options of a create request. A nil or empty
// Any means the defaults. It returns the keys it ignored.
func parseOptions(a *anypb.Any) (Options, []string, error) {
	var opts Options
	if a == nil || (a.GetTypeUrl() == "" && len(a.GetValue()) == 0) {
		return opts, nil, nil
	}
	v, err := typeurl.UnmarshalAny(a)
	if err != nil {
		return opts, nil, fmt.Errorf("decode runtime options of type %q: %w", a.GetTypeUrl(), err)
	}
	ro, ok := v.(*runtimeoptions.Options)
	if !ok {
		return opts, nil, fmt.Errorf("decode runtime options: got type %q, want "+
			"runtimeoptions.v1.Options (set the runtime's options in containerd's config "+
			"or pass --runtime-config-path to ctr)", a.GetTypeUrl())
	}
	body := ro.GetConfigBody()
	if path := ro.GetConfigPath(); path != "" {
		if body, err = os.ReadFile(path); err != nil {
			return opts, nil, fmt.Errorf("read runtime options file: %w", err)
		}
	}
	return decodeOptionsTOML(body)
}

// decodeOptionsTOML decodes the TOML of the runtime options and returns
// the keys that Options does not have, sorted.
func decodeOptionsTOML(body []byte) (Options, []string, error) {
	var opts Options
	if len(body) == 0 {
		return opts, nil, nil
	}
	var all map[string]any
	if err := toml.Unmarshal(body, &all); err != nil {
		return opts, nil, fmt.Errorf("parse runtime options TOML: %w", err)
	}
	if err := toml.Unmarshal(body, &opts); err != nil {
		return opts, nil, fmt.Errorf("parse runtime options TOML: %w", err)
	}
	var ignored []string
	for key := range all {
		if !slices.Contains(knownOptionKeys, key) {
			ignored = append(ignored, key)
		}
	}
	slices.Sort(ignored)
	if opts.Root != "" && !filepath.IsAbs(opts.Root) {
		return opts, ignored, fmt.Errorf("invalid runtime option Root %q: want an absolute path",
			opts.Root)
	}
	return opts, ignored, nil
}

// writeBundleOptions stores opts in the bundle for the delete action.
func writeBundleOptions(bundle string, opts Options) error {
	data, err := json.Marshal(opts)
	if err != nil {
		return fmt.Errorf("encode runtime options: %w", err)
	}
	if err := os.WriteFile(filepath.Join(bundle, optionsFile), data, 0o600); err != nil {
		return fmt.Errorf("store runtime options in bundle: %w", err)
	}
	return nil
}

// readBundleOptions returns the options stored in the bundle, or the
// defaults when the bundle has none.
func readBundleOptions(bundle string) (Options, error) {
	var opts Options
	data, err := os.ReadFile(filepath.Join(bundle, optionsFile))
	if errors.Is(err, os.ErrNotExist) {
		return opts, nil
	}
	if err != nil {
		return opts, fmt.Errorf("read runtime options from bundle: %w", err)
	}
	if err := json.Unmarshal(data, &opts); err != nil {
		return opts, fmt.Errorf("decode runtime options from bundle: %w", err)
	}
	return opts, nil
}

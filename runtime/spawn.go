package runtime

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nullrun/nullrun/specext"
)

// Sandbox describes a one-shot process without a bundle. Its zero value,
// given Args, is a process with every setting null: no namespaces of any
// kind, no root, no cwd, no capabilities, reaching nothing but its stdio
// and its grants. Keeping the caller's namespace of a kind, or getting a
// fresh one, is opt-in per setting.
type Sandbox struct {
	// Args is the command line; Args[0] is resolved in Root (a name
	// without a slash through PATH in Env) and must be a statically linked
	// program.
	Args []string
	// Env is the process's environment.
	Env []string
	// Root is the directory Args[0] is resolved in; "/" when empty.
	Root string
	// Grants are the files, directories and sockets handed to the process
	// at their fd numbers (3 and up).
	Grants []specext.Grant
	// Share lists settings that keep the caller's namespace instead of
	// being null. Root and cwd cannot be shared without mount.
	Share []specext.Setting
	// Fresh lists settings that get a fresh namespace instead of being
	// null, as a runc container would.
	Fresh []specext.Setting
	// Enforce is the enforcement mode of the null settings, strict when
	// empty.
	Enforce specext.Enforce
	// Stdio of the process; nil entries mean the caller's own.
	Stdin, Stdout, Stderr *os.File
}

// SandboxProcess is a running sandbox started by Spawn.
type SandboxProcess struct {
	c *Container
}

// Pid returns the sandboxed process's PID.
func (p *SandboxProcess) Pid() int { return p.c.state.Pid }

// Enforcement maps each null setting to how it is enforced.
func (p *SandboxProcess) Enforcement() map[specext.Setting]string { return p.c.state.Null }

// Wait waits for the process to exit, removes what the runtime created
// for it, and returns its exit status (128+N when killed by signal N).
func (p *SandboxProcess) Wait() (int, error) {
	status, err := p.c.Wait()
	if delErr := p.c.Delete(true); err == nil && delErr != nil {
		err = delErr
	}
	return status, err
}

// Spawn starts a sandbox and returns once its init has set it up and goes
// on to execute the program.
func (r *Runtime) Spawn(sb Sandbox) (*SandboxProcess, error) {
	spec, err := sandboxSpec(sb)
	if err != nil {
		return nil, err
	}
	if err := validateSpec(spec, spec.Root.Path); err != nil {
		return nil, fmt.Errorf("invalid sandbox: %w", err)
	}
	id, err := sandboxID()
	if err != nil {
		return nil, err
	}
	opts := CreateOptions{Bundle: spec.Root.Path, Foreground: true, startAtOnce: true}
	if sb.Stdin != nil {
		opts.Stdin = sb.Stdin
	}
	if sb.Stdout != nil {
		opts.Stdout = sb.Stdout
	}
	if sb.Stderr != nil {
		opts.Stderr = sb.Stderr
	}
	// The sandbox starts as soon as it is set up, because no other caller
	// could start it in between.
	c, err := r.create(id, spec, spec.Root.Path, opts)
	if err != nil {
		return nil, err
	}
	return &SandboxProcess{c: c}, nil
}

// sandboxSpec turns a Sandbox into the spec and annotations a bundle
// would carry for it.
func sandboxSpec(sb Sandbox) (*specs.Spec, error) {
	if len(sb.Args) == 0 {
		return nil, fmt.Errorf("sandbox needs a program to run: Args is empty")
	}
	root := sb.Root
	if root == "" {
		root = "/"
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("resolve sandbox root %q: %w", sb.Root, err)
	}
	keep := map[specext.Setting]bool{}
	for _, s := range append(append([]specext.Setting(nil), sb.Share...), sb.Fresh...) {
		if !isSetting(s) {
			return nil, fmt.Errorf("invalid sandbox setting %q: use one of %s", s, settingNames())
		}
		if keep[s] {
			return nil, fmt.Errorf("sandbox setting %q is listed twice in Share and Fresh", s)
		}
		keep[s] = true
	}
	var null []string
	for _, s := range specext.Settings {
		if !keep[s] {
			null = append(null, string(s))
		}
	}
	spec := &specs.Spec{
		Version:     specs.Version,
		Root:        &specs.Root{Path: root, Readonly: true},
		Process:     &specs.Process{Args: sb.Args, Env: sb.Env, Cwd: "/"},
		Linux:       &specs.Linux{},
		Annotations: map[string]string{},
	}
	for _, s := range sb.Fresh {
		t, ok := s.NamespaceType()
		if !ok {
			return nil, fmt.Errorf("sandbox setting %q has no namespace to make fresh", s)
		}
		if s == specext.User {
			return nil, fmt.Errorf("sandbox setting %q cannot be fresh: a new user namespace "+
				"needs ID mappings, which a sandbox does not take; share it or leave it null", s)
		}
		spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: t})
	}
	if len(null) > 0 {
		spec.Annotations[specext.NullKey] = strings.Join(null, ",")
	}
	if sb.Enforce != "" {
		spec.Annotations[specext.EnforceKey] = string(sb.Enforce)
	}
	for _, g := range sb.Grants {
		spec.Annotations[g.Key()] = g.Value()
	}
	return spec, nil
}

func isSetting(s specext.Setting) bool {
	for _, have := range specext.Settings {
		if have == s {
			return true
		}
	}
	return false
}

func settingNames() string {
	names := make([]string, len(specext.Settings))
	for i, s := range specext.Settings {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

func sandboxID() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make sandbox ID: %w", err)
	}
	return "sandbox-" + hex.EncodeToString(b), nil
}

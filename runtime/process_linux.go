package runtime

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/moby/sys/user"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nullrun/nullrun/internal/linux"
	"github.com/nullrun/nullrun/runtime/internal/caps"
	"github.com/nullrun/nullrun/runtime/internal/seccomp"
	"github.com/nullrun/nullrun/specext"
)

// processSetup turns the spec's process into the final exec: identity,
// capabilities, limits and the seccomp filter, applied in the order the
// kernel's permission checks need.
type processSetup struct {
	p       *specs.Process
	caps    *caps.Set
	filter  *seccomp.Filter
	program string
	env     []string
	null    *initNull // nil without null settings
	// joining is set for a process exec'd into a running container, whose
	// cwd must exist: only the container's own process creates it, as in
	// runc.
	joining bool
}

func newProcessSetup(p *specs.Process, linuxSpec *specs.Linux) (*processSetup, error) {
	ps := &processSetup{p: p, env: append([]string(nil), p.Env...)}
	set, err := caps.Parse(p.Capabilities)
	if err != nil {
		return nil, err
	}
	if err := set.CheckGrantable(); err != nil {
		return nil, err
	}
	ps.caps = set
	if linuxSpec.Seccomp != nil {
		f, _, err := seccomp.Compile(linuxSpec.Seccomp)
		if err != nil {
			return nil, err
		}
		ps.filter = f
	}
	return ps, nil
}

// resolve runs inside the new root before the container is reported
// created, so a missing program or a bad cwd fails create, as in runc.
func (ps *processSetup) resolve() error {
	// A null cwd has no directory to enter, and with a null root the
	// runtime opened the program in the rootfs already.
	if !ps.null.has(specext.Cwd) {
		if err := ps.enterCwd(); err != nil {
			return err
		}
	}
	if !ps.null.has(specext.Root) {
		program, err := lookPath(ps.p.Args[0], ps.env)
		if err != nil {
			return err
		}
		ps.program = program
	}
	ps.setHome()
	return nil
}

// enterCwd changes to process.cwd, creating it when missing unless the
// process joins a running container.
func (ps *processSetup) enterCwd() error {
	cwd := ps.p.Cwd
	fi, err := os.Stat(cwd)
	switch {
	case errors.Is(err, os.ErrNotExist) && ps.joining:
		return fmt.Errorf("process.cwd %s does not exist in the container", cwd)
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(cwd, 0o755); err != nil {
			return fmt.Errorf("create process.cwd %s: %w", cwd, err)
		}
	case err != nil:
		return fmt.Errorf("process.cwd %s: %w", cwd, err)
	case !fi.IsDir():
		return fmt.Errorf("process.cwd %s is not a directory", cwd)
	}
	if err := os.Chdir(cwd); err != nil {
		return fmt.Errorf("change to process.cwd: %w", err)
	}
	return nil
}

// setHome adds HOME from the container's /etc/passwd when the spec has
// none, as runc does.
func (ps *processSetup) setHome() {
	for _, e := range ps.env {
		if strings.HasPrefix(e, "HOME=") {
			return
		}
	}
	home := "/"
	uid := int(ps.p.User.UID)
	users, err := user.ParsePasswdFileFilter("/etc/passwd", func(u user.User) bool { return u.Uid == uid })
	if err == nil && len(users) > 0 && users[0].Home != "" {
		home = users[0].Home
	}
	ps.env = append(ps.env, "HOME="+home)
}

// exec applies the process's limits and identity and executes it. It
// returns only on error.
func (ps *processSetup) exec(passedFDs, listenFDs int) error {
	// First, because a seccomp profile loaded below may not allow
	// close_range.
	if err := linux.CloseExecFrom(3 + passedFDs); err != nil {
		return err
	}
	if err := ps.setRlimits(); err != nil {
		return err
	}
	// Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which a
	// non-root process no longer has after the identity change below.
	if ps.filter != nil && !ps.p.NoNewPrivileges {
		if err := ps.filter.Load(); err != nil {
			return fmt.Errorf("load seccomp filter: %w", err)
		}
	}
	var confine *nullConfinement
	if ps.null != nil {
		var err error
		if confine, err = confineNull(ps.null); err != nil {
			return err
		}
	}
	if err := ps.caps.DropBounding(); err != nil {
		return err
	}
	u := ps.p.User
	// With a null user the process already is what it will be: an
	// unprivileged host uid in a user namespace with no ID map, where no
	// uid can be switched to.
	if !ps.null.has(specext.User) {
		if err := ps.caps.PrepareUserChange(); err != nil {
			return err
		}
		groups := make([]int, len(u.AdditionalGids))
		for i, g := range u.AdditionalGids {
			groups[i] = int(g)
		}
		if err := linux.SetThreadCredentials(int(u.UID), int(u.GID), groups); err != nil {
			return fmt.Errorf("set process.user (uid %d, gid %d): %w", u.UID, u.GID, err)
		}
		if err := ps.caps.Apply(); err != nil {
			return err
		}
	}
	umask := 0o022
	if u.Umask != nil {
		umask = int(*u.Umask)
	}
	linux.Umask(umask)
	if ps.null == nil || ps.null.RootFD < 0 {
		if err := os.Chdir(ps.p.Cwd); err != nil {
			return fmt.Errorf("change to process.cwd as uid %d: %w", u.UID, err)
		}
	}
	if ps.p.NoNewPrivileges {
		if err := linux.SetNoNewPrivs(); err != nil {
			return err
		}
		if ps.filter != nil {
			if err := ps.filter.Load(); err != nil {
				return fmt.Errorf("load seccomp filter: %w", err)
			}
		}
	}
	if confine != nil {
		if err := confine.apply(); err != nil {
			return err
		}
	}
	env := ps.env
	if listenFDs > 0 {
		env = append(env, "LISTEN_FDS="+strconv.Itoa(listenFDs),
			"LISTEN_PID="+strconv.Itoa(os.Getpid()))
	}
	if ps.null != nil && ps.null.ProgramFD >= 0 {
		return linux.Execveat(ps.null.ProgramFD, ps.p.Args, env)
	}
	return linux.Exec(ps.program, ps.p.Args, env)
}

// setRlimits applies the process's rlimits. The container init does it
// before it reports ready, as runc does, so that a limit the kernel
// refuses (a hard limit above the runtime's own, NOFILE above
// fs.nr_open) fails create instead of the start. Setting it again at the
// exec is harmless. It goes through syscall.Setrlimit, so the Go runtime
// does not restore its own NOFILE soft limit at the exec.
func (ps *processSetup) setRlimits() error {
	for _, r := range ps.p.Rlimits {
		if err := linux.Setrlimit(rlimitByName[r.Type], r.Soft, r.Hard); err != nil {
			return fmt.Errorf("set rlimit %s (soft %d, hard %d): %w", r.Type, r.Soft, r.Hard, err)
		}
	}
	return nil
}

// Package seccomp compiles an OCI seccomp profile into a BPF program with
// libseccomp and installs it on the calling thread of the container init.
package seccomp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"github.com/nullrun/nullrun/internal/linux"
)

// Filter is a compiled seccomp profile, ready to be loaded.
type Filter struct {
	ctx *libseccomp.ScmpFilter

	// program is the BPF exported from ctx at compile time, so that Load
	// does no cgo call and no allocation in libseccomp.
	program []unix.SockFilter

	// flags are the seccomp(2) SECCOMP_FILTER_FLAG_* bits to load with.
	flags uint

	// listener is the user-notification fd that Load created, until
	// ListenerFile hands it to the caller.
	listener *os.File
}

// Compile turns the OCI profile s into a filter, validating it. An invalid
// action, operator, architecture, flag or errnoRet is an error naming the
// value. Syscall names that libseccomp does not know are skipped, as runc
// does, so a profile written for a newer kernel still loads; Compile returns
// them so the caller can log them.
//
// SCMP_ACT_NOTIFY needs listenerPath: after Load, the caller sends
// ListenerFile to the agent with SendListener. NOTIFY is rejected as the
// default action and for write and sendmsg, because the init must still
// write and send the listener fd after the filter is in place and would
// otherwise wait forever for an agent that never gets the fd.
//
// TODO: like runc's patchbpf, return ENOSYS instead of the default action for
// syscall numbers newer than every syscall the profile names, so that libc
// falls back (clone3, openat2) when the default action is an errno.
func Compile(s *specs.LinuxSeccomp) (*Filter, []string, error) {
	if s == nil {
		return nil, nil, errors.New("compile seccomp profile: profile is nil")
	}
	if err := validateListener(s); err != nil {
		return nil, nil, err
	}

	defaultAction, err := convertAction(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return nil, nil, fmt.Errorf("compile seccomp profile: defaultAction: %w", err)
	}
	flags, err := convertFlags(s.Flags)
	if err != nil {
		return nil, nil, fmt.Errorf("compile seccomp profile: %w", err)
	}
	if usesNotify(s) {
		flags |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
	} else {
		// The kernel rejects WAIT_KILLABLE_RECV without a listener. The flag
		// only changes how a notifying syscall waits, so without NOTIFY rules
		// dropping it changes nothing.
		flags &^= unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
	}

	ctx, err := libseccomp.NewFilter(defaultAction)
	if err != nil {
		return nil, nil, fmt.Errorf("create seccomp filter: %w", err)
	}
	f := &Filter{ctx: ctx, flags: flags}

	unknown, err := f.build(s, defaultAction)
	if err == nil {
		f.program, err = exportProgram(ctx)
	}
	if err != nil {
		f.Release()
		return nil, nil, err
	}
	return f, unknown, nil
}

// build adds the architectures and rules of s to f.ctx and returns the
// syscall names libseccomp could not resolve.
func (f *Filter) build(s *specs.LinuxSeccomp, defaultAction libseccomp.ScmpAction) ([]string, error) {
	for _, name := range s.Architectures {
		arch, ok := architectures[name]
		if !ok {
			return nil, fmt.Errorf("invalid seccomp architecture %q: use one of %v",
				name, sortedKeys(architectures))
		}
		if err := f.ctx.AddArch(arch); err != nil {
			major, minor, micro := libseccomp.GetLibraryVersion()
			return nil, fmt.Errorf("add seccomp architecture %s with libseccomp %d.%d.%d: %w",
				name, major, minor, micro, err)
		}
	}

	// libseccomp's binary tree speeds up long rule lists. runc enables it
	// only above 32 entries because libseccomp up to 2.5.4 generates a bad
	// filter when the tree is enabled and there are no rules.
	if len(s.Syscalls) > 32 {
		// An error only means an older libseccomp: the linear filter is
		// equivalent, just slower.
		_ = f.ctx.SetOptimize(2)
	}

	var unknown []string
	for i, entry := range s.Syscalls {
		skipped, err := f.addEntry(entry, defaultAction)
		if err != nil {
			return nil, fmt.Errorf("compile seccomp profile: syscalls[%d]: %w", i, err)
		}
		unknown = append(unknown, skipped...)
	}
	return unknown, nil
}

// addEntry adds the rules of one syscalls[] entry and returns the names
// libseccomp could not resolve.
func (f *Filter) addEntry(entry specs.LinuxSyscall, defaultAction libseccomp.ScmpAction) ([]string, error) {
	if len(entry.Names) == 0 {
		return nil, errors.New("names is empty: list at least one syscall")
	}
	action, err := convertAction(entry.Action, entry.ErrnoRet)
	if err != nil {
		return nil, err
	}
	if action == libseccomp.ActNotify {
		for _, name := range entry.Names {
			if name == "write" || name == "sendmsg" {
				return nil, fmt.Errorf("invalid seccomp rule: %s on %s would block the init "+
					"before it can send the listener fd: remove %s from the entry",
					entry.Action, name, name)
			}
		}
	}

	var unknown []string
	for _, name := range entry.Names {
		if name == "" {
			return nil, errors.New("invalid syscall name \"\": remove the empty name")
		}
		sets, err := conditionSets(name, entry.Args)
		if err != nil {
			return nil, err
		}
		// A rule with the default action is redundant, and libseccomp
		// rejects it.
		if action == defaultAction {
			continue
		}

		call, err := libseccomp.GetSyscallFromName(name)
		if err != nil {
			unknown = append(unknown, name)
			continue
		}
		// NOTE: when two entries give one syscall different actions under
		// the same conditions, libseccomp 2.5.4 keeps the first one added,
		// as under runc.
		for _, conds := range sets {
			if err := f.ctx.AddRuleConditional(call, action, conds); err != nil {
				return nil, fmt.Errorf("add seccomp rule %s for %s: %w", entry.Action, name, err)
			}
		}
	}
	return unknown, nil
}

// exportProgram returns the BPF program libseccomp generates for ctx.
func exportProgram(ctx *libseccomp.ScmpFilter) ([]unix.SockFilter, error) {
	// libseccomp 2.5 exports only to a file descriptor, so read it through a
	// pipe; the reader runs concurrently because a long program does not fit
	// in the pipe buffer.
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("export seccomp program: %w", err)
	}
	defer r.Close()

	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := io.ReadAll(r)
		done <- result{data, err}
	}()

	exportErr := ctx.ExportBPF(w)
	w.Close()
	res := <-done
	if exportErr != nil {
		return nil, fmt.Errorf("export seccomp program: %w", exportErr)
	}
	if res.err != nil {
		return nil, fmt.Errorf("export seccomp program: %w", res.err)
	}
	return decodeProgram(res.data)
}

// decodeProgram splits raw into struct sock_filter instructions, which the
// kernel reads in native byte order.
func decodeProgram(raw []byte) ([]unix.SockFilter, error) {
	const size = 8
	if len(raw) == 0 || len(raw)%size != 0 {
		return nil, fmt.Errorf("decode seccomp program: length %d is not a positive multiple of %d",
			len(raw), size)
	}
	program := make([]unix.SockFilter, len(raw)/size)
	for i := range program {
		b := raw[i*size:]
		program[i] = unix.SockFilter{
			Code: binary.NativeEndian.Uint16(b[0:2]),
			Jt:   b[2],
			Jf:   b[3],
			K:    binary.NativeEndian.Uint32(b[4:8]),
		}
	}
	return program, nil
}

// Load installs the filter on the calling thread only (no TSYNC), so the
// caller must hold its OS thread locked and execve from it. The thread must
// have no_new_privs set or CAP_SYS_ADMIN in its effective set. Syscalls the
// caller makes after Load are filtered too, so load as late as the profile
// allows.
//
// When the profile uses SCMP_ACT_NOTIFY, Load keeps the listener fd for
// ListenerFile.
func (f *Filter) Load() error {
	if f.program == nil {
		return errors.New("load seccomp filter: filter was released")
	}
	fd, err := linux.SeccompSetModeFilter(f.program, f.flags)
	if errors.Is(err, unix.EACCES) {
		return fmt.Errorf("load seccomp filter: %w: set no_new_privs or keep CAP_SYS_ADMIN until "+
			"the filter is loaded", err)
	}
	if errors.Is(err, unix.EINVAL) && f.flags != 0 {
		return fmt.Errorf("load seccomp filter with flags %#x: %w: this kernel may not support one "+
			"of the profile's flags", f.flags, err)
	}
	if err != nil {
		return fmt.Errorf("load seccomp filter: %w", err)
	}
	if fd >= 0 {
		f.listener = os.NewFile(uintptr(fd), "seccomp-listener")
	}
	return nil
}

// ListenerFile returns the user-notification listener that Load created and
// gives up ownership of it: the caller closes it once it has been sent. It
// returns nil when the profile has no SCMP_ACT_NOTIFY rule, before Load, and
// on a second call.
func (f *Filter) ListenerFile() *os.File {
	l := f.listener
	f.listener = nil
	return l
}

// Release frees the libseccomp context and any listener that ListenerFile has
// not handed out. A loaded filter stays in force. Release is safe to call
// more than once.
func (f *Filter) Release() {
	if f.ctx != nil {
		f.ctx.Release()
		f.ctx = nil
	}
	if f.listener != nil {
		f.listener.Close()
		f.listener = nil
	}
	f.program = nil
}

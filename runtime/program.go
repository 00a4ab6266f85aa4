package runtime

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// openProgram resolves process.args[0] inside the rootfs, the way execvp
// would inside the container, and opens it for execveat. A process with
// a null root cannot look anything up when it starts, so the program must
// be a statically linked ELF binary: one that names an interpreter (a
// dynamic loader, or a #! script) is rejected here, at create.
func openProgram(rootfs, name string, env []string) (*os.File, error) {
	root, err := os.OpenFile(rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open rootfs: %w", err)
	}
	defer root.Close()
	candidates := []string{name}
	if !strings.Contains(name, "/") {
		candidates = nil
		for _, dir := range strings.Split(envPath(env), ":") {
			if dir != "" {
				candidates = append(candidates, path.Join(dir, name))
			}
		}
	}
	for _, c := range candidates {
		h, err := pathrs.OpenatInRoot(root, c)
		if err != nil {
			continue
		}
		f, err := pathrs.Reopen(h, unix.O_RDONLY|unix.O_CLOEXEC)
		h.Close()
		if err != nil {
			continue
		}
		fi, err := f.Stat()
		if err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
			f.Close()
			continue
		}
		if err := checkStatic(f, c); err != nil {
			f.Close()
			return nil, err
		}
		return f, nil
	}
	return nil, fmt.Errorf("exec %q: not found as an executable file in rootfs %s (PATH=%s)",
		name, rootfs, envPath(env))
}

func envPath(env []string) string {
	p := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			p = v
		}
	}
	return p
}

// checkStatic rejects a program that needs files to start: a script (its
// #! interpreter) or an ELF binary with a PT_INTERP program header (its
// dynamic loader).
func checkStatic(f *os.File, name string) error {
	head := make([]byte, 256)
	n, _ := f.ReadAt(head, 0)
	head = head[:n]
	if interp, ok := bytes.CutPrefix(head, []byte("#!")); ok {
		line, _, _ := bytes.Cut(interp, []byte("\n"))
		return fmt.Errorf("program %s is a script for %s: a process with a null root cannot "+
			"open its interpreter; run a statically linked binary", name,
			strings.TrimSpace(string(line)))
	}
	ef, err := elf.NewFile(io.NewSectionReader(f, 0, 1<<62))
	if err != nil {
		return fmt.Errorf("program %s is not an ELF binary: %w", name, err)
	}
	defer ef.Close()
	for _, p := range ef.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		data := make([]byte, p.Filesz)
		if _, err := p.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read interpreter of %s: %w", name, err)
		}
		return fmt.Errorf("program %s is dynamically linked (interpreter %s): a process with "+
			"a null root cannot load it; run a statically linked binary", name,
			strings.TrimRight(string(data), "\x00"))
	}
	return nil
}

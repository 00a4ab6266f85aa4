package main

import (
	"bytes"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// checkOpen opens PATH read-only from the root (absolute) or the working
// directory (relative).
func checkOpen(path string) string {
	return openResult(unix.AT_FDCWD, path, unix.O_RDONLY)
}

// checkCreate creates PATH for writing and removes it again.
func checkCreate(path string) string {
	fd, err := unix.Openat(unix.AT_FDCWD, path, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return errnoResult(err)
	}
	unix.Close(fd)
	unix.Unlinkat(unix.AT_FDCWD, path, 0)
	return "ok"
}

// checkChdir changes the working directory to PATH and back.
func checkChdir(path string) string {
	return withCwdRestored(func() string { return errnoResult(unix.Chdir(path)) })
}

// checkOpenat opens PATH beneath the directory fd FD: "FD:PATH".
func checkOpenat(arg string) string {
	fd, path, err := parseFDPath(arg)
	if err != nil {
		return "error=" + err.Error()
	}
	return openResult(fd, path, unix.O_RDONLY)
}

// openResult opens path beneath dirfd with flags and closes it.
func openResult(dirfd int, path string, flags int) string {
	fd, err := unix.Openat(dirfd, path, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		return errnoResult(err)
	}
	unix.Close(fd)
	return "ok"
}

// checkRead opens "FD:PATH" and returns its content as a value. FD "cwd"
// is the working directory.
func checkRead(arg string) string {
	dirfd, path, err := parseFDPath(arg)
	if err != nil {
		return "error=" + err.Error()
	}
	fd, err := unix.Openat(dirfd, path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return errnoResult(err)
	}
	defer unix.Close(fd)
	return readValue(fd)
}

// checkReadFD reads the file grant FD from offset 0.
func checkReadFD(arg string) string {
	fd, err := parseFD(arg)
	if err != nil {
		return "error=" + err.Error()
	}
	return readValue(fd)
}

// readValue returns "value=CONTENT" of fd from offset 0, with the trailing
// newline cut and the others written as `\n`, so that the output stays one
// line per check.
func readValue(fd int) string {
	buf := make([]byte, 4096)
	n, err := unix.Pread(fd, buf, 0)
	if err != nil {
		return errnoResult(err)
	}
	return "value=" + strings.ReplaceAll(strings.TrimSuffix(string(buf[:n]), "\n"), "\n", `\n`)
}

// checkWrite creates or truncates "FD:PATH" and writes to it. The file
// stays, so the test can read what arrived.
func checkWrite(arg string) string {
	dirfd, path, err := parseFDPath(arg)
	if err != nil {
		return "error=" + err.Error()
	}
	fd, err := unix.Openat(dirfd, path, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return errnoResult(err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte("written by nullprobe\n")); err != nil {
		return errnoResult(err)
	}
	return "ok"
}

// checkWriteFD writes to the file grant FD at its end.
func checkWriteFD(arg string) string {
	fd, err := parseFD(arg)
	if err != nil {
		return "error=" + err.Error()
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return errnoResult(err)
	}
	_, err = unix.Pwrite(fd, []byte("appended by nullprobe\n"), st.Size)
	return errnoResult(err)
}

// checkSymlinkEscape plants a relative symlink that climbs out of the
// granted directory FD to the host's /etc/passwd, opens it through the
// grant and removes it. Creating the link is allowed in a writable grant;
// following it must not be.
func checkSymlinkEscape(arg string) string {
	fd, err := parseFD(arg)
	if err != nil {
		return "error=" + err.Error()
	}
	const name = "nullprobe-escape"
	target := strings.Repeat("../", 32) + "etc/passwd"
	if err := unix.Symlinkat(target, fd, name); err != nil {
		return "error=" + fmt.Sprintf("symlinkat: %v", err)
	}
	defer unix.Unlinkat(fd, name, 0)
	return openResult(fd, name, unix.O_RDONLY)
}

// checkFchdirClimb makes the granted directory FD the working directory
// and opens the host's /etc/passwd relative to it, then goes back.
func checkFchdirClimb(arg string) string {
	fd, err := parseFD(arg)
	if err != nil {
		return "error=" + err.Error()
	}
	return withCwdRestored(func() string {
		if err := unix.Fchdir(fd); err != nil {
			return "error=" + fmt.Sprintf("fchdir: %v", err)
		}
		return openResult(unix.AT_FDCWD, strings.Repeat("../", 32)+"etc/passwd", unix.O_RDONLY)
	})
}

// withCwdRestored runs f and returns to the working directory it started
// in. An O_PATH handle needs no access right, so it works even where the
// working directory is null.
func withCwdRestored(f func() string) string {
	cwd, err := unix.Open(".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "error=" + fmt.Sprintf("save working directory: %v", err)
	}
	defer unix.Close(cwd)
	result := f()
	if err := unix.Fchdir(cwd); err != nil {
		return "error=" + fmt.Sprintf("restore working directory: %v", err)
	}
	return result
}

// checkOpenByHandle encodes a file handle for the granted directory FD
// and opens it with open_by_handle_at, which bypasses path lookup and so
// every path-based rule; it needs CAP_DAC_READ_SEARCH.
func checkOpenByHandle(arg string) string {
	fd, err := parseFD(arg)
	if err != nil {
		return "error=" + err.Error()
	}
	handle, _, err := unix.NameToHandleAt(fd, "", unix.AT_EMPTY_PATH)
	if err != nil {
		return "error=" + fmt.Sprintf("name_to_handle_at: %v", err)
	}
	opened, err := unix.OpenByHandleAt(fd, handle, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return errnoResult(err)
	}
	unix.Close(opened)
	return "ok"
}

// checkCgroupPaths returns the distinct cgroup paths of /proc/self/cgroup,
// which a cgroup namespace rooted at the process's own cgroup shows as "/".
func checkCgroupPaths(string) string {
	fd, err := unix.Open("/proc/self/cgroup", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return errnoResult(err)
	}
	defer unix.Close(fd)
	var data []byte
	buf := make([]byte, 4096)
	for {
		n, err := unix.Read(fd, buf)
		if err != nil {
			return errnoResult(err)
		}
		if n == 0 {
			break
		}
		data = append(data, buf[:n]...)
	}
	seen := map[string]bool{}
	var paths []string
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		parts := bytes.SplitN(line, []byte(":"), 3)
		if len(parts) != 3 {
			return "error=" + fmt.Sprintf("malformed line %q", line)
		}
		if p := string(parts[2]); !seen[p] {
			seen[p] = true
			paths = append(paths, p)
		}
	}
	return "value=" + strings.Join(paths, ",")
}

package main

import (
	"fmt"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// socketResult creates a socket of family and type and closes it.
func socketResult(family, typ int) string {
	fd, err := unix.Socket(family, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return errnoResult(err)
	}
	unix.Close(fd)
	return "ok"
}

// checkSocketpairUnix creates a connected AF_UNIX pair and sends a byte
// across it.
func checkSocketpairUnix(string) string {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return errnoResult(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	if _, err := unix.Write(fds[0], []byte{'x'}); err != nil {
		return errnoResult(err)
	}
	buf := make([]byte, 1)
	if _, err := unix.Read(fds[1], buf); err != nil {
		return errnoResult(err)
	}
	return "ok"
}

// checkSocketpairInet asks for an AF_INET pair, which no kernel supports
// (EOPNOTSUPP) unless a filter answers first.
func checkSocketpairInet(string) string {
	fds, err := unix.Socketpair(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err == nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
	}
	return errnoResult(err)
}

// ioUringParams is struct io_uring_params; the probe only needs its size.
type ioUringParams struct {
	_ [120]byte
}

func checkIoUringSetup(string) string {
	var params ioUringParams
	fd, _, errno := unix.RawSyscall(unix.SYS_IO_URING_SETUP, 1, uintptr(unsafe.Pointer(&params)), 0)
	if errno != 0 {
		return errnoResult(errno)
	}
	unix.Close(int(fd))
	return "ok"
}

// checkConnectAbstract connects to the abstract unix socket @NAME.
func checkConnectAbstract(name string) string {
	return connectUnix("@" + name)
}

// checkConnectPath connects to the unix socket at PATH.
func checkConnectPath(path string) string {
	return connectUnix(path)
}

func connectUnix(name string) string {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return "error=" + fmt.Sprintf("socket: %v", err)
	}
	defer unix.Close(fd)
	return errnoResult(unix.Connect(fd, &unix.SockaddrUnix{Name: name}))
}

// checkUnixEcho sends "ping" on the connected socket FD and returns the
// first line of the reply.
func checkUnixEcho(arg string) string {
	fd, err := parseFD(arg)
	if err != nil {
		return "error=" + err.Error()
	}
	if _, err := unix.Write(fd, []byte("ping\n")); err != nil {
		return errnoResult(err)
	}
	return "value=" + readLine(fd)
}

// checkAccept accepts one connection on the listening socket FD, sends a
// greeting and returns the first line the peer sent.
func checkAccept(arg string) string {
	fd, err := parseFD(arg)
	if err != nil {
		return "error=" + err.Error()
	}
	conn, _, err := unix.Accept4(fd, unix.SOCK_CLOEXEC)
	if err != nil {
		return errnoResult(err)
	}
	defer unix.Close(conn)
	if _, err := unix.Write(conn, []byte("hello from the sandbox\n")); err != nil {
		return errnoResult(err)
	}
	return "value=" + readLine(conn)
}

// readLine reads from fd up to the first newline or end of file.
func readLine(fd int) string {
	var line []byte
	buf := make([]byte, 1)
	for {
		n, err := unix.Read(fd, buf)
		if err != nil {
			return "read error " + errnoResult(err)
		}
		if n == 0 || buf[0] == '\n' {
			return strings.TrimSpace(string(line))
		}
		line = append(line, buf[0])
	}
}

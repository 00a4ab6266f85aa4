package main

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// checkMqOpen creates a POSIX message queue and removes it again.
func checkMqOpen(string) string {
	name := []byte("nullprobe\x00")
	fd, _, errno := unix.RawSyscall6(unix.SYS_MQ_OPEN, uintptr(unsafe.Pointer(&name[0])),
		unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600, 0, 0, 0)
	if errno != 0 {
		return errnoResult(errno)
	}
	unix.Close(int(fd))
	unix.RawSyscall(unix.SYS_MQ_UNLINK, uintptr(unsafe.Pointer(&name[0])), 0, 0)
	return "ok"
}

func checkUname(string) string {
	var u unix.Utsname
	return errnoResult(unix.Uname(&u))
}

// checkSethostname sets the host name to what it is, so a call that got
// through changes nothing. Without uname it uses a fixed name.
func checkSethostname(string) string {
	return errnoResult(unix.Sethostname(currentName(func(u *unix.Utsname) []byte { return u.Nodename[:] })))
}

func checkSetdomainname(string) string {
	return errnoResult(unix.Setdomainname(currentName(func(u *unix.Utsname) []byte { return u.Domainname[:] })))
}

func currentName(field func(*unix.Utsname) []byte) []byte {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return []byte("nullprobe")
	}
	b := field(&u)
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

package nsenter

import (
	"os"
	"strconv"
	"sync"
)

var childSocket = sync.OnceValues(func() (*os.File, bool) {
	value, ok := os.LookupEnv(EnvFD)
	if !ok {
		return nil, false
	}
	fd, err := strconv.Atoi(value)
	if err != nil || fd < 3 {
		// The constructor has already rejected such a value and exited.
		return nil, false
	}
	os.Unsetenv(EnvFD)
	return os.NewFile(uintptr(fd), "nsenter-socket"), true
})

// ChildSocket returns the child's end of the socket Start created, or
// false in a process that Start did not start. The stream is positioned
// after the constructor's messages, so what the child reads next is what
// the parent wrote on its end after Start returned. The fd is
// close-on-exec.
//
// The first call removes EnvFD from the environment so that processes
// the child starts do not inherit it; every call returns the same file.
func ChildSocket() (*os.File, bool) {
	return childSocket()
}

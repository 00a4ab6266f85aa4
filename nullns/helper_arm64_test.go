package nullns

// forkRaw does nothing: arm64 has no fork or vfork system call.
func forkRaw(func(string, uintptr, ...uintptr)) {}

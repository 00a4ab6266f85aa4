// Package linux is nullrun's one choke point for raw system calls. Callers
// outside it use these wrappers, which retry EINTR where the kernel can
// return it and wrap failures with the operation and the object it acted on.
package linux

// Package specext parses and validates the dev.nullrun.* annotations of an
// OCI config.json, which request null namespaces, and builds the null part of
// the `nullrun features` document.
//
// The annotations are:
//
//	dev.nullrun.null      comma list of mount, network, ipc, uts, user, pid,
//	                      cgroup, time, root, cwd, or "all"
//	dev.nullrun.enforce   strict (default), native or permissive
//	dev.nullrun.grant.N   PATH, PATH:ro, PATH:rw, unix:PATH or listen:PATH,
//	                      handed to the process as file descriptor N
//
// Any other key that starts with "dev.nullrun." is rejected, so a typo never
// silently drops a restriction. Keys without the prefix are ignored.
//
// The package does not touch the kernel. Package nullns probes the kernel
// and enforces the settings, and package runtime connects the two: it calls
// [Parse], then [Config.Validate] with the spec, then [Config.Namespaces] to
// get the namespaces that are still to be created.
package specext

// Package integration holds nullrun's end-to-end tests: real bundles with a
// busybox-static rootfs driven through the CLI, and the clients that call
// it. Most tests need root and skip with the reason when not root.
//
// The runtime under test is the binary named by NULLRUN_RUNTIME, or a
// nullrun built from this checkout when it is unset, so the same suite can
// be pointed at runc or crun for comparison.
package integration

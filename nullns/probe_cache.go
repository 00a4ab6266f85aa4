package nullns

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// probeCache is the file ProbeCached keeps results in: the kernel's
// features do not change until it reboots, and the probes are only
// trusted from the same build of the binary that ran them.
type probeCache struct {
	BootID string  `json:"bootID"`
	Binary string  `json:"binary"`
	Probes *Probes `json:"probes"`
}

// ProbeCached is Probe with the results kept in the file path across
// processes, keyed by the kernel's boot ID and the identity of this
// binary: a fresh runtime process then skips the throw-away probe child.
// A missing, stale or unreadable cache is probed again and rewritten; a
// cache that cannot be written only costs the next process a probe.
func ProbeCached(path string) *Probes {
	probeOnce.Do(func() { probed = loadOrProbe(path) })
	return probed
}

func loadOrProbe(path string) *Probes {
	key, err := cacheKey()
	if err != nil {
		return probeKernel()
	}
	if data, err := os.ReadFile(path); err == nil {
		var c probeCache
		if json.Unmarshal(data, &c) == nil && c.BootID == key.BootID &&
			c.Binary == key.Binary && c.Probes != nil {
			return c.Probes
		}
	}
	key.Probes = probeKernel()
	if data, err := json.Marshal(key); err == nil {
		tmp := fmt.Sprintf("%s.%d", path, os.Getpid())
		if os.WriteFile(tmp, data, 0o600) == nil {
			if os.Rename(tmp, path) != nil {
				os.Remove(tmp)
			}
		}
	}
	return key.Probes
}

// cacheKey returns the boot ID and an identity of the running binary
// (device, inode, size and modification time).
func cacheKey() (probeCache, error) {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return probeCache{}, err
	}
	exe, err := os.Executable()
	if err != nil {
		return probeCache{}, err
	}
	fi, err := os.Stat(filepath.Clean(exe))
	if err != nil {
		return probeCache{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return probeCache{}, fmt.Errorf("stat %s: no device and inode", exe)
	}
	binary := fmt.Sprintf("%d:%d:%d:%d", st.Dev, st.Ino, fi.Size(), fi.ModTime().UnixNano())
	return probeCache{BootID: strings.TrimSpace(string(boot)), Binary: binary}, nil
}

package runtime

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// openNullRoot returns a handle on a new, already removed, empty
// directory. A process whose root and cwd are that directory finds nothing
// by absolute or relative path, and cannot create anything there either:
// the kernel refuses new entries in a removed directory (ENOENT). Nothing
// is left to clean up, not even a mount.
func (r *Runtime) openNullRoot() (*os.File, error) {
	dir, err := os.MkdirTemp(r.root, ".null-root-")
	if err != nil {
		return nil, fmt.Errorf("create empty root: %w", err)
	}
	// Searchable by any uid, so lookups in it fail with ENOENT, not EACCES.
	err = os.Chmod(dir, 0o555)
	var f *os.File
	if err == nil {
		f, err = os.OpenFile(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	}
	if rmErr := os.Remove(dir); err == nil && rmErr != nil {
		f.Close()
		return nil, fmt.Errorf("remove empty root: %w", rmErr)
	}
	if err != nil {
		return nil, fmt.Errorf("open empty root: %w", err)
	}
	return f, nil
}

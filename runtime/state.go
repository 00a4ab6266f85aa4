package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nullrun/nullrun/internal/linux"
	"github.com/nullrun/nullrun/runtime/internal/cgroup"
	"github.com/nullrun/nullrun/specext"
)

const (
	stateFile = "state.json"
	// execFifo is the named pipe the init blocks on until start writes to it.
	execFifo = "exec.fifo"
	// execDone is the named pipe whose last writer, the init, closes it by
	// executing the user process.
	execDone = "exec.done"
)

// persistedState is state.json: the public State plus what later commands
// need to act on the container safely.
type persistedState struct {
	State
	// InitStartTime is field 22 of /proc/PID/stat of the init, so a PID
	// reused by another process is never mistaken for the init.
	InitStartTime uint64 `json:"initStartTime"`
	// SharedPidNS is true when the container has no PID namespace of its
	// own, so its other processes outlive the init and must be killed
	// through the cgroup.
	SharedPidNS bool `json:"sharedPidNamespace,omitempty"`
	// ListenSockets are socket files bound for listen: grants, removed
	// with the container.
	ListenSockets []listenSocket `json:"listenSockets,omitempty"`
	// NullEnforcement is the enforcement of each null setting, which exec
	// applies to its processes too.
	NullEnforcement []specext.Enforcement `json:"nullEnforcement,omitempty"`
	Cgroup          cgroup.Saved          `json:"cgroup"`
	Config          *specs.Spec           `json:"config"`
}

// writeState stores st in dir/state.json atomically: a reader sees the old
// or the new document, never a partial one, even after a crash.
func writeState(dir string, st *persistedState) error {
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	return writeFileAtomic(filepath.Join(dir, stateFile), data, 0o600)
}

// writeFileAtomic writes data to a temporary file beside path, syncs it
// and renames it over path.
func writeFileAtomic(path string, data []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func readState(dir string) (*persistedState, error) {
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, err
	}
	var st persistedState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("decode %s: %w", filepath.Join(dir, stateFile), err)
	}
	return &st, nil
}

// lockDir takes an exclusive lock on a container directory. Every command
// that reads and then changes a container holds it, so create, start,
// kill and delete of one container never interleave.
func lockDir(dir string) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := linux.Flock(f, unix.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// procStartTime returns field 22 (starttime) of /proc/PID/stat and whether
// the process has exited or is exiting.
func procStartTime(pid int) (uint64, bool, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false, err
	}
	// The command name in field 2 may contain spaces and parentheses: the
	// fields after it start after the last ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false, fmt.Errorf("parse /proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(s[i+1:])
	// fields[0] is field 3 (state); starttime is field 22.
	if len(fields) < 20 {
		return 0, false, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(fields)+2)
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("parse /proc/%d/stat starttime: %w", pid, err)
	}
	// A PID namespace's init that is exiting waits, before it becomes a
	// zombie, until every process of its namespace has been reaped, which
	// can take long when their parent is outside. It runs nothing any
	// more: count it as gone (PF_EXITING in the flags, field 9).
	flags, _ := strconv.ParseUint(fields[6], 10, 64)
	const pfExiting = 0x4
	gone := fields[0] == "Z" || fields[0] == "X" || flags&pfExiting != 0
	return start, gone, nil
}

// initAlive reports whether the recorded init is still the live process
// with that PID.
func (st *persistedState) initAlive() bool {
	if st.Pid <= 0 {
		return false
	}
	start, zombie, err := procStartTime(st.Pid)
	if err != nil || zombie {
		return false
	}
	return start == st.InitStartTime
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

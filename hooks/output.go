package hooks

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/nullrun/nullrun/internal/linux"
)

const (
	// maxCapture is how many bytes of a hook's stdout and of its stderr go
	// into a HookError. Enough for a usage message or a stack trace's top.
	maxCapture = 4096
	// maxLines is how many lines of each stream HookError.Error prints.
	maxLines = 10
)

// newStdin returns an in-memory file holding state, positioned at its
// start. A file, unlike a pipe, never blocks the runtime when the hook does
// not read it or a child of the hook keeps it open.
func newStdin(state []byte) (*os.File, error) {
	f, err := linux.NewMemFile("hook-state")
	if err != nil {
		return nil, fmt.Errorf("create stdin for hook: %w", err)
	}
	if _, err := f.Write(state); err != nil {
		f.Close()
		return nil, fmt.Errorf("write state to hook stdin %s: %w", f.Name(), err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("rewind hook stdin %s: %w", f.Name(), err)
	}
	return f, nil
}

// newOutput returns an in-memory file for a hook's stdout or stderr.
// Because it is a file, waiting for the hook never waits for a reader to
// reach EOF, which a background child of the hook could postpone forever.
//
// NOTE: the file is not bounded. A hook, or a child it leaves running,
// that writes without end grows it in memory until the last holder exits.
// Only the first maxCapture bytes are ever read.
func newOutput(name string) (*os.File, error) {
	f, err := linux.NewMemFile(name)
	if err != nil {
		return nil, fmt.Errorf("create %s for hook: %w", name, err)
	}
	return f, nil
}

// readCapture returns up to maxCapture bytes from the start of f, with
// "..." appended when f holds more.
func readCapture(f *os.File) string {
	buf := make([]byte, maxCapture+1)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Sprintf("[read %s: %v]", f.Name(), err)
	}
	if n > maxCapture {
		return string(buf[:maxCapture]) + "..."
	}
	return string(buf[:n])
}

// quoteLines returns the first maxLines lines of s as one Go-quoted string,
// so multi-line output stays on one log line.
func quoteLines(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > maxLines {
		lines = append(lines[:maxLines], "...")
	}
	return strconv.Quote(strings.Join(lines, "\n"))
}

package linux

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// openPtyMaster opens a new pty master. The peer stays locked, which the
// termios and window size ioctls on the master do not need.
func openPtyMaster(t *testing.T) *os.File {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("needs /dev/ptmx: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	return master
}

func TestIsTerminal(t *testing.T) {
	master := openPtyMaster(t)
	if got := IsTerminal(master); !got {
		t.Errorf("IsTerminal(pty master) = %v, want true", got)
	}

	regular, err := os.Create(filepath.Join(t.TempDir(), "file"))
	if err != nil {
		t.Fatal(err)
	}
	defer regular.Close()
	if got := IsTerminal(regular); got {
		t.Errorf("IsTerminal(regular file) = %v, want false", got)
	}
}

func TestWinsizeRoundTrip(t *testing.T) {
	master := openPtyMaster(t)
	want := unix.Winsize{Row: 37, Col: 121}
	if err := SetWinsize(master, &want); err != nil {
		t.Fatalf("SetWinsize: %v", err)
	}
	got, err := GetWinsize(master)
	if err != nil {
		t.Fatalf("GetWinsize: %v", err)
	}
	if got.Row != want.Row || got.Col != want.Col {
		t.Errorf("GetWinsize = %dx%d, want %dx%d", got.Row, got.Col, want.Row, want.Col)
	}
}

func TestMakeRawAndRestore(t *testing.T) {
	master := openPtyMaster(t)
	before, err := GetTermios(master)
	if err != nil {
		t.Fatalf("GetTermios: %v", err)
	}
	if before.Lflag&unix.ICANON == 0 {
		t.Fatalf("new pty has ICANON clear, want the kernel's cooked default")
	}

	old, err := MakeRaw(master)
	if err != nil {
		t.Fatalf("MakeRaw: %v", err)
	}
	if *old != *before {
		t.Errorf("MakeRaw returned %+v, want the previous attributes %+v", *old, *before)
	}
	raw, err := GetTermios(master)
	if err != nil {
		t.Fatalf("GetTermios after MakeRaw: %v", err)
	}
	if raw.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) != 0 {
		t.Errorf("raw Lflag = %#x, want ICANON, ECHO and ISIG clear", raw.Lflag)
	}
	if raw.Oflag&unix.OPOST != 0 {
		t.Errorf("raw Oflag = %#x, want OPOST clear", raw.Oflag)
	}

	if err := SetTermios(master, old); err != nil {
		t.Fatalf("SetTermios: %v", err)
	}
	restored, err := GetTermios(master)
	if err != nil {
		t.Fatalf("GetTermios after restore: %v", err)
	}
	if restored.Lflag != before.Lflag || restored.Oflag != before.Oflag {
		t.Errorf("restored flags l=%#x o=%#x, want l=%#x o=%#x",
			restored.Lflag, restored.Oflag, before.Lflag, before.Oflag)
	}
}

func TestGetTermiosErrorNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "file")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	_, err = GetTermios(f)
	pathErr, ok := err.(*os.PathError)
	if !ok {
		t.Fatalf("GetTermios(regular file) error = %v (%T), want *os.PathError", err, err)
	}
	if pathErr.Path != path {
		t.Errorf("error path = %q, want %q", pathErr.Path, path)
	}
	if pathErr.Err != unix.ENOTTY {
		t.Errorf("error errno = %v, want ENOTTY", pathErr.Err)
	}
}

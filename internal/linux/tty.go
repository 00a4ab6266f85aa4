package linux

import (
	"os"

	"golang.org/x/sys/unix"
)

// ttyIoctl runs fn on f's descriptor, retrying EINTR, and wraps a failure
// as an *os.PathError naming op and f. It goes through SyscallConn so a
// pollable file such as a pty master stays in non-blocking mode.
func ttyIoctl(f *os.File, op string, fn func(fd int) error) error {
	conn, err := f.SyscallConn()
	if err != nil {
		return &os.PathError{Op: op, Path: f.Name(), Err: err}
	}

	var opErr error
	err = conn.Control(func(fd uintptr) {
		for {
			opErr = fn(int(fd))
			if opErr != unix.EINTR {
				return
			}
		}
	})
	if err == nil {
		err = opErr
	}
	if err != nil {
		return &os.PathError{Op: op, Path: f.Name(), Err: err}
	}
	return nil
}

// IsTerminal reports whether f is a terminal (either end of a pty, or a
// tty device).
func IsTerminal(f *os.File) bool {
	_, err := GetTermios(f)
	return err == nil
}

// GetTermios returns the terminal attributes of f.
func GetTermios(f *os.File) (*unix.Termios, error) {
	var t *unix.Termios
	err := ttyIoctl(f, "ioctl TCGETS", func(fd int) error {
		var err error
		t, err = unix.IoctlGetTermios(fd, unix.TCGETS)
		return err
	})
	return t, err
}

// SetTermios sets the terminal attributes of f at once, without waiting
// for queued output to drain.
func SetTermios(f *os.File, t *unix.Termios) error {
	return ttyIoctl(f, "ioctl TCSETS", func(fd int) error {
		return unix.IoctlSetTermios(fd, unix.TCSETS, t)
	})
}

// MakeRaw puts the terminal f into raw mode, as cfmakeraw(3) describes:
// no echo, no line editing, no signal keys and no output processing, so
// every byte reaches the reader unchanged. It returns the previous
// attributes for SetTermios to restore.
func MakeRaw(f *os.File) (*unix.Termios, error) {
	old, err := GetTermios(f)
	if err != nil {
		return nil, err
	}

	raw := *old
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP |
		unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN] = 1
	raw.Cc[unix.VTIME] = 0

	if err := SetTermios(f, &raw); err != nil {
		return nil, err
	}
	return old, nil
}

// GetWinsize returns the window size of the terminal f.
func GetWinsize(f *os.File) (*unix.Winsize, error) {
	var ws *unix.Winsize
	err := ttyIoctl(f, "ioctl TIOCGWINSZ", func(fd int) error {
		var err error
		ws, err = unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
		return err
	})
	return ws, err
}

// SetWinsize sets the window size of the terminal f. On a pty master the
// kernel sends SIGWINCH to the foreground process group of the peer.
func SetWinsize(f *os.File, ws *unix.Winsize) error {
	return ttyIoctl(f, "ioctl TIOCSWINSZ", func(fd int) error {
		return unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, ws)
	})
}

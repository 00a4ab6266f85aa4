package linux

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// SendFile sends f over the unix socket sock with SCM_RIGHTS, with name as
// the message body (receivers such as go-runc's console socket read it as
// the file's name).
func SendFile(sock *os.File, f *os.File, name string) error {
	rights := unix.UnixRights(int(f.Fd()))
	err := retryEINTR(func() error {
		return unix.Sendmsg(int(sock.Fd()), []byte(name), rights, nil, 0)
	})
	if err != nil {
		return os.NewSyscallError("sendmsg", err)
	}
	return nil
}

// RecvFile receives one file sent with SendFile.
func RecvFile(sock *os.File) (*os.File, error) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	var n, oobn int
	err := retryEINTR(func() error {
		var err error
		n, oobn, _, _, err = unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
		return err
	})
	if err != nil {
		return nil, os.NewSyscallError("recvmsg", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, os.NewSyscallError("parse control message", err)
	}
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err == nil && len(fds) == 1 {
			return os.NewFile(uintptr(fds[0]), string(buf[:n])), nil
		}
	}
	return nil, fmt.Errorf("receive file: no file descriptor in message")
}

// OpenPtyPair opens a new pseudo-terminal through the ptmx device at
// ptmxPath and returns its master and the peer (slave) end.
func OpenPtyPair(ptmxPath string) (master, slave *os.File, err error) {
	fd, err := unix.Open(ptmxPath, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, &os.PathError{Op: "open", Path: ptmxPath, Err: err}
	}
	master = os.NewFile(uintptr(fd), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, os.NewSyscallError("ioctl(TIOCSPTLCK)", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		return nil, nil, os.NewSyscallError("ioctl(TIOCGPTN)", err)
	}
	sfd, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCGPTPEER,
		uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if e != 0 {
		master.Close()
		return nil, nil, os.NewSyscallError("ioctl(TIOCGPTPEER)", e)
	}
	return master, os.NewFile(sfd, fmt.Sprintf("/dev/pts/%d", n)), nil
}

//go:build cgo

/*
 * Constructor that joins and creates namespaces before the Go runtime
 * starts. setns(2) into a user or mount namespace fails in a
 * multithreaded process, and the Go runtime starts threads before main,
 * so this has to run first. doc.go describes the protocol.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <unistd.h>

#include "nsenter.h"

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

struct header {
	uint32_t type;
	uint32_t len;
};

struct join {
	uint32_t type;
	int fd;
	char path[PATH_MAX];
};

/*
 * Static so that the hot path (no environment variable) touches none of
 * it: the request can be 32 KiB and lives in zero-filled bss.
 */
static struct {
	int sock;
	struct join joins[NSENTER_MAX_JOIN];
	int njoins;
	uint32_t unshare_flags;
	int timens_sync;
	int pause;
	uint32_t pause_steps;
	uint32_t null_uid, null_gid;
	/* An unmapped user namespace to join as the null user, or "". */
	char null_userns[PATH_MAX];
	char payload[NSENTER_MAX_PAYLOAD];
} st;

static const char *ns_name(uint32_t type)
{
	switch (type) {
	case CLONE_NEWUSER:
		return "user";
	case CLONE_NEWNS:
		return "mnt";
	case CLONE_NEWNET:
		return "net";
	case CLONE_NEWIPC:
		return "ipc";
	case CLONE_NEWUTS:
		return "uts";
	case CLONE_NEWPID:
		return "pid";
	case CLONE_NEWCGROUP:
		return "cgroup";
	case CLONE_NEWTIME:
		return "time";
	}
	return "unknown";
}

static int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Returns -1 with errno set, or with errno 0 at end of stream. */
static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = 0;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_msg(uint32_t type, const void *payload, uint32_t len)
{
	struct header h = { .type = type, .len = len };

	if (write_full(st.sock, &h, sizeof(h)) < 0)
		return -1;
	return write_full(st.sock, payload, len);
}

/*
 * Sends the error to the parent and exits. The text names the operation
 * and the object; the parent appends the errno's text, so the message
 * reads like a Go error.
 */
static void __attribute__((noreturn, format(printf, 2, 3))) fail(int errnum, const char *fmt, ...)
{
	char buf[NSENTER_MAX_PAYLOAD];
	int32_t e = errnum;
	va_list ap;
	int n;

	memcpy(buf, &e, sizeof(e));
	va_start(ap, fmt);
	n = vsnprintf(buf + sizeof(e), sizeof(buf) - sizeof(e), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(buf) - sizeof(e))
		n = sizeof(buf) - sizeof(e) - 1;

	if (send_msg(NSENTER_MSG_ERROR, buf, sizeof(e) + (uint32_t)n) < 0)
		fprintf(stderr, "nullrun nsenter: %s\n", buf + sizeof(e));
	_exit(1);
}

/* Reads one message into st.payload and returns its type. */
static uint32_t recv_msg(uint32_t *len)
{
	struct header h;

	if (read_full(st.sock, &h, sizeof(h)) < 0)
		fail(errno, "read message from parent%s", errno ? "" : ": unexpected end of stream");
	if (h.len > sizeof(st.payload))
		fail(0, "read message from parent: payload of %u bytes exceeds the %zu byte limit",
		     h.len, sizeof(st.payload));
	if (read_full(st.sock, st.payload, h.len) < 0)
		fail(errno, "read message from parent%s", errno ? "" : ": unexpected end of stream");
	*len = h.len;
	return h.type;
}

static void read_request(void)
{
	for (;;) {
		uint32_t len, type = recv_msg(&len);
		struct join *j;

		switch (type) {
		case NSENTER_REQ_JOIN:
			if (len <= sizeof(uint32_t) || len - sizeof(uint32_t) >= PATH_MAX)
				fail(0, "read request: join message of %u bytes is malformed", len);
			if (st.njoins == NSENTER_MAX_JOIN)
				fail(0, "read request: more than %d namespaces to join", NSENTER_MAX_JOIN);
			j = &st.joins[st.njoins++];
			memcpy(&j->type, st.payload, sizeof(uint32_t));
			memcpy(j->path, st.payload + sizeof(uint32_t), len - sizeof(uint32_t));
			j->path[len - sizeof(uint32_t)] = '\0';
			j->fd = -1;
			break;
		case NSENTER_REQ_UNSHARE:
			if (len != sizeof(uint32_t))
				fail(0, "read request: unshare message of %u bytes is malformed", len);
			memcpy(&st.unshare_flags, st.payload, sizeof(uint32_t));
			break;
		case NSENTER_REQ_TIMENS_SYNC:
			st.timens_sync = 1;
			break;
		case NSENTER_REQ_PAUSE:
			if (len != 3 * sizeof(uint32_t))
				fail(0, "read request: pause message of %u bytes is malformed", len);
			st.pause = 1;
			memcpy(&st.pause_steps, st.payload, sizeof(uint32_t));
			memcpy(&st.null_uid, st.payload + sizeof(uint32_t), sizeof(uint32_t));
			memcpy(&st.null_gid, st.payload + 2 * sizeof(uint32_t), sizeof(uint32_t));
			break;
		case NSENTER_REQ_NULL_USERNS:
			if (len == 0 || len >= PATH_MAX)
				fail(0, "read request: null user namespace message of %u bytes is malformed", len);
			memcpy(st.null_userns, st.payload, len);
			st.null_userns[len] = '\0';
			break;
		case NSENTER_REQ_END:
			return;
		default:
			fail(0, "read request: unknown message type %u", type);
		}
	}
}

static void become_root(const char *step)
{
	if (setresgid(0, 0, 0) < 0)
		fail(errno, "set gid 0 after %s (map gid 0 in that user namespace)", step);
	if (setresuid(0, 0, 0) < 0)
		fail(errno, "set uid 0 after %s (map uid 0 in that user namespace)", step);
}

/* Joins j; with tolerate_eperm, leaves it for a later pass on EPERM. */
static void join_one(struct join *j, int tolerate_eperm)
{
	if (setns(j->fd, (int)j->type) < 0) {
		if (tolerate_eperm && errno == EPERM)
			return;
		fail(errno, "join %s namespace %s", ns_name(j->type), j->path);
	}
	close(j->fd);
	j->fd = -1;
	if (j->type == CLONE_NEWUSER)
		become_root("joining the user namespace");
}

static uint32_t join_namespaces(void)
{
	uint32_t joined = 0;
	int i;

	/*
	 * Open every path before joining anything: once the mount or user
	 * namespace changed, the paths may resolve elsewhere or be denied.
	 */
	for (i = 0; i < st.njoins; i++) {
		struct join *j = &st.joins[i];

		j->fd = open(j->path, O_RDONLY | O_CLOEXEC);
		if (j->fd < 0)
			fail(errno, "open %s namespace %s", ns_name(j->type), j->path);
		joined |= j->type;
	}

	/*
	 * Three passes, as in runc's nsexec.c join_namespaces. Joining the user namespace
	 * replaces our capabilities with those in that namespace, so a
	 * namespace it does not own (the host's network namespace, say)
	 * can only be joined before it. Namespaces it does own may need
	 * those capabilities when the caller is unprivileged, so the first
	 * pass leaves EPERM failures to the third.
	 */
	for (i = 0; i < st.njoins; i++)
		if (st.joins[i].type != CLONE_NEWUSER)
			join_one(&st.joins[i], 1);
	for (i = 0; i < st.njoins; i++)
		if (st.joins[i].type == CLONE_NEWUSER)
			join_one(&st.joins[i], 0);
	for (i = 0; i < st.njoins; i++)
		if (st.joins[i].fd >= 0)
			join_one(&st.joins[i], 0);
	return joined;
}

static void create_user_namespace(void)
{
	uint32_t len, mapped;

	if (unshare(CLONE_NEWUSER) < 0)
		fail(errno, "create user namespace");

	/*
	 * A non-dumpable process's /proc files belong to root, which an
	 * unprivileged parent cannot open to write the maps.
	 */
	if (st.njoins > 0 && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		fail(errno, "set dumpable for the parent to write the ID maps");
	if (send_msg(NSENTER_MSG_USERNS, NULL, 0) < 0)
		fail(errno, "send user namespace message to parent");
	if (recv_msg(&len) != NSENTER_ACK_USERNS || len != sizeof(mapped))
		fail(0, "read ID map acknowledgement: unexpected message");
	if (st.njoins > 0 && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail(errno, "clear dumpable after the ID maps were written");
	memcpy(&mapped, st.payload, sizeof(mapped));

	/* Without a mapping for ID 0 the process stays unmapped (65534). */
	if ((mapped & NSENTER_MAPPED_GID0) && setresgid(0, 0, 0) < 0)
		fail(errno, "set gid 0 in the new user namespace");
	if ((mapped & NSENTER_MAPPED_UID0) && setresuid(0, 0, 0) < 0)
		fail(errno, "set uid 0 in the new user namespace");
}

static void create_namespaces(uint32_t flags)
{
	uint32_t len;

	if (flags == 0)
		return;
	if (unshare((int)flags) < 0)
		fail(errno, "create namespaces (unshare flags %#x)", flags);
	if (!st.timens_sync)
		return;
	if (send_msg(NSENTER_MSG_TIMENS, NULL, 0) < 0)
		fail(errno, "send time namespace message to parent");
	if (recv_msg(&len) != NSENTER_ACK_TIMENS)
		fail(0, "read time offsets acknowledgement: unexpected message");
}

static void send_done(pid_t pid, uint32_t forked)
{
	char buf[sizeof(int32_t) + sizeof(uint32_t)];
	int32_t p = pid;

	memcpy(buf, &p, sizeof(p));
	memcpy(buf + sizeof(p), &forked, sizeof(forked));
	if (send_msg(NSENTER_MSG_DONE, buf, sizeof(buf)) < 0) {
		if (forked)
			kill(pid, SIGKILL);
		_exit(1);
	}
}

/*
 * Forks the process that runs Go main and exits. The new process waits
 * until this one has exited, which closes the gate pipe, so the done
 * message is the last one the intermediate process writes and the new
 * process is the only writer after it.
 */
static void fork_and_exit(void)
{
	int gate[2];
	pid_t child;
	char c;

	if (pipe2(gate, O_CLOEXEC) < 0)
		fail(errno, "create gate pipe");
	child = fork();
	if (child < 0)
		fail(errno, "fork into the new pid or time namespace");
	if (child == 0) {
		close(gate[1]);
		while (read(gate[0], &c, 1) < 0 && errno == EINTR)
			;
		close(gate[0]);
		return;
	}
	close(gate[0]);
	send_done(child, 1);
	_exit(0);
}

/*
 * Switches to the null user's host uid and gid, then moves into a user
 * namespace without ID maps. The switch has to come first: after the
 * unshare no ID is mapped, so setresuid fails with EINVAL, and DAC
 * checks on host files use the kuid the process has at that point.
 */
static void enter_null_user(void)
{
	int userns = -1;

	/* Opened while still root: the namespace file of another process. */
	if (st.null_userns[0] != '\0') {
		userns = open(st.null_userns, O_RDONLY | O_CLOEXEC);
		if (userns < 0)
			fail(errno, "open null user namespace %s", st.null_userns);
	}
	/* setgroups needs CAP_SETGID, which setresuid to a nonzero uid clears. */
	if (setgroups(0, NULL) < 0)
		fail(errno, "clear supplementary groups for the null user");
	if (setresgid(st.null_gid, st.null_gid, st.null_gid) < 0)
		fail(errno, "set gid %u for the null user", st.null_gid);
	if (setresuid(st.null_uid, st.null_uid, st.null_uid) < 0)
		fail(errno, "set uid %u for the null user", st.null_uid);

	/*
	 * Changing the euid sets dumpable to fs.suid_dumpable, which may be
	 * 1. Host processes of the same uid must not ptrace this one or
	 * open its /proc files while it still has host fds open.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail(errno, "clear dumpable for the null user");

	/*
	 * NOTE: the process has no capability in the host user namespace
	 * any more, so host policies against unprivileged user namespaces
	 * (kernel.unprivileged_userns_clone=0 on Debian kernels, say) make
	 * this fail. Only the stock kernel's rules have been tested.
	 */
	if (userns >= 0) {
		/*
		 * A process whose euid owns a user namespace, in that
		 * namespace's parent, has every capability in it, so it may
		 * join it without any capability on the host.
		 */
		if (setns(userns, CLONE_NEWUSER) < 0)
			fail(errno, "join null user namespace %s as uid %u", st.null_userns,
			     st.null_uid);
		close(userns);
		return;
	}
	if (unshare(CLONE_NEWUSER) < 0)
		fail(errno, "create unmapped user namespace as uid %u (allow unprivileged "
		     "user namespaces and check user.max_user_namespaces)", st.null_uid);
}

/*
 * Waits for the parent's resume message, which it sends once it has
 * placed this process in its cgroup, then takes the steps that must
 * follow that and acknowledges them.
 */
static void resume(void)
{
	uint32_t len, type;

	type = recv_msg(&len);
	if (type != NSENTER_REQ_RESUME || len != 0)
		fail(0, "read resume message: got type %u with %u bytes, want type %d with none",
		     type, len, NSENTER_REQ_RESUME);

	/*
	 * The cgroup namespace's root is the cgroup the process is in now,
	 * which is why the parent places it first. It is created before the
	 * user namespace so that the unmapped user namespace, in which the
	 * process has every capability until execve, owns no other
	 * namespace.
	 */
	if ((st.pause_steps & NSENTER_PAUSE_CGROUPNS) && unshare(CLONE_NEWCGROUP) < 0)
		fail(errno, "create cgroup namespace");
	if (st.pause_steps & NSENTER_PAUSE_NULL_USER)
		enter_null_user();
	if (send_msg(NSENTER_MSG_RESUMED, NULL, 0) < 0)
		fail(errno, "send resumed message to parent");
}

static int parse_fd(const char *s)
{
	char *end;
	long fd;

	errno = 0;
	fd = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || fd < 3 || fd > INT_MAX)
		return -1;
	return (int)fd;
}

__attribute__((constructor)) static void nullrun_nsenter(void)
{
	const char *env = getenv(NSENTER_ENV_FD);
	uint32_t joined, created;

	if (env == NULL)
		return;

	st.sock = parse_fd(env);
	if (st.sock < 0) {
		fprintf(stderr, "nullrun nsenter: invalid %s=%s: want an fd number >= 3\n",
			NSENTER_ENV_FD, env);
		_exit(1);
	}
	read_request();

	/*
	 * A process that joins existing namespaces still has host files
	 * open, so processes already in those namespaces must not ptrace it
	 * or open its /proc files. The Go side can set PR_SET_DUMPABLE again
	 * once it has closed those files.
	 */
	if (st.njoins > 0 && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail(errno, "clear dumpable before joining namespaces");

	joined = join_namespaces();
	if (st.unshare_flags & CLONE_NEWUSER)
		create_user_namespace();
	created = st.unshare_flags & ~(uint32_t)CLONE_NEWUSER;
	create_namespaces(created);

	/* Nothing the container runs may inherit the socket. */
	if (fcntl(st.sock, F_SETFD, FD_CLOEXEC) < 0)
		fail(errno, "set close-on-exec on fd %d", st.sock);

	/*
	 * setns and unshare of pid and time namespaces apply only to
	 * children, so the process that runs Go main has to be a new one.
	 */
	if ((joined | created) & (CLONE_NEWPID | CLONE_NEWTIME))
		fork_and_exit();
	else
		send_done(getpid(), 0);

	/*
	 * Only this process, the one that runs Go main, pauses, so the PID
	 * in the done message is the one the parent moves into a cgroup.
	 */
	if (st.pause)
		resume();
}

/*
 * Wire format shared by the constructor (nsenter.c) and the Go parent
 * (wire.go). Every message is a header followed by len payload bytes:
 *
 *	uint32 type, uint32 len (host byte order), payload
 *
 * doc.go describes the exchange; the Go test compares these values with
 * the Go constants.
 */
#ifndef NULLRUN_NSENTER_H
#define NULLRUN_NSENTER_H

/* Environment variable naming the inherited socket's fd number. */
#define NSENTER_ENV_FD "_NULLRUN_NSENTER_FD"

/* Parent to child. */
#define NSENTER_REQ_JOIN 1        /* uint32 clone flag, then the path (no NUL) */
#define NSENTER_REQ_UNSHARE 2     /* uint32 clone flags */
#define NSENTER_REQ_TIMENS_SYNC 3 /* empty: stop for time offsets after unshare */
#define NSENTER_REQ_END 4         /* empty: the request is complete */
#define NSENTER_ACK_USERNS 5      /* uint32 NSENTER_MAPPED_* bits */
#define NSENTER_ACK_TIMENS 6      /* empty */
#define NSENTER_REQ_PAUSE 7       /* uint32 NSENTER_PAUSE_* bits, uint32 uid, uint32 gid */
#define NSENTER_REQ_RESUME 8      /* empty: run the steps after the pause */
#define NSENTER_REQ_NULL_USERNS 9 /* path (no NUL) of an unmapped user namespace
                                     the null user joins instead of creating one */

/* Child to parent. */
#define NSENTER_MSG_USERNS 16  /* empty: user namespace created, map it */
#define NSENTER_MSG_TIMENS 17  /* empty: time namespace created, set offsets */
#define NSENTER_MSG_ERROR 18   /* int32 errno (0 if none), then the text */
#define NSENTER_MSG_DONE 19    /* int32 pid, uint32 forked (0 or 1) */
#define NSENTER_MSG_RESUMED 20 /* empty: the steps after the pause are done */

/* Bits of NSENTER_ACK_USERNS: which of uid 0 and gid 0 the maps contain. */
#define NSENTER_MAPPED_UID0 1
#define NSENTER_MAPPED_GID0 2

/* Bits of NSENTER_REQ_PAUSE: the steps to take after the pause. */
#define NSENTER_PAUSE_CGROUPNS 1  /* unshare a cgroup namespace */
#define NSENTER_PAUSE_NULL_USER 2 /* switch to uid and gid, then unshare an unmapped user namespace */

/* Largest payload either side accepts. */
#define NSENTER_MAX_PAYLOAD 8192

/* Most namespaces one request joins: one of each type. */
#define NSENTER_MAX_JOIN 8

#endif

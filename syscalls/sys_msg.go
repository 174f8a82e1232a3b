package syscalls

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"golang.org/x/sys/unix"
)

// This file is System V message queues: msgget, msgsnd, msgrcv and
// msgctl, in the machine's IPC namespace beside sys_shm.go's segments and
// sys_sem.go's sets. Queued messages live in the monitor's memory, so
// their total is bounded (msgHostBytes) besides each queue's msg_qbytes.
// A send or receive that would block waits for the queue to change; a
// signal gives EINTR (never a restart, as on Linux), removal EIDRM.

func init() {
	register(unix.SYS_MSGGET, Entry{Name: "msgget", fn: sysMsgget, args: []argKind{aHex, aHex}})
	register(unix.SYS_MSGSND, Entry{Name: "msgsnd", fn: sysMsgsnd, args: []argKind{aInt, aPtr, aUint, aHex}})
	register(unix.SYS_MSGRCV, Entry{Name: "msgrcv", Support: Partial, Note: "MSG_COPY answers ENOSYS (as a Linux without checkpoint/restore)",
		fn: sysMsgrcv, args: []argKind{aInt, aPtr, aUint, aInt, aHex}})
	register(unix.SYS_MSGCTL, Entry{Name: "msgctl", Support: Partial, Note: "IPC_STAT, MSG_STAT, IPC_SET, IPC_RMID; IPC_INFO and MSG_INFO answer EINVAL",
		fn: sysMsgctl, args: []argKind{aInt, aInt, aPtr}})
}

// Message queue flags and limits (linux/msg.h, Linux's defaults).
const (
	MSG_STAT     = 11
	MSG_INFO     = 12
	MSG_NOERROR  = 0o10000
	MSG_EXCEPT   = 0o20000
	MSG_COPY     = 0o40000
	MSGMAX       = 8192  // bytes in one message
	MSGMNB       = 16384 // a queue's default msg_qbytes
	MSGMNI       = 32000 // queues
	msgHostBytes = 64 << 20
	// msqid64DsSize is sizeof(struct msqid64_ds) on x86-64.
	msqid64DsSize = 120
)

type message struct {
	mtype int64
	text  []byte
}

// msgQueue is one System V message queue.
type msgQueue struct {
	ipcObj
	msgs                []message
	bytes, qbytes       int
	stime, rtime, ctime int64
	lspid, lrpid        int32
	removed             bool
	ipcChanges
}

// sysvMsg is the machine's queues.
type sysvMsg struct {
	mu     sync.Mutex
	byID   map[int32]*msgQueue
	byKey  map[int32]*msgQueue
	nextID int32
	bytes  int // queued in every queue, against msgHostBytes
}

func (k *Kernel) msgQueues() *sysvMsg {
	k.msgOnce.Do(func() { k.msg = &sysvMsg{byID: map[int32]*msgQueue{}, byKey: map[int32]*msgQueue{}} })
	return k.msg
}

// queue is the live queue id if the caller may use it for want (4
// receive, 2 send), with mq.mu held.
func (mq *sysvMsg) queue(t *Thread, id int32, want uint32) (*msgQueue, unix.Errno) {
	q := mq.byID[id]
	if q == nil || q.removed {
		return nil, unix.EINVAL
	}
	if !t.ipcAllowed(&q.ipcObj, want) {
		return nil, unix.EACCES
	}
	return q, 0
}

func sysMsgget(t *Thread, a Args) (uint64, unix.Errno) {
	key, flags := int32(a[0]), uint32(a[1])
	mq := t.K.msgQueues()
	mq.mu.Lock()
	defer mq.mu.Unlock()
	if id, done, e := ipcLookup(t, mq.byKey, key, flags, nil); done {
		return id, e
	}
	if len(mq.byID) >= MSGMNI {
		return 0, unix.ENOSPC
	}
	q := &msgQueue{
		ipcObj: t.newIPCObj(mq.nextID, key, flags), qbytes: MSGMNB,
		ctime: time.Now().Unix(),
	}
	mq.nextID++
	mq.byID[q.id] = q
	if key != IPC_PRIVATE {
		mq.byKey[key] = q
	}
	return uint64(q.id), 0
}

// msgWait waits for q to change after a call found it full or empty:
// EINTR for a signal, EIDRM when it went meanwhile (mq.mu held on entry
// and on return).
func (t *Thread) msgWait(mq *sysvMsg, q *msgQueue) unix.Errno {
	ch := q.changes()
	mq.mu.Unlock()
	e := t.block(ch, time.Time{})
	mq.mu.Lock()
	switch {
	case q.removed:
		return unix.EIDRM
	case e == ERESTARTSYS:
		return unix.EINTR
	}
	return e
}

func sysMsgsnd(t *Thread, a Args) (uint64, unix.Errno) {
	size, flags := a[2], int(a[3])
	if size > MSGMAX {
		return 0, unix.EINVAL
	}
	buf := make([]byte, 8+size)
	if e := t.mm().CopyIn(a[1], buf); e != 0 {
		return 0, e
	}
	m := message{mtype: int64(binary.LittleEndian.Uint64(buf)), text: buf[8:]}
	if m.mtype < 1 {
		return 0, unix.EINVAL
	}
	mq := t.K.msgQueues()
	mq.mu.Lock()
	defer mq.mu.Unlock()
	q, e := mq.queue(t, int32(a[0]), 2)
	if e != 0 {
		return 0, e
	}
	for q.bytes+len(m.text) > q.qbytes || len(q.msgs) >= q.qbytes || mq.bytes+len(m.text) > msgHostBytes {
		if flags&unix.IPC_NOWAIT != 0 {
			return 0, unix.EAGAIN
		}
		if e := t.msgWait(mq, q); e != 0 {
			return 0, e
		}
	}
	q.msgs = append(q.msgs, m)
	q.bytes += len(m.text)
	mq.bytes += len(m.text)
	q.stime, q.lspid = time.Now().Unix(), int32(t.Task.Group.PID)
	q.notify()
	return 0, 0
}

// pick is the index of the message msgrcv's msgtyp selects, or -1.
func (q *msgQueue) pick(msgtyp int64, except bool) int {
	best := -1
	for i, m := range q.msgs {
		switch {
		case msgtyp == 0:
			return i
		case msgtyp > 0 && (m.mtype == msgtyp) != except:
			return i
		case msgtyp < 0 && m.mtype <= -msgtyp && (best < 0 || m.mtype < q.msgs[best].mtype):
			best = i
		}
	}
	return best
}

func sysMsgrcv(t *Thread, a Args) (uint64, unix.Errno) {
	size, msgtyp, flags := a[2], int64(a[3]), int(a[4])
	if int64(size) < 0 {
		return 0, unix.EINVAL
	}
	if flags&MSG_COPY != 0 {
		t.K.countUnsupported(unix.SYS_MSGRCV)
		return 0, unix.ENOSYS
	}
	mq := t.K.msgQueues()
	mq.mu.Lock()
	defer mq.mu.Unlock()
	q, e := mq.queue(t, int32(a[0]), 4)
	if e != 0 {
		return 0, e
	}
	for {
		i := q.pick(msgtyp, flags&MSG_EXCEPT != 0)
		if i >= 0 {
			m := q.msgs[i]
			n := len(m.text)
			if uint64(n) > size {
				if flags&MSG_NOERROR == 0 {
					return 0, unix.E2BIG // the message stays
				}
				n = int(size)
			}
			out := make([]byte, 8+n)
			binary.LittleEndian.PutUint64(out, uint64(m.mtype))
			copy(out[8:], m.text)
			if e := t.mm().CopyOut(a[1], out); e != 0 {
				return 0, e
			}
			q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
			q.bytes -= len(m.text)
			mq.bytes -= len(m.text)
			q.rtime, q.lrpid = time.Now().Unix(), int32(t.Task.Group.PID)
			q.notify()
			return uint64(n), 0
		}
		if flags&unix.IPC_NOWAIT != 0 {
			return 0, unix.ENOMSG
		}
		if e := t.msgWait(mq, q); e != 0 {
			return 0, e
		}
	}
}

func sysMsgctl(t *Thread, a Args) (uint64, unix.Errno) {
	cmd := a.Int(1) &^ IPC_64
	switch cmd {
	case IPC_INFO, MSG_INFO:
		t.K.countUnsupported(unix.SYS_MSGCTL)
		return 0, unix.EINVAL
	}
	mq := t.K.msgQueues()
	mq.mu.Lock()
	defer mq.mu.Unlock()
	q := mq.byID[int32(a[0])]
	if q == nil || q.removed {
		return 0, unix.EINVAL
	}
	le := binary.LittleEndian
	switch cmd {
	case IPC_STAT, MSG_STAT:
		if !t.ipcAllowed(&q.ipcObj, 4) {
			return 0, unix.EACCES
		}
		b := make([]byte, msqid64DsSize)
		q.putPerm(b, q.key, q.mode)
		le.PutUint64(b[48:], uint64(q.stime))
		le.PutUint64(b[56:], uint64(q.rtime))
		le.PutUint64(b[64:], uint64(q.ctime))
		le.PutUint64(b[72:], uint64(q.bytes))
		le.PutUint64(b[80:], uint64(len(q.msgs)))
		le.PutUint64(b[88:], uint64(q.qbytes))
		le.PutUint32(b[96:], uint32(q.lspid))
		le.PutUint32(b[100:], uint32(q.lrpid))
		return t.ipcStatOut(&q.ipcObj, a[2], b, cmd == MSG_STAT)
	case IPC_SET:
		b, e := t.ipcSetArg(&q.ipcObj, a[2], msqid64DsSize)
		if e != 0 {
			return 0, e
		}
		qbytes := le.Uint64(b[88:])
		if qbytes > MSGMNB && qbytes > uint64(q.qbytes) && !t.capable(posix.CAP_SYS_RESOURCE) {
			return 0, unix.EPERM
		}
		if qbytes > msgHostBytes {
			return 0, unix.EINVAL
		}
		q.setPerm(b)
		q.qbytes = int(qbytes)
		q.ctime = time.Now().Unix()
		q.notify()
		return 0, 0
	case IPC_RMID:
		if !t.ipcOwner(&q.ipcObj) {
			return 0, unix.EPERM
		}
		q.removed = true
		mq.bytes -= q.bytes
		q.msgs, q.bytes = nil, 0
		delete(mq.byID, q.id)
		if mq.byKey[q.key] == q {
			delete(mq.byKey, q.key)
		}
		q.notify()
		return 0, 0
	}
	return 0, unix.EINVAL
}

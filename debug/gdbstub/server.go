package gdbstub

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/syscalls"
)

// The remote serial protocol (gdb's manual, "Remote Protocol"): packets
// $DATA#CS, acknowledged with + until QStartNoAckMode; a 0x03 byte while
// the guest runs is gdb's interrupt.

// session is one gdb connection.
type session struct {
	s       *Stub
	conn    net.Conn
	wmu     sync.Mutex
	noAck   bool
	started bool             // the stub started the guest (stop at entry): gdb kills it on quit
	program string           // host path of the program, for qXfer:exec-file
	gThread *syscalls.Thread // the thread g, m and Z act on (Hg)
	stop    string           // the last stop reply
	pkts    chan string      // packets read
	intr    chan struct{}    // 0x03 read
}

// Serve takes gdb connections on ls, one at a time, until the guest ends
// or the listeners are closed. started says the stub stopped the guest at
// its entry (gdb's qAttached is then 0 and quitting gdb kills the guest);
// program is the host file gdb may read the executable from.
func (s *Stub) Serve(ls []net.Listener, started bool, program string) {
	conns := make(chan net.Conn)
	var wg sync.WaitGroup
	for _, l := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				conns <- c
			}
		}()
	}
	go func() { wg.Wait(); close(conns) }()
	for c := range conns {
		sess := &session{s: s, conn: c, started: started, program: program,
			pkts: make(chan string, 16), intr: make(chan struct{}, 1)}
		sess.run()
		c.Close()
	}
}

func (c *session) send(data string) {
	var sum byte
	for i := 0; i < len(data); i++ {
		sum += data[i]
	}
	c.wmu.Lock()
	fmt.Fprintf(c.conn, "$%s#%02x", data, sum)
	c.wmu.Unlock()
}

// read splits the byte stream into packets and interrupts.
func (c *session) read() {
	defer close(c.pkts)
	r := bufio.NewReader(c.conn)
	for {
		b, err := r.ReadByte()
		if err != nil {
			return
		}
		switch b {
		case 0x03:
			select {
			case c.intr <- struct{}{}:
			default:
			}
		case '$':
			data, err := r.ReadString('#')
			if err != nil {
				return
			}
			var cs [2]byte
			if _, err := io.ReadFull(r, cs[:]); err != nil {
				return
			}
			if !c.noAck {
				c.wmu.Lock()
				c.conn.Write([]byte{'+'})
				c.wmu.Unlock()
			}
			c.pkts <- data[:len(data)-1]
		}
		// '+' and '-' acknowledge our packets: we never resend.
	}
}

// run serves one connection: stop the guest, then answer packets.
func (c *session) run() {
	s := c.s
	go c.read()
	s.mu.Lock()
	s.active = true
	gone := s.exit != nil
	s.mu.Unlock()
	if gone {
		return
	}
	s.stopAll()
	c.gThread = c.someThread(nil)
	c.stop = c.stopReply(c.gThread, sigTRAP, false)
	for pkt := range c.pkts {
		if !c.handle(pkt) {
			return
		}
	}
	// gdb went away without a word: as a detach.
	c.detach()
}

// someThread is t if it still runs, else the first thread.
func (c *session) someThread(t *syscalls.Thread) *syscalls.Thread {
	ts := c.s.k.Threads()
	for _, x := range ts {
		if x == t {
			return t
		}
	}
	if len(ts) == 0 {
		return nil
	}
	return ts[0]
}

func (c *session) stopReply(t *syscalls.Thread, sig int, bp bool) string {
	r := fmt.Sprintf("T%02x", toGDB(sig))
	if t != nil {
		r += fmt.Sprintf("thread:%x;", t.TID())
	}
	if bp {
		r += "swbreak:;"
	}
	return r
}

// thread finds a thread by gdb's id: 0 is any, -1 all (the current one).
func (c *session) thread(id string) *syscalls.Thread {
	if id == "0" || id == "-1" || id == "" {
		return c.someThread(c.gThread)
	}
	n, err := strconv.ParseInt(id, 16, 64)
	if err != nil {
		return nil
	}
	for _, t := range c.s.k.Threads() {
		if int64(t.TID()) == n {
			return t
		}
	}
	return nil
}

// handle answers one packet; false ends the session.
func (c *session) handle(pkt string) bool {
	s := c.s
	reply := ""
	switch {
	case pkt == "?":
		reply = c.stop
	case strings.HasPrefix(pkt, "qSupported"):
		reply = "PacketSize=20000;QStartNoAckMode+;qXfer:features:read+;qXfer:exec-file:read+;qXfer:auxv:read+;QPassSignals+;swbreak+;vContSupported+"
	case pkt == "QStartNoAckMode":
		c.send("OK")
		c.noAck = true
		return true
	case strings.HasPrefix(pkt, "qXfer:"):
		reply = c.xfer(pkt)
	case pkt == "qfThreadInfo":
		var ids []string
		for _, t := range s.k.Threads() {
			ids = append(ids, fmt.Sprintf("%x", t.TID()))
		}
		reply = "m" + strings.Join(ids, ",")
	case pkt == "qsThreadInfo":
		reply = "l"
	case pkt == "qC":
		if t := c.someThread(c.gThread); t != nil {
			reply = fmt.Sprintf("QC%x", t.TID())
		}
	case strings.HasPrefix(pkt, "qAttached"):
		reply = "1"
		if c.started {
			reply = "0"
		}
	case strings.HasPrefix(pkt, "qThreadExtraInfo,"):
		if t := c.thread(pkt[len("qThreadExtraInfo,"):]); t != nil {
			info := "stopped"
			if nr, _, _, in := t.InCall(); in {
				s.mu.Lock()
				_, p := s.parked[t]
				s.mu.Unlock()
				if !p {
					info = "in " + syscalls.Name(nr)
				}
			}
			reply = hex.EncodeToString([]byte(info))
		}
	case strings.HasPrefix(pkt, "QPassSignals:"):
		pass := map[int]bool{}
		for _, h := range strings.Split(pkt[len("QPassSignals:"):], ";") {
			if g, err := strconv.ParseUint(h, 16, 8); err == nil {
				if l := toLinux(int(g)); l != 0 {
					pass[l] = true
				}
			}
		}
		s.mu.Lock()
		s.pass = pass
		s.mu.Unlock()
		reply = "OK"
	case pkt == "qSymbol::":
		reply = "OK"
	case strings.HasPrefix(pkt, "H"):
		if len(pkt) > 1 && pkt[1] == 'g' {
			t := c.thread(pkt[2:])
			if t == nil {
				reply = "E01"
				break
			}
			c.gThread = t
		}
		reply = "OK"
	case strings.HasPrefix(pkt, "T"):
		reply = "E01"
		if id := pkt[1:]; id != "0" && c.thread(id) != nil {
			reply = "OK"
		}
	case pkt == "g":
		reply = c.readAll()
	case strings.HasPrefix(pkt, "G"):
		reply = c.writeAll(pkt[1:])
	case strings.HasPrefix(pkt, "p"):
		reply = c.readOne(pkt[1:])
	case strings.HasPrefix(pkt, "P"):
		reply = c.writeOne(pkt[1:])
	case strings.HasPrefix(pkt, "m"):
		reply = c.readMem(pkt[1:])
	case strings.HasPrefix(pkt, "M"), strings.HasPrefix(pkt, "X"):
		reply = c.writeMem(pkt)
	case strings.HasPrefix(pkt, "Z0,"), strings.HasPrefix(pkt, "z0,"):
		reply = c.breakpoint(pkt)
	case pkt == "vCont?":
		reply = "vCont;c;C;s;S"
	case strings.HasPrefix(pkt, "vCont;"):
		return c.vCont(pkt[len("vCont;"):])
	case pkt == "c" || strings.HasPrefix(pkt, "C") || pkt == "s" || strings.HasPrefix(pkt, "S"):
		// The old resume packets: the current thread steps or continues
		// (with the signal), every other continues.
		action := "c"
		if pkt[0] == 's' || pkt[0] == 'S' {
			action = "s"
		}
		if len(pkt) > 1 {
			sig, _, _ := strings.Cut(pkt[1:], ";")
			action = strings.ToUpper(action) + sig
		}
		t := c.someThread(c.gThread)
		if t == nil {
			return c.vCont("c")
		}
		return c.vCont(fmt.Sprintf("%s:%x;c", action, t.TID()))
	case pkt == "D" || strings.HasPrefix(pkt, "D;"):
		c.send("OK")
		c.detach()
		return false
	case pkt == "k" || strings.HasPrefix(pkt, "vKill"):
		if strings.HasPrefix(pkt, "vKill") {
			c.send("OK")
		}
		c.kill()
		return false
	}
	c.send(reply)
	return true
}

// xfer answers qXfer:OBJECT:read:ANNEX:OFFSET,LENGTH.
func (c *session) xfer(pkt string) string {
	f := strings.SplitN(pkt, ":", 5)
	if len(f) != 5 || f[2] != "read" {
		return ""
	}
	var data string
	switch f[1] {
	case "features":
		if f[3] != "target.xml" {
			return "E00"
		}
		data = targetXML
	case "exec-file":
		if c.program == "" {
			return "E00"
		}
		data = c.program
	case "auxv":
		data = string(c.s.k.Auxv())
	default:
		return ""
	}
	offS, lenS, _ := strings.Cut(f[4], ",")
	off, err1 := strconv.ParseUint(offS, 16, 64)
	n, err2 := strconv.ParseUint(lenS, 16, 64)
	if err1 != nil || err2 != nil {
		return "E00"
	}
	if off >= uint64(len(data)) {
		return "l"
	}
	chunk := data[off:]
	more := "l"
	if uint64(len(chunk)) > n {
		chunk, more = chunk[:n], "m"
	}
	return more + escape(chunk)
}

// escape makes binary data safe in a packet: $, #, } and * as } and the
// byte xor 0x20.
func escape(b string) string {
	var w strings.Builder
	for i := 0; i < len(b); i++ {
		switch ch := b[i]; ch {
		case '$', '#', '}', '*':
			w.WriteByte('}')
			w.WriteByte(ch ^ 0x20)
		default:
			w.WriteByte(ch)
		}
	}
	return w.String()
}

func unescape(b string) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '}' && i+1 < len(b) {
			i++
			out = append(out, b[i]^0x20)
			continue
		}
		out = append(out, b[i])
	}
	return out
}

func (c *session) readAll() string {
	t := c.someThread(c.gThread)
	if t == nil {
		return "E01"
	}
	st, ok := c.s.readRegs(t)
	if !ok {
		return "E01"
	}
	var w strings.Builder
	for _, r := range regs {
		if b := r.get(st); b != nil {
			w.WriteString(hex.EncodeToString(b))
		} else {
			w.WriteString(strings.Repeat("xx", r.size))
		}
	}
	return w.String()
}

func (c *session) writeAll(h string) string {
	b, err := hex.DecodeString(h)
	t := c.someThread(c.gThread)
	if err != nil || t == nil {
		return "E01"
	}
	st, ok := c.s.readRegs(t)
	if !ok {
		return "E01"
	}
	for _, r := range regs {
		if len(b) < r.size {
			break
		}
		r.set(st, b[:r.size])
		b = b[r.size:]
	}
	if !c.s.writeRegs(t, st) {
		return "E01"
	}
	return "OK"
}

func (c *session) readOne(arg string) string {
	n, err := strconv.ParseInt(arg, 16, 32)
	r, ok := regNum(int(n))
	t := c.someThread(c.gThread)
	if err != nil || !ok || t == nil {
		return "E01"
	}
	st, ok := c.s.readRegs(t)
	if !ok {
		return "E01"
	}
	if b := r.get(st); b != nil {
		return hex.EncodeToString(b)
	}
	return strings.Repeat("xx", r.size)
}

func (c *session) writeOne(arg string) string {
	num, val, _ := strings.Cut(arg, "=")
	n, err := strconv.ParseInt(num, 16, 32)
	r, ok := regNum(int(n))
	b, err2 := hex.DecodeString(val)
	t := c.someThread(c.gThread)
	if err != nil || err2 != nil || !ok || len(b) != r.size || t == nil {
		return "E01"
	}
	st, ok := c.s.readRegs(t)
	if !ok || !r.set(st, b) || !c.s.writeRegs(t, st) {
		return "E01"
	}
	return "OK"
}

func parseAddrLen(s string) (addr, n uint64, err error) {
	a, l, _ := strings.Cut(s, ",")
	if addr, err = strconv.ParseUint(a, 16, 64); err != nil {
		return
	}
	n, err = strconv.ParseUint(l, 16, 64)
	return
}

// readMem answers m: as much of the range as is mapped, from its start.
func (c *session) readMem(arg string) string {
	addr, n, err := parseAddrLen(arg)
	t := c.someThread(c.gThread)
	if err != nil || t == nil || n > 1<<16 {
		return "E01"
	}
	as := t.Memory()
	start := addr
	out := make([]byte, 0, n)
	for n > 0 {
		chunk := min(n, 4096-addr%4096)
		buf := make([]byte, chunk)
		if as.CopyIn(addr, buf) != 0 {
			break
		}
		out = append(out, buf...)
		addr, n = addr+chunk, n-chunk
	}
	if len(out) == 0 {
		return "E14" // EFAULT
	}
	c.s.shadow(as, start, out)
	return hex.EncodeToString(out)
}

// writeMem answers M (hex) and X (binary), through Poke: text too.
func (c *session) writeMem(pkt string) string {
	head, data, ok := strings.Cut(pkt[1:], ":")
	addr, n, err := parseAddrLen(head)
	t := c.someThread(c.gThread)
	if !ok || err != nil || t == nil {
		return "E01"
	}
	var b []byte
	if pkt[0] == 'M' {
		if b, err = hex.DecodeString(data); err != nil {
			return "E01"
		}
	} else {
		b = unescape(data)
	}
	if uint64(len(b)) != n {
		return "E01"
	}
	if n == 0 {
		return "OK"
	}
	if !c.s.poke(t.Memory(), addr, b) {
		return "E14"
	}
	return "OK"
}

func (c *session) breakpoint(pkt string) string {
	f := strings.Split(pkt[3:], ",")
	addr, err := strconv.ParseUint(f[0], 16, 64)
	t := c.someThread(c.gThread)
	if err != nil || t == nil {
		return "E01"
	}
	ok := false
	if pkt[0] == 'Z' {
		ok = c.s.insertBreak(t.Memory(), addr)
	} else {
		ok = c.s.removeBreak(t.Memory(), addr)
	}
	if !ok {
		return "E14"
	}
	return "OK"
}

// vCont resumes the guest as the actions say (c, Csig, s, Ssig, each for
// a thread or, without one, for every thread no earlier action named),
// waits for the next stop and reports it.
func (c *session) vCont(actions string) bool {
	s := c.s
	per := map[int]resumeAction{}
	var rest *resumeAction
	for _, a := range strings.Split(actions, ";") {
		act, id, hasID := strings.Cut(a, ":")
		if act == "" {
			continue
		}
		var ra resumeAction
		switch act[0] {
		case 's', 'S':
			ra.step = true
		case 'c', 'C':
		default:
			c.send("E01")
			return true
		}
		if act[0] == 'C' || act[0] == 'S' {
			g, err := strconv.ParseUint(act[1:], 16, 8)
			if err != nil {
				c.send("E01")
				return true
			}
			ra.sig = toLinux(int(g))
		}
		if !hasID || id == "-1" {
			if rest == nil {
				rest = &ra
			}
			continue
		}
		n, err := strconv.ParseInt(id, 16, 64)
		if err != nil {
			c.send("E01")
			return true
		}
		if _, dup := per[int(n)]; !dup {
			per[int(n)] = ra
		}
	}
	s.resume(func(t *syscalls.Thread) *resumeAction {
		if a, ok := per[t.TID()]; ok {
			return &a
		}
		return rest
	})
	return c.waitStop()
}

// waitStop waits while the guest runs: for a thread's stop, gdb's
// interrupt or the guest's end, and reports it.
func (c *session) waitStop() bool {
	s := c.s
	select {
	case ev := <-s.events:
		s.stopAll()
		c.gThread = ev.t
		c.stop = c.stopReply(ev.t, ev.sig, ev.bp)
		c.send(c.stop)
		return true
	case <-c.intr:
		s.stopAll()
		c.gThread = c.someThread(c.gThread)
		c.stop = c.stopReply(c.gThread, sigINT, false)
		c.send(c.stop)
		return true
	case <-s.exited:
		s.mu.Lock()
		st := *s.exit
		s.mu.Unlock()
		if st.Signal != 0 {
			c.send(fmt.Sprintf("X%02x", toGDB(st.Signal)))
		} else {
			c.send(fmt.Sprintf("W%02x", st.Code&0xff))
		}
		return false
	case _, ok := <-c.pkts:
		if !ok {
			c.detach()
			return false
		}
		// In all-stop mode gdb sends nothing but the interrupt while the
		// guest runs; anything else waits for the stop.
		return c.waitStop()
	}
}

// detach takes the breakpoints out and lets the guest run on, with faults
// back to signals.
func (c *session) detach() {
	s := c.s
	s.removeAll()
	s.mu.Lock()
	s.active = false
	s.mu.Unlock()
	s.resume(func(*syscalls.Thread) *resumeAction { return &resumeAction{} })
}

// kill ends the guest as SIGKILL would.
func (c *session) kill() {
	if t := c.someThread(c.gThread); t != nil {
		t.Group().ExitGroup(posix.ExitStatus{Signal: 9})
	}
	c.detach()
}
